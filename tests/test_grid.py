"""Numeric drift on the baseline grid (constraints.grid), checked against scipy, numpy and pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from constraints.distance import Sketch
from constraints.grid import GridCounts, grid_drift, grid_points


def _counts(x: np.ndarray, points: np.ndarray) -> GridCounts:
    """Cells (-inf, p0), [p0, p1), ..., [pK, inf) counted by pandas, not by the code under test."""
    cells = pd.cut(pd.Series(x), bins=[-np.inf, *points, np.inf], right=False, labels=False)
    counts = cells.value_counts().reindex(range(len(points) + 1), fill_value=0).sort_index()
    return GridCounts(tuple(points), tuple(int(c) for c in counts))


def _edges(x: np.ndarray) -> np.ndarray:
    return np.linspace(x.min(), x.max(), 11)


@pytest.mark.parametrize("shift", [0.0, 0.1, 0.3])
def test_ks_on_the_grid_is_within_its_resolution_below_the_exact_statistic(shift):
    rng = np.random.default_rng(7)
    base, cur = rng.normal(0, 1, 3000), rng.normal(shift, 1.1, 2000)
    levels = (tuple(base),)                       # a sketch that kept every value: exact baseline CDF
    points = grid_points(levels, _edges(base))
    drift = grid_drift(levels, _edges(base), _counts(cur, points), float(base.std()), (cur.min(), cur.max()))
    exact = stats.ks_2samp(base, cur).statistic
    assert drift.linf_simple <= exact + 1e-12
    assert drift.linf_simple >= exact - drift.resolution
    allowance = 1.8 * np.sqrt((len(base) + len(cur)) / (len(base) * len(cur)))   # SageMaker's "Robust"
    assert drift.linf_robust == pytest.approx(max(0.0, drift.linf_simple - allowance), abs=1e-12)
    assert len(points) >= 255 + 10                # 255 baseline quantiles and the bucket edges
    assert drift.wasserstein_normalized == pytest.approx(stats.wasserstein_distance(base, cur) / base.std(), rel=0.05,
                                                         abs=0.003)


def test_integer_feature_gets_a_cell_per_value_and_the_exact_statistic():
    rng = np.random.default_rng(8)
    base, cur = rng.poisson(4, 5000).astype(float), rng.poisson(4.4, 3000).astype(float)
    levels = (tuple(base),)
    points = grid_points(levels, _edges(base))
    drift = grid_drift(levels, _edges(base), _counts(cur, points), float(base.std()))
    exact = stats.ks_2samp(base, cur).statistic
    unseen = np.isin(cur, np.unique(base), invert=True).mean()   # mass between baseline values: the only blur
    assert drift.linf_simple == pytest.approx(exact, abs=unseen + 1e-12)
    assert drift.resolution <= max(unseen, 1e-12) + 1e-12


def test_psi_and_js_on_the_baseline_buckets_match_numpy():
    rng = np.random.default_rng(9)
    base, cur = rng.gamma(2.0, 1.0, 4000), rng.gamma(2.3, 1.0, 2500)
    edges = _edges(base)
    levels = (tuple(base),)
    drift = grid_drift(levels, edges, _counts(cur, grid_points(levels, edges)), float(base.std()))

    def shares(x):
        inner, _ = np.histogram(x[(x >= edges[0]) & (x <= edges[-1])], bins=edges)
        return np.concatenate([[np.sum(x < edges[0])], inner, [np.sum(x > edges[-1])]]) / len(x)

    p, q = shares(base), shares(cur)
    pf, qf = np.maximum(p, 1e-4), np.maximum(q, 1e-4)
    assert drift.psi == pytest.approx(np.sum((qf - pf) * np.log(qf / pf)), rel=1e-9)
    assert drift.js == pytest.approx(jensenshannon(p, q, base=2), rel=1e-9)


def test_counts_written_as_levels_and_buckets_keep_the_partition_exact():
    rng = np.random.default_rng(10)
    base, cur = rng.normal(0, 1, 3000), rng.normal(0.2, 1, 1234)
    edges = _edges(base)
    points = grid_points((tuple(base),), edges)
    grid = _counts(cur, points)
    sketch = Sketch.from_levels(grid.levels(float(cur.min())))
    assert sketch.n == len(cur)
    np.testing.assert_allclose(sketch.cdf_below(points), [np.mean(cur < p) for p in points])
    inner = cur[(cur >= edges[0]) & (cur <= edges[-1])]
    assert [c for _, _, c in grid.buckets(edges)] == list(np.histogram(inner, bins=edges)[0])
