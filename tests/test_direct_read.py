"""The pass's workers reading Parquet files themselves (constraints.direct) against Spark reading them.

Real Spark throughout: the hashes and the held-out split are compared with Spark's own expressions row by
row, and the baseline and validate with the workers reading the files equal the same jobs with Spark
reading them (spark.dqloop.pass.readParquet false), on a table with nulls, NaN, infinities, unicode and
empty strings, float32 and int32 columns, several files and row groups, and rules counted in the pass.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from conftest import run_dqloop
from constraints import direct
from constraints.frames import parquet_source
from helpers import run_baseline

CONF = "spark.dqloop.pass.readParquet"


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(10, 3, n)
    x[rng.random(n) < 0.05] = np.nan
    x[::997] = np.inf
    x[::1999] = -np.inf
    words = np.array(["alpha", "béta", "γάμμα", "", "delta delta", "e" * 40, "✓ ok"])
    s = words[rng.integers(0, len(words), n)].astype(object)
    s[rng.random(n) < 0.07] = None
    ids = np.array([f"id-{i:08d}-{rng.integers(1e9)}" for i in range(n)], dtype=object)
    return pd.DataFrame({
        "x": x,
        "f32": rng.normal(0, 1, n).astype(np.float32),
        "n": pd.array(rng.integers(-5, 100, n), dtype="Int64").astype("Int64"),
        "i32": rng.integers(0, 7, n).astype(np.int32),
        "cat": rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1]).astype(object),
        "s": s,
        "ref": ids,
    })


def _write(frame: pd.DataFrame, folder: Path, files: int = 3, row_group: int = 1_500) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for k, part in enumerate(np.array_split(np.arange(len(frame)), files)):
        pq.write_table(pa.Table.from_pandas(frame.iloc[part], preserve_index=False),
                       folder / f"part-{k:05d}.parquet", row_group_size=row_group)
    return folder


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> tuple[pd.DataFrame, Path]:
    frame = _frame(12_000, 3)
    frame.loc[::11, "n"] = None
    return frame, _write(frame, tmp_path_factory.mktemp("direct") / "with space é" / "train")


def test_hashes_equal_sparks_xxhash64(spark):
    rng = np.random.default_rng(0)
    alphabet = list("abcxyz01 ") + ["é", "ß", "✓", "𝄞"]
    strings = ["".join(rng.choice(alphabet, rng.integers(0, 90))) for _ in range(400)] + ["", None]
    longs = [0, 1, -1, 2 ** 63 - 1, -(2 ** 63), *rng.integers(-2 ** 62, 2 ** 62, 200).tolist(), None]
    repeated = [strings[i] for i in rng.integers(0, len(strings), 3_000)]   # hashed through their dictionary
    sparse = [f"{s}{i}" if i % 3 == 0 else None for i, s in enumerate(strings * 4)]   # present ones hashed alone
    for values in (strings, repeated, sparse, [None] * 1_500):
        frame = spark.createDataFrame([(s,) for s in values], "s string")
        ours = direct.xxhash64(pa.array(values, pa.string())).to_pylist()
        theirs = [r[0] for r in frame.select(F.when(F.col("s").isNotNull(), F.xxhash64("s"))).collect()]
        assert ours == theirs
    frame = spark.createDataFrame([(v,) for v in longs], "v long")
    ours = direct.xxhash64(pa.array(longs, pa.int64())).to_pylist()
    theirs = [r[0] for r in frame.select(F.when(F.col("v").isNotNull(), F.xxhash64("v"))).collect()]
    assert ours == theirs


def test_held_out_split_equals_the_projections_row_by_row(spark, table):
    from constraints.columns import HOLDOUT, projection, plan_columns

    _, folder = table
    df = spark.read.parquet(str(folder))
    columns, _ = plan_columns(df.schema)
    split = projection(df, columns, holdout_fraction=0.3, seed=7) \
        .select(HOLDOUT, F.col("_metadata.file_name").alias("f"), F.col("_metadata.row_index").alias("i")).toPandas()
    ours = np.concatenate([direct.holdout(f, int(g["i"].min()), len(g), 0.3, 7)
                           for f, g in split.sort_values(["f", "i"]).groupby("f", sort=True)])
    assert (ours == split.sort_values(["f", "i"])[HOLDOUT].to_numpy()).all()
    assert 0.27 < ours.mean() < 0.33


def test_splits_cover_every_row_group_once_and_use_the_cores(table):
    _, folder = table
    files = sorted(str(p) for p in folder.glob("*.parquet"))
    tasks = direct.splits(files, 128 << 20, 4 << 20, 2)
    groups = [(s.path, g) for task in tasks for s in task for g in s.row_groups]
    expected = [(f, g) for f in files for g in range(pq.ParquetFile(f).num_row_groups)]
    assert sorted(groups) == sorted(expected)
    small = direct.splits(files, 60_000, 1_000, 2)   # more, smaller tasks when the bytes per task are few
    assert len(small) > len(tasks) and sorted((s.path, g) for t in small for s in t for g in s.row_groups) == sorted(expected)


def test_which_inputs_the_workers_read_themselves(spark, table, tmp_path):
    _, folder = table
    df = spark.read.parquet(str(folder))
    source = parquet_source(df)
    assert source is not None and sorted(source.paths) == sorted(str(p) for p in folder.glob("*.parquet"))
    assert parquet_source(df.select("x", "s")) is not None           # a choice of columns: still the files
    assert parquet_source(df.where("x > 0")) is None                  # a filter: Spark reads
    assert parquet_source(df.withColumn("x", F.col("x") * 2)) is None  # a computed column: Spark reads
    assert parquet_source(spark.createDataFrame([(1,)], "a int")) is None
    df.limit(50).write.csv(str(tmp_path / "csv"), header=True)
    assert parquet_source(spark.read.csv(str(tmp_path / "csv"), header=True)) is None
    spark.conf.set(CONF, "false")
    try:
        assert parquet_source(df) is None
    finally:
        spark.conf.unset(CONF)


def _both(spark, work):
    """`work()` with the workers reading the files, then with Spark reading them."""
    ours = work()
    spark.conf.set(CONF, "false")
    try:
        theirs = work()
    finally:
        spark.conf.unset(CONF)
    return ours, theirs


def test_baseline_equals_sparks_reading(spark, table, tmp_path):
    _, folder = table
    ours, theirs = _both(spark, lambda: run_baseline(spark, folder, tmp_path / f"b{len(list(tmp_path.iterdir()))}"))
    assert ours["suite.json"]["rows"] == theirs["suite.json"]["rows"]
    assert [c for c in ours["suite.json"]["constraints"]] == [c for c in theirs["suite.json"]["constraints"]]
    assert ours["constraints.json"] == theirs["constraints.json"]
    for a, b in zip(ours["statistics.json"]["features"], theirs["statistics.json"]["features"]):
        sa = a.get("numerical_statistics") or a["string_statistics"]
        sb = b.get("numerical_statistics") or b["string_statistics"]
        assert sa["common"] == sb["common"], a["name"]
        for key in set(sa) - {"common", "distribution"}:
            if isinstance(sa[key], float):
                assert math.isclose(sa[key], sb[key], rel_tol=1e-9, abs_tol=1e-12), (a["name"], key)
            else:
                assert sa[key] == sb[key], (a["name"], key)


def test_validate_equals_sparks_reading_with_rules_counted_in_the_pass(spark, table, tmp_path):
    from constraints.validation import validate
    from jobs.validate import read_baseline

    frame, folder = table
    out = tmp_path / "baseline"
    run_baseline(spark, folder, out)
    suite = json.loads((out / "suite.json").read_text())
    suite["constraints"] += [   # rules kept by a share of the rows: counted row by row in the pass
        {"kind": "has_length_between", "column": "s", "min_length": 1, "max_length": 5, "at_least": 0.9},
        {"kind": "has_length_between", "column": "ref", "min_length": 1, "max_length": 19, "at_least": 0.5},
        {"kind": "is_in_domain", "column": "ref", "values": ["id-00000003-x"], "at_least": 0.01},
        {"kind": "is_non_negative", "column": "n"},
        {"kind": "is_in_range", "column": "x", "lower": 4.0, "upper": 16.0, "at_least": 0.99}]
    (out / "suite.json").write_text(json.dumps(suite))
    shifted = frame.copy()
    shifted["x"] = shifted["x"] * 1.5 - 2
    shifted.loc[::5, "s"] = "zzzzzz"
    part = _write(shifted, tmp_path / "partition", files=2, row_group=2_000)
    base = read_baseline(str(out))
    ours, theirs = _both(spark, lambda: validate(spark, spark.read.parquet(str(part)), base, "p"))
    _assert_same_reports(ours, theirs, len(frame))
    suites = [[(r.description, r.failed) for r in report.results if r.check == "suite_constraint_check"]
              for report in (ours, theirs)]
    assert suites[0] == suites[1]
    # the counted rules against pandas: rows breaking them among the present ones
    lengths = shifted["s"].dropna().str.len()
    broken_s = int(((lengths < 1) | (lengths > 5)).sum())
    broken_ref = int((shifted["ref"].str.len() > 19).sum())
    messages = " ".join(d for d, _ in suites[0])
    assert f"{broken_s} of {len(frame)} rows break it" in messages
    assert f"{broken_ref} of {len(frame)} rows break it" in messages
    assert any(failed for d, failed in suites[0] if "'n' is never negative" in d)


def _assert_same_reports(ours, theirs, rows: int) -> None:
    assert ours.rows == theirs.rows == rows
    for a, b in zip(ours.profile.columns, theirs.profile.columns):
        for key in ("num_present", "num_missing", "nonfinite", "minimum", "maximum", "min_length", "max_length",
                    "categories", "grid", "distinct_count"):
            assert getattr(a, key) == getattr(b, key), (a.column.name, key)
        for key in ("mean", "std_dev", "sum"):
            va, vb = getattr(a, key), getattr(b, key)
            assert (va is None) == (vb is None) and (va is None or math.isclose(va, vb, rel_tol=1e-9, abs_tol=1e-12)), \
                (a.column.name, key)
    assert [(r.check, r.feature, r.failed) for r in ours.results] == [(r.check, r.feature, r.failed) for r in theirs.results]


def test_spark_written_files_are_validated_without_making_a_dataframe(spark, table, tmp_path):
    """Spark-written local files carry Spark's schema in their footers: read_table knows the schema and the
    files without asking Spark, the workers read the files, and no DataFrame is made (constraints.frames; a
    JVM's first one costs about a second). The report is the one Spark's reading gives. (A failed rule's
    examples would need Spark: this partition breaks none.)"""
    from constraints.validation import validate
    from jobs.io import read_table
    from jobs.validate import read_baseline

    frame, folder = table
    out = tmp_path / "baseline"
    run_baseline(spark, folder, out)
    part = tmp_path / "spark-written"
    spark.read.parquet(str(_write(frame, tmp_path / "arrow-written", files=2))).write.parquet(str(part))
    base = read_baseline(str(out))
    read = []

    def work():
        read.append(read_table(spark, str(part)))
        return validate(spark, read[-1].frame, base, "p")

    ours, theirs = _both(spark, work)
    assert "df" not in vars(read[0].frame), "the workers read the files: no DataFrame should have been made"
    assert "df" in vars(read[1].frame)   # Spark read them
    _assert_same_reports(ours, theirs, len(frame))
    assert not [r for r in ours.results if r.failed]


def test_a_corrupt_file_is_a_clear_error_naming_it(spark, table, tmp_path):
    frame, _ = table
    part = _write(frame.head(3000), tmp_path / "corrupt", files=2)
    base = tmp_path / "baseline"
    run_baseline(spark, part, base)
    victim = sorted(part.glob("*.parquet"))[1]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])   # the footer gone
    r = run_dqloop("validate", "--baseline", str(base), "--input", str(part), "--output", str(tmp_path / "out"))
    assert r.returncode == 3, r.stderr
    said = r.stdout + r.stderr
    assert f"Could not read {victim}" in said and "remove or repair the corrupt file" in said, said
    assert not (tmp_path / "out").exists()
