"""History checks (pure): n-sigma rules against numpy's mean and standard deviation, earlier anomalies
left out, rate of change, minimum history, family-wise width."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from constraints.anomaly import DATASET, HistoryOptions, history_checks


def _series(values, prefix="p"):
    return [(f"{prefix}={i:02d}", float(v)) for i, v in enumerate(values)]


def _find(results, check, feature=None):
    return next(r for r in results if r.check == check and r.feature == feature)


def test_width_is_sidak_over_the_series_checked():
    o = HistoryOptions()
    assert o.width(1) == 3.0                                        # 3 beats the quantile for one series
    assert o.width(40) == pytest.approx(stats.norm.isf((1 - 0.99 ** (1 / 40)) / 2))
    assert HistoryOptions(sigmas=5).width(40) == 5.0


def test_n_sigma_against_numpy_mean_and_sd():
    rng = np.random.default_rng(1)
    past = rng.normal(0.3, 0.01, 20)
    mean, sd = past.mean(), past.std(ddof=1)
    history = {("score", "mean"): _series(past)}
    outputs = frozenset({"score"})
    inside = history_checks({("score", "mean"): mean + 2.9 * sd}, history, outputs=outputs)
    outside = history_checks({("score", "mean"): mean + 3.1 * sd}, history, outputs=outputs)
    r = _find(outside, "history_check", "score")
    assert _find(inside, "history_check", "score").status == "passed"
    assert r.status == "failed" and r.details["excluded_partitions"] == []
    assert r.details["mean"] == pytest.approx(mean) and r.details["sd"] == pytest.approx(sd)
    assert r.threshold == pytest.approx(mean + 3 * sd)
    assert "outside" in r.description and "20 earlier partitions" in r.description


def test_input_means_have_no_rule_unless_asked():
    past = _series(np.linspace(0, 1, 20))
    current = {("x", "mean"): 100.0}
    assert all(r.status == "skipped" for r in history_checks(current, {("x", "mean"): past}))
    asked = history_checks(current, {("x", "mean"): past}, HistoryOptions(metrics=("mean",)))
    assert _find(asked, "history_check", "x").status == "failed"


def test_earlier_anomalies_are_left_out_of_the_estimates():
    rng = np.random.default_rng(1)
    values = rng.normal(2000, 80, 20)           # spread above Poisson's sqrt(2000)
    values[12] = 900.0                                            # an outage, long past
    history = {(DATASET, "row_count"): _series(values)}
    r = _find(history_checks({(DATASET, "row_count"): 2000.0}, history), "history_check")
    clean = np.delete(values, 12)
    assert r.status == "passed"
    assert r.details["excluded_partitions"] == ["p=12"]
    assert r.details["mean"] == pytest.approx(clean.mean()) and r.details["sd"] == pytest.approx(clean.std(ddof=1))


def test_row_count_rate_of_change_against_the_last_normal_partition():
    values = [2000.0] * 15
    history = {(DATASET, "row_count"): _series(values)}
    results = history_checks({(DATASET, "row_count"): 1000.0}, history)
    rate = _find(results, "history_rate_check")
    assert rate.status == "failed" and rate.measured == pytest.approx(-0.5) and rate.threshold == -0.3
    sigma = _find(results, "history_check")
    assert sigma.status == "failed" and sigma.details["sd"] == pytest.approx(np.sqrt(2000))   # Poisson floor
    # the next partition compares with the last normal one, not with the outage
    after = history_checks({(DATASET, "row_count"): 2010.0}, {(DATASET, "row_count"): _series(values + [1000.0])})
    assert _find(after, "history_rate_check").status == "passed"
    assert _find(after, "history_rate_check").details["reference_value"] == 2000.0


def test_no_rule_before_min_history():
    history = {(DATASET, "row_count"): _series([2000.0] * 9)}
    (r,) = history_checks({(DATASET, "row_count"): 10.0}, history)
    assert r.status == "skipped" and "9 earlier partitions" in r.description


def test_completeness_needs_the_minimum_change():
    history = {("x", "completeness"): _series([1.0] * 15)}
    assert _find(history_checks({("x", "completeness"): 0.998}, history), "history_check", "x").status == "passed"
    assert _find(history_checks({("x", "completeness"): 0.99}, history), "history_check", "x").status == "failed"


def test_batch_uses_the_last_window():
    values = list(10.0 + np.random.default_rng(4).normal(0, 1, 30) + 0.1 * np.arange(30))
    history = {("s", "mean"): _series(values)}
    o = HistoryOptions(strategy="batch", window=10)
    r = _find(history_checks({("s", "mean"): 12.0}, history, o, outputs=frozenset({"s"})), "history_check", "s")
    assert r.details["excluded_partitions"] == []
    assert r.details["mean"] == pytest.approx(np.mean(values[-10:]))
    assert r.details["sd"] == pytest.approx(np.std(values[-10:], ddof=1))


def test_identifiers_are_skipped_and_options_checked():
    history = {("id", "mean"): _series(range(20))}
    out = history_checks({("id", "mean"): 1e9}, history, HistoryOptions(metrics=("mean",)), skip=frozenset({"id"}))
    assert all(r.status == "skipped" for r in out)
    with pytest.raises(ValueError, match="unknown history metrics"):
        HistoryOptions(metrics=("median",))


def test_labeled_accuracy_is_a_partition_metric_like_the_row_count():
    rng = np.random.default_rng(5)
    past = rng.normal(0.9, 0.01, 15)
    history = {(DATASET, "labeled_accuracy"): _series(past)}
    r = _find(history_checks({(DATASET, "labeled_accuracy"): 0.84}, history), "history_check")
    assert r.status == "failed" and r.details["metric"] == "labeled_accuracy" and r.feature is None
    assert r.details["mean"] == pytest.approx(past.mean()) and r.details["sd"] == pytest.approx(past.std(ddof=1))
