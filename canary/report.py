"""The canary document: one look at two models, from their predictions and the labels so far.

    traffic_split(...)  the arms saw different rows (an arm column splits the traffic)
    shadow(...)         both models predicted every row (two prediction columns)

Each returns a Report: the JSON document (verdict with reasons, the accuracy comparison with its fixed and
always-valid intervals, labels still needed, per-arm metrics in SageMaker's model-quality shape, the
differences of the binary metrics, the label-free signals) and the verdict. Pure: arrays in, values out;
jobs/canary.py reads, keeps the look history and writes.

The per-arm metrics estimate each model's quality on future traffic, not on this partition's rows: the
labeled rows are a sample from a stream, so no finite-population correction is applied (a fully labeled
partition still has an interval).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from canary import judge, shift
from canary.intervals import newcombe
from labeling import model_quality

TRAFFIC_SPLIT, SHADOW = "traffic-split", "shadow"


@dataclass(frozen=True)
class Report:
    document: dict[str, Any]
    verdict: judge.Verdict
    labeled: judge.Labeled


def _stream_pi(w: np.ndarray) -> np.ndarray:
    return 1e-9 / np.asarray(w, dtype=float)   # weights kept, finite-population factor (1 - pi) dropped


def _quality(y_true, y_pred, w, population, classes, positive, level) -> dict | None:
    if len(y_true) == 0:
        return None
    q = model_quality.compute(np.asarray(y_true).astype(str), np.asarray(y_pred).astype(str), _stream_pi(w),
                              population, classes, positive=positive, level=level)
    return q.document


def _kish(w: np.ndarray) -> float:
    return float(np.sum(w) ** 2 / np.sum(w * w)) if len(w) and np.sum(w) > 0 else 0.0


def _proportion(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Weighted share of a among the rows with b, and Kish's effective count of those rows."""
    keep = b.astype(bool)
    if not keep.any():
        return float("nan"), 0.0
    ww = w[keep]
    return float(np.sum(ww * a[keep]) / np.sum(ww)), _kish(ww)


def multiclass_differences(truth_a, pred_a, w_a, truth_b, pred_b, w_b, classes: list[str], level: float) -> dict:
    """candidate - control for each class's recall and precision ("recall[c]", "precision[c]"), by Newcombe."""
    out = {}
    sides = []
    for t, p, w in ((truth_a, pred_a, w_a), (truth_b, pred_b, w_b)):
        sides.append((np.asarray(t).astype(str), np.asarray(p).astype(str), np.asarray(w, dtype=float)))
    for c in classes:
        for name, denominator in (("recall", 0), ("precision", 1)):
            parts = []
            for t, p, w in sides:
                hit = (t == c) & (p == c)
                parts.append(_proportion(hit, (t == c) if denominator == 0 else (p == c), w))
            (pa, na), (pb, nb) = parts
            out[f"{name}[{c}]"] = newcombe(pa, na, pb, nb, level).as_dict()
    return out


def binary_differences(truth_a, pred_a, w_a, truth_b, pred_b, w_b, positive: str, level: float) -> dict:
    """candidate - control for precision, recall and false-positive rate, each by Newcombe's interval."""
    out = {}
    arms = []
    for t, p, w in ((truth_a, pred_a, w_a), (truth_b, pred_b, w_b)):
        t, p = np.asarray(t).astype(str) == positive, np.asarray(p).astype(str) == positive
        w = np.asarray(w, dtype=float)
        arms.append({"precision": _proportion(t & p, p, w), "recall": _proportion(t & p, t, w),
                     "false_positive_rate": _proportion(~t & p, ~t, w)})
    for name in ("precision", "recall", "false_positive_rate"):
        (pa, na), (pb, nb) = arms[0][name], arms[1][name]
        out[name] = newcombe(pa, na, pb, nb, level).as_dict()
    return out


def _classes(*arrays: np.ndarray) -> list[str]:
    return sorted(set().union(*(map(str, pd.unique(pd.Series(a))) for a in arrays)))


def _positive(classes: list[str], positive: str | None, predicted: np.ndarray) -> str | None:
    if len(classes) != 2:
        return None
    if positive is not None:
        return positive
    named = next((c for c in classes if c.lower() in ("1", "true", "yes", "positive")), None)
    if named:
        return named
    seen = pd.Series(predicted).astype(str).value_counts()
    return min(classes, key=lambda c: (int(seen.get(c, 0)), c))


def traffic_split(*, control_pred: np.ndarray, candidate_pred: np.ndarray, control_score: np.ndarray | None,
                  candidate_score: np.ndarray | None, labeled_control: tuple[np.ndarray, np.ndarray, np.ndarray],
                  labeled_candidate: tuple[np.ndarray, np.ndarray, np.ndarray], settings: judge.Settings,
                  positive: str | None = None, names: tuple[str, str] = ("control", "candidate"),
                  look: int = 1) -> Report:
    """labeled_* = (true class, predicted class, weight) of each arm's labeled rows (all looks so far)."""
    s = settings
    ta, pa, wa = (np.asarray(x) for x in labeled_control)
    tb, pb, wb = (np.asarray(x) for x in labeled_candidate)
    wa, wb = wa.astype(float), wb.astype(float)
    classes = _classes(control_pred, candidate_pred, ta, tb)
    pos = _positive(classes, positive, np.concatenate([np.asarray(control_pred), np.asarray(candidate_pred)]))
    ca = (ta.astype(str) == pa.astype(str)).astype(float)
    cb = (tb.astype(str) == pb.astype(str)).astype(float)
    labeled = judge.unpaired(ca, wa, cb, wb, s)
    signals = [shift.class_shares(control_pred, candidate_pred, classes, s.alpha, s.min_share)]
    if control_score is not None and candidate_score is not None:
        signals.append(shift.scores_unpaired(control_score, candidate_score, s.alpha, s.min_distance))
    verdict = judge.verdict(labeled, signals, s, look)
    doc = _document(TRAFFIC_SPLIT, names, look, s, verdict, labeled, signals, classes, pos,
                    {"control": int(len(control_pred)), "candidate": int(len(candidate_pred))})
    doc["metrics"] = {"control": _quality(ta, pa, wa, len(control_pred), classes, pos, s.level),
                      "candidate": _quality(tb, pb, wb, len(candidate_pred), classes, pos, s.level)}
    if len(ta) and len(tb):
        doc["metric_differences"] = (binary_differences(ta, pa, wa, tb, pb, wb, pos, s.level) if pos is not None
                                     else multiclass_differences(ta, pa, wa, tb, pb, wb, classes, s.level))
    return Report(doc, verdict, labeled)


def shadow(*, control_pred: np.ndarray, candidate_pred: np.ndarray, control_score: np.ndarray | None,
           candidate_score: np.ndarray | None, labeled: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
           settings: judge.Settings, positive: str | None = None, names: tuple[str, str] = ("control", "candidate"),
           look: int = 1) -> Report:
    """labeled = (true class, control's prediction, candidate's prediction, weight) of the labeled rows."""
    s = settings
    t, pa, pb, w = (np.asarray(x) for x in labeled)
    w = w.astype(float)
    classes = _classes(control_pred, candidate_pred, t)
    pos = _positive(classes, positive, np.asarray(control_pred))
    flips = shift.flip_rate(control_pred, candidate_pred, s.level)
    ca, cb = t.astype(str) == pa.astype(str), t.astype(str) == pb.astype(str)
    comparison = judge.paired(ca, cb, w, s, flip_rate=flips.value)
    signals = [flips]
    if control_score is not None and candidate_score is not None:
        signals.append(shift.scores_paired(control_score, candidate_score, s.alpha, s.min_distance))
    signals.append(shift.class_shares(control_pred, candidate_pred, classes, 1.0, 1.0))   # shares, never flagged
    verdict = judge.verdict(comparison, signals, s, look)
    rows = int(len(control_pred))
    doc = _document(SHADOW, names, look, s, verdict, comparison, signals, classes, pos,
                    {"control": rows, "candidate": rows})
    doc["metrics"] = {"control": _quality(t, pa, w, rows, classes, pos, s.level),
                      "candidate": _quality(t, pb, w, rows, classes, pos, s.level)}
    return Report(doc, verdict, comparison)


def _document(mode, names, look, s, verdict, labeled, signals, classes, positive, rows) -> dict:
    return {
        "version": 1, "mode": mode, "control": names[0], "candidate": names[1], "look": look,
        "verdict": {"decision": verdict.decision, "reasons": list(verdict.reasons), "exit_code": verdict.exit_code},
        "settings": s.as_dict(), "rows": rows, "classes": classes, "positive_label": positive,
        "accuracy": labeled.as_dict(), "signals": [x.as_dict() for x in signals],
    }
