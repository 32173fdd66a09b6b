"""Distribution distances between a baseline and a partition: the pieces both kinds of feature share.

Numeric features compare the baseline's KLL sketch (a `Sketch`) with the partition's counts on the
baseline's grid (constraints.grid): the L-infinity distance of the two CDFs, i.e. the two-sample
Kolmogorov-Smirnov statistic, optionally reduced by SageMaker's noise allowance 1.8 * sqrt((n + m) / (n m))
("Robust"). Categorical features compare category shares (L-infinity) or run a chi-squared test. Beside
them, every feature gets PSI, the Jensen-Shannon distance and the Kullback-Leibler divergence on the same
bins, numeric ones the Wasserstein distance normalised by the baseline's standard deviation.

KL divergence: KL(partition || baseline) = sum q ln(q / p) in nats over the bins (q the partition's
shares, p the baseline's), as scipy.stats.entropy(q, p) computes it. Smoothing rule: a bin empty on either
side is floored at EPSILON = 1e-4 (the floor PSI uses), then both sides are renormalised to sum to 1
(scipy.stats.entropy normalises its arguments), so the divergence stays finite when the partition has
values in a bin the baseline never saw; such a bin adds about q ln(q / 1e-4).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

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


def kl_divergence(expected: np.ndarray, actual: np.ndarray) -> float:
    """KL(actual || expected) in nats, empty bins floored at EPSILON and both sides renormalised."""
    e, a = np.maximum(expected, EPSILON), np.maximum(actual, EPSILON)
    a, e = a / a.sum(), e / e.sum()
    return float(np.sum(a * np.log(a / e)))


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
    kl: float = 0.0     # KL(partition || baseline), nats (kl_divergence)


def _shares(counts: dict[str, float], keys: list[str]) -> np.ndarray:
    total = sum(counts.values())
    values = np.fromiter((counts.get(k, 0.0) for k in keys), dtype=float, count=len(keys))
    return values / total if total else np.zeros(len(keys))


def chi_squared_p_value(baseline: dict[str, float], current: dict[str, float], other: float = 0.0) -> float | None:
    """Goodness of fit of the current counts to the baseline shares; smallest categories merged
    until every expected count is at least 5. None when fewer than two categories remain.

    Categories outside the baseline expect 0 each, so the merge joins them all first, whatever their
    number: they enter as one cell, with `other`, current values not listed in `current` and none of
    them in the baseline (unseen values counted in total only, constraints.unseen). The merge then
    takes the two smallest cells (by expected count, then observed) from a heap: linear in the
    categories outside the baseline, n log n in the baseline's."""
    m = sum(current.values()) + other
    base_total = sum(baseline.values())
    if m == 0 or base_total == 0:
        return None
    # (expected, observed) per baseline category; a heap, smallest expected first
    cells = [(count / base_total * m, current.get(k, 0.0)) for k, count in baseline.items()]
    zero = [e for e in cells if e[0] == 0.0]
    cells = [e for e in cells if e[0] != 0.0]
    outside = sum(n for k, n in current.items() if k not in baseline) + other + sum(o for _, o in zero)
    if outside or zero or len(current) > len(current.keys() & baseline.keys()):
        cells.append((0.0, float(outside)))
    heapq.heapify(cells)
    while len(cells) > 1 and cells[0][0] < CHI_SQUARED_MIN_EXPECTED:
        e0, o0 = heapq.heappop(cells)
        e1, o1 = heapq.heappop(cells)
        heapq.heappush(cells, (e0 + e1, o0 + o1))
    if len(cells) < 2:
        return None
    statistic = sum((o - e) ** 2 / e for e, o in cells)
    from scipy import stats   # here: the pass's workers import this module (through the suite's kinds)

    return float(stats.chi2.sf(statistic, len(cells) - 1))


def categorical_drift(baseline: dict[str, float], current: dict[str, float], other: float = 0.0) -> CategoricalDrift:
    """Distances between category counts. `other`: current values not listed in `current` and not in the
    baseline (constraints.unseen), each no more frequent than the least frequent listed unseen one: they
    count in every share's total, and form one extra bin for PSI and Jensen-Shannon."""
    keys = sorted(baseline) + sorted(k for k in current if k not in baseline)   # linear beyond the sorts
    base, cur = dict(baseline), dict(current)
    if other:
        key = "\0other"   # cannot collide with a listed value: only in these two local dicts
        keys.append(key)
        cur[key] = float(other)
    p, q = _shares(base, keys), _shares(cur, keys)
    linf = np.abs(p - q)
    if other:   # the extra bin holds many values; each of them is below the largest listed share
        linf = linf[:-1]
    return CategoricalDrift(float(np.max(linf)) if len(linf) else 0.0, chi_squared_p_value(baseline, current, other),
                            psi(p, q), js_distance(p, q) if p.sum() and q.sum() else 0.0,
                            kl_divergence(p, q) if p.sum() and q.sum() else 0.0)
