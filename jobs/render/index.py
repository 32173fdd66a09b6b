"""index.html over all validated partitions, drawn from the metrics history.

A timeline across partitions (in partition-name order, which is time order for Hive-style date or
chunk partitions): row counts, violation counts, labeled accuracy with its confidence interval when
labels exist, quality estimated without labels when the baseline has a model reference
(jobs.render.estimated), the checks across features (jobs.render.cross_feature), and per feature the drift distance and completeness as heat maps; a table links
each partition's report.html. Pure: the history table (jobs.history.read_history) and links in, HTML out.
"""

from __future__ import annotations

import math
from typing import Mapping

import pandas as pd

from jobs.render.charts import BAD, BASE, CURRENT, heatmap, line_chart
from jobs.render import cross_feature
from jobs.render.estimated import estimated_section
from jobs.render.html import Cell, esc, fmt, number, page, table, text

LABELED = ("labeled_accuracy", "labeled_accuracy_lower", "labeled_accuracy_upper", "labeled_count")
DRIFT_SCALE_FLOOR = 0.1       # the default drift threshold: drift at or above it is drawn darkest
MISSING_SCALE_FLOOR = 0.05


def _run_metrics(history: pd.DataFrame) -> dict[tuple[str, str], float]:
    """{(partition, metric): value} of the partition-level rows (feature "*"), in one pass."""
    rows = history[history.feature == "*"]
    return {(p, m): float(v) for p, m, v in zip(rows.partition, rows.metric, rows.value)}


def _matrix(history: pd.DataFrame, metric: str, partitions: list[str]) -> tuple[list[str], list[list[float | None]]]:
    rows = history[(history.metric == metric) & (history.feature != "*")]
    if rows.empty:
        return [], []
    wide = rows.pivot_table(index="feature", columns="partition", values="value", aggfunc="last")
    features = [f for f in dict.fromkeys(rows.feature)]   # first-seen order
    return features, [[(None if p not in wide.columns or pd.isna(wide.at[f, p]) else float(wide.at[f, p]))
                       for p in partitions] for f in features]


def _shades(values: list[list[float | None]], transform, floor: float) -> list[list[float]]:
    flat = [transform(v) for row in values for v in row if v is not None and not math.isnan(v)]
    top = max(flat + [floor])
    return [[(transform(v) / top if v is not None and not math.isnan(v) else 0.0) for v in row] for row in values]


def index_page(history: pd.DataFrame, links: Mapping[str, str], title: str = "dqloop: partitions") -> str:
    """The whole index.html. `links` maps a partition to the relative href of its report."""
    partitions = sorted(set(history.partition))
    hrefs = [links.get(p) for p in partitions]
    run = _run_metrics(history)
    validated = [p for p in partitions if (p, "row_count") in run]
    rows = [run.get((p, "row_count")) for p in partitions]
    violations = [run.get((p, "violations")) for p in partitions]
    acc = {m: [run.get((p, m)) for p in partitions] for m in LABELED}
    counted = history[history.metric == "row_count"]
    validated_at = dict(zip(counted.partition, counted.run_time))
    bad = [p for p, v in zip(partitions, violations) if v]

    body = [f"<h1>{esc(title)}</h1>",
            "<div class=\"facts\">"
            f"<div>partitions<b id=\"partition-count\">{len(validated)}</b></div>"
            f"<div>with violations<b id=\"bad-count\">{len(bad)}</b></div>"
            f"<div>latest run<b>{esc(max(history.run_time) if len(history) else '-')}</b></div></div>"]
    if not partitions:
        body.append("<p>No partition in the metrics history yet: run <code>dqloop validate</code> first.</p>")
        return page(title, "\n".join(body))

    body.append("<h2>Rows and violations</h2>")
    body.append(line_chart(partitions, [("rows", rows, BASE)], "row count per partition", links=hrefs, bars=True))
    body.append(line_chart(partitions, [("violations", violations, BAD)], "violations per partition", links=hrefs))
    if any(v is not None for v in acc["labeled_accuracy"]):
        body.append("<h2>Labeled accuracy</h2><p class=\"legend\">Accuracy on human labels, with its "
                    "confidence interval (bars).</p>")
        body.append(line_chart(partitions, [("labeled accuracy", acc["labeled_accuracy"], CURRENT)],
                               "labeled accuracy per partition, with its interval", links=hrefs, y_range=(0.0, 1.0),
                               band=(acc["labeled_accuracy_lower"], acc["labeled_accuracy_upper"])))
    body += estimated_section(partitions, run, hrefs)   # quality estimated without labels (jobs.render.estimated)
    body += cross_feature.section(partitions, run, hrefs)   # checks across features (jobs.render.cross_feature)
    across = cross_feature.present(partitions, run)
    features, drift = _matrix(history, "baseline_drift", partitions)
    if features:
        body.append("<h2>Drift distance per feature</h2><p class=\"legend\">Darker is further from the baseline "
                    f"(darkest at {DRIFT_SCALE_FLOOR:g} or the largest value shown); grey: not measured.</p>")
        body.append(heatmap(features, partitions, drift, _shades(drift, lambda v: v, DRIFT_SCALE_FLOOR),
                            "drift distance per feature and partition", links=hrefs))
    features, complete = _matrix(history, "completeness", partitions)
    if features:
        body.append("<h2>Completeness per feature</h2><p class=\"legend\">Darker has more missing values.</p>")
        body.append(heatmap(features, partitions, complete, _shades(complete, lambda v: 1.0 - v, MISSING_SCALE_FLOOR),
                            "completeness per feature and partition", links=hrefs))

    body.append("<h2>Partitions</h2><p class=\"legend\">Click a column header to sort.</p>")
    table_rows = []
    for i, p in enumerate(partitions):
        link = hrefs[i]
        acc_i = acc["labeled_accuracy"][i]
        interval = "" if acc_i is None else \
            f"{fmt(acc_i)} [{fmt(acc['labeled_accuracy_lower'][i])}, {fmt(acc['labeled_accuracy_upper'][i])}]"
        table_rows.append([
            Cell(f"<a href=\"{esc(link)}\">{esc(p)}</a>" if link else esc(p), p),
            text(validated_at.get(p, "-")),
            number(rows[i]),
            Cell(esc(fmt(violations[i])), "" if violations[i] is None else repr(violations[i]),
                 "num failed" if violations[i] else "num"),
            number(acc_i, interval or "-"),
            number(acc["labeled_count"][i]),
            *(cross_feature.cells(p, run) if across else []),
        ])
    body.append(table(["partition", "validated", "rows", "violations", "labeled accuracy [interval]", "labeled",
                       *(cross_feature.HEADERS if across else ())], table_rows, id_="partitions"))
    return page(title, "\n".join(body))
