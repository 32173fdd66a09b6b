"""Which predictions to label: fixed-size samples with known inclusion probabilities.

Every strategy is one design, told apart only by the relative intensity `w_i` it gives each row:

    uniform         w_i = 1
    stratified      w_i = 1 / N_h            (h = the row's predicted class: equal expected share per class)
    low-confidence  w_i = uncertainty_i      (1 - |2 score - 1|, or 1 - max class probability)
    drift           w_i = density ratio      (partition share / baseline share of the row's bucket, largest
                                              over the features a violation report names as drifted)

The inclusion probabilities are a *defensive mixture*: half of the expected sample is spread uniformly,
half in proportion to `w`,

    pi_i = n * (u / N + (1 - u) * w_i / sum(w)),   u = 0.5, capped at 1 (the excess is spread over the rest),

so every row keeps pi_i >= u n / N: no weight 1/pi_i exceeds 2 N / n, which keeps the weighted estimate's
variance bounded whatever `w` is (a pure uncertainty sample would give the confident rows, which the
model mostly gets right, huge weights and a useless interval). The sample is then drawn by systematic
PPS sampling over a random order of the rows: exactly `n` rows, each row included with probability
exactly pi_i, a high-entropy design for which Hajek's variance approximation (labeling.quality) holds.
Reproducible: the same seed, strategy and rows give the same sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STRATEGIES = ("uniform", "stratified", "low-confidence", "drift")
UNIFORM_SHARE = 0.5


@dataclass(frozen=True)
class Sample:
    """Positions of the sampled rows in the population (sorted) and each one's inclusion probability."""

    strategy: str
    seed: int
    population: int
    positions: np.ndarray
    inclusion: np.ndarray

    @property
    def size(self) -> int:
        return len(self.positions)


def inclusion_probabilities(weights: np.ndarray, size: int, uniform_share: float = UNIFORM_SHARE) -> np.ndarray:
    """pi_i summing to `size`, each <= 1: the defensive mixture of uniform and `weights`-proportional."""
    w = np.asarray(weights, dtype="float64")
    n_pop = len(w)
    if size >= n_pop:
        return np.ones(n_pop)
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("sampling weights must be finite and non-negative")
    w = np.full(n_pop, 1.0) if w.sum() <= 0 else w / w.sum()
    p = uniform_share / n_pop + (1 - uniform_share) * w
    pi = np.zeros(n_pop)
    capped = np.zeros(n_pop, dtype=bool)
    for _ in range(n_pop):  # cap at 1 and spread what is left over the others, in proportion to p
        rest = size - capped.sum()
        pi[~capped] = rest * p[~capped] / p[~capped].sum()
        pi[capped] = 1.0
        over = ~capped & (pi >= 1.0)
        if not over.any():
            break
        capped |= over
    return pi


def systematic_pps(pi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Systematic sampling over a random order: round(sum(pi)) rows, row i with probability pi_i; positions sorted."""
    size = int(round(pi.sum()))
    order = rng.permutation(len(pi))
    edges = np.cumsum(pi[order])
    edges *= size / edges[-1]                     # remove rounding drift so the last edge is exactly `size`
    points = rng.random() + np.arange(size)
    picked = order[np.searchsorted(edges, points, side="right")]
    return np.sort(picked)


def draw(weights: np.ndarray, size: int, seed: int, strategy: str) -> Sample:
    """A fixed-size sample of `size` rows with intensity `weights` (see the module docstring)."""
    if size <= 0:
        raise ValueError("the sample size must be positive")
    pi = inclusion_probabilities(weights, size)
    positions = systematic_pps(pi, np.random.default_rng(seed))
    return Sample(strategy, seed, len(pi), positions, pi[positions])


def uniform(population: int, size: int, seed: int) -> Sample:
    return draw(np.ones(population), size, seed, "uniform")


def stratified(classes: np.ndarray, size: int, seed: int) -> Sample:
    """Equal expected share for each predicted class (half of the sample; the other half uniform)."""
    _, inverse, counts = np.unique(np.asarray(classes, dtype=str), return_inverse=True, return_counts=True)
    return draw(1.0 / counts[inverse], size, seed, "stratified")


def uncertainty(score: np.ndarray | None = None, probabilities: np.ndarray | None = None) -> np.ndarray:
    """How unsure the model is, in [0, 1]: 1 - |2 score - 1| for a binary score, 1 - max p for class probabilities."""
    if probabilities is not None:
        p = np.nan_to_num(np.asarray(probabilities, dtype="float64"), nan=0.0)
        return np.clip(1.0 - p.max(axis=1), 0.0, 1.0)
    if score is None:
        raise ValueError("low-confidence sampling needs a score or class probabilities")
    s = np.nan_to_num(np.asarray(score, dtype="float64"), nan=0.5)
    return np.clip(1.0 - np.abs(2.0 * s - 1.0), 0.0, 1.0)


def low_confidence(unsure: np.ndarray, size: int, seed: int) -> Sample:
    return draw(unsure, size, seed, "low-confidence")


def drift_weighted(weights: np.ndarray, size: int, seed: int) -> Sample:
    return draw(weights, size, seed, "drift")
