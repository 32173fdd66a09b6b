"""Identifiers settled in the pass from sorted 64-bit hashes (constraints.identifiers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from constraints import identifiers, tally
from constraints.identifiers import DUPLICATED, OVER, REPEATED, Hashes, settle
from helpers import write_parquet


def _batch(**lanes) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({k: pa.array(v) for k, v in lanes.items()})


def _pass(partitions: list[list[pa.RecordBatch]], lane: Hashes) -> dict:
    """What tally_partition and merge_partitions make of the batches, per partition then merged."""
    blobs = [next(iter(tally.tally_partition(iter(batches), {"ids": lane}))) for batches in partitions]
    _, merged = tally.merge_partitions(((b.column(0)[0].as_py(), b.column(1)[0].as_py()) for b in blobs), {"ids": lane})
    return merged["ids"]


def test_distinct_hashes_settle_nulls_absent_and_any_repeat_is_found():
    rng = np.random.default_rng(3)
    h = rng.integers(-2**63, 2**63 - 1, 1_000, dtype=np.int64)
    values = [None if i % 10 == 0 else "v" for i in range(1_000)]
    hashed = np.where([v is None for v in values], 42, h)   # Spark's xxhash64 hashes a null to its seed
    lane = Hashes((("h", "s"),), budget=10_000)
    parts = [[_batch(h=hashed[a:a + 100], s=values[a:a + 100]) for a in range(b, b + 500, 100)] for b in (0, 500)]
    assert settle(_pass(parts, lane), "h") == 900          # the 100 nulls (all hashed to 42) are not values
    for i, j in ((5, 7), (5, 205), (5, 705)):   # in one batch; across batches; across partitions
        again = hashed.copy()
        again[j] = again[i]
        parts = [[_batch(h=again[a:a + 100], s=values[a:a + 100]) for a in range(b, b + 500, 100)] for b in (0, 500)]
        assert settle(_pass(parts, lane), "h") is None, (i, j)


def test_a_partition_over_its_budget_drops_its_largest_column_and_a_repeat_is_kept_dropped():
    lane = Hashes((("a", "x"), ("b", "x"), ("c", "x")), budget=250)
    x = ["v"] * 100
    first = _batch(a=np.arange(100), b=np.arange(100) + 1_000, c=np.zeros(100, np.int64), x=x)
    second = _batch(a=np.arange(100, 200), b=np.r_[np.arange(1_100, 1_198), 1_100, 1_101], c=np.arange(100), x=x)
    t = lane.fold(first)
    assert t["c"] == DUPLICATED and len(t["a"][0]) == 100   # 99 repeats: not unique beyond doubt
    t = lane.fold(second, t)                          # a: 200, b: 100 + two repeats within the batch
    assert t["b"] == REPEATED and t["c"] == DUPLICATED
    third = _batch(a=np.arange(200, 300), b=np.arange(100), c=np.arange(100), x=x)
    t = lane.close(lane.fold(third, t))               # a: 300 > 250
    assert t == {"a": OVER, "b": REPEATED, "c": DUPLICATED}
    assert lane.merge({"a": OVER, "b": REPEATED, "c": REPEATED}, {"a": REPEATED, "b": DUPLICATED, "c": OVER}) \
        == {"a": REPEATED, "b": DUPLICATED, "c": REPEATED}
    assert identifiers.budget(4) * 4 * 8 <= identifiers.BUDGET


def test_baseline_and_validate_settle_string_ids_without_the_hash_job(spark, tmp_path, monkeypatch):
    """A string id column (with nulls in the partitions): its distinct count and multiplicity equal pandas', and neither the
    baseline nor validate runs the shuffle of hashes for it; a repeated id still is counted by value."""
    from constraints import categories, profiling, scan
    from constraints.baseline import load_baseline
    from constraints.validation import validate
    from helpers import run_baseline
    from jobs.io import read_folder

    calls, real = [], categories.hashed_multiplicity
    for module in (categories, profiling, scan):
        monkeypatch.setattr(module, "hashed_multiplicity", lambda *a: calls.append(a) or real(*a))

    def frame(n, seed, nulls=True):
        r = np.random.default_rng(seed)
        ids = [None if nulls and i % 17 == 0 else f"id-{seed}-{i:06d}" for i in range(n)]
        return pd.DataFrame({"id": ids, "x": r.normal(size=n), "c": r.choice(["a", "b"], n)})

    train = frame(4_000, 1, nulls=False)   # an identifier: suggested is_unique
    folder = write_parquet(train, tmp_path / "train")
    docs = run_baseline(spark, folder, tmp_path / "base")
    assert calls == []
    base = load_baseline(read_folder(str(tmp_path / "base"), ("statistics.json", "constraints.json", "suite.json")))
    stats = docs["statistics.json"]
    assert next(f for f in stats["features"] if f["name"] == "id")["string_statistics"]["distinct_count"] \
        == train["id"].nunique()
    assert any(s.constraint.column == "id" and type(s.constraint).__name__ == "IsUnique" for s in base.suite.constraints)
    good = frame(9_000, 2)
    twice = good.copy()
    twice.loc[[5, 6, 7], "id"] = "id-2-000001"
    for name, f in (("good", good), ("twice", twice)):
        df = spark.read.parquet(str(write_parquet(f, tmp_path / name))).repartition(3)
        prof = validate(spark, df, base, name).profile.column("id")
        counts = f["id"].value_counts()
        assert (prof.distinct_count, prof.train.max_multiplicity) == (len(counts), counts.max()), name
    assert calls == []   # the repeat was found in the pass; only the by-value count ran


def test_the_baseline_counts_by_value_only_a_candidate_whose_few_repeats_could_be_collisions(spark, tmp_path,
                                                                                                monkeypatch):
    """Two near-unique string columns: one with a single repeated value (a collision could explain one
    repeated hash: counted by value, exact) and one with many (DUPLICATED: no job, the HyperLogLog's
    distinct count, like any other non-identifier column)."""
    from constraints import categories, profiling
    from helpers import run_baseline

    counted, real = [], categories.count_categories
    monkeypatch.setattr(profiling, "count_categories", lambda d, cat, cand: counted.append([c.name for c in cand])
                        or real(d, cat, cand))
    n = 3_000
    once = [f"u{i}" for i in range(n)]
    once[7] = once[8]
    many = [f"e{i % 2_700}" for i in range(n)]   # 300 repeats
    frame = pd.DataFrame({"once": once, "many": many, "x": np.random.default_rng(0).normal(size=n)})
    docs = run_baseline(spark, write_parquet(frame, tmp_path / "train"), tmp_path / "base")
    assert counted == [["once"]]
    features = {f["name"]: f["string_statistics"] for f in docs["statistics.json"]["features"] if f["name"] != "x"}
    assert features["once"]["distinct_count"] == n - 1
    assert abs(features["many"]["distinct_count"] - 2_700) <= 0.05 * 2_700   # HLL: 2.3% standard error
