"""validate's own scan (constraints.scan) against Deequ's VerificationSuite and against pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from constraints.baseline import load_baseline
from constraints.validation import validate
from constraints.verification import verify
from helpers import run_baseline, write_parquet
from jobs.io import read_folder
from jobs.sample_data import make_frame


@pytest.fixture(scope="module")
def bad_batch(spark, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scan")
    run_baseline(spark, write_parquet(make_frame(5_000, seed=3), tmp / "a"), tmp / "baseline",
                 predictions=["score", "predicted_label"])
    base = load_baseline(read_folder(str(tmp / "baseline"), ("statistics.json", "constraints.json", "suite.json")))
    bad = make_frame(3_000, seed=4)
    bad.loc[:149, "region"] = "atlantis"              # 5% unseen category
    bad.loc[:20, "age"] = bad.loc[:20, "age"] + 200   # 0.7% out of range
    bad.loc[:9, "id"] = 0                             # duplicates
    bad.loc[100:399, "plan"] = None                   # 10% missing
    bad.loc[:2, "income"] = -5.0                      # negative
    return base, bad, spark.read.parquet(str(write_parquet(bad, tmp / "bad")))


def test_suite_verdicts_equal_deequs(spark, bad_batch):
    base, _, df = bad_batch
    deequ = {(r.constraint.kind, r.constraint.column): r.passed for r in verify(spark, df, base.suite)}
    report = validate(spark, df, base, "bad")
    ours = {(r.constraint.kind, r.constraint.column): not r.failed
            for r in report.results if r.check == "suite_constraint_check"}
    assert ours == deequ
    assert len(ours) == len(base.suite.constraints)
    assert {k for k, ok in ours.items() if not ok} >= {("is_in_domain", "region"), ("is_unique", "id"),
                                                        ("has_completeness", "plan")}


def test_partition_statistics_equal_pandas(spark, bad_batch):
    base, bad, df = bad_batch
    report = validate(spark, df, base, "bad")
    prof = report.profile
    assert prof.rows == len(bad)
    for name in ("age", "income", "score", "credit_limit"):
        p, x = prof.column(name), bad[name].astype(float)
        assert p.num_present == x.notna().sum()
        assert p.mean == pytest.approx(x.mean(), rel=1e-9)
        assert p.std_dev == pytest.approx(x.std(ddof=0), rel=1e-9)
        assert (p.minimum, p.maximum) == (x.min(), x.max())
    region = dict(prof.column("region").categories)
    assert region == bad["region"].value_counts().to_dict()
    assert prof.column("region").distinct_count == bad["region"].nunique()
    assert prof.column("id").train.max_multiplicity == bad["id"].value_counts().max()
    # the partition's distribution in statistics.json: exact counts in the baseline's buckets
    stats = {f["name"]: f for f in report.statistics_document()["features"]}
    buckets = stats["age"]["numerical_statistics"]["distribution"]["kll"]["buckets"]
    edges = np.array([b["lower_bound"] for b in buckets] + [buckets[-1]["upper_bound"]])
    age = bad["age"].dropna().to_numpy(dtype=float)
    inner = age[(age >= edges[0]) & (age <= edges[-1])]
    assert [b["count"] for b in buckets] == list(np.histogram(inner, bins=edges)[0])


def test_share_rules_are_counted_from_grid_and_categories_as_pandas_counts(spark, bad_batch):
    """Range rules kept by a share of the rows are counted on the grid (their bounds are grid points), length
    and domain rules of counted categories from the categories: the same offending rows as pandas finds."""
    from constraints.columns import projection
    from constraints.scan import plan_scan, scan
    from constraints.suite import HasLengthBetween, IsInDomain, IsInRange, IsUnique
    from constraints.validation import _columns

    base, bad, df = bad_batch
    columns, _ = _columns(base, df.schema)
    unique = frozenset(s.constraint.column for s in base.suite.constraints if isinstance(s.constraint, IsUnique))
    plan = plan_scan(base, columns, unique, base.suite)
    result = scan(projection(df, columns), plan)
    checked = set()
    # length rules kept by a share of the rows are counted in the pass (unseen values are sketched, not listed)
    assert all(not (isinstance(c, HasLengthBetween) and c.at_least < 1.0) for _, c in plan.derived)
    for _, c in plan.derived + plan.rules:
        x = bad[c.column].dropna()
        if x.dtype == bool:   # booleans are the strings 'true' and 'false' to the checks, as in SageMaker's CSV
            x = x.map({True: "true", False: "false"})
        if isinstance(c, IsInRange) and c.at_least < 1.0:
            expected = int(((x < c.lower) | (x > c.upper)).sum())
        elif isinstance(c, HasLengthBetween):
            expected = int((~x.str.len().between(c.min_length, c.max_length)).sum())
        elif isinstance(c, IsInDomain):
            expected = int((~x.isin(c.values)).sum())
        else:
            continue
        assert result.offending_rows[c] == expected, c
        checked.add((type(c).__name__, c.column, expected > 0))
    assert ("IsInRange", "age", True) in checked and ("IsInDomain", "region", True) in checked
    assert any(kind == "HasLengthBetween" for kind, _, _ in checked)


def test_distinct_counts_exact_for_unique_columns_and_sketched_for_free_strings(spark, bad_batch, tmp_path):
    base, _, _ = bad_batch
    good = make_frame(20_000, seed=5)
    report = validate(spark, spark.read.parquet(str(write_parquet(good, tmp_path / "good"))), base, "good")
    ident = report.profile.column("id")   # one partition: its values counted in the pass
    assert (ident.distinct_count, ident.train.max_multiplicity) == (good["id"].nunique(), 1)
    for name in ("email_domain", "signup_date"):   # HyperLogLog, 2048 registers: 2.3% standard error
        exact = good[name].nunique()
        assert abs(report.profile.column(name).distinct_count - exact) <= 4 * 0.023 * exact, name


@pytest.mark.parametrize("spread", [1, 10**9])
def test_unique_columns_exact_when_partitions_share_a_value_range(spark, bad_batch, tmp_path, spread):
    """Rows dealt at random to three partitions: each spans the whole id range, so the pass cannot settle
    the ids; Spark's bitmaps (dense ids) or the grouping by value (sparse ids) count them, exactly, also
    with values repeated across partitions."""
    base, _, _ = bad_batch
    good = make_frame(20_000, seed=5).assign(id=lambda f: f["id"] * spread)
    twice = good.copy()
    twice.loc[:4, "id"] = twice.loc[10_000:10_004, "id"].to_numpy()   # five values twice, far apart
    for frame in (good, twice):
        df = spark.read.parquet(str(write_parquet(frame, tmp_path / f"f{spread}{len(frame['id'].unique())}")))
        ident = validate(spark, df.repartition(3), base, "p").profile.column("id")
        expected = frame["id"].value_counts()
        assert (ident.distinct_count, ident.train.max_multiplicity) == (len(expected), expected.max())


def test_unique_string_ids_settled_from_hashes_and_repeats_counted_by_value(spark, tmp_path):
    """A unique string column: its 64-bit hashes settle it when none repeats; repeats are counted by value."""
    rng = np.random.default_rng(11)

    def frame(n, seed):
        r = np.random.default_rng(seed)
        return pd.DataFrame({"key": [f"k-{seed}-{i:07d}" for i in range(n)], "x": r.normal(size=n)})

    run_baseline(spark, write_parquet(frame(3_000, 1), tmp_path / "train"), tmp_path / "base")
    base = load_baseline(read_folder(str(tmp_path / "base"), ("statistics.json", "constraints.json", "suite.json")))
    assert any(s.constraint.column == "key" and type(s.constraint).__name__ == "IsUnique" for s in base.suite.constraints)
    good = frame(8_000, 2)
    twice = good.copy()
    twice.loc[rng.choice(8_000, 6, replace=False), "key"] = ["k-2-0000001"] * 3 + ["k-2-0000002"] * 3
    for name, f in (("good", good), ("twice", twice)):
        df = spark.read.parquet(str(write_parquet(f, tmp_path / name))).repartition(3)
        key = validate(spark, df, base, name).profile.column("key")
        counts = f["key"].value_counts()
        assert (key.distinct_count, key.train.max_multiplicity) == (len(counts), counts.max()), name
