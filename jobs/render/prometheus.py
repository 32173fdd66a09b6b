"""Prometheus text exposition format (version 0.0.4): the open counterpart of SageMaker's CloudWatch
metrics (feature_data_*, feature_non_null_*, feature_baseline_drift_*), with partition and feature
as labels instead of being baked into names.

    dqloop_rows{partition}                          rows in the partition
    dqloop_violations{partition}                    failed checks
    dqloop_check_violations{partition,check}        failed checks by check type
    dqloop_feature_non_null{partition,feature}      completeness (share of non-null values)
    dqloop_feature_baseline_drift{partition,feature}  the drift distance the check compares
    dqloop_feature_<measure>{partition,feature}     mean, sum, std_dev, min, max, sample_count,
                                                    distinct_count, psi, js_distance, wasserstein_normalized
                                                    and any further per-feature metric of the history
    dqloop_labeled_accuracy{partition}              accuracy on human labels; _lower, _upper (its
                                                    interval) and dqloop_labeled_count beside it

Every metric is a gauge without timestamps (node_exporter's textfile collector rejects them).
Label values are escaped as the format requires (backslash, double quote, line feed).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

PREFIX = "dqloop_"
RUN_METRICS = {"row_count": "rows", "violations": "violations"}
FEATURE_METRICS = {"completeness": "feature_non_null", "baseline_drift": "feature_baseline_drift"}
STATISTICS = ("mean", "sum", "std_dev", "min", "max")
HELP = {
    "rows": "Rows in the partition.",
    "violations": "Failed checks in the partition.",
    "check_violations": "Failed checks in the partition, by check type.",
    "feature_non_null": "Share of non-null values of the feature (completeness).",
    "feature_baseline_drift": "Distance of the feature's distribution to the baseline's, as its drift check measures it.",
    "labeled_accuracy": "Accuracy of the model on human-labeled samples of the partition.",
    "labeled_accuracy_lower": "Lower bound of the labeled accuracy's confidence interval.",
    "labeled_accuracy_upper": "Upper bound of the labeled accuracy's confidence interval.",
    "labeled_count": "Labeled samples behind the labeled accuracy.",
}


@dataclass(frozen=True)
class Sample:
    name: str                              # without the dqloop_ prefix
    labels: tuple[tuple[str, str], ...]
    value: float


def _name(metric: str) -> str:
    """A history metric name as a Prometheus name part: [a-zA-Z0-9_] only."""
    cleaned = re.sub(r"[^a-zA-Z0-9_]", "_", metric)
    return cleaned if not cleaned[:1].isdigit() else "_" + cleaned


def history_samples(partition: str, rows: Iterable[Mapping[str, Any]]) -> list[Sample]:
    """Samples from metrics-history rows ({feature, metric, value}) of one partition, labeled ones too."""
    out = []
    for r in rows:
        metric, feature, value = str(r["metric"]), r.get("feature"), r.get("value")
        if value is None:
            continue
        if feature in (None, "*"):
            name = RUN_METRICS.get(metric, _name(metric))
            out.append(Sample(name, (("partition", partition),), float(value)))
        else:
            name = FEATURE_METRICS.get(metric, "feature_" + _name(metric))
            out.append(Sample(name, (("partition", partition), ("feature", str(feature))), float(value)))
    return out


def statistics_samples(partition: str, statistics: Mapping[str, Any]) -> list[Sample]:
    """feature_data statistics from a statistics.json: numeric mean/sum/std_dev/min/max and the count of
    non-null values (CloudWatch's SampleCount)."""
    out = []
    for f in statistics.get("features", []):
        labels = (("partition", partition), ("feature", str(f.get("name"))))
        block = f.get("numerical_statistics") or f.get("string_statistics") or {}
        present = (block.get("common") or {}).get("num_present")
        if present is not None:
            out.append(Sample("feature_sample_count", labels, float(present)))
        num = f.get("numerical_statistics")
        if num and present:
            out += [Sample(f"feature_{k}", labels, float(num[k])) for k in STATISTICS if num.get(k) is not None]
    return out


def check_samples(partition: str, checks: Mapping[str, Any]) -> list[Sample]:
    """Failed checks by check type (0 for a type that ran and passed everywhere)."""
    counts: dict[str, int] = {}
    for c in checks.get("checks", []):
        counts[str(c.get("check"))] = counts.get(str(c.get("check")), 0) + (c.get("status") == "failed")
    return [Sample("check_violations", (("partition", partition), ("check", k)), float(n)) for k, n in counts.items()]


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return repr(float(x))


def exposition(samples: Iterable[Sample], help_texts: Mapping[str, str] | None = None) -> str:
    """The text format: samples grouped per metric (one HELP and TYPE each), the last of duplicates kept;
    `help_texts` adds HELP lines for families not in HELP (the canary's, impact's)."""
    families: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for s in samples:
        families.setdefault(s.name, {})[s.labels] = s.value
    lines = []
    for name in sorted(families):
        full = PREFIX + name
        help_text = (help_texts or {}).get(name) or HELP.get(name, f"dqloop metric {name.replace('_', ' ')} of the partition.")
        lines += [f"# HELP {full} {help_text}", f"# TYPE {full} gauge"]
        for labels, value in families[name].items():
            inner = ",".join(f'{k}="{_label_value(v)}"' for k, v in labels)
            lines.append(f"{full}{{{inner}}} {_number(value)}")
    return "\n".join(lines) + "\n"
