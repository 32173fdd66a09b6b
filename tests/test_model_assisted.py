"""Model-assisted accuracy (labeling.estimation) with the calibration map (labeling.calibration), and
`label report --baseline` writing it beside the Hajek estimate. Fast simulation: 200 seeds per strategy
(bench/model_assisted_study.py runs 1,000)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import REPO, run_dqloop

sys.path.insert(0, str(REPO / "bench"))

from labeling import calibration, estimation, quality, reference, sampling  # noqa: E402


def test_isotonic_map_is_sklearns_and_round_trips():
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(0)
    s = rng.random(2000)
    y = rng.random(2000) < s ** 2
    cal = calibration.fit(s, np.where(y, "yes", "no"), ["no", "yes"], positive="yes")
    new = np.linspace(-0.2, 1.2, 301)
    expected = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(s, y).predict(new)
    probs = cal.probabilities(new)
    np.testing.assert_allclose(probs[:, 1], expected, atol=1e-12)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    back = calibration.Calibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    np.testing.assert_array_equal(back.probabilities(new), probs)
    g = cal.expected_correct(new, np.where(new >= 0.5, "yes", "no"))
    np.testing.assert_allclose(g, np.where(new >= 0.5, expected, 1 - expected))


def test_multiclass_map_is_sklearns_multinomial_regression_on_log_probabilities():
    """Dirichlet calibration: scikit-learn's LogisticRegression on log(s), kept as JSON and applied with numpy."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    p = rng.dirichlet([1, 1, 1], 3000)
    y = np.array([str(rng.choice(3, p=row)) for row in p])
    cal = calibration.fit(p ** 0.6 / (p ** 0.6).sum(axis=1, keepdims=True), y, ["0", "1", "2"])
    s = p ** 0.6 / (p ** 0.6).sum(axis=1, keepdims=True)
    want = LogisticRegression(C=10.0, max_iter=2000).fit(np.log(s), y).predict_proba(np.log(s))
    np.testing.assert_allclose(cal.probabilities(s), want, atol=1e-9)
    again = calibration.Calibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    np.testing.assert_allclose(again.probabilities(s), want, atol=1e-9)
    assert abs(np.mean(cal.expected_correct(s, s.argmax(axis=1).astype(str))) - np.mean(
        y == s.argmax(axis=1).astype(str))) < 0.03


def test_difference_estimator_against_its_formula():
    rng = np.random.default_rng(2)
    g_all = rng.uniform(0.5, 1.0, 1000)
    pi_all = np.full(1000, 0.1)
    pos = rng.choice(1000, 100, replace=False)
    a = (rng.random(100) < g_all[pos]).astype(float)
    ma = estimation.difference(g_all, a, g_all[pos], pi_all[pos])
    w = 10.0
    d = np.mean(a - g_all[pos])          # equal weights: the plain residual mean
    v = 100 / 99 * np.sum(0.9 * (w * (a - g_all[pos] - d)) ** 2) / (100 * w) ** 2
    assert ma.estimate.value == pytest.approx(g_all.mean() + d)
    assert ma.estimate.standard_deviation == pytest.approx(np.sqrt(v))
    half = stats.t.ppf(0.975, 99) * np.sqrt(v)
    assert ma.estimate.lower == pytest.approx(g_all.mean() + d - half)
    # a constant g adds nothing: the estimate is the Hajek one
    const = estimation.difference(np.full(1000, 0.7), a, np.full(100, 0.7), pi_all[pos])
    assert const.estimate.value == pytest.approx(quality.accuracy(a, np.ones(100), pi_all[pos]).value)


def test_census_is_exact_whatever_the_calibration():
    rng = np.random.default_rng(3)
    a = (rng.random(500) < 0.8).astype(float)
    g = rng.uniform(0, 1, 500)           # a useless calibration
    ma = estimation.difference(g, a, g, np.ones(500))
    assert ma.estimate.value == pytest.approx(a.mean()) and ma.estimate.standard_deviation == 0


# -- coverage and width, fast version of bench/model_assisted_study.py --------------------------------------
@pytest.fixture(scope="module")
def maps():
    import model_assisted_study as mas
    return {"binary": mas.fit_map("binary"), "multiclass": mas.fit_map("multiclass")}


@pytest.mark.parametrize("strategy", sampling.STRATEGIES)
@pytest.mark.parametrize("kind,concept", [("binary", False), ("multiclass", False), ("binary", True),
                                          ("multiclass", True)])
def test_coverage_and_width_at_300_labels(maps, kind, concept, strategy):
    import model_assisted_study as mas

    r = mas.study(kind, concept, strategy, seeds=200, n=300, cal=maps[kind])
    assert r["cover_ma"] >= 0.90 and r["cover_hajek"] >= 0.90, r          # 95% nominal, 200 seeds
    assert abs(r["bias_ma_se"]) < 4, r                                  # unbiased, calibration broken or not
    if not concept:
        assert abs(r["expected"] - r["truth"]) < 0.02, r                  # the map holds on this partition
        # multiclass: >= 30% narrower; binary with an argmax threshold cannot reach it (g >= 0.5 bounds the
        # variance ratio at 1/2, see bench/RESULTS.md), it must still be clearly narrower
        assert r["ratio"] <= (0.70 if kind == "multiclass" else 0.85), r


# -- label report --baseline ----------------------------------------------------------------------------------
def test_label_report_writes_both_estimates(tmp_path):
    import model_assisted_study as mas

    ref_s, ref_pred, ref_y, _ = mas.binary(7, 20_000)
    ref = reference.build(ref_y, ref_pred, ref_s, ["0", "1"], prediction_column="predicted_label",
                          target_column="label", score_column="score", positive="1", source="held-out")
    base = tmp_path / "baseline"
    base.mkdir()
    (base / "model_reference.json").write_text(json.dumps(ref.to_dict()))
    s, pred, y, _ = mas.binary(8)
    frame = pd.DataFrame({"id": np.arange(len(s)), "predicted_label": pred, "score": s})
    (tmp_path / "part").mkdir()
    frame.to_parquet(tmp_path / "part" / "p.parquet", index=False)
    smp = sampling.low_confidence(sampling.uncertainty(score=s), 300, 4)
    labels = pd.DataFrame({"row_id": smp.positions.astype(str), "label": y[smp.positions],
                           "inclusion_probability": smp.inclusion, "strategy": "low-confidence"})
    labels.to_parquet(tmp_path / "labels.parquet", index=False)
    out = run_dqloop("label", "report", "--input", str(tmp_path / "part"), "--labels", str(tmp_path / "labels.parquet"),
                     "--output", str(tmp_path / "q"), "--baseline", str(base))
    assert out.returncode == 0, out.stderr
    doc = json.loads((tmp_path / "q" / "model_quality.json").read_text())
    m = doc["binary_classification_metrics"]
    # independent computation: isotonic by scikit-learn, the difference estimator written out
    from sklearn.isotonic import IsotonicRegression
    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(ref_s, ref_y == "1")
    p1 = iso.predict(s)
    g = np.where(pred == "1", p1, 1 - p1)
    pos, w = smp.positions, 1 / smp.inclusion
    d = np.sum(w * ((pred[pos] == y[pos]) - g[pos])) / np.sum(w)
    assert m["accuracy_model_assisted"]["value"] == pytest.approx(g.mean() + d, abs=1e-9)
    assert doc["dqloop"]["model_assisted"]["calibration_holds"] is True
    assert not any(m["moved"] for m in doc["dqloop"]["label_mix"].values())
    assert doc["dqloop"]["recommended_accuracy_estimator"] == "model_assisted"
    ci_m, ci_h = m["accuracy_model_assisted"]["confidence_interval"], m["accuracy"]["confidence_interval"]
    assert ci_m["upper"] - ci_m["lower"] < ci_h["upper"] - ci_h["lower"]
    assert "recommended: model-assisted" in out.stdout
    # without a reference: said, and Hajek only
    (base / "model_reference.json").unlink()
    out = run_dqloop("label", "report", "--input", str(tmp_path / "part"), "--labels", str(tmp_path / "labels.parquet"),
                     "--output", str(tmp_path / "q2"), "--baseline", str(base))
    assert out.returncode == 0, out.stderr
    doc = json.loads((tmp_path / "q2" / "model_quality.json").read_text())
    assert doc["dqloop"]["recommended_accuracy_estimator"] == "hajek"
    assert "model_reference.json" in doc["dqloop"]["recommendation_reason"]
    assert "accuracy_model_assisted" not in doc["binary_classification_metrics"]


def test_report_warns_when_reference_looks_like_training_data(tmp_path):
    rng = np.random.default_rng(9)
    n = 2000
    s = rng.random(n)
    pred = (s >= 0.5).astype(int).astype(str)
    ref = reference.build(pred, pred, s, ["0", "1"], prediction_column="predicted_label", target_column="label",
                          score_column="score", positive="1")        # right on every reference row
    assert ref.warnings and "training data" in ref.warnings[0]
    base = tmp_path / "b"
    base.mkdir()
    (base / "model_reference.json").write_text(json.dumps(ref.to_dict()))
    (tmp_path / "part").mkdir()
    pd.DataFrame({"id": np.arange(n), "predicted_label": pred, "score": s}).to_parquet(tmp_path / "part" / "p.parquet")
    truth = np.where(rng.random(n) < 0.3, np.where(pred == "1", "0", "1"), pred)   # 70% right in production
    pd.DataFrame({"id": np.arange(n), "label": truth}).to_parquet(tmp_path / "gt.parquet")
    out = run_dqloop("label", "report", "--input", str(tmp_path / "part"), "--labels", str(tmp_path / "gt.parquet"),
                     "--output", str(tmp_path / "q"), "--baseline", str(base))
    assert out.returncode == 0, out.stderr
    doc = json.loads((tmp_path / "q" / "model_quality.json").read_text())
    assert "training data" in doc["dqloop"]["reference_warning"]
    assert "warning:" in out.stdout


def test_labeled_class_mix_against_reference_priors():
    from labeling.label_mix import label_mix

    rng = np.random.default_rng(12)
    n = 5000
    y = np.where(rng.random(n) < 0.7, "1", "0")                 # the partition: 30/70
    s = sampling.stratified(np.where(rng.random(n) < 0.5, "a", "b"), 300, 1)
    mix = label_mix(y[s.positions], s.inclusion, {"0": 0.5, "1": 0.5})
    share = mix["1"]["labeled_share"]
    assert share["confidence_interval"]["lower"] <= np.mean(y == "1") <= share["confidence_interval"]["upper"]
    assert mix["1"]["moved"] and mix["0"]["moved"]
    same = label_mix(y[s.positions], s.inclusion, {"0": 0.3, "1": 0.7})
    assert not same["1"]["moved"]
