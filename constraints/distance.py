"""Distribution distances between a baseline and a partition: the pieces both kinds of feature share.

Numeric features compare the baseline's KLL sketch (a `Sketch`) with the partition's counts on the
baseline's grid (constraints.grid): the L-infinity distance of the two CDFs, i.e. the two-sample
Kolmogorov-Smirnov statistic, optionally reduced by SageMaker's noise allowance 1.8 * sqrt((n + m) / (n m))
("Robust"). Categorical features compare category shares (L-infinity) or run a chi-squared test. Beside
them, every feature gets PSI and the Jensen-Shannon distance on the same bins, numeric ones the
Wasserstein distance normalised by the baseline's standard deviation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

ROBUST_CONSTANT = 1.8      # Deequ's default (alpha 0.003)
EPSILON = 1e-4             # floor for empty bins in PSI and JS (as Evidently does)
CHI_SQUARED_MIN_EXPECTED = 5.0


@dataclass(frozen=True)
class Sketch:
    """A KLL sketch: compactor levels; an item at level h stands for 2**h values."""

    values: np.ndarray        # sorted items
    cumulative: np.ndarray    # cumulative weight up to and including each item

    @classmethod
    def from_levels(cls, levels) -> "Sketch":
        items, weights = [], []
        for h, level in enumerate(levels):
            items.extend(level)
            weights.extend([2.0**h] * len(level))
        order = np.argsort(np.asarray(items, dtype=float), kind="stable")
        values = np.asarray(items, dtype=float)[order]
        return cls(values, np.cumsum(np.asarray(weights, dtype=float)[order]))

    @property
    def n(self) -> float:
        return float(self.cumulative[-1]) if len(self.cumulative) else 0.0

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """P(X <= x) for each x."""
        idx = np.searchsorted(self.values, x, side="right")
        return np.where(idx > 0, self.cumulative[np.maximum(idx - 1, 0)], 0.0) / self.n

    def cdf_below(self, x: np.ndarray) -> np.ndarray:
        """P(X < x) for each x."""
        idx = np.searchsorted(self.values, x, side="left")
        return np.where(idx > 0, self.cumulative[np.maximum(idx - 1, 0)], 0.0) / self.n


def robust_allowance(n: float, m: float) -> float:
    return ROBUST_CONSTANT * math.sqrt((n + m) / (n * m)) if n > 0 and m > 0 else math.inf


def bin_shares(s: Sketch, edges: np.ndarray) -> np.ndarray:
    """Shares in [below edges[0]] + buckets [e_i, e_i+1) (the last one closed) + [above edges[-1]]."""
    inner = s.cdf_below(edges[1:-1])
    lower, upper = s.cdf_below(edges[:1]), s.cdf(edges[-1:])
    cuts = np.concatenate([lower, inner, upper])
    return np.diff(np.concatenate([[0.0], cuts, [1.0]]))


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index, sum (a - e) ln(a / e), with empty bins floored at EPSILON."""
    e, a = np.maximum(expected, EPSILON), np.maximum(actual, EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def js_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance (square root of the divergence, base 2: between 0 and 1)."""
    p, q = np.maximum(p, 0.0), np.maximum(q, 0.0)
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(x: np.ndarray) -> float:
        mask = x > 0
        return float(np.sum(x[mask] * np.log2(x[mask] / m[mask])))

    return math.sqrt(max(0.0, (kl(p) + kl(q)) / 2))


@dataclass(frozen=True)
class CategoricalDrift:
    linf: float
    chi_squared_p_value: float | None
    psi: float
    js: float


def _shares(counts: dict[str, float], keys: list[str]) -> np.ndarray:
    total = sum(counts.values())
    return np.array([counts.get(k, 0.0) / total if total else 0.0 for k in keys])


def chi_squared_p_value(baseline: dict[str, float], current: dict[str, float]) -> float | None:
    """Goodness of fit of the current counts to the baseline shares; smallest categories merged
    until every expected count is at least 5. None when fewer than two categories remain."""
    m = sum(current.values())
    base_total = sum(baseline.values())
    if m == 0 or base_total == 0:
        return None
    # (expected, observed) per category, smallest expected first (unseen categories expect 0)
    cells = sorted((baseline.get(k, 0.0) / base_total * m, current.get(k, 0.0)) for k in set(baseline) | set(current))
    while len(cells) > 1 and cells[0][0] < CHI_SQUARED_MIN_EXPECTED:
        (e0, o0), (e1, o1) = cells[0], cells[1]
        cells = sorted([(e0 + e1, o0 + o1)] + cells[2:])
    if len(cells) < 2:
        return None
    expected, observed = [e for e, _ in cells], [o for _, o in cells]
    statistic = sum((o - e) ** 2 / e for o, e in zip(observed, expected))
    return float(stats.chi2.sf(statistic, len(expected) - 1))


def categorical_drift(baseline: dict[str, float], current: dict[str, float]) -> CategoricalDrift:
    keys = sorted(set(baseline) | set(current))
    p, q = _shares(baseline, keys), _shares(current, keys)
    return CategoricalDrift(float(np.max(np.abs(p - q))) if keys else 0.0, chi_squared_p_value(baseline, current),
                            psi(p, q), js_distance(p, q) if p.sum() and q.sum() else 0.0)
