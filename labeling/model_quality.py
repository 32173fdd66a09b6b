"""The model-quality document in SageMaker Model Monitor's shape, each metric as {"value",
"standard_deviation"} plus dqloop's "confidence_interval": {"lower", "upper", "level"}; and a short
summary for people.

Two classes give `binary_classification_metrics` (the positive class as chosen by the caller), more give
`multiclass_classification_metrics`. dqloop adds, in both: macro_f1, weighted_f1 (binary too),
per_class (precision, recall, f1, estimated support), and a `dqloop` block with what the figures rest
on (labeled rows, partition rows, strategy, estimator) and, when a second model's predictions are
given, the champion/challenger comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from labeling import quality
from labeling.quality import Estimate


@dataclass(frozen=True)
class Quality:
    document: dict[str, Any]
    accuracy: Estimate
    labeled: int
    population: int
    comparison: quality.Comparison | None


def _f(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _metric(e: Estimate) -> dict[str, Any]:
    return {"value": _f(e.value), "standard_deviation": _f(e.standard_deviation),
            "confidence_interval": {"lower": _f(e.lower), "upper": _f(e.upper), "level": e.level}}


def _fbeta(y_true, y_pred, pi, positive: str, beta: float, level: float) -> Estimate:
    t, p = (y_true == positive).astype(float), (y_pred == positive).astype(float)
    b2 = beta * beta
    return quality.ratio((1 + b2) * t * p, b2 * t + p, pi, level)


def compute(y_true: np.ndarray, y_pred: np.ndarray, pi: np.ndarray, population: int, classes: list[str], *,
            positive: str | None = None, challenger: np.ndarray | None = None, names: tuple[str, str] = ("a", "b"),
            strategy: str | None = None, level: float = quality.LEVEL) -> Quality:
    y_true, y_pred = np.asarray(y_true).astype(str), np.asarray(y_pred).astype(str)
    pi = np.asarray(pi, dtype="float64")
    acc = quality.accuracy(y_true, y_pred, pi, level)
    agg = quality.aggregates(y_true, y_pred, pi, classes, level=level)
    cm = quality.confusion(y_true, y_pred, pi, classes, population, level)
    per = quality.per_class(y_true, y_pred, pi, classes, level)
    common = {
        "accuracy": _metric(acc),
        "macro_f1": _metric(agg["macro_f1"]),
        "weighted_f1": _metric(agg["weighted_f1"]),
        "confusion_matrix": {t: {p: _f(cm[t][p].value) for p in classes} for t in classes},
        "confusion_matrix_confidence_interval": {t: {p: {"lower": _f(cm[t][p].lower), "upper": _f(cm[t][p].upper),
                                                         "level": level} for p in classes} for t in classes},
        "per_class": {m.label: {"precision": _metric(m.precision), "recall": _metric(m.recall),
                                "f1": _metric(m.f1), "estimated_support": _f(m.support)} for m in per},
    }
    if len(classes) == 2:
        pos = positive if positive is not None else classes[1]
        neg = next(c for c in classes if c != pos)
        t, p = (y_true == pos).astype(float), (y_pred == pos).astype(float)
        metrics = {
            **common,
            "recall": _metric(quality.ratio(t * p, t, pi, level)),
            "precision": _metric(quality.ratio(t * p, p, pi, level)),
            "true_positive_rate": _metric(quality.ratio(t * p, t, pi, level)),
            "true_negative_rate": _metric(quality.ratio((1 - t) * (1 - p), 1 - t, pi, level)),
            "false_positive_rate": _metric(quality.ratio((1 - t) * p, 1 - t, pi, level)),
            "false_negative_rate": _metric(quality.ratio(t * (1 - p), t, pi, level)),
            "f0_5": _metric(_fbeta(y_true, y_pred, pi, pos, 0.5, level)),
            "f1": _metric(_fbeta(y_true, y_pred, pi, pos, 1.0, level)),
            "f2": _metric(_fbeta(y_true, y_pred, pi, pos, 2.0, level)),
        }
        key, extra = "binary_classification_metrics", {"positive_label": pos, "negative_label": neg}
    else:
        metrics = {**common, **{k: _metric(agg[k]) for k in ("weighted_recall", "weighted_precision",
                                                              "weighted_f0_5", "weighted_f2")}}
        key, extra = "multiclass_classification_metrics", {}
    comparison = None
    meta: dict[str, Any] = {
        "labeled_rows": int(len(y_true)), "partition_rows": int(population), "classes": list(classes),
        "sampling_strategy": strategy, **extra,
        "estimator": "Hajek ratio (weights 1/inclusion probability); Wilson interval on the design-effect "
                     "effective n with t quantile; bootstrap percentile for macro/weighted aggregates",
    }
    if challenger is not None:
        comparison = quality.mcnemar(y_true, y_pred, np.asarray(challenger).astype(str), pi, level)
        acc_b = quality.accuracy(y_true, np.asarray(challenger).astype(str), pi, level)
        meta["champion_challenger"] = {
            "champion": names[0], "challenger": names[1],
            "champion_accuracy": _metric(acc), "challenger_accuracy": _metric(acc_b),
            "accuracy_difference": _metric(comparison.difference),
            "champion_only_correct": comparison.a_only_correct, "challenger_only_correct": comparison.b_only_correct,
            "mcnemar_exact_p_value": comparison.p_value,
            "better": {None: None, "a": names[0], "b": names[1]}[comparison.better],
        }
    return Quality({key: metrics, "dqloop": meta}, acc, int(len(y_true)), int(population), comparison)


def summary(q: Quality, names: tuple[str, str] = ("a", "b")) -> str:
    a = q.accuracy
    pct = lambda x: "n/a" if not np.isfinite(x) else f"{x:.1%}"  # noqa: E731
    lines = [f"accuracy {pct(a.value)} (95% interval {pct(a.lower)} to {pct(a.upper)}) "
             f"from {q.labeled} labeled rows of {q.population}"]
    key = next(k for k in q.document if k.endswith("_metrics"))
    m = q.document[key]
    lines.append(f"macro F1 {pct(m['macro_f1']['value'] or float('nan'))}, weighted F1 "
                 f"{pct(m['weighted_f1']['value'] or float('nan'))}")
    for label, c in m["per_class"].items():
        g = lambda k: c[k]["value"] if c[k]["value"] is not None else float("nan")  # noqa: E731
        lines.append(f"  {label}: precision {pct(g('precision'))}, recall {pct(g('recall'))}, f1 {pct(g('f1'))}")
    if q.comparison is not None:
        c, d = q.comparison, q.comparison.difference
        if c.better is None:
            verdict = f"{names[0]} and {names[1]} are equally often right on the labeled rows"
        else:
            win = names[0] if c.better == "a" else names[1]
            verdict = f"{win} is better" + (" (significant at 5%)" if c.p_value < 0.05 else " (not significant at 5%)")
        lines.append(f"champion/challenger: {verdict}; accuracy difference {names[0]} - {names[1]} "
                     f"{pct(d.value)} (95% interval {pct(d.lower)} to {pct(d.upper)}); McNemar exact p = "
                     f"{c.p_value:.3g} ({c.a_only_correct} rows only {names[0]} right, {c.b_only_correct} only "
                     f"{names[1]} right)")
    meta = q.document["dqloop"]
    lines.append(f"sample: {meta.get('sampling_strategy') or 'unknown design'}"
                 + (f"; positive class {meta['positive_label']}" if "positive_label" in meta else ""))
    if q.labeled < 30:
        lines.append("note: fewer than 30 labeled rows; the intervals are wide")
    return "\n".join(lines) + "\n"
