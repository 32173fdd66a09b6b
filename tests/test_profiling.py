"""The baseline's one-pass engine (constraints.profiling) against Deequ's profile of the same rows, and pandas."""

from __future__ import annotations

import json

import numpy as np
import pytest

from constraints.distance import Sketch
from constraints.profiling import rank_error
from helpers import baseline_args, write_parquet
from jobs import baseline
from jobs.sample_data import make_frame

EXACT = ("num_present", "num_missing", "nonfinite", "minimum", "maximum", "min_length", "max_length", "categories")


@pytest.fixture(scope="module")
def both(spark, tmp_path_factory):
    frame = make_frame(30_000, seed=8)
    frame.loc[::17, "income"] = np.nan                      # NaN counts as missing
    frame.loc[::13, "region"] = None
    frame["ref"] = [f"r-{i:06d}" for i in range(len(frame))]   # a unique string id (hashes settle it)
    frame.loc[5, "ref"] = frame.loc[6, "ref"]                 # ... with one value twice: counted by value
    folder = write_parquet(frame, tmp_path_factory.mktemp("profiling") / "t")
    out = {}
    for engine in ("pass", "deequ"):
        prof, suite, _ = baseline.compute(spark, baseline_args(folder, "unused", engine=engine,
                                                               predictions=["score", "predicted_label"]))
        out[engine] = (prof, suite)
    return frame, out


def test_counts_extremes_lengths_categories_and_splits_equal_deequs(both):
    _, out = both
    ours, deequ = out["pass"][0], out["deequ"][0]
    assert (ours.rows, ours.train_rows, ours.holdout_rows) == (deequ.rows, deequ.train_rows, deequ.holdout_rows)
    for a, b in zip(ours.columns, deequ.columns):
        name = a.column.name
        for field in EXACT:
            assert getattr(a, field) == getattr(b, field), (name, field)
        assert a.train == b.train and a.holdout == b.holdout, name    # per split: present, extremes, lengths,
        for field in ("mean", "sum", "std_dev"):                      # categories and largest multiplicity
            x, y = getattr(a, field), getattr(b, field)
            assert (x is None and y is None) or x == pytest.approx(y, rel=1e-9, abs=1e-12), (name, field)


def test_distinct_counts_exact_for_categories_and_ids_and_within_hll_error(both):
    frame, out = both
    ours = out["pass"][0]
    assert ours.column("region").distinct_count == frame["region"].nunique()
    ref = ours.column("ref")   # per split multiplicities equal Deequ's (test above)
    assert ref.distinct_count == frame["ref"].nunique() == len(frame) - 1
    for name in ("email_domain", "signup_date"):   # HyperLogLog, 2,048 registers: 2.3% standard error
        exact = frame[name].nunique()
        assert abs(ours.column(name).distinct_count - exact) <= 4 * 0.023 * exact, name


def test_kll_quantiles_within_datasketches_rank_error(both):
    frame, out = both
    ours = out["pass"][0]
    eps = rank_error(2048)
    for name in ("age", "income", "balance", "score"):
        p = ours.column(name)
        values = np.sort(frame[name].dropna().to_numpy(dtype=float))
        sketch = Sketch.from_levels(p.kll.data)
        assert sketch.n == pytest.approx(len(values))
        probes = np.quantile(values, np.linspace(0.01, 0.99, 25))
        exact = np.searchsorted(values, probes, side="right") / len(values)
        assert np.max(np.abs(sketch.cdf(probes) - exact)) <= eps, name
        assert sum(n for _, _, n in p.kll.buckets) == len(values)


def test_suites_equal_deequs(both):
    _, out = both
    a, b = (json.loads(out[e][1].to_json()) for e in ("pass", "deequ"))
    run = ("engine", "created_at")
    assert {k: v for k, v in a.items() if k not in run} == {k: v for k, v in b.items() if k not in run}
