"""Model-assisted (difference) estimate of a partition's accuracy: every row's calibrated score plus the labels.

Each row i of the partition (N rows) has g_i, the calibrated probability that the model is right on it
(labeling.calibration). Labeled rows also have a_i (1 if right). The difference estimator (Saerndal,
Swensson and Wretman, Model Assisted Survey Sampling, 1992, ch. 6; GREG with the fixed predictor g) is

    A_hat = (1/N) sum_U g_i  +  sum_s w_i (a_i - g_i) / sum_s w_i,        w_i = 1 / pi_i,

the mean of the expected correctness over ALL rows, corrected by the design-weighted (Hajek) mean of the
residuals over the labeled rows. g is fixed before the sample is drawn (fitted on the baseline's
reference rows), so the correction is a Hajek ratio of a fixed variable: A_hat is design-consistent for the
partition's accuracy whatever g is -- a badly calibrated g (concept drift) is corrected by the residuals
and only costs width. Its variance is that of the residual mean (Hajek's approximation, as in
labeling.quality):

    v = n / (n - 1) * sum_s (1 - pi_i) (w_i (e_i - d))^2 / (sum_s w_i)^2,    e_i = a_i - g_i, d = their mean,

so it is small when g predicts a well (residual variance g(1-g) instead of A(1-A)). Interval: A_hat +- t_{n-1}
sqrt(v), clipped to [0, 1]. The calibration's own error (from a finite reference) does not enter: it moves g,
which the residuals absorb.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from labeling.quality import LEVEL, Estimate


@dataclass(frozen=True)
class ModelAssisted:
    estimate: Estimate
    expected_mean: float             # (1/N) sum_U g: the label-free part
    residual_mean: float             # d: what the labels correct (0 when the calibration holds)
    residual_sd: float               # standard deviation of d
    labeled: int

    @property
    def calibration_off(self) -> bool:
        """The labels disagree with the calibrated scores beyond chance (|d| > 3 sd)."""
        return bool(np.isfinite(self.residual_sd) and abs(self.residual_mean) > 3 * self.residual_sd + 1e-12)


def difference(expected_all: np.ndarray, actual: np.ndarray, expected: np.ndarray, pi: np.ndarray,
               level: float = LEVEL) -> ModelAssisted:
    """Difference estimate of mean(a) over the partition; `expected_all` is g for every row,
    `actual`, `expected`, `pi` are a, g and pi of the labeled rows."""
    g_all = np.asarray(expected_all, dtype="float64")
    a, g, pi = (np.asarray(x, dtype="float64") for x in (actual, expected, pi))
    n = len(a)
    base = float(np.mean(g_all))
    nan = float("nan")
    if n == 0:
        return ModelAssisted(Estimate(nan, nan, nan, nan, level), base, nan, nan, 0)
    w = 1.0 / pi
    e = a - g
    d = float(np.sum(w * e) / np.sum(w))
    value = min(max(base + d, 0.0), 1.0)
    if n < 2:
        return ModelAssisted(Estimate(value, nan, 0.0, 1.0, level), base, d, nan, n)
    v = float(n / (n - 1) * np.sum((1 - pi) * (w * (e - d)) ** 2) / np.sum(w) ** 2)
    sd = float(np.sqrt(v))
    half = float(stats.t.ppf(1 - (1 - level) / 2, n - 1)) * sd
    est = Estimate(value, sd, max(0.0, value - half), min(1.0, value + half), level)
    return ModelAssisted(est, base, d, sd, n)
