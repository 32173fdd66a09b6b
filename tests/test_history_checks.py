"""History checks in a real backfill (Spark, Deequ): 30 partitions, partition 25 loses half its rows,
partition 28's score mean moves 4 standard deviations of its history; both are flagged, nothing else.

"Nothing else" is a claim over the whole backfill: at the default family alpha (0.05 per check type per
partition) 28 clean partitions would expect about one false alarm of each check type (partition 5's
reconstruction error sits at z = 2.4-2.9 depending on the baseline's sample), so the backfill runs at
0.01 / 30 per partition: at most 1% per check type over the backfill (Bonferroni). The history checks
have their own alpha."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import dqloop
from constraints.thresholds import Thresholds
from helpers import run_baseline, write_parquet

PARTITIONS, ROWS = 30, 2_000
SEGMENTS = ["a", "b", "c", "d"]


def _frame(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    x = rng.normal(50, 10, rows)
    logit = -1.0 + 0.05 * (x - 50) + rng.normal(0, 0.8, rows)
    return pd.DataFrame({"x": x, "segment": rng.choice(SEGMENTS, rows, p=[0.4, 0.3, 0.2, 0.1]),
                         "score": 1 / (1 + np.exp(-logit))})


@pytest.fixture(scope="module")
def backfill(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("history")
    rng = np.random.default_rng(2024)
    run_baseline(spark, write_parquet(_frame(20_000, rng), root / "train"), root / "baseline",
                 predictions=["score"])
    frames = {i: _frame(ROWS // 2 if i == 25 else ROWS, rng) for i in range(1, PARTITIONS + 1)}
    history = np.array([frames[i]["score"].mean() for i in range(1, 28)])
    target = history.mean() + 4 * history.std(ddof=1)       # 4 standard deviations of its history
    frames[28]["score"] += target - frames[28]["score"].mean()
    for i, frame in frames.items():
        write_parquet(frame, root / "production" / f"day={i:02d}")
    options = dqloop.ValidateOptions(thresholds=Thresholds(family_alpha=0.01 / PARTITIONS))
    code = dqloop.validate(str(root / "production"), str(root / "baseline"), options, output=str(root / "out"),
                           spark=spark).exit_code
    reports = {i: json.loads((root / "out" / f"day={i:02d}" / "checks.json").read_text())
               for i in range(1, PARTITIONS + 1)}
    standard_error = frames[28]["score"].std(ddof=0) / np.sqrt(ROWS)   # the floor of the mean's spread
    return code, reports, root, (history, standard_error)


def _failed(report):
    return [c for c in report["checks"] if c["status"] == "failed"]


def test_only_the_two_broken_partitions_are_flagged(backfill):
    code, reports, _, _ = backfill
    flagged = {i: [(c["check"], c["feature"]) for c in _failed(r)] for i, r in reports.items() if _failed(r)}
    assert set(flagged) == {25, 28}, flagged
    assert code == 1


def test_the_lost_rows_are_a_history_finding_with_evidence(backfill):
    _, reports, root, _ = backfill
    checks = reports[25]["checks"]
    sigma = next(c for c in checks if c["check"] == "history_check" and c["details"].get("metric") == "row_count")
    rate = next(c for c in checks if c["check"] == "history_rate_check")
    assert sigma["status"] == "failed" and sigma["measured"] == ROWS // 2
    assert sigma["details"]["history_length"] == 24 and sigma["details"]["mean"] == ROWS
    assert rate["status"] == "failed" and rate["measured"] == pytest.approx(-0.5)
    assert rate["details"]["reference_partition"] == "day=24"
    violations = json.loads((root / "out" / "day=25" / "constraint_violations.json").read_text())["violations"]
    assert {"history_check", "history_rate_check"} <= {v["constraint_check_type"] for v in violations}


def test_the_mean_shift_is_found_in_units_of_its_history(backfill):
    _, reports, _, (history, standard_error) = backfill
    finding = next(c for c in _failed(reports[28]) if c["check"] == "history_check" and c["feature"] == "score")
    d = finding["details"]
    assert d["metric"] == "mean" and d["history_length"] == 27 and d["excluded_partitions"] == []
    assert d["mean"] == pytest.approx(history.mean(), rel=1e-6)
    # the spread is the history's, but never below the mean's standard error (here it binds: the 27 means
    # happen to vary 5% less than sampling alone would make them)
    sd = max(history.std(ddof=1), standard_error)
    assert d["sd"] == pytest.approx(sd, rel=1e-4)
    assert d["deviation_sd"] == pytest.approx(4.0 * history.std(ddof=1) / sd, rel=1e-3)
    assert d["deviation_sd"] > d["width_sd"]
    assert finding["threshold"] == pytest.approx(d["mean"] + d["width_sd"] * d["sd"])
    assert "outside" in finding["description"] and "27 earlier partitions" in finding["description"]


def test_partition_after_the_outage_compares_with_the_last_normal_one(backfill):
    _, reports, _, _ = backfill
    rate = next(c for c in reports[26]["checks"] if c["check"] == "history_rate_check")
    assert rate["status"] == "passed" and rate["details"]["reference_partition"] == "day=24"
    sigma = next(c for c in reports[26]["checks"] if c["check"] == "history_check"
                 and c["details"].get("metric") == "row_count")
    assert sigma["details"]["excluded_partitions"] == ["day=25"]


def test_early_partitions_have_no_rule_yet(backfill):
    _, reports, _, _ = backfill
    early = [c for c in reports[5]["checks"] if c["check"] == "history_check"]
    assert len(early) == 1 and early[0]["status"] == "skipped" and "rules start at 10" in early[0]["description"]
