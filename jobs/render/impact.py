"""impact.html: CausalImpact's summary table and its three panels (observed vs counterfactual, pointwise
effect, cumulative effect) as inline SVG, from the impact document (causal.effect). Pure; page shell and
escaping from jobs.render.html, so the page is offline and forbids every network load."""

from __future__ import annotations

import math
from typing import Any, Sequence

from jobs.render.charts import BASE, INK, MUTED, _svg, axes
from jobs.render.html import esc, fmt, number, page, table, text
from jobs.render.prometheus import Sample

BAND = "#5b8def"
HELP = {
    "impact_average_absolute_effect": "CausalImpact: average effect over the post-intervention points.",
    "impact_average_absolute_effect_lower": "Lower bound of the average effect's posterior interval.",
    "impact_average_absolute_effect_upper": "Upper bound of the average effect's posterior interval.",
    "impact_cumulative_absolute_effect": "CausalImpact: cumulative effect over the post-intervention points.",
    "impact_cumulative_absolute_effect_lower": "Lower bound of the cumulative effect's posterior interval.",
    "impact_cumulative_absolute_effect_upper": "Upper bound of the cumulative effect's posterior interval.",
    "impact_relative_effect": "CausalImpact: average effect relative to the counterfactual.",
    "impact_posterior_tail_probability": "CausalImpact: posterior tail-area probability of the effect.",
    "impact_effect_detected": "1 when the average effect's interval excludes 0.",
}


def _finite(v) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)


def panel(times: Sequence[str], lines: Sequence[tuple[str, Sequence[float | None], str, bool]],
          band: tuple[Sequence[float | None], Sequence[float | None]] | None, post: int, label: str,
          zero: bool) -> str:
    """One panel: `lines` = (name, values, colour, dashed); the band shaded where both bounds exist; a dashed
    vertical line before point `post` (the intervention); a zero line when `zero`."""
    width, height, left, right, top, bottom = 820, 200, 64, 12, 10, 52
    n = len(times)
    plot_w, plot_h = width - left - right, height - top - bottom
    vals = [v for _, vs, _, _ in lines for v in vs if _finite(v)]
    if band:
        vals += [v for vs in band for v in vs if _finite(v)]
    if zero:
        vals.append(0.0)
    lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1.0
    pad = (hi - lo) * 0.05
    lo, hi = lo - pad, hi + pad

    def x(i: float) -> float:
        return left + (i + 0.5) * plot_w / max(n, 1)

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - lo) / (hi - lo))

    body = axes(times, (lo + pad, (lo + hi) / 2, hi - pad), x, y, left=left, right=width - right,
                bottom=top + plot_h, digits=4, most_labels=24)
    if band:
        pts = [(i, a, b) for i, (a, b) in enumerate(zip(*band)) if _finite(a) and _finite(b)]
        if pts:
            outline = [f"{x(i):.1f},{y(b):.1f}" for i, _, b in pts] + [f"{x(i):.1f},{y(a):.1f}" for i, a, _ in reversed(pts)]
            body.append(f"<polygon class=\"band\" points=\"{' '.join(outline)}\" fill=\"{BAND}\" fill-opacity=\"0.2\" "
                        f"stroke=\"none\"><title>{esc(label)}: interval</title></polygon>")
    if zero:
        body.append(f"<line class=\"zero\" x1=\"{left}\" y1=\"{y(0):.1f}\" x2=\"{width - right}\" y2=\"{y(0):.1f}\" "
                    f"stroke=\"{INK}\" stroke-width=\"0.8\"/>")
    if 0 < post < n:
        xi = (x(post - 1) + x(post)) / 2
        body.append(f"<line class=\"intervention\" x1=\"{xi:.1f}\" y1=\"{top}\" x2=\"{xi:.1f}\" y2=\"{top + plot_h}\" "
                    f"stroke=\"{MUTED}\" stroke-dasharray=\"4 3\"><title>intervention</title></line>")
    for name, vs, colour, dashed in lines:
        pts = [(i, v) for i, v in enumerate(vs) if _finite(v)]
        if len(pts) > 1:
            path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in pts)
            dash = " stroke-dasharray=\"5 3\"" if dashed else ""
            body.append(f"<polyline class=\"line\" data-series=\"{esc(name)}\" points=\"{path}\" fill=\"none\" "
                        f"stroke=\"{colour}\" stroke-width=\"1.5\"{dash}><title>{esc(name)}</title></polyline>")
    return _svg(width, height, label, body, "chart impact")


def _row(name: str, block: dict, key: str, pct: bool = False) -> list:
    f = (lambda v: "-" if v is None else f"{100 * v:.3g}%") if pct else (lambda v: fmt(v))
    return [text(name), number(block[key], f(block[key])), number(block.get(key + "_sd"), f(block.get(key + "_sd"))),
            text(f"{f(block.get(key + '_lower'))} to {f(block.get(key + '_upper'))}")]


def impact_page(doc: dict[str, Any], title: str) -> str:
    pw = doc["pointwise"]
    times = [r["time"] for r in pw]
    post = doc["intervention"]["pre_points"]
    level = f"{100 * (1 - doc['alpha']):.0f}%"
    a, c = doc["average"], doc["cumulative"]
    verdict = "effect" if doc["effect_detected"] else "no effect"
    body = [f"<h1>{esc(title)}</h1>",
            f"<p><span id=\"verdict\" class=\"verdict {'v-violations' if doc['effect_detected'] else 'v-ok'}\">"
            f"{esc(verdict)}</span> <span id=\"conclusion\">{esc(doc['conclusion'])}</span></p>",
            f"<p class=\"legend\">Intervention before {esc(doc['intervention']['first_post_point'])}: "
            f"{doc['intervention']['pre_points']} points before, {doc['intervention']['post_points']} after; "
            f"response {esc(doc['response'])}"
            + (f", controls {esc(', '.join(doc['controls']))}" if doc["controls"] else ", no control series")
            + f". Model: {esc(doc['model']['library'])} {esc(doc['model']['version'])} ({esc(doc['model']['state'])}, "
              f"{doc['model']['niter']} iterations, {doc['model']['nwarmup']} burn-in, seed {doc['model']['seed']}).</p>",
            *[f"<p class=\"legend warning\">Note: {esc(w)}.</p>" for w in doc["warnings"]],
            "<h2>Posterior inference</h2>"]
    rows = []
    for name, block in (("average", a), ("cumulative", c)):
        rows += [[text(f"{name}: actual"), number(block["actual"]), text("-"), text("-")],
                 _row(f"{name}: prediction", block, "predicted"),
                 _row(f"{name}: absolute effect", block, "absolute_effect"),
                 _row(f"{name}: relative effect", block, "relative_effect", pct=True)]
    body.append(table(["", "value", "s.d.", f"{level} interval"], rows, cls="plain", id_="summary"))
    body.append(f"<p id=\"tail\">Posterior tail-area probability p = {esc(fmt(doc['posterior_tail_probability']))}; "
                f"posterior probability of a causal effect {100 * doc['posterior_probability_of_effect']:.2f}%.</p>")
    col = lambda k: [r[k] for r in pw]  # noqa: E731
    body += ["<h2>Observed and counterfactual</h2>",
             panel(times, [("observed", col("actual"), INK, False), ("counterfactual", col("predicted"), BASE, True)],
                   (col("predicted_lower"), col("predicted_upper")), post, "observed and counterfactual", False),
             "<h2>Pointwise effect</h2>",
             panel(times, [("pointwise effect", col("point_effect"), BASE, True)],
                   (col("point_effect_lower"), col("point_effect_upper")), post, "pointwise effect", True),
             "<h2>Cumulative effect</h2>",
             panel(times, [("cumulative effect", col("cumulative_effect"), BASE, True)],
                   (col("cumulative_effect_lower"), col("cumulative_effect_upper")), post, "cumulative effect", True),
             "<p class=\"legend\">Shaded: the " + level + " posterior interval. The counterfactual is drawn after the "
             "intervention only (R's plot also shows the in-sample fit before it).</p>"]
    return page(title, "\n".join(body))


def impact_samples(doc: dict[str, Any], series: str) -> list[Sample]:
    base = (("series", series),)
    a, c = doc["average"], doc["cumulative"]
    out = []
    for name, block in (("impact_average", a), ("impact_cumulative", c)):
        for key in ("absolute_effect", "absolute_effect_lower", "absolute_effect_upper"):
            if block[key] is not None:
                out.append(Sample(f"{name}_{key}", base, block[key]))
    if a["relative_effect"] is not None:
        out.append(Sample("impact_relative_effect", base, a["relative_effect"]))
    out.append(Sample("impact_posterior_tail_probability", base, doc["posterior_tail_probability"]))
    out.append(Sample("impact_effect_detected", base, 1.0 if doc["effect_detected"] else 0.0))
    return out
