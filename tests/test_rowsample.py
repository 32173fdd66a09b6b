"""The pass's one row sample (constraints.rowsample): uniform, reproducible, mergeable, and the only source of
the domain classifier's samples (no Spark job of their own)."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats

from constraints.rowsample import OTHER, RowSample, frame, task_bytes
from constraints.tally import merge_partitions, tally_partition


def _batches(x: np.ndarray, size: int, cats: list | None = None):
    for lo in range(0, len(x), size):
        d = {"v": pa.array(x[lo:lo + size])}
        if cats is not None:
            d["c"] = pa.array(cats[lo:lo + size], pa.string())
        yield pa.RecordBatch.from_pydict(d)


def _task(lane: RowSample, x: np.ndarray, size: int = 250, cats=None):
    """One task's tally, as a Spark worker folds it (constraints.tally.tally_partition), unpickled."""
    (row,) = tally_partition(_batches(x, size, cats), {"s": lane})
    return row.column("rows")[0].as_py(), row.column("tallies")[0].as_py()


def test_inclusion_of_each_row_position_is_binomial_whatever_the_order():
    n, k, runs = 2_000, 200, 300
    counts = {"random": np.zeros(n), "sorted": np.zeros(n)}
    rng = np.random.default_rng(5)
    values = rng.normal(size=n)
    for salt in range(runs):
        for order, x in (("random", values), ("sorted", np.sort(values))):
            lane = RowSample(("v",), k=k, salt=salt)
            _, blob = _task(lane, x)
            kept = pickle.loads(blob)["s"].numbers[:, 0]
            assert len(kept) == k and len(np.unique(kept)) == k
            counts[order][np.searchsorted(np.sort(x), kept) if order == "sorted" else
                          np.flatnonzero(np.isin(x, kept))] += 1
    p = k / n
    for order, c in counts.items():
        assert c.sum() == runs * k
        # each position's count is Binomial(runs, k / n): its spread matches, no position stands out
        assert c.var() == pytest.approx(runs * p * (1 - p), rel=0.15), order
        lo, hi = stats.binom.ppf([1e-6, 1 - 1e-6], runs, p)
        assert lo <= c.min() and c.max() <= hi, order
        # and the positions early and late in the file are kept as often (sorted: small and large values)
        halves = [c[: n // 2].sum(), c[n // 2:].sum()]
        assert stats.chisquare(halves).pvalue > 1e-4, (order, halves)


def test_same_data_same_sample_and_salts_differ():
    x = np.random.default_rng(1).normal(size=5_000)
    a = pickle.loads(_task(RowSample(("v",), k=300, salt=2), x)[1])["s"]
    b = pickle.loads(_task(RowSample(("v",), k=300, salt=2), x)[1])["s"]
    c = pickle.loads(_task(RowSample(("v",), k=300, salt=1), x)[1])["s"]
    assert np.array_equal(a.keys, b.keys) and np.array_equal(a.numbers, b.numbers)
    assert len(np.intersect1d(a.numbers, c.numbers)) < 60   # about 300 * 300 / 5000 = 18 in common
    assert np.all(np.diff(a.keys) >= 0)                       # sorted by key: a prefix is the bottom k'


def test_tasks_merge_into_the_bottom_k_of_all_rows_in_any_order():
    rng = np.random.default_rng(3)
    parts = [rng.normal(size=m) for m in (700, 2_500, 40, 1_800)]
    cats = [list(rng.choice(["a", "b", "c", None], len(p))) for p in parts]
    cats[1][:5] = ["zz", "yy", "xx", "ww", "vv"]       # values past the cap of 6 in some task
    k = 250
    small = RowSample(("v",), ("c",), k=k, cap=6)
    whole = RowSample(("v",), ("c",), k=10 ** 6, cap=10 ** 6)   # the same keys (they do not depend on k): every row
    tasks = [_task(small, p, 300, c) for p, c in zip(parts, cats)]
    everything = [_task(whole, p, 300, c) for p, c in zip(parts, cats)]
    rows, merged = merge_partitions(tasks, {"s": small})
    rows2, merged2 = merge_partitions(tasks[::-1], {"s": small})
    _, full = merge_partitions(everything, {"s": whole})
    assert rows == rows2 == sum(len(p) for p in parts)
    t, u, f = merged["s"], merged2["s"], full["s"]
    assert t.seen == rows and len(f.keys) == rows
    assert np.array_equal(t.keys, f.keys[:k]) and np.array_equal(u.keys, f.keys[:k])
    got, got2, expected = frame(t, small), frame(u, small), frame(f, whole, rows=k)
    assert np.array_equal(got["v"], expected["v"]) and np.array_equal(got2["v"], expected["v"])
    # categories decode to their values whatever the dictionaries' order
    free = RowSample(("v",), ("c",), k=k, cap=10 ** 6)
    _, exact = merge_partitions([_task(free, p, 300, c) for p, c in zip(parts, cats)][::-1], {"s": free})
    assert list(frame(exact["s"], free)["c"]) == list(expected["c"])
    # past a task's cap (6 values) a value reads OTHER; nothing else changes, nulls stay null
    assert len(t.values[0]) <= 6 and list(got2["c"]) == list(got["c"])
    assert all(g == e or (g == OTHER and e is not None) for g, e in zip(got["c"], expected["c"]))
    assert 0 < sum(g == OTHER for g in got["c"]) < k / 2


def test_memory_per_task_is_bounded():
    lane = RowSample(("v",), ("c",), k=500)
    x = np.arange(100_000.0)
    t = None
    biggest = 0
    for b in _batches(x, 1_000, ["a"] * len(x)):
        t = lane.fold(b, t)
        biggest = max(biggest, len(t.keys) + sum(len(p[0]) for p in t.pending))
    assert biggest <= 2 * lane.k + 1_000
    assert task_bytes(lane, 1_000) == (2 * 500 + 1_000) * (8 + 8 + 4)
    t = lane.close(t)
    assert len(t.keys) == 500 and t.seen == 100_000
    # rows are gathered only below the k-th key so far: far fewer than the rows read
    assert abs(t.numbers[:, 0].mean() - 49_999.5) < 4 * 28_868 / np.sqrt(500)


# ---- through Spark: sorted files, reproducible, no job for the classifier's samples ----

def test_pass_sample_of_a_sorted_table_is_uniform_and_reproducible(spark, tmp_path):
    from constraints.scan import run_pass

    n = 40_000
    pd.DataFrame({"x": np.arange(n, dtype=float)}).to_parquet(tmp_path / "sorted.parquet", index=False,
                                                              row_group_size=5_000)
    df = spark.read.parquet(str(tmp_path / "sorted.parquet")).selectExpr("x as v0")
    lane = {"s": RowSample(("v0",), k=2_000, salt=7)}
    rows, t = run_pass(df, lane, "test")
    rows2, t2 = run_pass(df, lane, "test")
    x = t["s"].numbers[:, 0]
    assert rows == n and len(x) == 2_000 and len(np.unique(x)) == 2_000
    assert np.array_equal(x, t2["s"].numbers[:, 0])                  # the same data: the same sample
    assert stats.kstest(x / n, "uniform").pvalue > 1e-3               # sorted values: uniform positions
    quarters = np.histogram(x, bins=8, range=(0, n))[0]
    assert stats.chisquare(quarters).pvalue > 1e-3


def test_classifier_samples_cost_no_spark_job(spark, tmp_path):
    """The baseline's jobs are its pass's (domain_sample.json comes from the pass's sample), and validate
    runs as many jobs with the classifier as without it."""
    from helpers import write_parquet
    from jobs import baseline, validate
    from jobs.cli import parser
    from jobs.session import counting_jobs

    rng = np.random.default_rng(4)
    n = 6_000
    train = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "k": rng.integers(0, 9, n),
                          "seg": rng.choice(["x", "y", "z"], n), "score": rng.random(n)})
    folder = str(write_parquet(train, tmp_path / "train"))
    args = baseline.Request.from_args(parser().parse_args([
        "baseline", "--input", folder, "--output", str(tmp_path / "base"), "--predictions", "score",
        "--domain-sample-rows", "3000"]))
    _, _, pass_jobs = baseline.compute(spark, args)
    result = baseline.execute(spark, args)
    assert result.spark_jobs == pass_jobs   # nothing beyond the pass (it was pass + 2 for the sample)
    doc = json.loads((tmp_path / "base" / "domain_sample.json").read_text())
    assert doc["rows"] == 3_000 and [f["name"] for f in doc["features"]] == ["a", "b", "k", "seg"]
    assert np.isin(doc["columns"]["a"], train["a"]).all() and set(doc["columns"]["seg"]) <= {"x", "y", "z"}
    part = str(write_parquet(train.sample(frac=1.0, random_state=1).iloc[:4_000], tmp_path / "part"))
    counts = {}
    for flag in ([], ["--no-domain-classifier"]):
        with counting_jobs(spark, "t") as jobs:
            code = validate.run(spark, parser().parse_args([
                "validate", "--baseline", str(tmp_path / "base"), "--input", part, "--output",
                str(tmp_path / f"out{len(flag)}"), "--no-history", *flag]))
        counts[bool(flag)] = jobs[0]
        assert code in (0, 1)
    assert counts[False] == counts[True], counts
    checks = json.loads((tmp_path / "out0" / "checks.json").read_text())["checks"]
    (d,) = [c for c in checks if c["check"] == "domain_classifier_check"]
    assert d["status"] == "passed" and d["details"]["partition_sample_rows"] == 4_000


def test_no_domain_classifier_drops_its_columns_from_the_lane():
    from constraints.multivariate import SAMPLE, validate_lanes
    from constraints.rowsample import SampleRequest

    extended = {"correlations": {"columns": ["a", "b"]}}
    numeric, strings = {"a": "v0", "b": "v1", "c": "v2"}, {"seg": "k3"}
    off = validate_lanes(extended, numeric, {}, strings)[SAMPLE]
    on = validate_lanes(extended, numeric, {}, strings, SampleRequest(("a", "c"), ("seg", "gone"), 10_000))[SAMPLE]
    assert (off.numeric, off.categorical, off.k) == (("v0", "v1"), (), 4_096)
    assert (on.numeric, on.categorical, on.k) == (("v0", "v1", "v2"), ("k3",), 10_000)
    assert on.features == ("a", "b", "c", "seg")
