"""A numeric feature's distribution as counts on a grid drawn from its baseline sketch.

Validate does not build a KLL sketch of each partition (Deequ's sketch pass was half of validate's
time). It counts the partition's values exactly into cells whose cut points come from the baseline:

  points   the baseline sketch's quantiles at 1/cells, 2/cells, ... (all of its distinct items, each with
           a cell of its own, when it has few, as integer features do), the 10 bucket edges of
           statistics.json, and the value just above the last edge (the last bucket is closed, as Deequ's is);
  cells    (-inf, p0), [p0, p1), ..., [pK, +inf): cell j counts the values below p_j and at or above p_j-1.

From the counts the partition's CDF just below every point is exact, so the two-sample KS statistic
max_j |F_baseline(p_j-) - F_partition(p_j-)| is the baseline sketch's against the partition's exact
CDF at the grid: never above the statistic on all values, and below it by at most the larger share of
either side in one cell (`resolution`; exact where every baseline item has its own cell). PSI and
Jensen-Shannon (and KL) use the 10 buckets exactly; the Wasserstein distance is integrated cell by cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from constraints.distance import Sketch, bin_shares, js_distance, kl_divergence, psi, robust_allowance

GRID_CELLS = 256          # quantile cells of the baseline; resolution about 1/256 of the data
ALL_ITEMS_UP_TO = 512     # a sketch with at most this many distinct items contributes all of them


def grid_points(levels, edges, cells: int = GRID_CELLS, extra=()) -> np.ndarray:
    """Strictly increasing cut points for a feature with baseline sketch `levels` and bucket `edges`;
    `extra` points join them (the bounds of range rules, whose offending rows the counts then give)."""
    sketch = Sketch.from_levels(levels)
    items = np.unique(sketch.values)
    if len(items) <= ALL_ITEMS_UP_TO:   # every item, and the value just above it: each item gets a cell of its own
        chosen = np.concatenate([items, np.nextafter(items, np.inf)])
    else:
        ranks = np.arange(1, cells) / cells * sketch.n
        at = np.minimum(np.searchsorted(sketch.cumulative, ranks, side="left"), len(sketch.values) - 1)
        chosen = sketch.values[at]
    edges = np.asarray(edges, dtype=float)
    points = np.concatenate([chosen, edges, [np.nextafter(edges[-1], np.inf)], np.asarray(extra, dtype=float)])
    return np.unique(points[np.isfinite(points)])


@dataclass(frozen=True)
class GridCounts:
    """Exact counts of a partition's non-null values in the cells of `points` (len(points) + 1 cells)."""

    points: tuple[float, ...]
    counts: tuple[int, ...]

    @property
    def n(self) -> int:
        return int(sum(self.counts))

    def count_below(self, point: float) -> int:
        """Values below `point`, one of the grid's points or infinite (exact)."""
        if np.isinf(point):
            return 0 if point < 0 else self.n
        j = int(np.searchsorted(np.asarray(self.points), point, side="left"))
        if j == len(self.points) or self.points[j] != point:
            raise ValueError(f"{point!r} is not a point of the grid")
        return int(sum(self.counts[:j + 1]))

    def cdf_below(self, x: np.ndarray) -> np.ndarray:
        """P(X < x) at grid points x (exact there)."""
        cum = np.cumsum(self.counts) / max(self.n, 1)   # cum[j] = P(X < p_j): cells 0..j lie below p_j
        return cum[np.searchsorted(np.asarray(self.points), x, side="left")]

    def levels(self, minimum: float | None) -> tuple[tuple[float, ...], ...]:
        """The counts as KLL-shaped levels (an item at level h weighs 2**h): each cell's count, written in
        binary, at the cell's lowest value (its left point; the partition's minimum for the first cell).
        Its CDF below every grid point is the partition's exact one, so readers of statistics.json that
        understand Deequ sketches read these too."""
        reps = [minimum if minimum is not None else (self.points[0] if self.points else 0.0), *self.points]
        out: list[list[float]] = []
        for rep, count in zip(reps, self.counts):
            h = 0
            while count >> h:
                if (count >> h) & 1:
                    while len(out) <= h:
                        out.append([])
                    out[h].append(float(rep))
                h += 1
        return tuple(tuple(level) for level in out)

    def buckets(self, edges) -> tuple[tuple[float, float, int], ...]:
        """Counts in the baseline's buckets [e_i, e_i+1) (the last one closed), as statistics.json lists them."""
        edges = np.asarray(edges, dtype=float)
        cuts = np.concatenate([edges[:-1], [np.nextafter(edges[-1], np.inf)]])
        below = np.rint(self.cdf_below(cuts) * self.n).astype(int)
        return tuple((float(lo), float(hi), int(c)) for lo, hi, c in zip(edges[:-1], edges[1:], np.diff(below)))


@dataclass(frozen=True)
class GridDrift:
    linf_simple: float                      # KS: max |F_baseline - F_partition| over the grid
    linf_robust: float                      # KS less SageMaker's noise allowance 1.8 sqrt((n + m) / (n m)), at least 0
    psi: float
    js: float
    wasserstein_normalized: float | None    # by the baseline's standard deviation
    resolution: float                       # the largest cell share of either side: how far below the all-values KS
    kl: float = 0.0                         # KL(partition || baseline) on the same bins as PSI (distance.kl_divergence)


def grid_drift(levels, edges, grid: GridCounts, baseline_std: float | None,
               extent: tuple[float | None, float | None] = (None, None)) -> GridDrift:
    """Distances between the baseline sketch and a partition counted on `grid` (points from grid_points);
    `extent`: the partition's minimum and maximum (the Wasserstein integral's tails)."""
    base = Sketch.from_levels(levels)
    points = np.asarray(grid.points)
    fb, fp = base.cdf_below(points), grid.cdf_below(points)
    gap = np.abs(fb - fp)
    ks = float(np.max(gap)) if len(points) else 0.0
    lows = [x for x in (extent[0], base.values[0] if len(base.values) else None) if x is not None]
    highs = [x for x in (extent[1], base.values[-1] if len(base.values) else None) if x is not None]
    xs = np.concatenate([[min(lows + [points[0]])], points, [max(highs + [points[-1]])]])
    gaps = np.concatenate([[0.0], gap, [0.0]])
    wasserstein = float(np.sum((gaps[:-1] + gaps[1:]) / 2 * np.diff(xs)))   # trapezoids between grid points
    edges = np.asarray(edges, dtype=float)
    cuts = np.concatenate([edges, [np.nextafter(edges[-1], np.inf)]])
    expected = bin_shares(base, edges)
    actual = np.diff(np.concatenate([[0.0], grid.cdf_below(cuts[:1]), grid.cdf_below(cuts[1:-2]),
                                     grid.cdf_below(cuts[-1:]), [1.0]]))
    share_b = np.diff(np.concatenate([[0.0], fb, [1.0]]))
    share_p = np.diff(np.concatenate([[0.0], fp, [1.0]]))
    # cells of one value ([p, next double)) are exact on both sides; the others can hide a gap up to their share
    single = np.concatenate([[False], points[1:] == np.nextafter(points[:-1], np.inf), [False]])
    resolution = float(max(share_b[~single].max(initial=0.0), share_p[~single].max(initial=0.0)))
    return GridDrift(ks, max(0.0, ks - robust_allowance(base.n, grid.n)), psi(expected, actual),
                     js_distance(expected, actual), wasserstein / baseline_std if baseline_std else None, resolution,
                     kl_divergence(expected, actual))
