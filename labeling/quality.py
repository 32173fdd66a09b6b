"""Model quality for the whole partition from a weighted sample of labeled rows.

Estimator. Each labeled row i carries its inclusion probability pi_i (labeling.sampling) and the weight
w_i = 1 / pi_i. Every metric here is a ratio of two totals over the partition, R = sum(a) / sum(b)
(accuracy: a = correct, b = 1; precision of class c: a = correct and predicted c, b = predicted c;
recall: b = true c; F1: a = 2 TP, b = predicted c + true c), estimated by the Hajek ratio

    R_hat = sum_s w_i a_i / sum_s w_i b_i,

whose numerator and denominator are Horvitz-Thompson estimates of the two totals, each unbiased for
any design with known pi_i > 0: so R_hat is consistent for the partition's figure (its bias is
O(1/n) and negligible against the interval), whatever strategy chose the rows.

Variance. Linearisation (Taylor) with Hajek's approximation for fixed-size high-entropy designs,

    v = n / (n - 1) * sum_s (1 - pi_i) (w_i (a_i - R_hat b_i))^2 / (sum_s w_i b_i)^2,

and standard_deviation = sqrt(v).

Interval. Wilson's score interval on the effective sample size n* = R_hat (1 - R_hat) / v (the
design-effect-adjusted n of Korn and Graubard), with the t quantile on n - 1 degrees of freedom in
place of z; when R_hat is 0 or 1 (v = 0) Kish's n* = (sum w b)^2 / sum (w b)^2 is used. Wilson's
interval stays inside [0, 1] and keeps its coverage near the bounds, where a Wald interval at n = 50
does not. The aggregate figures (macro and weighted F1, precision, recall) are not single ratios;
their intervals come from a bootstrap over the weighted sample (rows resampled with replacement,
weights kept, percentile interval). The simulation test checks coverage for every strategy.

Champion/challenger: McNemar's exact test on the rows labeled for both models (discordant pairs), and
the weighted difference in accuracy with its linearised interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

LEVEL = 0.95
BOOTSTRAP = 1000


@dataclass(frozen=True)
class Estimate:
    value: float
    standard_deviation: float
    lower: float
    upper: float
    level: float = LEVEL

    def as_dict(self) -> dict:
        return {"value": self.value, "standard_deviation": self.standard_deviation,
                "confidence_interval": {"lower": self.lower, "upper": self.upper, "level": self.level}}


def _nan_estimate(level: float) -> Estimate:
    return Estimate(float("nan"), float("nan"), float("nan"), float("nan"), level)


def wilson(p: float, n_eff: float, level: float = LEVEL, df: float | None = None) -> tuple[float, float]:
    """Wilson's score interval for a proportion p on n_eff effective observations (t quantile if df given)."""
    q = 1 - (1 - level) / 2
    z = stats.t.ppf(q, df) if df is not None and df >= 1 else stats.norm.ppf(q)
    z2 = z * z
    centre = (p + z2 / (2 * n_eff)) / (1 + z2 / n_eff)
    half = z * np.sqrt(p * (1 - p) / n_eff + z2 / (4 * n_eff * n_eff)) / (1 + z2 / n_eff)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def ratio(a: np.ndarray, b: np.ndarray, pi: np.ndarray, level: float = LEVEL) -> Estimate:
    """Hajek estimate of sum(a) / sum(b) over the partition, with Wilson interval on the effective n."""
    a, b, pi = (np.asarray(x, dtype="float64") for x in (a, b, pi))
    w = 1.0 / pi
    keep = b > 0
    n = int(keep.sum())
    den = float(np.sum(w * b))
    if n == 0 or den <= 0:
        return _nan_estimate(level)
    r = float(np.sum(w * a) / den)
    r = min(max(r, 0.0), 1.0)
    resid = w * (a - r * b)
    v = float(n / max(n - 1, 1) * np.sum((1 - pi) * resid * resid) / den ** 2) if n > 1 else float("nan")
    if n > 1 and v == 0 and 0 < r < 1:   # every row of the partition labeled (pi = 1): the figure is exact
        return Estimate(r, 0.0, r, r, level)
    if n > 1 and v > 0 and 0 < r < 1:
        n_eff = r * (1 - r) / v
    else:
        wb = (w * b)[keep]
        n_eff = float(wb.sum() ** 2 / np.sum(wb * wb))
    lo, hi = wilson(r, n_eff, level, df=n - 1 if n > 1 else None)
    sd = float(np.sqrt(v)) if n > 1 else float("nan")
    return Estimate(r, sd, lo, hi, level)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray, pi: np.ndarray, level: float = LEVEL) -> Estimate:
    correct = (np.asarray(y_true) == np.asarray(y_pred)).astype("float64")
    return ratio(correct, np.ones_like(correct), pi, level)


@dataclass(frozen=True)
class ClassMetrics:
    label: str
    precision: Estimate
    recall: Estimate
    f1: Estimate
    support: float            # estimated number of rows of this true class in the partition


def per_class(y_true: np.ndarray, y_pred: np.ndarray, pi: np.ndarray, classes: list[str],
              level: float = LEVEL) -> list[ClassMetrics]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    w = 1.0 / np.asarray(pi, dtype="float64")
    out = []
    for c in classes:
        t, p = (y_true == c).astype(float), (y_pred == c).astype(float)
        tp = t * p
        out.append(ClassMetrics(c, ratio(tp, p, pi, level), ratio(tp, t, pi, level),
                                ratio(2 * tp, p + t, pi, level), float(np.sum(w * t))))
    return out


def _fbeta_table(y_true: np.ndarray, y_pred: np.ndarray, weights: np.ndarray, classes: list[str], beta: float):
    """Per-class precision, recall, F-beta and true-class totals for each weight row (B x n) at once."""
    t = np.stack([(y_true == c) for c in classes]).astype(float)      # K x n
    p = np.stack([(y_pred == c) for c in classes]).astype(float)
    tp_ = weights @ (t * p).T                                        # B x K
    pred_ = weights @ p.T
    true_ = weights @ t.T
    with np.errstate(invalid="ignore", divide="ignore"):
        prec = np.where(pred_ > 0, tp_ / pred_, 0.0)
        rec = np.where(true_ > 0, tp_ / true_, 0.0)
        b2 = beta * beta
        f = np.where(b2 * true_ + pred_ > 0, (1 + b2) * tp_ / (b2 * true_ + pred_), 0.0)
    return prec, rec, f, true_


def aggregates(y_true: np.ndarray, y_pred: np.ndarray, pi: np.ndarray, classes: list[str], seed: int = 0,
               level: float = LEVEL, replicates: int = BOOTSTRAP) -> dict[str, Estimate]:
    """macro_f1, weighted_{precision, recall, f0_5, f1, f2}: weighted point estimate, bootstrap interval."""
    y_true, y_pred = np.asarray(y_true).astype(str), np.asarray(y_pred).astype(str)
    w = 1.0 / np.asarray(pi, dtype="float64")
    n = len(w)
    if n == 0:
        return {k: _nan_estimate(level) for k in ("macro_f1", "weighted_precision", "weighted_recall",
                                                  "weighted_f0_5", "weighted_f1", "weighted_f2")}
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=replicates).astype(float)
    weights = np.vstack([w, counts * w])                            # row 0: the sample itself
    results: dict[str, np.ndarray] = {}
    for beta, name in ((0.5, "f0_5"), (1.0, "f1"), (2.0, "f2")):
        prec, rec, f, true_ = _fbeta_table(y_true, y_pred, weights, classes, beta)
        share = true_ / true_.sum(axis=1, keepdims=True)
        results[f"weighted_{name}"] = (share * f).sum(axis=1)
        if beta == 1.0:
            present = true_ + (weights @ np.stack([(y_pred == c) for c in classes]).astype(float).T) > 0
            results["macro_f1"] = np.where(present, f, np.nan)
            results["macro_f1"] = np.nanmean(results["macro_f1"], axis=1)
            results["weighted_precision"] = (share * prec).sum(axis=1)
            results["weighted_recall"] = (share * rec).sum(axis=1)
    out = {}
    alpha = (1 - level) / 2
    for name, values in results.items():
        boot = values[1:][np.isfinite(values[1:])]
        lo, hi = (np.quantile(boot, [alpha, 1 - alpha]) if len(boot) else (np.nan, np.nan))
        out[name] = Estimate(float(values[0]), float(np.std(boot, ddof=1)) if len(boot) > 1 else float("nan"),
                             float(lo), float(hi), level)
    return out


def confusion(y_true: np.ndarray, y_pred: np.ndarray, pi: np.ndarray, classes: list[str],
              population: int, level: float = LEVEL) -> dict[str, dict[str, Estimate]]:
    """Estimated row counts of the partition per (true, predicted) cell: population x the cell's weighted share."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    ones = np.ones(len(y_true))
    out: dict[str, dict[str, Estimate]] = {}
    for t in classes:
        out[t] = {}
        for p in classes:
            e = ratio(((y_true == t) & (y_pred == p)).astype(float), ones, pi, level)
            out[t][p] = Estimate(e.value * population, e.standard_deviation * population,
                                 e.lower * population, e.upper * population, level)
    return out


@dataclass(frozen=True)
class Comparison:
    """Champion (a) against challenger (b) on the same labeled rows."""

    rows: int
    a_only_correct: int      # discordant pairs: a right, b wrong
    b_only_correct: int
    p_value: float           # McNemar's exact (binomial) test
    difference: Estimate     # weighted accuracy of a minus that of b, linearised interval

    @property
    def better(self) -> str | None:
        if self.a_only_correct == self.b_only_correct:
            return None
        return "a" if self.a_only_correct > self.b_only_correct else "b"


def mcnemar(y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, pi: np.ndarray,
            level: float = LEVEL) -> Comparison:
    y_true, pred_a, pred_b = np.asarray(y_true), np.asarray(pred_a), np.asarray(pred_b)
    pi = np.asarray(pi, dtype="float64")
    ca, cb = (y_true == pred_a), (y_true == pred_b)
    b, c = int(np.sum(ca & ~cb)), int(np.sum(~ca & cb))
    p_value = float(stats.binomtest(b, b + c, 0.5).pvalue) if b + c else 1.0
    w = 1.0 / pi
    n = len(w)
    d = ca.astype(float) - cb.astype(float)
    den = float(w.sum()) if n else 0.0
    if n < 2 or den <= 0:
        diff = _nan_estimate(level)
    else:
        r = float(np.sum(w * d) / den)
        resid = w * (d - r)
        v = float(n / (n - 1) * np.sum((1 - pi) * resid * resid) / den ** 2)
        sd = float(np.sqrt(v))
        half = stats.t.ppf(1 - (1 - level) / 2, n - 1) * sd
        diff = Estimate(r, sd, max(-1.0, r - half), min(1.0, r + half), level)
    return Comparison(n, b, c, p_value, diff)
