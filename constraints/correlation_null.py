"""The null variance of Fisher's z = atanh(r) of Pearson's r at the sizes partitions actually have.

Fisher's test compares atanh(r) of the baseline and of a partition with the standard deviation
sqrt(v0 / (n0 - 3) + v1 / (n1 - 3)); v = (n - 3) Var(atanh r_n) is 1 at every n for bivariate normal data.
For skewed or heavy-tailed data v is larger and depends on n: r converges slowly, so the fourth-moment
(delta-method) value is the limit only (lognormal features: v about 6.7 at 1,000 rows, 10.3 at 100,000),
and a sample's fourth moments underestimate it. A single v cannot be right at every partition size.

So the baseline measures v where it is used: the m-out-of-n bootstrap of its row sample (Bickel, Goetze
and van Zwet 1997, "Resampling fewer than n observations"; Politis, Romano and Wolf 1999, "Subsampling"):
for each size m of a grid, `replicates` draws of m rows with replacement from the sample, Pearson's r of
every pair on each draw, and v(m) = (m - 3) Var(atanh r) per pair over the draws. For m well below the
sample's size the resampled rows behave as fresh rows of the baseline's distribution, so v(m) is the
variance at that size, heavy tails included, as far as the sample shows them. Validate interpolates v
linearly in log m between the grid's sizes (held constant outside it) at the pair's rows on each side.

Limits: above the sample's size the bootstrap sees only the sample's tails (v held at the largest size,
floored by the fourth-moment value); by then the minimum effect decides large partitions anyway. v is
floored at 1 (normal theory; never more liberal than Fisher's test). Cost: sum(sizes) * replicates rows,
one Gram matrix each (bench/RESULTS.md, "Pearson's null at every size").
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["SIZES", "REPLICATES", "NullVariance", "bootstrap_variance"]

SIZES = (30, 100, 300, 1000, 3000, 8192)   # rows per resample; validate interpolates in log(rows)
REPLICATES = 200                          # per size: the variance's relative sd about sqrt(2 / 200) = 10%


@dataclass(frozen=True)
class NullVariance:
    """Per size `sizes[k]` (increasing) and pair (i, j): v = (m - 3) Var(atanh r) in `values[k, i, j]`."""

    sizes: tuple[int, ...]
    values: np.ndarray          # len(sizes) x p x p; NaN: unknown (a constant column, too few rows)
    replicates: int = REPLICATES

    def at(self, rows: float) -> np.ndarray:
        """The p x p matrix of v at `rows` rows: linear in log(rows) between the sizes, constant outside."""
        logs = np.log(np.asarray(self.sizes, dtype=float))
        x = math.log(max(float(rows), 1.0))
        k = int(np.searchsorted(logs, x))
        if k == 0:
            return self.values[0]
        if k >= len(logs):
            return self.values[-1]
        w = (x - logs[k - 1]) / (logs[k] - logs[k - 1])
        return (1 - w) * self.values[k - 1] + w * self.values[k]

    def to_dict(self) -> dict[str, Any]:
        return {"method": "m-out-of-n bootstrap of the baseline's row sample: (m - 3) Var(atanh r)",
                "replicates": self.replicates, "sizes": list(self.sizes),
                "v": [[[None if not np.isfinite(x) else round(float(x), 6) for x in row] for row in m]
                      for m in self.values]}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "NullVariance":
        values = np.array([[[np.nan if x is None else float(x) for x in row] for row in m] for m in doc["v"]],
                          dtype=float)
        return cls(tuple(int(s) for s in doc["sizes"]), values, int(doc.get("replicates", REPLICATES)))


def _atanh_r(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """atanh of Pearson's r per pair of the rows `x` (NaN: absent values, pairwise complete) and the rows
    behind each pair."""
    from constraints.correlation import CoTally, pearson

    t = CoTally.of(x)
    r = pearson(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.arctanh(np.clip(r, -1 + 1e-12, 1 - 1e-12)), t.n


def bootstrap_variance(rows: np.ndarray, sizes: tuple[int, ...] = SIZES, replicates: int = REPLICATES,
                       seed: int = 14, floor: np.ndarray | None = None) -> NullVariance:
    """NullVariance of the sample `rows` (n x p): per size, `replicates` resamples with replacement.
    `floor` (p x p, e.g. the fourth-moment variance) bounds the largest size's value from below; every
    value is at least 1."""
    x = np.asarray(rows, dtype=np.float64)
    p = x.shape[1]
    rng = np.random.default_rng(seed)
    out = np.full((len(sizes), p, p), np.nan)
    for k, m in enumerate(sizes):
        z = np.empty((replicates, p, p))
        n = np.empty((replicates, p, p))
        for b in range(replicates):
            z[b], n[b] = _atanh_r(x[rng.integers(0, len(x), m)])
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN pairs (a constant column): NaN, masked below
            finite = np.isfinite(z).sum(axis=0)
            var = np.nanvar(np.where(np.isfinite(z), z, np.nan), axis=0, ddof=1) if replicates > 1 else \
                np.zeros((p, p))
            v = var * (np.nanmean(np.where(np.isfinite(z), n, np.nan), axis=0) - 3)
        out[k] = np.where((finite >= replicates // 2) & np.isfinite(v), np.maximum(v, 1.0), np.nan)
    if floor is not None:
        out[-1] = np.where(np.isfinite(out[-1]), np.fmax(out[-1], floor), out[-1])
    for k in range(len(sizes)):
        np.fill_diagonal(out[k], 1.0)
    return NullVariance(tuple(int(s) for s in sizes), out, replicates)
