"""`dqloop baseline --target --reference` writes model_reference.json (real Spark), checked against scikit-learn
and pandas on the same rows; statistics.json and constraints.json stay as without it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import run_dqloop


def _rows(n: int, seed: int, k: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    if k == 2:
        p = 1 / (1 + np.exp(-3 * x))
        y = (rng.random(n) < p).astype(int)
        score = 1 / (1 + np.exp(-1.5 * x))
        return pd.DataFrame({"x": x, "score": score, "predicted_label": (score >= 0.5).astype(int), "label": y})
    logits = np.column_stack([x * (j - 1) * 2 for j in range(k)]) + rng.normal(0, 0.5, (n, k))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([f"c{rng.choice(k, p=row)}" for row in p])
    frame = pd.DataFrame({"x": x, "predicted_label": [f"c{j}" for j in p.argmax(axis=1)], "label": y})
    for j in range(k):
        frame[f"p_c{j}"] = p[:, j]
    return frame


def _baseline(spark, argv):
    from jobs import baseline
    from jobs.cli import parser

    return baseline.run(spark, parser().parse_args(["baseline", *argv]))


def test_binary_reference(spark, tmp_path):
    from sklearn.isotonic import IsotonicRegression
    from sklearn.metrics import roc_auc_score

    train, ref = _rows(3000, 1), _rows(4000, 2)
    train.drop(columns=["label"]).to_parquet(tmp_path / "train.parquet", index=False)   # training rows without target
    ref.to_parquet(tmp_path / "ref.parquet", index=False)
    out = tmp_path / "baseline"
    assert _baseline(spark, ["--input", str(tmp_path / "train.parquet"), "--output", str(out),
                             "--predictions", "score,predicted_label", "--target", "label",
                             "--reference", str(tmp_path / "ref.parquet")]) == 0
    doc = json.loads((out / "model_reference.json").read_text())
    assert doc["task"] == "binary_classification" and doc["positive_label"] == "1"
    assert doc["score_column"] == "score" and doc["prediction_column"] == "predicted_label"
    assert doc["rows"] == 4000 and doc["warnings"] == []
    crosstab = pd.crosstab(ref["label"].astype(str), ref["predicted_label"].astype(str))
    assert doc["confusion_matrix"] == {t: {p: int(crosstab.loc[t, p]) for p in ("0", "1")} for t in ("0", "1")}
    assert doc["class_priors"]["1"] == pytest.approx(ref["label"].mean())
    assert doc["metrics"]["accuracy"]["value"] == pytest.approx((ref["label"] == ref["predicted_label"]).mean())
    assert doc["metrics"]["auc"]["value"] == pytest.approx(roc_auc_score(ref["label"], ref["score"]))
    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(ref["score"], ref["label"])
    m = doc["calibration"]["maps"]["1"]
    grid = np.linspace(0, 1, 101)
    np.testing.assert_allclose(np.interp(grid, m["x"], m["y"]), iso.predict(grid), atol=1e-12)
    stats = json.loads((out / "statistics.json").read_text())
    assert "label" not in {f["name"] for f in stats["features"]}       # the target is no model input


def test_multiclass_reference_and_training_data_warning(spark, tmp_path):
    frame = _rows(3000, 3, k=3)
    frame.to_parquet(tmp_path / "train.parquet", index=False)
    out = tmp_path / "baseline"
    assert _baseline(spark, ["--input", str(tmp_path / "train.parquet"), "--output", str(out),
                             "--predictions", "predicted_label,p_c0,p_c1,p_c2", "--target", "label",
                             "--probability-columns", "p_c0,p_c1,p_c2"]) == 0
    doc = json.loads((out / "model_reference.json").read_text())
    assert doc["task"] == "multiclass_classification" and doc["classes"] == ["c0", "c1", "c2"]
    assert doc["probability_columns"] == ["p_c0", "p_c1", "p_c2"]
    assert any("training data" in w for w in doc["warnings"])             # no --reference: the input, warned
    assert sum(doc["class_priors"].values()) == pytest.approx(1.0)


def test_reference_usage_errors(tmp_path):
    _rows(200, 4).to_parquet(tmp_path / "t.parquet", index=False)
    out = run_dqloop("baseline", "--input", str(tmp_path / "t.parquet"), "--output", str(tmp_path / "b"),
                     "--reference", str(tmp_path / "t.parquet"))
    assert out.returncode == 2 and "--reference needs --target" in out.stderr
    assert not (tmp_path / "b").exists()
    help_text = run_dqloop("baseline", "--help").stdout
    assert "NOT the model's training data" in help_text or "NOT train on" in help_text
