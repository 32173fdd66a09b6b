"""Values outside a column's known categories: counted in validate's pass and sketched (constraints.unseen),
never collected whole; the check still fires with the right numbers and names the top offenders."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from constraints import unseen
from constraints.baseline import load_baseline
from constraints.validation import validate
from helpers import run_baseline, write_parquet
from jobs.io import read_folder
from jobs.sample_data import REGIONS, make_frame
from jobs.session import counting_jobs


def _tally(values: list[str | None], batches: int = 3) -> unseen.ValuesTally:
    """Fold `values` in batches and merge the batches' tallies, through pickle as between worker and driver."""
    import pickle

    lane, out = unseen.Values(), None
    for chunk in np.array_split(np.array(values, dtype=object), batches):
        t = pickle.loads(pickle.dumps(lane.fold(pa.array(list(chunk), type=pa.string()))))
        out = t if out is None else lane.merge(out, t)
    return out


def test_few_unseen_values_are_exact():
    values = ["x"] * 7 + ["yy"] * 3 + [None] * 5 + ["zé\u202e\x00"] * 2
    s = unseen.summary(_tally(values))
    counts = pd.Series([v for v in values if v is not None]).value_counts()
    assert s.exact and s.count == counts.sum() and s.distinct == len(counts)
    assert [(v, lo) for v, lo, hi in s.top] == list(counts.items()) and all(lo == hi for _, lo, hi in s.top)
    assert (s.min_length, s.max_length) == (1, 4)
    assert unseen.summary(_tally([None, None])) is None


def test_many_unseen_values_keep_totals_and_the_heavy_hitter():
    rng = np.random.default_rng(7)
    values = [f"id-{i}" for i in range(60_000)] + ["hot"] * 4_000 + ["warm"] * 900
    values = list(np.array(values, dtype=object)[rng.permutation(len(values))])
    s = unseen.summary(_tally(values, batches=7))
    truth = pd.Series(values).value_counts()
    assert not s.exact and s.count == len(values)
    assert abs(s.distinct - truth.size) <= 0.07 * truth.size     # HyperLogLog: 2.3% standard error
    assert len(s.top) == unseen.LISTED
    assert [v for v, _, _ in s.top[:2]] == ["hot", "warm"]
    for v, lo, hi in s.top:                                       # the sketch's bounds hold the true counts
        assert lo <= truth[v] <= hi
    assert "about" in s.phrase() and "'hot'" in s.phrase()


@pytest.fixture(scope="module")
def exploding(spark, tmp_path_factory):
    """A 5-category column that suddenly holds an id per row (and one frequent wrong value)."""
    tmp = tmp_path_factory.mktemp("unseen")
    run_baseline(spark, write_parquet(make_frame(5_000, seed=3), tmp / "train"), tmp / "baseline")
    base = load_baseline(read_folder(str(tmp / "baseline"), ("statistics.json", "constraints.json", "suite.json")))
    bad = make_frame(30_000, seed=5)
    ids = pd.Series([f"user-{i:07d}" for i in range(len(bad))])
    hot = np.arange(len(bad)) % 10 == 0                  # 10%: one wrong value
    keep = np.arange(len(bad)) % 10 == 1                  # 10%: the normal categories
    bad["region"] = np.where(hot, "atlantis", np.where(keep, bad["region"], ids))
    good = make_frame(30_000, seed=5)
    return base, bad, spark.read.parquet(str(write_parquet(bad, tmp / "bad"))), \
        spark.read.parquet(str(write_parquet(good, tmp / "good")))


def test_exploding_category_is_counted_and_named(spark, exploding):
    base, bad, df, _ = exploding
    report = validate(spark, df, base, "bad")
    region = bad["region"].dropna()
    truth = region.value_counts()
    outside = region[~region.isin(REGIONS)]
    check = next(r for r in report.results if r.check == "categorical_values_check" and r.feature == "region")
    assert check.failed
    assert check.measured == pytest.approx(len(outside) / len(region), rel=1e-12)
    assert check.details["unseen_rows"] == len(outside)
    assert abs(check.details["unseen_values"] - outside.nunique()) <= 0.07 * outside.nunique()
    assert check.details["unseen_values_estimated"] is True
    listed = check.details["unseen"]
    assert len(listed) <= 20 and listed[0]["value"] == "atlantis"
    assert listed[0]["count"] <= truth["atlantis"] <= listed[0].get("count_max", listed[0]["count"])
    assert f"{len(outside)} of {len(region)} values" in check.description
    assert "'atlantis' (" in check.description and check.examples[0].startswith("atlantis (")
    # the known categories are exact; the partition's statistics list those and the top unseen only
    p = report.profile.column("region")
    cats = dict(p.categories)
    assert {k: cats.get(k, 0) for k in REGIONS} == {k: int(truth.get(k, 0)) for k in REGIONS}
    assert p.num_present == len(region) and len(p.categories) <= len(REGIONS) + 20
    doc = report.statistics_document()
    feature = next(f for f in doc["features"] if f["name"] == "region")
    assert len(feature["string_statistics"]["distribution"]["categorical"]["buckets"]) <= len(REGIONS) + 20
    assert abs(feature["string_statistics"]["distinct_count"] - truth.size) <= 0.07 * truth.size
    json.dumps(report.checks_document(), allow_nan=False)
    # the drift: L-infinity over the shares, the baseline's against pandas' of the partition
    drift = next(r for r in report.results if r.check == "baseline_drift_check" and r.feature == "region")
    b = pd.Series(base.feature("region").categories, dtype=float)
    shares = pd.concat([b / b.sum(), truth / truth.sum()], axis=1, keys=[0, 1]).fillna(0.0)
    assert drift.failed and drift.details["linf"] == pytest.approx((shares[0] - shares[1]).abs().max(), abs=1e-12)


def test_exploding_category_runs_no_more_spark_jobs_than_a_normal_partition(spark, exploding):
    """No by-value job for unseen values: they are counted in the pass. (The examples of failed suite rules
    read a few rows each, in both partitions.)"""
    base, _, bad_df, good_df = exploding
    with counting_jobs(spark, "t-bad") as bad_jobs:
        bad = validate(spark, bad_df, base, "bad")
    with counting_jobs(spark, "t-good") as good_jobs:
        validate(spark, good_df, base, "good")
    failed_rules = [r for r in bad.results if r.failed and r.check == "suite_constraint_check"]
    assert bad_jobs[0] <= good_jobs[0] + len(failed_rules)


def test_many_known_categories_and_unseen_values_equal_pandas(spark, tmp_path):
    """A column with more known categories than the pass groups by position: known ones counted by value
    (bounded by the baseline), the others sketched; few unseen values: everything exact."""
    rng = np.random.default_rng(1)
    cats = [f"c{i:02d}" for i in range(40)]
    train = pd.DataFrame({"cat": rng.choice(cats, 4_000), "x": rng.normal(size=4_000)})
    run_baseline(spark, write_parquet(train, tmp_path / "train"), tmp_path / "baseline")
    base = load_baseline(read_folder(str(tmp_path / "baseline"), ("statistics.json", "constraints.json", "suite.json")))
    cur = pd.DataFrame({"cat": rng.choice(cats + ["new1", "new2", "brand-new-3"], 3_000), "x": rng.normal(size=3_000)})
    cur.loc[:9, "cat"] = None
    report = validate(spark, spark.read.parquet(str(write_parquet(cur, tmp_path / "cur"))), base, "cur")
    p = report.profile.column("cat")
    truth = cur["cat"].value_counts()
    assert dict(p.categories) == truth.to_dict()
    assert p.distinct_count == truth.size and p.num_present == truth.sum()
    assert p.unseen.exact and p.unseen.count == int(truth[["new1", "new2", "brand-new-3"]].sum())
    assert (p.min_length, p.max_length) == (3, 11)
