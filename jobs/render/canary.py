"""canary.html (one look at a canary) and its Prometheus samples, from the canary document (canary.report).

Pure: the document and the look history in, HTML / samples out. Built from jobs.render's page shell (the
Content-Security-Policy forbids every network load), tables and inline SVG charts; every data-derived
string is escaped.
"""

from __future__ import annotations

from typing import Any, Sequence

from jobs.render.charts import BAD, BASE, CURRENT, line_chart
from jobs.render.html import esc, fmt, number, page, table, text
from jobs.render.prometheus import Sample

HELP = {   # jobs.render.prometheus.exposition's HELP lines for these families
    "canary_verdict": "Canary verdict: 1 for the decision taken (promote, keep watching, roll back), 0 for the others.",
    "canary_look": "Number of this look at the canary (each dqloop canary run is one).",
    "canary_accuracy": "Accuracy of the arm's model on the labeled rows of all looks so far.",
    "canary_labeled": "Labeled rows of the arm, all looks so far.",
    "canary_accuracy_difference": "Candidate minus control accuracy.",
    "canary_accuracy_difference_lower": "Lower bound of the always-valid confidence sequence of the accuracy difference.",
    "canary_accuracy_difference_upper": "Upper bound of the always-valid confidence sequence of the accuracy difference.",
    "canary_labels_still_needed": "Labels still needed (both arms) to promote a candidate as accurate as control.",
}

BADGE = {"promote": "v-ok", "roll back": "v-violations", "keep watching": "v-empty"}
DECISIONS = ("promote", "keep watching", "roll back")


def _pts(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:+.2f} pts"


def _share(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def _interval(lo: float | None, hi: float | None, f=_share) -> str:
    return "-" if lo is None or hi is None else f"{f(lo)} to {f(hi)}"


def canary_page(doc: dict[str, Any], looks: Sequence[dict[str, Any]], partition: str) -> str:
    v, acc = doc["verdict"], doc["accuracy"]
    names = {"control": doc["control"], "candidate": doc["candidate"]}
    seq, fixed = acc["sequence"], acc["difference"]
    need = acc["labels_needed"]
    body = [f"<h1>Canary: {esc(names['candidate'])} against {esc(names['control'])}</h1>",
            f"<p><span id=\"verdict\" class=\"verdict {BADGE[v['decision']]}\">{esc(v['decision'])}</span> "
            f"<span class=\"legend\">{esc(doc['mode'])}, partition {esc(partition)}, look {doc['look']}</span></p>",
            "<ul id=\"reasons\">" + "".join(f"<li>{esc(r)}</li>" for r in v["reasons"]) + "</ul>",
            "<div class=\"facts\">",
            f"<div>difference<b id=\"difference\">{esc(_pts(seq['value']))}</b></div>",
            f"<div>always-valid {100 * seq['level']:.0f}% interval"
            f"<b id=\"sequence\">{esc(_interval(seq['lower'], seq['upper'], _pts))}</b></div>",
            f"<div>labeled rows<b id=\"labeled\">{esc(fmt(acc['labeled']))}</b></div>",
            f"<div>labels still needed to promote<b id=\"still-needed\">"
            f"{esc(fmt(need['still_needed_to_promote_if_equal']) if v['decision'] == 'keep watching' else 'none: decided')}"
            "</b></div>",
            "</div>",
            "<h2>Accuracy</h2>"]
    rows = []
    for key in ("control", "candidate"):
        a = acc[key]
        rows.append([text(key), text(names[key]), number(a["accuracy"], _share(a["accuracy"])),
                     text(_interval(a["lower"], a["upper"])), number(a["labeled"]), number(a["effective_labeled"])])
    body.append(table(["arm", "model", "accuracy", f"{100 * doc['settings']['level']:.0f}% interval", "labeled",
                       "effective labeled"], rows, id_="accuracy"))
    diffs = [[text("accuracy"), text("always-valid (decides)"), number(seq["value"], _pts(seq["value"])),
              text(_interval(seq["lower"], seq["upper"], _pts)), text(seq["method"])],
             [text("accuracy"), text("this look only"), number(fixed["value"], _pts(fixed["value"])),
              text(_interval(fixed["lower"], fixed["upper"], _pts)), text(fixed["method"])]]
    for name, d in (doc.get("metric_differences") or {}).items():
        diffs.append([text(name), text("this look only"), number(d["value"], _pts(d["value"])),
                      text(_interval(d["lower"], d["upper"], _pts)), text(d["method"])])
    body += ["<h2>Differences (candidate - control)</h2>",
             table(["metric", "interval", "difference", "interval bounds", "method"], diffs, id_="differences")]
    if "mcnemar" in acc:
        m = acc["mcnemar"]
        body.append(f"<p id=\"mcnemar\">Same rows: {m['candidate_only_correct']} only the candidate got right, "
                    f"{m['control_only_correct']} only control; McNemar exact p = {esc(fmt(m['exact_p_value']))}.</p>")
    body += ["<h2>Labels needed</h2>",
             table(["goal", "labels in all", "still needed"], [
                 [text(f"promote at margin {100 * doc['settings']['margin']:.2f} pts, if the models are equally "
                       "accurate"), number(need["to_promote_if_equal"]), number(need["still_needed_to_promote_if_equal"])],
                 [text(f"catch a drop of {100 * doc['settings']['detectable_drop']:.1f} pts with "
                       f"{100 * doc['settings']['power']:.0f}% power"), number(need["to_detect_drop"]),
                  number(need["still_needed_to_detect_drop"])]], cls="plain", id_="needed")]
    sig_rows = []
    for s in doc["signals"]:
        sig_rows.append([text(s["name"]), text(s["statistic"]), number(s["value"]),
                         number(s["p_value"]), text("flagged" if s["flagged"] else "-",
                                                    "failed" if s["flagged"] else "")])
    body += ["<h2>Predictions and scores (no labels needed)</h2>",
             table(["signal", "statistic", "value", "p-value", ""], sig_rows, id_="signals")]
    if looks:
        xs = [f"look {lk['look']}" for lk in looks]
        margin = doc["settings"]["margin"]
        ends = [x for lk in looks for x in (lk.get("lower"), lk.get("upper")) if x is not None]
        lo, hi = min(ends + [-2 * margin]), max(ends + [margin])
        pad = 0.05 * (hi - lo)
        body += ["<h2>Across looks</h2>",
                 line_chart(xs, [("difference", [lk.get("difference") for lk in looks], CURRENT),
                                 ("margin", [-doc["settings"]["margin"]] * len(looks), BAD),
                                 ("zero", [0.0] * len(looks), BASE)],
                            "accuracy difference per look, with its always-valid interval",
                            band=([lk.get("lower") for lk in looks], [lk.get("upper") for lk in looks]),
                            y_range=(lo - pad, hi + pad)),
                 "<p class=\"legend\"><span class=\"sw-cur\">&#9632;</span> difference with its always-valid "
                 "interval per look; red: minus the margin (promote when the interval is above it); blue: 0 (roll "
                 "back when the interval is below it)</p>",
                 table(["look", "partition", "run time", "labeled", "difference", "interval", "verdict"],
                       [[number(lk["look"]), text(lk["partition"]), text(lk["run_time"]), number(lk["labeled"]),
                         number(lk.get("difference"), _pts(lk.get("difference"))),
                         text(_interval(lk.get("lower"), lk.get("upper"), _pts)), text(lk["decision"])]
                        for lk in looks], id_="looks")]
    return page(f"canary: {names['candidate']} vs {names['control']}", "\n".join(body))


def canary_samples(doc: dict[str, Any], partition: str) -> list[Sample]:
    """dqloop_canary_* gauges: the verdict (1 for the decision taken), accuracies, the difference and its
    always-valid bounds, labeled rows and labels still needed, the look number."""
    base = (("partition", partition), ("candidate", str(doc["candidate"])))
    acc = doc["accuracy"]
    out = [Sample("canary_verdict", base + (("decision", d),), 1.0 if doc["verdict"]["decision"] == d else 0.0)
           for d in DECISIONS]
    out.append(Sample("canary_look", base, float(doc["look"])))
    for arm in ("control", "candidate"):
        a = acc[arm]
        if a["accuracy"] is not None:
            out.append(Sample("canary_accuracy", base + (("arm", arm),), a["accuracy"]))
        out.append(Sample("canary_labeled", base + (("arm", arm),), float(a["labeled"])))
    seq = acc["sequence"]
    for key, name in (("value", "canary_accuracy_difference"), ("lower", "canary_accuracy_difference_lower"),
                      ("upper", "canary_accuracy_difference_upper")):
        if seq[key] is not None:
            out.append(Sample(name, base, seq[key]))
    left = acc["labels_needed"]["still_needed_to_promote_if_equal"]
    if left is not None:
        out.append(Sample("canary_labels_still_needed", base, float(left)))
    return out
