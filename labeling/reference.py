"""What a model did on reference rows, as the baseline keeps it in model_reference.json.

Reference rows carry the target and the model's outputs, and the model did not train on them (a validation
or test set, or a first production window with labels). From them: the calibration map of the score
(labeling.calibration), the class priors, the confusion matrix (true x predicted counts, SageMaker's
shape), and the realized metrics with their standard deviations -- the band later estimates are compared
with. Estimation without labels (labeling.performance, labeling.label_shift) and the model-assisted
estimate of `label report` (labeling.estimation) read it back with `ModelReference.from_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labeling.calibration import BINARY, Calibration, MapReplicates, fit, replicates

VERSION = 1
BINARY_TASK, MULTICLASS_TASK = "binary_classification", "multiclass_classification"


@dataclass(frozen=True)
class ModelReference:
    task: str
    classes: tuple[str, ...]
    prediction_column: str
    target_column: str
    score_column: str | None
    probability_columns: tuple[str, ...]
    calibration: Calibration
    rows: int
    confusion: dict[str, dict[str, int]]          # true class -> predicted class -> count
    metrics: dict[str, dict[str, float]]          # name -> {"value", "standard_deviation"}
    positive: str | None = None
    source: str | None = None
    warnings: tuple[str, ...] = field(default=())
    map_replicates: MapReplicates | None = None    # binary: bootstrap refits of the map (its estimation error)

    @property
    def priors(self) -> dict[str, float]:
        return {t: sum(row.values()) / self.rows for t, row in self.confusion.items()}

    @property
    def score_columns(self) -> list[str]:
        return [self.score_column] if self.score_column else list(self.probability_columns)

    def scores(self, frame) -> np.ndarray:
        """The score array the calibration takes, from a pandas frame with the score columns."""
        if self.score_column:
            return frame[self.score_column].to_numpy(dtype="float64")
        return frame[list(self.probability_columns)].to_numpy(dtype="float64")

    def to_dict(self) -> dict[str, Any]:
        return {"version": VERSION, "task": self.task, "source": self.source, "rows": self.rows,
                "target_column": self.target_column, "prediction_column": self.prediction_column,
                "score_column": self.score_column, "probability_columns": list(self.probability_columns),
                "classes": list(self.classes), "positive_label": self.positive,
                "class_priors": self.priors, "confusion_matrix": self.confusion, "metrics": self.metrics,
                "calibration": self.calibration.to_dict(), "warnings": list(self.warnings),
                "calibration_replicates": self.map_replicates.to_dict() if self.map_replicates else None}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "ModelReference":
        if d.get("version") != VERSION:
            raise ValueError(f"model_reference.json version {d.get('version')!r}, expected {VERSION}")
        return ModelReference(
            d["task"], tuple(d["classes"]), d["prediction_column"], d["target_column"], d.get("score_column"),
            tuple(d.get("probability_columns") or ()), Calibration.from_dict(d["calibration"]), int(d["rows"]),
            {t: {p: int(c) for p, c in row.items()} for t, row in d["confusion_matrix"].items()},
            d.get("metrics", {}), d.get("positive_label"), d.get("source"), tuple(d.get("warnings", ())),
            MapReplicates.from_dict(d["calibration_replicates"]) if d.get("calibration_replicates") else None)


def _metric(value: float, sd: float) -> dict[str, float | None]:
    f = lambda x: float(x) if np.isfinite(x) else None  # noqa: E731  (JSON has no NaN)
    return {"value": f(value), "standard_deviation": f(sd)}


def build(target: np.ndarray, predicted: np.ndarray, scores: np.ndarray, classes: list[str], *,
          prediction_column: str, target_column: str, score_column: str | None = None,
          probability_columns: tuple[str, ...] = (), positive: str | None = None,
          source: str | None = None) -> ModelReference:
    """Fit the calibration and tabulate the reference (rows with a missing target or score are dropped by the caller)."""
    from sklearn import metrics as skm

    y = np.asarray(target).astype(str)
    yp = np.asarray(predicted).astype(str)
    n = len(y)
    if n == 0:
        raise ValueError("the reference has no rows with a target and a score")
    cal = fit(scores, y, classes, positive)
    confusion = {t: {p: int(np.sum((y == t) & (yp == p))) for p in classes} for t in classes}
    acc = float(np.mean(y == yp))
    metrics = {"accuracy": _metric(acc, np.sqrt(acc * (1 - acc) / n)),
               "expected_accuracy": _metric(float(np.mean(cal.expected_correct(scores, yp))), float("nan"))}
    if cal.kind == BINARY:
        t, p = y == positive, yp == positive
        for name, num, den in (("precision", t & p, p), ("recall", t & p, t)):
            r = float(num.sum() / den.sum()) if den.sum() else float("nan")
            metrics[name] = _metric(r, np.sqrt(r * (1 - r) / max(den.sum(), 1)))
        metrics["f1"] = _metric(float(skm.f1_score(t, p, zero_division=0.0)), float("nan"))
        if 0 < t.sum() < n:
            auc = float(skm.roc_auc_score(t, np.asarray(scores, dtype=float).reshape(-1)))
            n1, n0 = t.sum(), n - t.sum()   # Hanley and McNeil's standard error
            q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
            se = np.sqrt((auc * (1 - auc) + (n1 - 1) * (q1 - auc ** 2) + (n0 - 1) * (q2 - auc ** 2)) / (n1 * n0))
            metrics["auc"] = _metric(auc, se)
    else:
        metrics.update(_multiclass_metrics(y, yp, np.asarray(scores, dtype=float), classes))
    reps = None
    if cal.kind == BINARY:
        reps = replicates(np.asarray(scores, dtype=float).reshape(-1), y == positive)
        metrics["f1"] = _metric(metrics["f1"]["value"], _bootstrap_f1(y == positive, yp == positive))
    warnings = []
    if acc >= 0.999 and n >= 100:
        warnings.append(f"the model is right on {acc:.2%} of the {n} reference rows: is the reference its training "
                        "data? Scores on training rows are over-confident; use a validation or test set")
    task = BINARY_TASK if cal.kind == BINARY else MULTICLASS_TASK
    return ModelReference(task, tuple(classes), prediction_column, target_column, score_column,
                          tuple(probability_columns), cal, n, confusion, metrics, positive, source, tuple(warnings),
                          reps)


def _bootstrap_f1(t: np.ndarray, p: np.ndarray, count: int = 200, seed: int = 0) -> float:
    """Standard deviation of F1 over bootstrap resamples of the (true, predicted) pairs (multinomial on the 4 cells)."""
    cells = np.array([np.sum(t & p), np.sum(~t & p), np.sum(t & ~p), np.sum(~t & ~p)], dtype=float)
    draws = np.random.default_rng(seed).multinomial(int(cells.sum()), cells / cells.sum(), size=count)
    tp, fp, fn = draws[:, 0], draws[:, 1], draws[:, 2]
    den = 2 * tp + fp + fn
    f1 = np.where(den > 0, 2 * tp / np.maximum(den, 1), 0.0)
    return float(np.std(f1, ddof=1))


def _multiclass_metrics(y: np.ndarray, yp: np.ndarray, scores: np.ndarray, classes: list[str], count: int = 100,
                        seed: int = 0) -> dict[str, dict[str, float | None]]:
    """Macro precision, recall, F1 and one-vs-rest ROC AUC (scikit-learn) with bootstrap standard deviations
    (rows resampled): the band the multiclass estimates (labeling.multiclass) are checked against."""
    from sklearn import metrics as skm

    def values(i: np.ndarray) -> dict[str, float]:
        t, p = y[i], yp[i]
        out = {name: float(fn(t, p, labels=classes, average="macro", zero_division=0.0)) for name, fn in
               (("macro_precision", skm.precision_score), ("macro_recall", skm.recall_score),
                ("macro_f1", skm.f1_score))}
        present = set(t)
        out["macro_auc"] = float(np.mean([skm.roc_auc_score(t == c, scores[i, k]) for k, c in enumerate(classes)])) \
            if len(present) == len(classes) else float("nan")
        return out

    n = len(y)
    point = values(np.arange(n))
    rng = np.random.default_rng(seed)
    m = min(n, 50_000)   # resamples of at most 50,000 rows, their spread scaled by sqrt(m / n)
    boots = [values(rng.integers(0, n, m)) for _ in range(count)]
    return {k: _metric(v, float(np.nanstd([b[k] for b in boots], ddof=1) * np.sqrt(m / n))) for k, v in point.items()}
