"""Calibrated completeness, unseen-category and drift checks through the real validate job (Spark, Deequ):
the issue's cases, and SageMaker's fixed thresholds still available."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import dqloop
from helpers import run_baseline, write_parquet

TRAIN, ROWS = 50_000, 5_000
PLANS = ["basic", "plus", "premium"]
SHARES = [0.5, 0.3, 0.2]


def _frame(rows: int, seed: int, missing: float, *, new_category: float = 0.0, plan_shift: float = 0.0):
    """income exactly `missing` incomplete; plan with SHARES, `plan_shift` moved from basic to premium,
    and `new_category` of the rows set to a plan never seen in training."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10, 0.5, rows)
    income[rng.permutation(rows)[:round(missing * rows)]] = np.nan
    shares = [SHARES[0] - plan_shift, SHARES[1], SHARES[2] + plan_shift]
    counts = np.round(np.array(shares) * rows).astype(int)
    counts[0] += rows - counts.sum()
    plan = np.repeat(PLANS, counts).astype(object)
    plan[:round(new_category * rows)] = "platinum"
    return pd.DataFrame({"income": income, "plan": rng.permutation(plan)})


def _validate(spark, baseline, table, output, mode="calibrated") -> int:
    options = dqloop.ValidateOptions(warn_only=True, thresholds=dqloop.Thresholds(mode), history=None)
    return dqloop.validate(str(table), str(baseline), options, output=str(output), spark=spark).exit_code


@pytest.fixture(scope="module")
def results(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("calibrated")
    run_baseline(spark, write_parquet(_frame(TRAIN, 1, 0.10), root / "train"), root / "baseline")
    table = root / "production"
    cases = {"missing_10_7": dict(missing=0.107), "missing_15": dict(missing=0.15),
             "new_category_1pct": dict(missing=0.10, new_category=0.01),
             "plan_shift_6pts": dict(missing=0.10, plan_shift=0.06)}
    for i, (name, kw) in enumerate(cases.items()):
        write_parquet(_frame(ROWS, 10 + i, **kw), table / f"case={name}")
    out = {}
    for mode in ("calibrated", "sagemaker"):
        assert _validate(spark, root / "baseline", table, root / mode, mode) == 0
        out[mode] = {name: json.loads((root / mode / f"case={name}" / "checks.json").read_text())["checks"]
                     for name in cases}
    return out


def _check(checks, check, feature):
    return next(c for c in checks if c["check"] == check and c["feature"] == feature)


def test_missing_share_within_chance_passes_and_well_outside_fails(results):
    ok = _check(results["calibrated"]["missing_10_7"], "completeness_check", "income")
    bad = _check(results["calibrated"]["missing_15"], "completeness_check", "income")
    assert ok["measured"] == pytest.approx(0.893) and ok["status"] == "passed"
    assert bad["measured"] == pytest.approx(0.85) and bad["status"] == "failed"
    # the threshold is the baseline's completeness less an allowance between the two cases, and says why
    assert 0.85 < bad["threshold"] < 0.893
    assert bad["details"]["baseline_completeness"] == pytest.approx(0.9, abs=1e-6)
    assert "calibrated at 5000 rows against 50000" in bad["description"]
    assert bad["details"]["threshold_mode"] == "calibrated" and "sqrt(p(1-p)" in bad["details"]["derivation"]


def test_new_category_at_one_percent_is_reported_with_its_count_and_fails(results):
    c = _check(results["calibrated"]["new_category_1pct"], "categorical_values_check", "plan")
    assert c["status"] == "failed"
    assert c["measured"] == pytest.approx(0.01)
    assert c["examples"] == ["platinum (50)"]
    assert c["details"]["unseen"] == [{"value": "platinum", "count": 50}]
    assert c["threshold"] < 0.01
    # SageMaker's fixed 10% lets it pass, but the category is still reported with its count
    s = _check(results["sagemaker"]["new_category_1pct"], "categorical_values_check", "plan")
    assert s["status"] == "passed" and s["threshold"] == 0.1 and s["examples"] == ["platinum (50)"]


def test_a_six_point_share_shift_is_drift_at_5000_rows_only_when_calibrated(results):
    cal = _check(results["calibrated"]["plan_shift_6pts"], "baseline_drift_check", "plan")
    fixed = _check(results["sagemaker"]["plan_shift_6pts"], "baseline_drift_check", "plan")
    assert cal["measured"] == pytest.approx(0.06, abs=0.01)
    assert cal["status"] == "failed" and fixed["status"] == "passed" and fixed["threshold"] == 0.1
    assert "calibrated threshold" in cal["description"] and cal["details"]["alpha"] <= 0.005


def test_fresh_partition_has_no_calibrated_alarm(results):
    checks = results["calibrated"]["missing_10_7"]
    assert [c for c in checks if c["status"] == "failed"] == []
    drift = _check(checks, "baseline_drift_check", "income")
    assert drift["details"]["rank_error"] > 0 and drift["measured"] < drift["threshold"]
