"""report.html's "Drift across features" section: the domain classifier's verdict (constraints.domain), its
AUROC, 2 AUROC - 1 and Azure's drift coefficient, and each feature's contribution as a bar chart.

Pure: the checks of checks.json in, HTML out; empty when the partition has no domain_classifier_check.
"""

from __future__ import annotations

from typing import Any, Sequence

from jobs.render.charts import BAD, BASE, INK, MUTED
from jobs.render.html import esc, fmt

CHECK = "domain_classifier_check"   # constraints.domain.CHECK (not imported: rendering reads documents only)
MAX_BARS = 20


def contribution_bars(rows: Sequence[tuple[str, float, float]], label: str, alarm: bool) -> str:
    """Horizontal bars, one per feature: (feature, contribution to the drift coefficient, share)."""
    row_h, left, width = 22, 160, 520
    height = max(len(rows), 1) * row_h + 6
    top = max([c for _, c, _ in rows] + [1e-9])
    scale = (width - left - 110) / top
    colour = BAD if alarm else BASE
    body = []
    for i, (name, contribution, share) in enumerate(rows):
        y = 3 + i * row_h
        shown = name if len(name) <= 22 else name[:21] + "\u2026"
        w = max(contribution * scale, 0.0)
        body.append(f"<text x=\"{left - 6}\" y=\"{y + 14}\" font-size=\"10\" text-anchor=\"end\" fill=\"{INK}\">"
                    f"{esc(shown)}</text>")
        body.append(f"<rect class=\"bar contribution\" data-feature=\"{esc(name)}\" x=\"{left}\" y=\"{y + 3}\" "
                    f"width=\"{w:.1f}\" height=\"14\" fill=\"{colour}\"><title>"
                    f"{esc(f'{name}: {contribution:.2f} of the drift coefficient ({100 * share:.1f}% of the drift)')}"
                    f"</title></rect>")
        body.append(f"<text x=\"{left + w + 4:.1f}\" y=\"{y + 14}\" font-size=\"9\" fill=\"{MUTED}\">"
                    f"{esc(f'{contribution:.2f} ({100 * share:.0f}%)')}</text>")
    return (f"<svg class=\"chart contributions\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" "
            f"height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{esc(label)}\">"
            f"<title>{esc(label)}</title>" + "".join(body) + "</svg>")


def domain_section(checks: Sequence[dict[str, Any]]) -> str:
    check = next((c for c in checks if c.get("check") == CHECK), None)
    if check is None:
        return ""
    head = "<h2>Drift across features (domain classifier)</h2>"
    status = str(check.get("status"))
    if status == "skipped":
        return head + f"<p id=\"domain\" class=\"skipped\">{esc(check.get('description'))}</p>"
    d = check.get("details") or {}
    alarm = status == "failed"
    facts = (("drift coefficient", f"{fmt(d.get('drift_coefficient'), 3)} / 100", "domain-coefficient"),
             ("AUROC", fmt(d.get("auroc")), "domain-auroc"),
             ("threshold", fmt(check.get("threshold")), "domain-threshold"),
             ("2 AUROC \u2212 1", fmt(d.get("skill")), "domain-skill"),
             ("p-value", fmt(d.get("p_value"), 3), "domain-p"),
             ("sample rows", f"{fmt(d.get('baseline_sample_rows'))} baseline, {fmt(d.get('partition_sample_rows'))} "
                             "partition", "domain-rows"))
    contributions = [(str(c["feature"]), float(c["contribution"]), float(c["share"]))
                     for c in d.get("contributions") or []][:MAX_BARS]
    parts = [head, f"<div id=\"domain\" class=\"card{' bad' if alarm else ''}\">",
             f"<p><span class=\"{esc(status)}\">{esc(status)}</span> {esc(check.get('description'))}</p>",
             "<div class=\"facts\">" + "".join(f"<div>{esc(k)}<b id=\"{esc(i)}\">{esc(v)}</b></div>" for k, v, i in facts)
             + "</div>",
             "<p class=\"legend\">Contribution of each feature to the drift coefficient (mean |SHAP| of the "
             "classifier on held-out partition rows, as shares of the drift; they add up to the coefficient).</p>"]
    if contributions:
        parts.append(contribution_bars(contributions, "Each feature's contribution to the drift coefficient", alarm))
    parts.append("</div>")
    return "".join(parts)
