"""Estimated performance of a multiclass classifier without labels, from its calibrated class probabilities
(CBPE for K classes).

With calibrated probabilities (labeling.calibration: one isotonic map per class, the row's vector renormalised)
row i belongs to class t with probability c_it, so the partition's expected confusion matrix is
E[N(true t, predicted p)] = sum over rows predicted p of c_it. Accuracy, macro precision, macro recall and macro
F1 (scikit-learn's `average="macro"`, a class never predicted or never true counting 0) are computed from it,
and the one-vs-rest macro ROC AUC (scikit-learn's `multi_class="ovr"`) from each class's expected positives
along its own probability column. Valid under covariate shift; not under concept drift or label shift.

Sufficient statistic (`ClassSums`, tallied by validate's pass on the Python workers, labeling.lanes): per
predicted class p the rows n_p, the sums S1[p, t] = sum c_it and S2[p, t, u] = sum c_it c_iu; per class k
and bin of its probability column (a 1/8192 grid) the rows and the sum of c_ik.

Sampling error. Given the scores, the rows' labels are independent categorical draws with probabilities c_i.
Every metric is a function of the true-positive counts TP_t and the true-class counts T_t, so its first-order
change when row i (predicted p) has label t is g_pt = [t = p] dM/dTP_t + dM/dT_t, the same for every row
predicted p, and the delta-method variance is

    Var M = sum_p ( sum_t g_pt^2 S1[p, t]  -  sum_t sum_u g_pt g_pu S2[p, t, u] )

(the variance of sum_t g_t Y_t for a categorical Y is sum g_t^2 c_t - (sum g_t c_t)^2), exact for accuracy and
macro precision (linear in the labels). The AUC's too: one class's AUC = U / (P N) changes, when a row in its
bin b turns positive, by h(b) = (negatives below + n_b / 2 - positives above - p_b / 2 - AUC (N - P)) / (P N),
so Var = sum_i (sum_k g_ik^2 c_ik - (sum_k g_ik c_ik)^2) with g_ik = h_k(b_ik) / K; the cross-class products
(a row that turns out j is not k: the classes' AUCs move together) come from a coarse 32 x 32 joint histogram
of each pair of probability columns weighted by c_ik c_ij (`pair`), the gradients averaged over its cells.
Intervals: estimate +- z sd in [0, 1].
The calibration maps' own error is not included (bench/RESULTS.md measures coverage with a 50,000-row
reference).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from labeling.calibration import Calibration
from labeling.quality import LEVEL, Estimate

GRID = 8192
COARSE = 32
METRICS = ("accuracy", "macro_precision", "macro_recall", "macro_f1", "macro_auc")


@dataclass(frozen=True)
class ClassSums:
    """Per predicted class: rows `count` (K), S1 (K x K: predicted x true), S2 (K x K x K); per class and bin
    of its probability column: rows `auc_count`, expected positives `auc_pos` and sum of c^2 `auc_sq`
    (K x GRID + 2); `pair[k, j]`: per coarse bins (B of class k's column, B' of class j's) the sum of c_ik c_ij."""

    classes: tuple[str, ...]
    count: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    auc_count: np.ndarray
    auc_pos: np.ndarray
    auc_sq: np.ndarray
    pair: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.count.sum())

    def __add__(self, o: "ClassSums") -> "ClassSums":
        return ClassSums(self.classes, self.count + o.count, self.s1 + o.s1, self.s2 + o.s2,
                         self.auc_count + o.auc_count, self.auc_pos + o.auc_pos, self.auc_sq + o.auc_sq,
                         self.pair + o.pair)

    @staticmethod
    def empty(classes: tuple[str, ...], grid: int = GRID) -> "ClassSums":
        k = len(classes)
        return ClassSums(tuple(classes), np.zeros(k), np.zeros((k, k)), np.zeros((k, k, k)), np.zeros((k, grid + 2)),
                         np.zeros((k, grid + 2)), np.zeros((k, grid + 2)), np.zeros((k, k, COARSE, COARSE)))


def bins(score: np.ndarray, grid: int = GRID) -> np.ndarray:
    """Bin of a probability on the 1/grid grid: 0 below 0, grid + 1 from 1 on (numpy's searchsorted, right)."""
    return np.clip(np.floor(np.asarray(score, dtype="float64") * grid) + 1, 0, grid + 1).astype(np.intp)


def sums(scores: np.ndarray, predicted: np.ndarray, cal: Calibration, grid: int = GRID) -> ClassSums:
    """The statistic of rows in memory: `scores` N x K (the model's probability columns in `cal.classes` order),
    `predicted` the class indices 0..K-1 (rows with a missing score or an unknown class left out by the caller)."""
    s = np.asarray(scores, dtype="float64")
    p = np.asarray(predicted, dtype=np.intp)
    k = len(cal.classes)
    out = ClassSums.empty(cal.classes, grid)
    if len(p) == 0:
        return out
    c = cal.probabilities(s)
    count = np.bincount(p, minlength=k).astype(float)
    s1 = np.zeros((k, k))
    np.add.at(s1, p, c)
    s2 = np.zeros((k, k, k))
    for j in np.flatnonzero(count):
        cj = c[p == j]
        s2[j] = cj.T @ cj
    auc_count, auc_pos, auc_sq = (np.zeros((k, grid + 2)) for _ in range(3))
    coarse = np.empty((len(p), k), dtype=np.intp)
    for j in range(k):
        b = bins(s[:, j], grid)
        auc_count[j] = np.bincount(b, minlength=grid + 2)
        auc_pos[j] = np.bincount(b, weights=c[:, j], minlength=grid + 2)
        auc_sq[j] = np.bincount(b, weights=c[:, j] ** 2, minlength=grid + 2)
        coarse[:, j] = b * COARSE // (grid + 2)
    pair = np.zeros((k, k, COARSE, COARSE))
    for a in range(k):
        for b in range(a + 1, k):
            h = np.bincount(coarse[:, a] * COARSE + coarse[:, b], weights=c[:, a] * c[:, b],
                            minlength=COARSE * COARSE).reshape(COARSE, COARSE)
            pair[a, b], pair[b, a] = h, h.T
    return ClassSums(out.classes, count, s1, s2, auc_count, auc_pos, auc_sq, pair)


def _auc(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """AUC from positives and negatives per bin (last axis, ascending score), ties within a bin count half."""
    above = np.cumsum(pos[..., ::-1], axis=-1)[..., ::-1] - pos
    num = np.sum(neg * (above + 0.5 * pos), axis=-1)
    den = pos.sum(axis=-1) * neg.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _auc_gradient(pos: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(AUC, h): per class, the AUC and its change per row of bin b turning positive (module docstring)."""
    neg = count - pos
    auc = _auc(pos, neg)
    above = np.cumsum(pos[..., ::-1], axis=-1)[..., ::-1] - pos
    below = np.cumsum(neg, axis=-1) - neg
    big_p, big_n = pos.sum(axis=-1, keepdims=True), neg.sum(axis=-1, keepdims=True)
    du = below + 0.5 * neg - above - 0.5 * pos
    with np.errstate(invalid="ignore", divide="ignore"):
        h = (du - auc[:, None] * (big_n - big_p)) / (big_p * big_n)
    return auc, np.where(np.isfinite(h), h, 0.0)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), 0.0)


def point(count: np.ndarray, s1: np.ndarray) -> dict[str, float]:
    """Accuracy and macro precision, recall, F1 from the expected confusion matrix (predicted x true)."""
    n = count.sum()
    tp, true = np.diag(s1), s1.sum(axis=0)
    return {"accuracy": float(tp.sum() / n) if n else float("nan"),
            "macro_precision": float(np.mean(_ratio(tp, count))), "macro_recall": float(np.mean(_ratio(tp, true))),
            "macro_f1": float(np.mean(_ratio(2 * tp, count + true)))}


def _gradients(count: np.ndarray, s1: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per metric (a, b): dM/dTP_t and dM/dT_t at the expected counts."""
    k, n = len(count), count.sum()
    tp, true = np.diag(s1), s1.sum(axis=0)
    zero = np.zeros(k)
    both = count + true
    return {"accuracy": (np.full(k, 1.0 / n if n else 0.0), zero),
            "macro_precision": (_ratio(np.ones(k), count) / k, zero),
            "macro_recall": (_ratio(np.ones(k), true) / k, -_ratio(tp, true * true) / k),
            "macro_f1": (_ratio(2 * np.ones(k), both) / k, -_ratio(2 * tp, both * both) / k)}


def variance(count: np.ndarray, s1: np.ndarray, s2: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Var M = sum_p (sum_t g_pt^2 S1[p,t] - g_p' S2[p] g_p) with g_pt = [t = p] a_t + b_t."""
    g = np.diag(a) + b[None, :]
    return float(max(np.sum(g * g * s1) - np.einsum("pt,ptu,pu->", g, s2, g), 0.0))


def _interval(value: float, sd: float, level: float) -> Estimate:
    z = stats.norm.ppf(1 - (1 - level) / 2)
    if not np.isfinite(value):
        return Estimate(float("nan"), float("nan"), float("nan"), float("nan"), level)
    return Estimate(float(value), float(sd), float(max(0.0, value - z * sd)), float(min(1.0, value + z * sd)), level)


def _auc_variance(t: ClassSums, h: np.ndarray) -> float:
    """sum_i (sum_k g_ik^2 c_ik (1 - c_ik) - sum_{k != j} g_ik g_ij c_ik c_ij), g = h / K (module docstring)."""
    k = len(t.classes)
    g = h / k
    own = float(np.sum(g * g * (t.auc_pos - t.auc_sq)))
    width = t.auc_count.shape[1]
    cell = np.arange(width) * COARSE // width                           # fine bin -> coarse bin
    mass = np.zeros((k, COARSE))
    weighted = np.zeros((k, COARSE))
    for j in range(k):
        np.add.at(mass[j], cell, t.auc_pos[j])
        np.add.at(weighted[j], cell, g[j] * t.auc_pos[j])
    coarse_g = _ratio(weighted, mass)                                   # g averaged over a coarse bin
    cross = float(np.einsum("ka,kjab,jb->", coarse_g, t.pair, coarse_g))
    return max(own - cross, 0.0)


@dataclass(frozen=True)
class Estimated:
    metrics: dict[str, Estimate]
    confusion: dict[str, dict[str, float]]          # expected counts, true x predicted
    per_class: dict[str, dict[str, float]]          # expected precision, recall, f1 and support per class
    rows: int


def estimate(t: ClassSums, level: float = LEVEL) -> Estimated:
    value = point(t.count, t.s1)
    sd = {m: float(np.sqrt(variance(t.count, t.s1, t.s2, a, b))) for m, (a, b) in _gradients(t.count, t.s1).items()}
    aucs, h = _auc_gradient(t.auc_pos, t.auc_count)                       # per class
    value["macro_auc"] = float(np.mean(aucs)) if np.all(np.isfinite(aucs)) else float("nan")
    sd["macro_auc"] = float(np.sqrt(_auc_variance(t, h))) if np.isfinite(value["macro_auc"]) else float("nan")
    metrics = {m: _interval(value[m], sd[m], level) for m in METRICS}
    classes = t.classes
    confusion = {tc: {pc: float(t.s1[j, i]) for j, pc in enumerate(classes)} for i, tc in enumerate(classes)}
    tp, true = np.diag(t.s1), t.s1.sum(axis=0)
    per_class = {c: {"precision": float(_ratio(tp, t.count)[i]), "recall": float(_ratio(tp, true)[i]),
                     "f1": float(_ratio(2 * tp, t.count + true)[i]), "support": float(true[i]),
                     "auc": float(aucs[i])} for i, c in enumerate(classes)}
    return Estimated(metrics, confusion, per_class, t.rows)
