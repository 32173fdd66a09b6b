"""validate's own scan (constraints.scan) against Deequ's VerificationSuite and against pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from constraints.baseline import load_baseline
from constraints.suite import Suite
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
