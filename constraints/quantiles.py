"""Median, quartiles, p01 and p99 of a numeric feature: the baseline's from its KLL sketch, a partition's
from its exact counts on the baseline's grid (constraints.grid), and the shift of each.

A partition is not sketched: validate counts its values into the baseline's grid cells (about 256
quantile cells plus the bucket edges). Its quantile q is read off that grid: the cell where the
cumulative count reaches q n, interpolated linearly inside it (the first and last cells between the
partition's own minimum and maximum). The CDF is exact at every grid point, so the estimate lies in the
right cell: its rank error is at most the cell's share of the partition (about 1/256 = 0.004 of the rows
where the partition looks like the baseline; 0 where every baseline item has a cell of its own, as
integer features with few values). tests/test_quantiles.py checks it against numpy's exact quantiles;
bench/RESULTS.md ("Correlations and quantiles") gives the measured error. No sketch is needed, so the
quantiles cost nothing in the pass.

The shift is reported in the feature's units and in units of the baseline's interquartile range.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from constraints.distance import Sketch
from constraints.grid import GridCounts

__all__ = ["QUANTILES", "LABELS", "sketch_quantiles", "grid_quantiles", "shifts"]

QUANTILES = (0.01, 0.25, 0.5, 0.75, 0.99)
LABELS = ("p01", "p25", "median", "p75", "p99")


def sketch_quantiles(levels) -> dict[str, float] | None:
    """The baseline's quantiles from its KLL levels (statistics.json): the smallest item whose
    cumulative weight reaches q n (DataSketches' inclusive rule)."""
    s = Sketch.from_levels(levels or ())
    if not len(s.values):
        return None
    at = np.minimum(np.searchsorted(s.cumulative, np.asarray(QUANTILES) * s.n, side="left"), len(s.values) - 1)
    return dict(zip(LABELS, (float(v) for v in s.values[at])))


def grid_quantiles(grid: GridCounts, minimum: float | None, maximum: float | None) -> dict[str, float] | None:
    """A partition's quantiles from its counts on the baseline grid (module docstring)."""
    n = grid.n
    if not n or minimum is None or maximum is None:
        return None
    points = np.asarray(grid.points, dtype=float)
    lows = np.concatenate([[minimum], points])           # cell j spans [lows[j], highs[j])
    highs = np.concatenate([points, [maximum]])
    lows, highs = np.clip(lows, minimum, maximum), np.clip(highs, minimum, maximum)
    cum = np.cumsum(grid.counts)
    out = {}
    for label, q in zip(LABELS, QUANTILES):
        target = q * n
        j = int(np.searchsorted(cum, target, side="left"))
        j = min(j, len(cum) - 1)
        before = cum[j - 1] if j else 0
        inside = grid.counts[j]
        frac = (target - before) / inside if inside else 0.0
        out[label] = float(lows[j] + min(max(frac, 0.0), 1.0) * (highs[j] - lows[j]))
    return out


def shifts(baseline: dict[str, float], partition: dict[str, float]) -> dict[str, Any]:
    """Per quantile: baseline, partition and shift; the shift also in units of the baseline's IQR."""
    with np.errstate(over="ignore", invalid="ignore"):   # values near the float limits: no shift to report
        iqr = baseline["p75"] - baseline["p25"]
        out: dict[str, Any] = {}
        for label in LABELS:
            b, p = baseline[label], partition[label]
            out[label] = {"baseline": b, "partition": p, "shift": _finite(p - b),
                          "shift_iqr": _finite((p - b) / iqr) if iqr > 0 else None}
    return out


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None
