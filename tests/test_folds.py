"""The pass's folds made cheaper (issue 17) against independent float64 computations: the column-major float
block, co-moments of blocks with holes in merged steps, the reconstruction error in steps, the baseline's
Described lane feeding its KLL sketch sorted values."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from constraints import tally
from constraints.correlation import CoTally
from constraints.reconstruction import Model
from constraints.thresholds import KLL_RANK_ERROR_DATASKETCHES


def _pairwise(x: np.ndarray):
    """Per pair, over the rows where both are finite, by a loop: rows, column i's mean and centred sum of
    squares, and the centred cross products."""
    p = x.shape[1]
    n, mean, m2, c = (np.zeros((p, p)) for _ in range(4))
    for i in range(p):
        for j in range(p):
            both = np.isfinite(x[:, i]) & np.isfinite(x[:, j])
            a, b = x[both, i], x[both, j]
            n[i, j] = both.sum()
            if both.any():
                mean[i, j] = a.mean()
                m2[i, j] = ((a - a.mean()) ** 2).sum()
                c[i, j] = ((a - a.mean()) * (b - b.mean())).sum()
    return n, mean, m2, c


def test_float_block_is_column_major_and_holds_the_lanes_as_float64():
    batch = pa.RecordBatch.from_pydict({"a": pa.array([1.5, None, float("nan"), 4.0]),
                                        "b": pa.array([1, 2, None, 2 ** 40], pa.int64()),
                                        "c": pa.array([7, 8, 9, 10], pa.int64())})
    block = tally.float_block(batch, ("c", "a", "b"))
    expected = np.array([[7, 1.5, 1], [8, np.nan, 2], [9, np.nan, np.nan], [10, 4.0, 2.0 ** 40]])
    assert block.dtype == np.float64 and block.flags.f_contiguous and not block.flags.writeable
    np.testing.assert_array_equal(block, expected)
    assert tally.float_block(batch, ("c", "a", "b")) is block   # shared by the batch's joint lanes


@pytest.mark.parametrize("layout", ["F", "C"])
def test_comoments_of_a_block_with_holes_in_steps_equal_a_pairwise_loop(layout):
    rng = np.random.default_rng(3)
    rows = 3 * CoTally.CHUNK + 123                     # several steps, the last one short
    x = rng.normal(size=(rows, 6)) * [1, 1e3, 1, 1, 1e-3, 2] + [0, 1e9, -7, 0, 0, 5]
    x[:, 1] += 400 * x[:, 0]
    x[rng.random(rows) < 0.3, 1] = np.nan              # a column with holes
    x[rng.random(rows) < 0.01, 2] = np.inf             # non-finite values are absent too
    x[:, 3] = np.nan                                   # a column with no value
    x[5, 5] = np.nan                                   # one hole
    x = np.asfortranarray(x) if layout == "F" else np.ascontiguousarray(x)
    t = CoTally.of(x)
    n, mean, m2, c = _pairwise(x)
    assert (t.n == n).all()
    seen = n > 0
    np.testing.assert_allclose(t.mean[seen], mean[seen], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(t.m2[seen], m2[seen], rtol=1e-9)
    assert (np.abs(t.c - c) <= 1e-9 * np.sqrt(m2 * m2.T))[seen].all()   # relative to the pair's scale


def test_comoments_of_a_complete_block_equal_a_pairwise_loop():
    rng = np.random.default_rng(4)
    x = np.asfortranarray(rng.normal(size=(2 * CoTally.CHUNK, 4)) * [1, 1e3, 1, 1e-3] + [0, 1e9, -7, 0])
    t = CoTally.of(x)
    n, mean, m2, c = _pairwise(x)
    assert (t.n == n).all()
    np.testing.assert_allclose(t.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(t.m2, m2, rtol=1e-9)
    assert (np.abs(t.c - c) <= 1e-9 * np.sqrt(m2 * m2.T)).all()


def _model(rng, p: int, levels: tuple[int, ...], k: int) -> Model:
    dims = p + sum(levels)
    components = np.linalg.qr(rng.normal(size=(dims, k)))[0].T   # orthonormal rows
    categorical = tuple((f"c{i}", tuple(f"v{j}" for j in range(m))) for i, m in enumerate(levels))
    return Model(tuple(f"x{i}" for i in range(p)), rng.normal(size=p), rng.normal(size=dims),
                 rng.uniform(0.5, 2, dims), components, 1.0, categorical)


@pytest.mark.parametrize("layout", ["F", "C"])
def test_reconstruction_errors_in_steps_equal_the_residual_of_the_one_hot_rows(layout):
    rng = np.random.default_rng(5)
    model = _model(rng, 5, (3, 7), 4)
    rows = 2 * Model.CHUNK + 77
    x = rng.normal(size=(rows, 5)) * 3
    x[rng.random(x.shape) < 0.05] = np.nan                       # imputed with the baseline mean
    codes = [rng.integers(0, m + 1, rows) for m in (3, 7)]        # m: another value (every indicator 0)
    got = model.errors(np.asfortranarray(x) if layout == "F" else x, codes)
    # independently: impute, one-hot, scale, and the residual of the projection on the components
    filled = np.where(np.isnan(x), model.mean, x)
    onehot = [np.eye(m + 1)[c][:, :m] for c, m in zip(codes, (3, 7))]
    z = (np.hstack([filled, *onehot]) - model.center) / model.scale
    residual = z - (z @ model.components.T) @ model.components
    np.testing.assert_allclose(got, (residual ** 2).mean(axis=1), rtol=1e-9, atol=1e-10)
    assert model.errors(np.empty((0, 5)), [np.empty(0, np.intp)] * 2).shape == (0,)


def _described(values: np.ndarray, held: np.ndarray, type_: pa.DataType, partitions: int = 3, size: int = 10_000):
    lane = tally.Described()
    batches = [pa.RecordBatch.from_pydict({"x": pa.array(values[a:a + size], type_),
                                           tally.SPLIT: pa.array(held[a:a + size])})
               for a in range(0, len(values), size)]
    rows = [list(tally.tally_partition(iter(batches[p::partitions]), {"x": lane}))[0] for p in range(partitions)]
    _, merged = tally.merge_partitions(((r.column("rows")[0].as_py(), r.column("tallies")[0].as_py())
                                        for r in rows), {"x": lane})
    return merged["x"]


def test_described_sketch_of_sorted_batches_within_the_documented_rank_error():
    """DataSketches' KLL is fed each batch's values sorted: the rank error must stay within the documented
    0.0014 (thresholds.KLL_RANK_ERROR_DATASKETCHES) at every rank; moments and extents as numpy's."""
    from datasketches import kll_doubles_sketch

    rng = np.random.default_rng(6)
    n = 300_000
    x = rng.lognormal(0, 1.5, n)
    held = rng.random(n) < 0.2
    values = x.copy()
    values[rng.random(n) < 0.03] = np.nan      # non-finite
    values = values.astype(object)
    values[rng.random(n) < 0.05] = None         # absent
    t = _described(values, held, pa.float64())
    present = np.array([v is not None for v in values])
    finite = present & np.array([v is not None and not np.isnan(v) for v in values])
    v = x[finite]
    assert (t.count, t.nonfinite) == (finite.sum(), (present & ~finite).sum())
    assert t.total == pytest.approx(v.sum(), rel=1e-12)
    assert t.mean == pytest.approx(v.mean(), rel=1e-12)
    assert t.m2 == pytest.approx(((v - v.mean()) ** 2).sum(), rel=1e-9)
    for split, mask in zip(t.splits, (finite & ~held, finite & held)):
        assert (split.present, split.low, split.high) == (mask.sum(), x[mask].min(), x[mask].max())
    sketch = kll_doubles_sketch.deserialize(t.sketch) if isinstance(t.sketch, bytes) else t.sketch   # merged: open
    assert sketch.n == len(v)
    ordered = np.sort(v)
    points = ordered[np.linspace(0, len(v) - 1, 999).astype(int)]
    exact = np.searchsorted(ordered, points, side="right") / len(v)
    estimated = np.array(sketch.get_cdf(points.tolist(), True))[:-1]
    assert np.abs(estimated - exact).max() <= KLL_RANK_ERROR_DATASKETCHES


def test_described_integers_keep_exact_extents_per_split():
    rng = np.random.default_rng(8)
    n = 50_000
    x = rng.integers(-2 ** 62, 2 ** 62, n)      # beyond 2**53: exact only as integers
    held = rng.random(n) < 0.1
    values = x.astype(object)
    values[::13] = None
    t = _described(values, held, pa.int64(), partitions=2, size=7_000)
    present = np.array([v is not None for v in values])
    for split, mask in zip(t.splits, (present & ~held, present & held)):
        assert (split.present, split.low, split.high) == (mask.sum(), int(x[mask].min()), int(x[mask].max()))
    assert t.count == present.sum() and t.nonfinite == 0
