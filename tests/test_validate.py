"""The validate job on generated data with injected problems, real Spark and Deequ."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

import dqloop
from helpers import run_baseline, write_parquet
from jobs.history import read_history
from jobs.sample_data import make_frame

ROWS = 5_000
SAGEMAKER = {"data_type_check", "completeness_check", "baseline_drift_check", "missing_column_check",
             "extra_column_check", "categorical_values_check"}


def _inject(name: str, frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    f = frame.copy()
    if name == "retyped":
        f["age"] = f["age"].astype(str)
        f.loc[rng.random(len(f)) < 0.2, "age"] = "unknown"
    elif name == "nulls":
        f.loc[rng.random(len(f)) < 0.3, "income"] = np.nan
    elif name == "unseen":
        f.loc[rng.random(len(f)) < 0.2, "region"] = "atlantis"
    elif name == "numeric_shift":
        f["balance"] = f["balance"] + 400.0
    elif name == "categorical_shift":
        f["plan"] = rng.choice(["basic", "plus", "premium"], len(f), p=[0.6, 0.3, 0.1])
    elif name == "dropped":
        f = f.drop(columns=["tenure_months"])
    elif name == "added":
        f["surprise"] = 1.0
    elif name == "score_shift":
        f["score"] = np.sqrt(f["score"])
    return f


EXPECTED = {
    "retyped": ("data_type_check", "age"),
    "nulls": ("completeness_check", "income"),
    "unseen": ("categorical_values_check", "region"),
    "numeric_shift": ("baseline_drift_check", "balance"),
    "categorical_shift": ("baseline_drift_check", "plan"),
    "dropped": ("missing_column_check", "tenure_months"),
    "added": ("extra_column_check", "surprise"),
    "score_shift": ("baseline_drift_check", "score"),
}


def _validate(spark, baseline, input_path, output, *partitions, **extra) -> int:
    """dqloop.validate's exit status. SageMaker's fixed thresholds unless told: these tests pin SageMaker's
    checks as SageMaker sets them (calibrated thresholds: tests/test_calibrated_checks.py, bench/drift_study.py)."""
    options = dqloop.ValidateOptions(partition=partitions, metrics_repo=extra.get("metrics_repo"),
                                     warn_only=extra.get("warn_only", False),
                                     thresholds=dqloop.Thresholds(extra.get("thresholds", "sagemaker")))
    return dqloop.validate(str(input_path), str(baseline), options, output=str(output), spark=spark).exit_code


@pytest.fixture(scope="module")
def backfill(spark, tmp_path_factory):
    """A baseline of 50,000 rows, then one table: clean partitions (several seeds) and one per problem."""
    root = tmp_path_factory.mktemp("validate")
    run_baseline(spark, write_parquet(make_frame(50_000, seed=1), root / "train"), root / "baseline",
                 predictions=["score", "predicted_label"])
    table = root / "production"
    for seed in (101, 102, 103, 104):
        write_parquet(make_frame(ROWS, seed=seed, start_id=10**6 * seed), table / f"case=clean_{seed}")
    rng = np.random.default_rng(7)
    for i, name in enumerate(EXPECTED):
        write_parquet(_inject(name, make_frame(ROWS, seed=200 + i, start_id=10**8 + i * ROWS), rng),
                      table / f"case={name}")
    code = _validate(spark, root / "baseline", table, root / "out")
    reports = {p.name.split("=", 1)[1]: json.loads((p / "checks.json").read_text())
               for p in (root / "out").iterdir() if p.name.startswith("case=")}
    _validate(spark, root / "baseline", table, root / "calibrated", *[f"case={k}" for k in EXPECTED],
                              thresholds="calibrated", metrics_repo=str(root / "calibrated_metrics"))
    return code, reports, root


def _failed(report: dict) -> set[tuple[str, str]]:
    return {(c["check"], c["feature"]) for c in report["checks"] if c["status"] == "failed"}


def test_fresh_samples_raise_nothing(backfill):
    code, reports, _ = backfill
    assert code == 1  # the problem partitions have violations
    for seed in (101, 102, 103, 104):
        report = reports[f"clean_{seed}"]
        assert report["verdict"] == "ok", [c for c in report["checks"] if c["status"] == "failed"]
        assert report["rows"] == ROWS


@pytest.mark.parametrize("case", list(EXPECTED))
def test_each_problem_is_found_with_the_right_check_and_feature(backfill, case):
    _, reports, root = backfill
    failed = _failed(reports[case])
    check, feature = EXPECTED[case]
    assert (check, feature) in failed
    # SageMaker checks fire on the injected feature only
    assert {f for c, f in failed if c in SAGEMAKER} == {feature}
    violations = json.loads((root / "out" / f"case={case}" / "constraint_violations.json").read_text())
    assert {"feature_name": feature, "constraint_check_type": check} in [
        {k: v[k] for k in ("feature_name", "constraint_check_type")} for v in violations["violations"]]


@pytest.mark.parametrize("case", list(EXPECTED))
def test_each_problem_is_found_with_calibrated_thresholds_too(backfill, case):
    _, _, root = backfill
    report = json.loads((root / "calibrated" / f"case={case}" / "checks.json").read_text())
    assert EXPECTED[case] in _failed(report)


def test_reports_carry_evidence(backfill):
    _, reports, _ = backfill
    unseen = next(c for c in reports["unseen"]["checks"] if c["check"] == "categorical_values_check"
                  and c["feature"] == "region")
    assert unseen["examples"][0].startswith("atlantis (")
    assert unseen["measured"] == pytest.approx(0.2, abs=0.02) and unseen["threshold"] == 0.1
    retyped = next(c for c in reports["retyped"]["checks"] if c["check"] == "data_type_check" and c["feature"] == "age")
    assert retyped["measured"] == pytest.approx(0.8, abs=0.02)
    assert "Expected data type: Integral" in retyped["description"]
    assert retyped["examples"] == ["unknown"]
    every = {c["check"] for c in reports["clean_101"]["checks"]}
    assert SAGEMAKER - {"extra_column_check"} <= every and "suite_constraint_check" in every


def test_metrics_history_is_one_entry_per_partition(spark, backfill):
    _, reports, root = backfill
    history = read_history(root / "out" / "_metrics")
    assert set(history["partition"]) == {f"case={k}" for k in reports}
    before = len(history)
    # validating a partition again replaces its entry
    _validate(spark, root / "baseline", root / "production", root / "out", "case=clean_101")
    again = read_history(root / "out" / "_metrics")
    assert len(again) == before
    rows = again[(again.partition == "case=clean_101") & (again.metric == "row_count")]
    assert rows["value"].tolist() == [float(ROWS)]


def test_drift_agrees_with_scipy_and_recomputed_bins(spark, tmp_path):
    rng = np.random.default_rng(3)
    base = pd.DataFrame({"x": rng.normal(0, 1, 40_000)})
    cur = pd.DataFrame({"x": rng.normal(0.15, 1.2, 30_000)})
    run_baseline(spark, write_parquet(base, tmp_path / "train"), tmp_path / "baseline")
    _validate(spark, tmp_path / "baseline", write_parquet(cur, tmp_path / "part"), tmp_path / "out")
    checks = json.loads((tmp_path / "out" / "checks.json").read_text())["checks"]
    drift = next(c for c in checks if c["check"] == "baseline_drift_check")["details"]
    # KS statistic on the raw data; each sketch's CDF is within its rank error (~0.16% of n) of the truth
    assert drift["linf_simple"] == pytest.approx(stats.ks_2samp(base.x, cur.x).statistic, abs=2 * 0.0017)
    # PSI and JS on the baseline's 10 KLL buckets plus an under- and an overflow bin, counted exactly here
    stats_json = json.loads((tmp_path / "baseline" / "statistics.json").read_text())
    buckets = stats_json["features"][0]["numerical_statistics"]["distribution"]["kll"]["buckets"]
    edges = np.array([b["lower_bound"] for b in buckets] + [buckets[-1]["upper_bound"]])

    def shares(x: np.ndarray) -> np.ndarray:
        inner, _ = np.histogram(x[(x >= edges[0]) & (x <= edges[-1])], bins=edges)
        counts = np.concatenate([[np.sum(x < edges[0])], inner, [np.sum(x > edges[-1])]])
        return counts / len(x)

    p, q = shares(base.x.to_numpy()), shares(cur.x.to_numpy())
    pf, qf = np.maximum(p, 1e-4), np.maximum(q, 1e-4)
    assert drift["psi"] == pytest.approx(np.sum((qf - pf) * np.log(qf / pf)), abs=0.01)
    assert drift["js_distance"] == pytest.approx(jensenshannon(p, q, base=2), abs=0.01)
    w = stats.wasserstein_distance(base.x, cur.x) / base.x.std(ddof=0)
    assert drift["wasserstein_normalized"] == pytest.approx(w, rel=0.05)
