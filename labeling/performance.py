"""Estimated performance of a binary classifier without labels, from its calibrated scores (CBPE).

When the score is calibrated (labeling.calibration), row i is of the positive class with probability c_i,
so the partition's confusion matrix has expected cells TP = sum over predicted-positive rows of c_i, FN = sum
over predicted-negative rows of c_i, FP and TN their complements (NannyML's confidence-based performance
estimation). Under covariate shift (P(y|x) unchanged) this tracks the realized performance; under concept
drift or label shift it does not (the labeling loop and labeling.label_shift watch for those).

Sufficient statistic. Per (predicted class, score bin) of a regular 1/8192 grid: the count n, the sum of
scores S1 and of squares S2 (`ScoreBins`, a Spark group-by validate runs natively). Inside bin b the map is
taken as its chord, c = alpha_b + beta_b s, so sum c = alpha n + beta S1 and sum c^2 = alpha^2 n + 2 alpha beta S1
+ beta^2 S2; exact where the isotonic map has no threshold inside the bin, and off by a fraction of the map's
step there (measured: below 1e-3 on accuracy, a fifth of its sampling error at 5,000 rows).

Sampling error. Given the scores, the labels are independent Bernoulli(c_i): the realized TP and FN vary
with variance sum c_i (1 - c_i). Accuracy and precision are linear in them; recall and F1 get the delta
method; ROC AUC (expected ranks over the bins, rows in one bin counted as ties) a parametric bootstrap over
the bins (each bin's positives binomial at the bin's mean probability: exact for one-row bins, slightly
conservative otherwise). Intervals: estimate +- z sd, within [0, 1]. The calibration map's own error (a finite reference)
is not included: use a reference of tens of thousands of rows (bench/RESULTS.md measures coverage).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from labeling.calibration import BINARY, Calibration, MapReplicates
from labeling.quality import LEVEL, Estimate

GRID = 8192
REPLICATES = 400
METRICS = ("accuracy", "precision", "recall", "f1", "auc")


@dataclass(frozen=True)
class ScoreBins:
    """Per predicted class (rows of the arrays) and score bin (columns): rows, sum of scores, sum of squares.
    Bin b covers [edges[b-1], edges[b]), with -inf and +inf at the ends (len(edges) + 1 bins)."""

    edges: np.ndarray
    classes: tuple[str, ...]
    count: np.ndarray
    s1: np.ndarray
    s2: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.count.sum())


def bin_edges(cal: Calibration, grid: int = GRID) -> np.ndarray:
    """Inner bin edges: a regular grid on [0, 1] (Spark bins a score natively as floor(s * grid) + 1)."""
    if cal.kind != BINARY:
        raise ValueError("score bins are for a binary model's score")
    return np.linspace(0.0, 1.0, grid + 1)


def bin_index(score: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The bin of each score (what Spark's Bucketizer gives with splits [-inf, *edges, +inf])."""
    return np.searchsorted(edges, np.asarray(score, dtype=float), side="right")


def from_rows(score: np.ndarray, predicted: np.ndarray, edges: np.ndarray) -> ScoreBins:
    """The aggregate from rows in memory (what validate's Spark aggregation computes)."""
    s = np.asarray(score, dtype=float)
    p = np.asarray(predicted).astype(str)
    keep = np.isfinite(s)
    s, p = s[keep], p[keep]
    classes = tuple(sorted(set(p)))
    b = bin_index(s, edges)
    shape = (len(classes), len(edges) + 1)
    count, s1, s2 = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for k, c in enumerate(classes):
        m = p == c
        count[k] = np.bincount(b[m], minlength=shape[1])
        s1[k] = np.bincount(b[m], weights=s[m], minlength=shape[1])
        s2[k] = np.bincount(b[m], weights=s[m] ** 2, minlength=shape[1])
    return ScoreBins(edges, classes, count, s1, s2)


def _linear_pieces(cal: Calibration, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """alpha, beta per bin with c(s) = alpha + beta s on the bin (constant on the two unbounded bins)."""
    f = cal.maps[0]
    y = f(edges)
    alpha = np.empty(len(edges) + 1)
    beta = np.zeros(len(edges) + 1)
    alpha[0], alpha[-1] = y[0], y[-1]
    width = np.diff(edges)
    slope = np.where(width > 0, np.diff(y) / np.where(width > 0, width, 1.0), 0.0)
    beta[1:-1] = slope
    alpha[1:-1] = y[:-1] - slope * edges[:-1]
    return alpha, beta


def expected_positives(bins: ScoreBins, cal: Calibration) -> tuple[np.ndarray, np.ndarray]:
    """Per (predicted class, bin): expected positives sum c and their variance sum c (1 - c)."""
    a, b = _linear_pieces(cal, bins.edges)
    e1 = a * bins.count + b * bins.s1
    e2 = a * a * bins.count + 2 * a * b * bins.s1 + b * b * bins.s2
    e1 = np.clip(e1, 0.0, bins.count)
    return e1, np.clip(e1 - e2, 0.0, None)


def _interval(value: float, sd: float, level: float) -> Estimate:
    z = stats.norm.ppf(1 - (1 - level) / 2)
    if not np.isfinite(value):
        return Estimate(float("nan"), float("nan"), float("nan"), float("nan"), level)
    return Estimate(float(value), float(sd), float(max(0.0, value - z * sd)), float(min(1.0, value + z * sd)), level)


def _auc(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """AUC from positives and negatives per bin (last axis, ascending score), ties within a bin count half."""
    above = np.cumsum(pos[..., ::-1], axis=-1)[..., ::-1] - pos        # positives in higher bins
    num = np.sum(neg * (above + 0.5 * pos), axis=-1)
    den = pos.sum(axis=-1) * neg.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


@dataclass(frozen=True)
class Estimated:
    metrics: dict[str, Estimate]
    confusion: dict[str, dict[str, float]]          # expected counts, true x predicted
    rows: int
    calibration_sd: dict[str, float]                # part of each standard deviation due to the map's own error


def _point(e: np.ndarray, count: np.ndarray, is_pos: np.ndarray) -> dict[str, float]:
    """Metric values from expected positives per (predicted class, bin)."""
    n, npp = count.sum(), count[is_pos].sum()
    tp, fn = e[is_pos].sum(), e[~is_pos].sum()
    tn = (n - npp) - fn
    nan = float("nan")
    p_bin, n_bin = e.sum(axis=0), count.sum(axis=0)
    return {"accuracy": (tp + tn) / n if n else nan, "precision": tp / npp if npp else nan,
            "recall": tp / (tp + fn) if tp + fn > 0 else nan,
            "f1": 2 * tp / (npp + tp + fn) if npp + tp + fn > 0 else nan,
            "auc": float(_auc(p_bin, n_bin - p_bin))}


def estimate(bins: ScoreBins, cal: Calibration, level: float = LEVEL, seed: int = 0,
             maps: MapReplicates | None = None) -> Estimated:
    """Expected accuracy, precision, recall, F1 and ROC AUC of the positive class, with sampling error (and,
    given the map's bootstrap replicates, its estimation error added in quadrature)."""
    pos, neg = cal.positive, next(c for c in cal.classes if c != cal.positive)
    e, v = expected_positives(bins, cal)
    is_pos = np.array([c == pos for c in bins.classes], dtype=bool)
    n = float(bins.count.sum())
    npp = bins.count[is_pos].sum()
    tp, vtp = e[is_pos].sum(), v[is_pos].sum()
    fn, vfn = e[~is_pos].sum(), v[~is_pos].sum()
    fp, tn = npp - tp, (n - npp) - fn
    value = _point(e, bins.count, is_pos)
    nan = float("nan")
    t, d = tp + fn, npp + tp + fn
    sd = {"accuracy": np.sqrt(vtp + vfn) / n if n else nan,
          "precision": np.sqrt(vtp) / npp if npp else nan,
          "recall": np.sqrt(fn * fn * vtp + tp * tp * vfn) / t ** 2 if t > 0 else nan,
          "f1": np.sqrt((2 * (npp + fn) / d ** 2) ** 2 * vtp + (2 * tp / d ** 2) ** 2 * vfn) if d > 0 else nan}
    p_bin, n_bin = e.sum(axis=0), bins.count.sum(axis=0)
    rng = np.random.default_rng(seed)
    share = np.where(n_bin > 0, p_bin / np.where(n_bin > 0, n_bin, 1.0), 0.0)
    draws = rng.binomial(n_bin.astype(np.int64), np.clip(share, 0.0, 1.0), size=(REPLICATES, len(p_bin))).astype(float)
    boot = _auc(draws, n_bin - draws)
    sd["auc"] = float(np.nanstd(boot, ddof=1)) if np.isfinite(boot).sum() > 1 else nan
    cal_sd = {m: 0.0 for m in METRICS}
    if maps is not None and len(maps.values) > 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = np.where(bins.count > 0, bins.s1 / np.where(bins.count > 0, bins.count, 1.0), 0.0)
        reps = maps(centre.reshape(-1)).reshape(len(maps.values), *centre.shape) * bins.count
        points = [_point(r, bins.count, is_pos) for r in reps]
        cal_sd = {m: float(np.nanstd([p[m] for p in points], ddof=1)) for m in METRICS}
    metrics = {m: _interval(value[m], float(np.hypot(sd[m], cal_sd[m])), level) for m in METRICS}
    confusion = {pos: {pos: float(tp), neg: float(fn)}, neg: {pos: float(fp), neg: float(tn)}}
    return Estimated(metrics, confusion, int(n), cal_sd)


@dataclass(frozen=True)
class Band:
    """Alarm when an estimate falls below the reference's value by more than chance at both sizes allows
    (z sd, z one-sided at alpha over the metrics) and by at least a minimum effect plus 2 sd."""

    alpha: float = 0.01
    min_effect: float = 0.01

    def threshold(self, ref_value: float, ref_sd: float, ref_rows: int, rows: int, metrics: int) -> tuple[float, float]:
        """(lowest estimate without an alarm, sd of the no-change difference)."""
        sd = ref_sd * np.sqrt(1.0 + ref_rows / max(rows, 1))    # reference at n, partition at m: sd scales sqrt(n/m)
        z = stats.norm.ppf(1 - self.alpha / max(metrics, 1))
        return float(ref_value - max(z * sd, self.min_effect + 2 * sd)), float(sd)
