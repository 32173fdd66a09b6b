"""The partition's class priors without labels: black-box shift estimation (BBSE, Lipton, Wang and Smola 2018).

Under label shift the class mix changes while P(x | y), hence P(predicted | true), stays. With C the
reference's joint confusion matrix, C[i, j] = P(predicted i, true j), and mu the partition's predicted-class
shares, mu = C w where w_j = q_j / p_j (partition over reference prior): w = C^-1 mu (least squares), the
partition's priors q = w * p (clipped at 0, renormalised). Only counts are needed: the reference's confusion
matrix (model_reference.json) and the partition's predicted-class counts.

Interval: a parametric bootstrap of both inputs (the confusion matrix multinomial at the reference's size,
the predicted counts multinomial at the partition's), percentile intervals for q and for q - p. A class's
prior has moved when the (1 - alpha / K) interval of q - p excludes 0 and |q - p| is at least a minimum
effect. An ill-conditioned C (a model that confuses the classes) widens the intervals, as it should.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REPLICATES = 1000


@dataclass(frozen=True)
class PriorShift:
    classes: tuple[str, ...]
    reference: np.ndarray          # p: reference priors
    estimate: np.ndarray           # q: partition priors
    lower: np.ndarray
    upper: np.ndarray
    moved: np.ndarray              # per class: the prior moved beyond chance and the minimum effect
    diff_lower: np.ndarray
    diff_upper: np.ndarray
    condition: float               # condition number of C
    level: float


def _solve(joint: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(q, p) from the joint confusion C[pred, true] and predicted shares mu."""
    p = joint.sum(axis=0)
    w = np.linalg.lstsq(joint, mu, rcond=None)[0]
    q = np.clip(w * p, 0.0, None)
    s = q.sum()
    return (q / s if s > 0 else p.copy()), p


def bbse(confusion: np.ndarray, predicted: np.ndarray, classes: list[str], level: float = 0.95, alpha: float = 0.01,
         min_effect: float = 0.02, seed: int = 0, replicates: int = REPLICATES) -> PriorShift:
    """`confusion`: reference counts, true (rows) x predicted (columns); `predicted`: partition counts per class."""
    counts = np.asarray(confusion, dtype=float)
    pred = np.asarray(predicted, dtype=float)
    n, m = counts.sum(), pred.sum()
    if n <= 0 or m <= 0:
        raise ValueError("BBSE needs reference rows and partition rows")
    joint = counts.T / n
    q, p = _solve(joint, pred / m)
    rng = np.random.default_rng(seed)
    flat = joint.reshape(-1)
    qs, ds = np.empty((replicates, len(classes))), np.empty((replicates, len(classes)))
    ref_draws = rng.multinomial(int(n), flat / flat.sum(), size=replicates)
    part_draws = rng.multinomial(int(m), pred / m, size=replicates)
    for r in range(replicates):
        qr, pr = _solve(ref_draws[r].reshape(joint.shape) / n, part_draws[r] / m)
        qs[r], ds[r] = qr, qr - pr
    tail = (1 - level) / 2
    lo, hi = np.quantile(qs, [tail, 1 - tail], axis=0)
    k = len(classes)
    dlo, dhi = np.quantile(ds, [alpha / (2 * k), 1 - alpha / (2 * k)], axis=0)
    moved = ((dlo > 0) | (dhi < 0)) & (np.abs(q - p) >= min_effect)
    return PriorShift(tuple(classes), p, q, lo, hi, moved, dlo, dhi, float(np.linalg.cond(joint)), level)
