"""Correlations of the numeric features, in the baseline and per partition, from the same one pass.

Workers fold each Arrow batch into co-moments of every pair of correlated columns (`Comoments`, a joint
lane of constraints.tally: it reads the numeric lanes the pass already has, so Spark computes nothing
more). Per pair (i, j), over the rows where both are present: the count, the mean and the centred sum of
squares of each, and the centred sum of cross products. A batch's are matrix products of the
batch-centred values with the presence mask (BLAS); batches and partitions merge with Chan, Golub and
LeVeque's pairwise formula (no cancellation, whatever the means). Pearson's r follows per pair.

Spearman's rho is Pearson's r of the values' ranks. A pass cannot rank values it has not seen yet, so
the ranks are the baseline's: u = F(x), the baseline KLL sketch's mid-CDF ((F(x-) + F(x)) / 2, mid-ranks
for ties; interpolated between the sketch's items). Ranking every row costs: numpy's interp over the
sketch's items was 20 ms per 10,000-row batch of 30 columns, about ten times the rest of the worker's
tally. So both sides keep a bounded uniform sample of rows (constraints.rowsample, the pass's one row
sample: the rows with the smallest random keys; validate's Spearman takes the first 4,096) and rho is
computed on it at the driver with the baseline's (finished) sketch. Where the sketch kept every value and the sample is every row (small data), this is
exactly Spearman's rho (scipy.stats.spearmanr); otherwise it is off by the sketch's rank error (0.0014,
constraints.thresholds) and the sample's noise, which the test accounts for (the size behind each rho
is its sample's).

Cost is bounded for wide tables: at most `MAX_COLUMNS` numeric features (the first ones in column
order) take part: 32 columns are 496 pairs; the matrices are p x p whatever the rows.

The drift check of a pair (constraints.correlation_checks) compares Fisher's z = atanh(r) at the two sizes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pyarrow as pa

from constraints.tally import Joint, float_block

__all__ = ["MAX_COLUMNS", "SAMPLE_ROWS", "CoTally", "Comoments", "pearson",
           "mid_cdf", "spearman_of_sample"]

MAX_COLUMNS = 32         # numeric features correlated: the first 32 (496 pairs)
SAMPLE_ROWS = 4096       # a partition's row sample for Spearman's rho
BASELINE_SAMPLE_ROWS = 16_384   # the baseline's (Spearman's rho, the PCA and its held-out error)


@dataclass
class CoTally:
    """Per pair (i, j), over the rows where both are present: n[i, j] rows, mean[i, j] the mean of column
    i over them, m2[i, j] its centred sum of squares, c[i, j] the centred sum of cross products."""

    n: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    c: np.ndarray

    CHUNK: ClassVar[int] = 8192   # rows per step of a block with absent values

    @classmethod
    def of(cls, x: np.ndarray) -> "CoTally":
        """From a block of rows (n x p; NaN: absent). Computed on `x.T` (columns x rows: contiguous rows
        for tally.float_block's column-major block). Only the columns `holes` with a value absent (or
        overflowing sums) need the presence mask: with j never absent, the rows where i and j are present
        are the rows where i is, so the pair's count and sums are i's own."""
        rows, p = x.shape
        xt = x.T
        with np.errstate(over="ignore", invalid="ignore"):
            totals = xt.sum(axis=1)
        holes = np.flatnonzero(~np.isfinite(totals))       # NaN and infinities carry into the sums
        if len(holes) and rows > cls.CHUNK:   # masks and products of cache-sized steps, merged: a third faster
            steps = [cls._of(x[a:a + cls.CHUNK]) for a in range(0, rows, cls.CHUNK)]
            return functools.reduce(CoTally.merge, steps)
        return cls._of(x, totals, holes)

    @classmethod
    def _of(cls, x: np.ndarray, totals: np.ndarray | None = None, holes: np.ndarray | None = None) -> "CoTally":
        rows, p = x.shape
        xt = x.T
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):   # near the float limits: r is NaN
            if totals is None:
                totals = xt.sum(axis=1)
                holes = np.flatnonzero(~np.isfinite(totals))
            absent = ~np.isfinite(xt[holes])               # holes x rows
            counts = np.full(p, rows)
            counts[holes] = rows - absent.sum(axis=1)
            z = np.array(xt, order="C")                    # columns x rows: centred, 0 where absent
            for i, j in enumerate(holes):
                np.copyto(z[j], 0.0, where=absent[i])
            totals[holes] = z[holes].sum(axis=1)
            center = np.where(counts > 0, totals / np.maximum(counts, 1), 0.0)
            z -= center[:, None]
            for i, j in enumerate(holes):
                np.copyto(z[j], 0.0, where=absent[i])
            cross = z @ z.T
            if not len(holes):                             # the common case: one Gram matrix
                m2 = np.broadcast_to(np.diag(cross)[:, None], (p, p)).copy()
                return cls(np.full((p, p), float(rows)), np.broadcast_to(center[:, None], (p, p)).copy(), m2,
                           cross)
            zz = z * z
            mask = (~absent).astype(np.float64)
            n = np.minimum(counts[:, None], counts[None, :]).astype(np.float64)   # exact unless both have holes
            n[np.ix_(holes, holes)] = mask @ mask.T
            s = np.repeat(z.sum(axis=1)[:, None], p, axis=1)   # s[i, j]: sum of z_i over the rows with i and j present
            q = np.repeat(zz.sum(axis=1)[:, None], p, axis=1)
            s[:, holes] = z @ mask.T
            q[:, holes] = zz @ mask.T
            mz = np.where(n > 0, s / n, 0.0)
            m2 = q - n * mz * mz
            c = cross - n * mz * mz.T
        return cls(n, mz + center[:, None], np.maximum(m2, 0.0), c)

    def merge(self, b: "CoTally") -> "CoTally":
        a = self
        n = a.n + b.n
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            w = np.where(n > 0, a.n * b.n / n, 0.0)
            d = b.mean - a.mean
            d = np.where((a.n > 0) & (b.n > 0), d, 0.0)
            mean = np.where(n > 0, a.mean + d * np.where(n > 0, b.n / n, 0.0), 0.0)
            mean = np.where(a.n == 0, b.mean, np.where(b.n == 0, a.mean, mean))
            return CoTally(n, mean, a.m2 + b.m2 + d * d * w, a.c + b.c + d * d.T * w)


def pearson(t: CoTally) -> np.ndarray:
    """Pearson's r per pair (NaN where a column is constant over the pair's rows or fewer than 3 rows)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(t.m2)
        r = t.c / (sd * sd.T)   # not sqrt(m2 m2'): the product overflows for values near 1e154
    r = np.where((t.n >= 3) & np.isfinite(r), np.clip(r, -1.0, 1.0), np.nan)
    np.fill_diagonal(r, 1.0)
    return r


def mid_cdf(values: np.ndarray, cumulative: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The baseline sketch's mid-CDF (F(x-) + F(x)) / 2 at its items (`values` sorted and distinct,
    their cumulative shares `cumulative`, ending at 1), interpolated linearly between them (one pass of
    numpy's interp; at the items, and so for every value of a sample the sketch kept whole, it is
    exactly the mid-rank); below the first item 0, above the last 1. NaN stays NaN."""
    if not len(values):
        return np.where(np.isfinite(x), 0.0, np.nan)
    mid = (np.concatenate([[0.0], cumulative[:-1]]) + cumulative) / 2.0
    return np.interp(x, values, mid, left=0.0, right=1.0)


@dataclass(frozen=True)
class Comoments(Joint):
    """A joint lane: the co-moments of the numeric lanes `names` (the features `columns`)."""

    names: tuple[str, ...]
    columns: tuple[str, ...] = ()      # the features the lanes hold (for the driver)

    def fold(self, batch: pa.RecordBatch) -> CoTally:
        return CoTally.of(float_block(batch, self.names))

    def merge(self, a: CoTally, b: CoTally) -> CoTally:
        return a.merge(b)

    def close(self, t):
        return t


def spearman_of_sample(rows: np.ndarray, sketches: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Spearman's rho per pair on the sample `rows`, ranked by the baseline sketches; and the rows per pair."""
    x = np.asarray(rows, dtype=np.float64)
    u = np.column_stack([mid_cdf(v, c, x[:, i]) for i, (v, c) in enumerate(sketches)]) if len(sketches) \
        else x
    t = CoTally.of(u)
    return pearson(t), t.n


def fisher_variance(rows: np.ndarray) -> np.ndarray:
    """Per pair, n Var(atanh r) for the distribution the sample `rows` came from (delta method: the
    asymptotic variance of Pearson's r, tau^2 = rho^2 / 4 (m40 + m04 + 2 m22) - rho (m31 + m13) + m22 over
    the standardized central moments m, divided by (1 - rho^2)^2). 1 for bivariate normal data; for
    skewed or heavy-tailed data larger, which Fisher's 1 / (n - 3) would not see. Floored at 1. For very
    heavy tails (lognormal) r converges slowly: a 4,096-row sample's estimate is near the variance at a
    few thousand rows and below the asymptotic one (bench/RESULTS.md). With no value missing, every pair
    at once from a few matrix products of the standardized rows (2.9 s -> 0.09 s at 32 columns); else
    pair by pair on each pair's complete rows."""
    x = np.asarray(rows, dtype=np.float64)
    n, p = x.shape
    if n < 10 or not np.isfinite(x).all():
        return _fisher_variance_pairwise(x)
    sd = x.std(axis=0)
    ok = sd > 0
    a = np.where(ok, (x - x.mean(axis=0)) / np.where(ok, sd, 1.0), 0.0)
    a2 = a * a
    rho = a.T @ a / n
    m22 = a2.T @ a2 / n
    m31 = (a2 * a).T @ a / n                      # m31[i, j] = mean(a_i^3 a_j)
    m4 = (a2 * a2).mean(axis=0)
    tau2 = rho * rho / 4 * (m4[:, None] + m4[None, :] + 2 * m22) - rho * (m31 + m31.T) + m22
    gap = 1 - rho * rho
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where((gap > 1e-9) & (tau2 > 0), tau2 / (gap * gap), 1.0)
    out = np.where(ok[:, None] & ok[None, :], np.maximum(v, 1.0), 1.0)
    np.fill_diagonal(out, 1.0)
    return out


def _fisher_variance_pairwise(x: np.ndarray) -> np.ndarray:
    """fisher_variance pair by pair, on the rows where both values are present."""
    p = x.shape[1]
    out = np.ones((p, p))
    for i in range(p):
        for j in range(i + 1, p):
            both = np.isfinite(x[:, i]) & np.isfinite(x[:, j])
            a, b = x[both, i], x[both, j]
            if len(a) < 10 or a.std() == 0 or b.std() == 0:
                continue
            a, b = (a - a.mean()) / a.std(), (b - b.mean()) / b.std()
            rho = float(np.mean(a * b))
            m40, m04, m22 = np.mean(a ** 4), np.mean(b ** 4), np.mean(a * a * b * b)
            m31, m13 = np.mean(a ** 3 * b), np.mean(a * b ** 3)
            tau2 = rho * rho / 4 * (m40 + m04 + 2 * m22) - rho * (m31 + m13) + m22
            if 1 - rho * rho > 1e-9 and tau2 > 0:   # never below normal theory's 1 (conservative)
                out[i, j] = out[j, i] = max(1.0, tau2 / (1 - rho * rho) ** 2)
    return out
