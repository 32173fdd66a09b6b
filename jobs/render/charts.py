"""Charts as inline SVG, drawn in Python: no script, no external resource, every label escaped.

Each chart is a pure function of its numbers and labels returning one <svg> element with a
role="img", an aria-label and <title> tooltips on its marks. Colours are presentation attributes
(not style attributes), so the page's Content-Security-Policy needs no 'unsafe-inline'.
"""

from __future__ import annotations

import math
from typing import Sequence

from jobs.render.html import compact, esc, fmt

ARROW = "\u2192"
BASE, CURRENT, BAD, GRID, INK, MUTED = "#5b8def", "#f08c00", "#cf222e", "#d0d7de", "#1f2328", "#57606a"


def _svg(width: int, height: int, label: str, body: list[str], cls: str) -> str:
    return (f"<svg class=\"{esc(cls)}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" "
            f"viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{esc(label)}\">"
            f"<title>{esc(label)}</title>" + "".join(body) + "</svg>")


def _clip(label: str, n: int) -> str:
    return label if len(label) <= n else label[: n - 1] + "\u2026"


def _finite(x: float | None) -> bool:
    return x is not None and not (isinstance(x, float) and (math.isnan(x) or math.isinf(x)))


def edge_ticks(edges: Sequence[float], step: float, char: float = 5.4) -> list[tuple[int, str]]:
    """(index, text) of the edges to label under bins `step` pixels apart: compact numbers, every k-th edge so
    that no two labels (about `char` pixels a character) overlap; the last edge is kept in view."""
    texts = [compact(e) for e in edges]
    widest = max((len(t) for t in texts), default=1) * char + 6
    every = max(1, math.ceil(widest / step))
    keep = list(range(0, len(texts), every))
    if keep and keep[-1] != len(texts) - 1 and (len(texts) - 1 - keep[-1]) * step < widest:
        keep[-1] = len(texts) - 1       # swap the last label shown for the table's upper end
    elif keep and keep[-1] != len(texts) - 1:
        keep.append(len(texts) - 1)
    return [(i, texts[i]) for i in keep]


def paired_columns(labels: Sequence[str], baseline: Sequence[float], current: Sequence[float], label: str,
                   edges: Sequence[float] = ()) -> str:
    """Baseline and current shares side by side per bin (numeric features on the baseline's buckets). With
    `edges` (the bucket edges between bins), the x axis names the edges, horizontally and thinned so they never
    overlap; without, each bin's label, rotated."""
    width, height, left, bottom, top = 440, 190 if not edges else 160, 34, 46 if not edges else 18, 8
    plot_h = height - bottom - top
    n = max(len(labels), 1)
    step = (width - left - 6) / n
    top_share = max([*baseline, *current, 1e-9])
    body = [f"<line x1=\"{left}\" y1=\"{top + plot_h}\" x2=\"{width - 4}\" y2=\"{top + plot_h}\" stroke=\"{GRID}\"/>",
            f"<text x=\"{left - 4}\" y=\"{top + 8}\" font-size=\"9\" text-anchor=\"end\" fill=\"{MUTED}\">"
            f"{esc(f'{100 * top_share:.0f}%')}</text>",
            f"<text x=\"{left - 4}\" y=\"{top + plot_h}\" font-size=\"9\" text-anchor=\"end\" fill=\"{MUTED}\">0</text>"]
    bar = max(step * 0.38, 1.0)
    for i, name in enumerate(labels):
        x0 = left + i * step + step * 0.1
        for j, (share, colour, who) in enumerate(((baseline[i], BASE, "baseline"), (current[i], CURRENT, "current"))):
            h = plot_h * share / top_share
            body.append(f"<rect class=\"bar {who}\" x=\"{x0 + j * bar:.1f}\" y=\"{top + plot_h - h:.1f}\" "
                        f"width=\"{bar:.1f}\" height=\"{max(h, 0.0):.1f}\" fill=\"{colour}\">"
                        f"<title>{esc(f'{name}: {who} {100 * share:.3g}%')}</title></rect>")
        if edges:
            continue
        cx = left + (i + 0.5) * step
        body.append(f"<text x=\"{cx:.1f}\" y=\"{top + plot_h + 10}\" font-size=\"8\" fill=\"{MUTED}\" "
                    f"text-anchor=\"end\" transform=\"rotate(-35 {cx:.1f} {top + plot_h + 10})\">"
                    f"{esc(_clip(name, 14))}</text>")
    for i, shown in edge_ticks(edges, step):
        ex = left + (i + 1) * step      # edge i lies between bin i and bin i + 1
        body.append(f"<line x1=\"{ex:.1f}\" y1=\"{top + plot_h}\" x2=\"{ex:.1f}\" y2=\"{top + plot_h + 3}\" "
                    f"stroke=\"{MUTED}\"/><text class=\"tick\" x=\"{ex:.1f}\" y=\"{top + plot_h + 13}\" "
                    f"font-size=\"9\" fill=\"{MUTED}\" text-anchor=\"middle\">{esc(shown)}</text>")
    return _svg(width, height, label, body, "chart numeric")


def paired_bars(rows: Sequence[tuple[str, float, float, bool]], label: str) -> str:
    """Horizontal bars per category: (value, baseline share, current share, unseen in the baseline)."""
    row_h, left, width = 26, 150, 440
    height = max(len(rows), 1) * row_h + 6
    top_share = max([s for _, b, c, _ in rows for s in (b, c)] + [1e-9])
    scale = (width - left - 95) / top_share     # room on the right for the "a% -> b%" text
    body = []
    for i, (value, base, cur, new) in enumerate(rows):
        y = 3 + i * row_h
        shown = _clip(value, 15) + (" (new)" if new else "")
        body.append(f"<text x=\"{left - 6}\" y=\"{y + 15}\" font-size=\"10\" text-anchor=\"end\" "
                    f"fill=\"{BAD if new else INK}\">{esc(shown)}</text>")
        for j, (share, colour, who) in enumerate(((base, BASE, "baseline"), (cur, CURRENT, "current"))):
            w = share * scale
            body.append(f"<rect class=\"bar {who}\" x=\"{left}\" y=\"{y + 2 + j * 10}\" width=\"{max(w, 0.0):.1f}\" "
                        f"height=\"9\" fill=\"{colour}\"><title>{esc(f'{value}: {who} {100 * share:.3g}%')}</title></rect>")
        body.append(f"<text x=\"{left + max(base, cur) * scale + 4:.1f}\" y=\"{y + 15}\" font-size=\"9\" "
                    f"fill=\"{MUTED}\">{esc(f'{100 * base:.3g}% {ARROW} {100 * cur:.3g}%')}</text>")
    return _svg(width, height, label, body, "chart categorical")


def axes(x_labels: Sequence[str], ticks: Sequence[float], x, y, *, left: float, right: float, bottom: float,
         digits: int, most_labels: int) -> list[str]:
    """A plot's axes as SVG: a grid line with its value at each tick, and at most about `most_labels` of the
    x labels, rotated, under the plot (`x`, `y`: index and value to pixels)."""
    body = []
    for tick in ticks:
        body.append(f"<line x1=\"{left}\" y1=\"{y(tick):.1f}\" x2=\"{right}\" y2=\"{y(tick):.1f}\" "
                    f"stroke=\"{GRID}\"/><text x=\"{left - 4}\" y=\"{y(tick) + 3:.1f}\" font-size=\"9\" "
                    f"text-anchor=\"end\" fill=\"{MUTED}\">{esc(fmt(tick, digits))}</text>")
    every = max(1, math.ceil(len(x_labels) / most_labels))
    for i, name in enumerate(x_labels):
        if i % every == 0:
            body.append(f"<text x=\"{x(i):.1f}\" y=\"{bottom + 10}\" font-size=\"9\" fill=\"{MUTED}\" "
                        f"text-anchor=\"end\" transform=\"rotate(-35 {x(i):.1f} {bottom + 10})\">"
                        f"{esc(_clip(name, 16))}</text>")
    return body


def line_chart(x_labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None], str]], label: str, *,
               band: tuple[Sequence[float | None], Sequence[float | None]] | None = None,
               links: Sequence[str | None] | None = None, y_range: tuple[float, float] | None = None,
               bars: bool = False) -> str:
    """Values over partitions: one line (or bars) per series; `band` draws an interval around the
    first series (error bars); points link to `links[i]` when given."""
    width, height, left, bottom, top, right = 760, 210, 56, 58, 10, 12
    n = len(x_labels)
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs, _ in series for v in vs if _finite(v)]
    if band:
        values += [v for vs in band for v in vs if _finite(v)]
    lo, hi = y_range if y_range else (min(values + [0.0]), max(values + [1e-9]))
    if hi <= lo:
        hi = lo + 1.0
    step = plot_w / max(n, 1)

    def x(i: int) -> float:
        return left + (i + 0.5) * step

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - lo) / (hi - lo))

    body = axes(x_labels, (lo, (lo + hi) / 2, hi), x, y, left=left, right=width - right, bottom=top + plot_h,
                digits=3, most_labels=30)
    if band:
        for i, (b_lo, b_hi) in enumerate(zip(*band)):
            if _finite(b_lo) and _finite(b_hi):
                body.append(f"<line class=\"interval\" x1=\"{x(i):.1f}\" y1=\"{y(b_lo):.1f}\" x2=\"{x(i):.1f}\" "
                            f"y2=\"{y(b_hi):.1f}\" stroke=\"{series[0][2]}\" stroke-width=\"6\" stroke-opacity=\"0.3\">"
                            f"<title>{esc(f'{x_labels[i]}: interval {fmt(b_lo)} to {fmt(b_hi)}')}</title></line>")
    for k, (name, vs, colour) in enumerate(series):
        pts = [(i, v) for i, v in enumerate(vs) if _finite(v)]
        if bars:
            w = max(step * 0.8 / len(series), 1.0)
            for i, v in pts:
                h = y(lo) - y(v)
                body.append(f"<rect class=\"bar\" x=\"{x(i) - step * 0.4 + k * w:.1f}\" y=\"{y(v):.1f}\" "
                            f"width=\"{w:.1f}\" height=\"{max(h, 0.0):.1f}\" fill=\"{colour}\">"
                            f"<title>{esc(f'{x_labels[i]}: {name} {fmt(v)}')}</title></rect>")
            continue
        if len(pts) > 1:
            path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in pts)
            body.append(f"<polyline points=\"{path}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\"/>")
        for i, v in pts:
            dot = (f"<circle class=\"point\" cx=\"{x(i):.1f}\" cy=\"{y(v):.1f}\" r=\"3.5\" fill=\"{colour}\">"
                   f"<title>{esc(f'{x_labels[i]}: {name} {fmt(v)}')}</title></circle>")
            link = links[i] if links else None
            body.append(f"<a href=\"{esc(link)}\">{dot}</a>" if link else dot)
    return _svg(width, height, label, body, "chart timeline")


def heatmap(row_labels: Sequence[str], col_labels: Sequence[str], values: Sequence[Sequence[float | None]],
            shades: Sequence[Sequence[float]], label: str, *, links: Sequence[str | None] | None = None) -> str:
    """One row per feature, one column per partition; each cell's darkness is its shade in [0, 1]
    (chosen by the caller: how far from the baseline), its value in the tooltip."""
    cell_w = max(10, min(36, 640 // max(len(col_labels), 1)))
    cell_h, left, top = 16, 150, 6
    bottom = 60
    width = left + cell_w * len(col_labels) + 8
    height = top + cell_h * len(row_labels) + bottom
    body = []
    for r, name in enumerate(row_labels):
        y = top + r * cell_h
        body.append(f"<text x=\"{left - 6}\" y=\"{y + 12}\" font-size=\"10\" text-anchor=\"end\" fill=\"{INK}\">"
                    f"{esc(_clip(name, 24))}</text>")
        for c, v in enumerate(values[r]):
            x = left + c * cell_w
            if not _finite(v):
                body.append(f"<rect x=\"{x}\" y=\"{y}\" width=\"{cell_w - 1}\" height=\"{cell_h - 1}\" fill=\"#f6f8fa\">"
                            f"<title>{esc(f'{name} @ {col_labels[c]}: no value')}</title></rect>")
                continue
            t = min(1.0, max(0.0, shades[r][c]))
            red, green, blue = int(255 - t * (255 - 207)), int(255 - t * (255 - 34)), int(255 - t * (255 - 46))
            cell = (f"<rect class=\"cell\" x=\"{x}\" y=\"{y}\" width=\"{cell_w - 1}\" height=\"{cell_h - 1}\" "
                    f"fill=\"rgb({red},{green},{blue})\"><title>{esc(f'{name} @ {col_labels[c]}: {fmt(v)}')}</title></rect>")
            link = links[c] if links else None
            body.append(f"<a href=\"{esc(link)}\">{cell}</a>" if link else cell)
    for c, name in enumerate(col_labels):
        x = left + (c + 0.5) * cell_w
        y = top + cell_h * len(row_labels) + 8
        body.append(f"<text x=\"{x:.1f}\" y=\"{y}\" font-size=\"9\" fill=\"{MUTED}\" text-anchor=\"end\" "
                    f"transform=\"rotate(-45 {x:.1f} {y})\">{esc(_clip(name, 14))}</text>")
    return _svg(width, height, label, body, "chart heatmap")
