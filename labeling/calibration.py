"""Calibration map of a model's score: what the score means as a probability, learnt on reference rows.

A model's score is calibrated when, among rows scored s, a share s belongs to the class. Most are not
(boosted trees are under-confident at the ends, deep nets over-confident), so dqloop learns the map from
reference rows that carry the target and the model's output: scikit-learn's IsotonicRegression of the
outcome on the score (monotone, no shape assumed, Zadrozny and Elkan 2002) for a binary model. For a multiclass
model isotonic maps one-vs-rest (each column mapped, the vector renormalised) are not calibrated as a vector:
a class's column alone says less than the whole row (the predicted class's probability comes out too low;
bench/RESULTS.md measured a 2-point bias on accuracy), so its map is Dirichlet calibration (Kull et al. 2019):
scikit-learn's multinomial LogisticRegression on the log-probabilities, p = softmax(W log s + b).

The fitted map is a piecewise-linear function through the isotonic thresholds, stored as JSON (two lists
per class) rather than a pickle, and applied with numpy's `interp`, which is what
`IsotonicRegression.predict` computes (`out_of_bounds="clip"`). The reference must be data the model did
not train on: scores on training rows are over-confident and the map would learn that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

BINARY, MULTICLASS = "binary", "multiclass"


@dataclass(frozen=True)
class Isotonic:
    """A monotone map through the points (x, y), constant beyond the ends."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    def __call__(self, score: np.ndarray) -> np.ndarray:
        s = np.asarray(score, dtype="float64")
        return np.interp(s, self.x, self.y)

    def to_dict(self) -> dict[str, list[float]]:
        return {"x": list(self.x), "y": list(self.y)}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "Isotonic":
        x, y = tuple(float(v) for v in d["x"]), tuple(float(v) for v in d["y"])
        if len(x) != len(y) or not x or any(b < a for a, b in zip(x, x[1:])):
            raise ValueError("an isotonic map needs equally long, non-empty x and y with x increasing")
        return Isotonic(x, y)


def fit_isotonic(score: np.ndarray, outcome: np.ndarray) -> Isotonic:
    """IsotonicRegression of a 0/1 outcome on the score (increasing, clipped to [0, 1])."""
    from sklearn.isotonic import IsotonicRegression

    s = np.asarray(score, dtype="float64")
    o = np.asarray(outcome, dtype="float64")
    keep = np.isfinite(s)
    if keep.sum() < 2 or np.unique(s[keep]).size < 2:
        p = float(o[keep].mean()) if keep.any() else 0.5
        return Isotonic((0.0, 1.0), (p, p))
    model = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(s[keep], o[keep])
    return Isotonic(tuple(map(float, model.X_thresholds_)), tuple(map(float, model.y_thresholds_)))


@dataclass(frozen=True)
class Multinomial:
    """Dirichlet calibration: p = softmax(W log(s) + b), s the model's probability columns (clipped at 1e-12)."""

    weights: tuple[tuple[float, ...], ...]       # K x K
    intercept: tuple[float, ...]

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        z = np.log(np.clip(np.asarray(scores, dtype="float64"), 1e-12, None)) @ np.asarray(self.weights).T \
            + np.asarray(self.intercept)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def to_dict(self) -> dict[str, Any]:
        return {"weights": [list(r) for r in self.weights], "intercept": list(self.intercept)}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "Multinomial":
        return Multinomial(tuple(tuple(float(v) for v in r) for r in d["weights"]), tuple(map(float, d["intercept"])))


def fit_multinomial(scores: np.ndarray, target: np.ndarray, classes: list[str]) -> Multinomial:
    """scikit-learn's multinomial LogisticRegression of the class on the log-probabilities."""
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(target).astype(str)
    x = np.log(np.clip(np.asarray(scores, dtype="float64"), 1e-12, None))
    model = LogisticRegression(C=10.0, max_iter=2000).fit(x, y)
    order = [list(model.classes_).index(c) if c in model.classes_ else None for c in classes]
    k = len(classes)
    w, b = np.zeros((k, k)), np.full(k, -30.0)            # a class absent from the reference: never expected
    for i, j in enumerate(order):
        if j is not None:
            if len(model.classes_) == 2:                    # scikit-learn keeps one row for two classes
                w[i], b[i] = (model.coef_[0], model.intercept_[0]) if j == 1 else (0.0, 0.0)
            else:
                w[i], b[i] = model.coef_[j], model.intercept_[j]
    return Multinomial(tuple(map(tuple, w.tolist())), tuple(b.tolist()))


@dataclass(frozen=True)
class Calibration:
    """Calibrated class probabilities from the model's score (binary: the positive class's score;
    multiclass: one probability column per class, in `classes` order)."""

    kind: str
    classes: tuple[str, ...]
    maps: tuple[Isotonic, ...]           # binary: one (the positive class); multiclass (older references): per class
    positive: str | None = None
    multinomial: Multinomial | None = None   # multiclass: Dirichlet calibration (replaces the per-class maps)

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """N x K calibrated probabilities, columns in `classes` order."""
        s = np.asarray(scores, dtype="float64")
        if self.kind == BINARY:
            p = self.maps[0](s.reshape(-1))
            pos = self.classes.index(self.positive)
            out = np.empty((len(p), 2))
            out[:, pos], out[:, 1 - pos] = p, 1.0 - p
            return out
        if self.multinomial is not None:
            return self.multinomial(s)
        raw = np.column_stack([m(s[:, k]) for k, m in enumerate(self.maps)])
        total = raw.sum(axis=1, keepdims=True)
        return np.where(total > 0, raw / np.where(total > 0, total, 1.0), 1.0 / len(self.classes))

    def expected_correct(self, scores: np.ndarray, predicted: np.ndarray) -> np.ndarray:
        """Each row's calibrated probability that its prediction is right (0 for a class the map lacks)."""
        probs = self.probabilities(scores)
        index = {c: k for k, c in enumerate(self.classes)}
        k = np.array([index.get(str(p), -1) for p in np.asarray(predicted).astype(str)])
        return np.where(k >= 0, probs[np.arange(len(k)), np.maximum(k, 0)], 0.0)

    def to_dict(self) -> dict[str, Any]:
        if self.multinomial is not None:
            return {"method": "dirichlet", "library": "scikit-learn LogisticRegression (multinomial, on the "
                    "log-probabilities)", "kind": self.kind, "classes": list(self.classes), "positive_label": None,
                    "maps": {}, "multinomial": self.multinomial.to_dict()}
        return {"method": "isotonic", "library": "scikit-learn IsotonicRegression", "kind": self.kind,
                "classes": list(self.classes), "positive_label": self.positive,
                "maps": {c: m.to_dict() for c, m in zip(self._map_classes, self.maps)}}

    @property
    def _map_classes(self) -> tuple[str, ...]:
        return (self.positive,) if self.kind == BINARY else self.classes

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "Calibration":
        kind, classes = d["kind"], tuple(str(c) for c in d["classes"])
        positive = None if d.get("positive_label") is None else str(d["positive_label"])
        if d.get("multinomial"):
            return Calibration(kind, classes, (), None, Multinomial.from_dict(d["multinomial"]))
        keys = (positive,) if kind == BINARY else classes
        return Calibration(kind, classes, tuple(Isotonic.from_dict(d["maps"][k]) for k in keys), positive)


def fit(scores: np.ndarray, target: np.ndarray, classes: list[str], positive: str | None = None) -> Calibration:
    """Binary (`positive` given, `scores` 1-d: the positive class's score) or multiclass (`scores` N x K)."""
    y = np.asarray(target).astype(str)
    s = np.asarray(scores, dtype="float64")
    if positive is not None:
        if len(classes) != 2 or positive not in classes:
            raise ValueError(f"a binary calibration needs two classes including the positive one, got {classes}")
        return Calibration(BINARY, tuple(classes), (fit_isotonic(s.reshape(-1), y == positive),), positive)
    if s.ndim != 2 or s.shape[1] != len(classes):
        raise ValueError(f"a multiclass calibration needs one probability column per class ({len(classes)})")
    return Calibration(MULTICLASS, tuple(classes), (), None, fit_multinomial(s, y, classes))


@dataclass(frozen=True)
class MapReplicates:
    """Bootstrap replicates of a binary calibration map (the reference resampled, the map refitted), each
    evaluated on a common score grid: what the map's own estimation error does to an estimate."""

    grid: tuple[float, ...]
    values: tuple[tuple[float, ...], ...]

    def __call__(self, score: np.ndarray) -> np.ndarray:
        """R x len(score): every replicate's calibrated probability at the scores."""
        s = np.asarray(score, dtype="float64")
        return np.stack([np.interp(s, self.grid, v) for v in self.values])

    def to_dict(self) -> dict[str, Any]:
        return {"grid": list(self.grid), "values": [list(v) for v in self.values]}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "MapReplicates":
        return MapReplicates(tuple(map(float, d["grid"])), tuple(tuple(map(float, v)) for v in d["values"]))


def replicates(score: np.ndarray, outcome: np.ndarray, count: int = 50, grid: int = 257, seed: int = 0) -> MapReplicates:
    """`count` bootstrap refits of the isotonic map of `outcome` on `score`, on `grid` points spanning the scores."""
    s = np.asarray(score, dtype="float64")
    o = np.asarray(outcome, dtype="float64")
    keep = np.isfinite(s)
    s, o = s[keep], o[keep]
    points = np.unique(np.concatenate([np.quantile(s, np.linspace(0, 1, grid)), np.linspace(0, 1, grid)]))
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(count):
        i = rng.integers(0, len(s), len(s))
        values.append(tuple(np.round(fit_isotonic(s[i], o[i])(points), 6)))
    return MapReplicates(tuple(map(float, points)), tuple(values))
