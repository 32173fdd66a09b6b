"""The report's multivariate parts: the correlation change as a heat map (one per coefficient) and a
numeric feature's quantiles in its card. Pure: checks.json entries in, HTML (inline SVG) out; colours are
presentation attributes, every label escaped."""

from __future__ import annotations

from typing import Any, Iterable

from jobs.render.charts import BAD, GRID, INK, MUTED, _clip, _svg
from jobs.render.html import esc, fmt

CHECKS = ("correlation_drift_check", "association_drift_check")
TITLES = {"pearson": "Pearson's r", "spearman": "Spearman's rho (on the baseline's ranks)",
          "cramers_v": "Cramér's V (categorical pairs)"}


def is_pair_check(check: dict[str, Any]) -> bool:
    return check.get("check") in CHECKS


def _colour(change: float) -> str:
    """Diverging: blue where the correlation fell, red where it rose, white where it stayed (|change| 1: full)."""
    t = max(-1.0, min(1.0, change))
    if t >= 0:
        r, g, b = 255, int(255 - 180 * t), int(255 - 200 * t)
    else:
        r, g, b = int(255 + 200 * t), int(255 + 130 * t), 255
    return f"#{r:02x}{g:02x}{b:02x}"


def heat_map(checks: Iterable[dict[str, Any]], method: str) -> str:
    """Lower-triangle heat map of the change of each pair's correlation (partition - baseline); failed
    pairs outlined; each cell's tooltip gives both values and the test."""
    cells = [c for c in checks if is_pair_check(c) and (c.get("details") or {}).get("method") == method]
    if not cells:
        return ""
    columns: list[str] = []
    for c in cells:
        for name in c["details"]["columns"]:
            if name not in columns:
                columns.append(name)
    index = {n: i for i, n in enumerate(columns)}
    size = max(14, min(36, 520 // max(len(columns), 1)))
    left, top = 110, 10
    width, height = left + size * len(columns) + 10, top + size * len(columns) + 100
    body = []
    for c in cells:
        d = c["details"]
        a, b = sorted((index[d["columns"][0]], index[d["columns"][1]]))
        x, y = left + a * size, top + (b - 1) * size + size   # row b, column a (b > a)
        failed = c.get("status") == "failed"
        tip = (f"{d['columns'][0]} ~ {d['columns'][1]}: {fmt(d['baseline'])} in the baseline, "
               f"{fmt(d['partition'])} here (change {d['change']:+.3f}, z {fmt(d['z'])}); {c.get('status')}")
        body.append(f"<rect class=\"cell{' failed' if failed else ''}\" data-pair=\"{esc(c.get('feature'))}\" "
                    f"data-change=\"{d['change']:.6f}\" x=\"{x}\" y=\"{y - size}\" width=\"{size - 1}\" "
                    f"height=\"{size - 1}\" fill=\"{_colour(float(d['change']))}\" "
                    f"stroke=\"{BAD if failed else GRID}\" stroke-width=\"{3 if failed else 1}\">"
                    f"<title>{esc(tip)}</title></rect>")
        if size >= 28:
            body.append(f"<text x=\"{x + size / 2:.1f}\" y=\"{y - size / 2 + 3:.1f}\" font-size=\"9\" "
                        f"text-anchor=\"middle\" fill=\"{INK}\">{esc(format(d['change'], '+.2f'))}</text>")
    for name, i in index.items():
        if i:   # row labels (rows 1..n-1)
            body.append(f"<text x=\"{left - 4}\" y=\"{top + i * size - size / 2 + 3:.1f}\" font-size=\"9\" "
                        f"text-anchor=\"end\" fill=\"{MUTED}\">{esc(_clip(name, 18))}</text>")
        if i < len(columns) - 1:   # column labels
            cx = left + i * size + size / 2
            y0 = top + (len(columns) - 1) * size + 10
            body.append(f"<text x=\"{cx:.1f}\" y=\"{y0}\" font-size=\"9\" fill=\"{MUTED}\" text-anchor=\"end\" "
                        f"transform=\"rotate(-45 {cx:.1f} {y0})\">{esc(_clip(name, 18))}</text>")
    label = f"Change of {TITLES.get(method, method)} per pair, partition minus baseline"
    return _svg(width, height, label, body, f"chart heatmap {method}")


def correlation_section(checks: list[dict[str, Any]]) -> str:
    """The report's section: the failed pairs named, and a heat map per coefficient."""
    pairs = [c for c in checks if is_pair_check(c)]
    if not pairs:
        return ""
    failed = sorted({str(c.get("feature")) for c in pairs if c.get("status") == "failed"})
    parts = ["<h2>Correlations and associations</h2>",
             f"<p id=\"correlation-summary\">{len(failed)} of {len({c.get('feature') for c in pairs})} pairs changed"
             + (": " + ", ".join(f"<b class=\"failed\">{esc(p)}</b>" for p in failed) if failed else "") + ".</p>",
             "<p class=\"legend\">Change of each pair's correlation, partition minus baseline: red rose, blue "
             "fell; outlined pairs failed the check (Fisher's z at both sizes and the minimum effect).</p>"]
    for method in TITLES:
        svg = heat_map(pairs, method)
        if svg:
            parts.append(f"<h3>{esc(TITLES[method])}</h3><div id=\"heatmap-{method}\">{svg}</div>")
    return "".join(parts)


def quantile_line(checks: Iterable[dict[str, Any]]) -> str:
    """A numeric feature's p01, quartiles, median and p99, baseline and current, with the shifts."""
    for c in checks:
        q = (c.get("details") or {}).get("quantiles") if c.get("check") == "baseline_drift_check" else None
        if q:
            head = "".join(f"<th>{esc(k)}</th>" for k in q)
            row = lambda key: "".join(f"<td class=\"num\">{esc(fmt(v[key]))}</td>" for v in q.values())  # noqa: E731
            shift = "".join(f"<td class=\"num\">{esc('-' if v['shift_iqr'] is None else format(v['shift_iqr'], '+.2f'))}"
                            f"</td>" for v in q.values())
            return (f"<table class=\"quantiles\"><tr><th></th>{head}</tr><tr><th>baseline</th>{row('baseline')}</tr>"
                    f"<tr><th>current</th>{row('partition')}</tr><tr><th>shift (IQR)</th>{shift}</tr></table>")
    return ""
