"""Unit-level checks of the labeling modules (no server): config escaping, drift intensity, resolution of
several annotators, the multiclass document, the drift strategy's intensity against a direct computation."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from labeling import config, drift_region, model_quality, quality, tasks
from labeling.resolve import resolve


def test_config_escapes_names_and_tasks_carry_id_and_pi():
    columns = ['a<b & "c"', "größe"]
    classes = ["x&y", "<z>", "ß"]
    root = ET.fromstring(config.label_config(classes, columns))
    assert [c.get("value") for c in root.iter("Choice")] == classes
    assert [h.get("value") for h in root.iter("Header")] == [c + ":" for c in columns]
    t = tasks.task(7, {columns[0]: float("nan"), columns[1]: 1.5}, columns, 0.25, "uniform",
                   [tasks.Prediction("ß", "v1", 0.9)])
    assert t["data"] == {"c0": "(missing)", "c1": "1.5", tasks.ROW_ID: "7", tasks.INCLUSION: 0.25,
                         tasks.STRATEGY: "uniform"}
    assert t["predictions"][0]["result"][0]["value"]["choices"] == ["ß"] and t["predictions"][0]["score"] == 0.9


def test_resolve_majority_ties_and_cancellations():
    def ann(user, label=None, cancelled=False):
        result = [] if label is None else [{"from_name": "label", "type": "choices", "value": {"choices": [label]}}]
        return {"completed_by": user, "result": result, "was_cancelled": cancelled,
                "created_at": "2026-01-01T00:00:00Z", "updated_at": f"2026-01-0{user}T00:00:00Z"}
    exported = [
        {"id": 1, "data": {tasks.ROW_ID: "r1", tasks.INCLUSION: 0.5}, "annotations": [ann(1, "a"), ann(2, "b"), ann(3, "a")]},
        {"id": 2, "data": {tasks.ROW_ID: "r2", tasks.INCLUSION: 0.5}, "annotations": [ann(1, "a"), ann(2, "b")]},
        {"id": 3, "data": {tasks.ROW_ID: "r3", tasks.INCLUSION: 0.5}, "annotations": [ann(1, "b", cancelled=True)]},
        {"id": 4, "data": {"other": 1}, "annotations": [ann(1, "a")]},
    ]
    out = resolve(exported)
    assert list(out["row_id"]) == ["r1", "r2"]
    assert out.loc[0, "label"] == "a" and out.loc[0, "agreement"] == pytest.approx(2 / 3)
    assert out.loc[0, "last_annotated_at"] == pd.Timestamp("2026-01-03", tz="UTC")
    assert out.loc[1, "label"] is None and out.loc[1, "agreement"] == 0.5


def test_drift_intensity_is_the_bucket_share_ratio():
    baseline = {"features": [
        {"name": "x", "numerical_statistics": {"distribution": {"kll": {"buckets": [
            {"lower_bound": 0.0, "upper_bound": 1.0, "count": 90}, {"lower_bound": 1.0, "upper_bound": 2.0, "count": 10}]}}}},
        {"name": "k", "string_statistics": {"distribution": {"categorical": {"buckets": [
            {"value": "a", "count": 50}, {"value": "b", "count": 50}]}}}}]}
    violations = {"violations": [{"feature_name": "x", "constraint_check_type": "baseline_drift_check"},
                                 {"feature_name": "k", "constraint_check_type": "categorical_values_check"},
                                 {"feature_name": "y", "constraint_check_type": "completeness_check"}]}
    frame = pd.DataFrame({"x": [0.5, 1.5, 1.5, 3.0, np.nan], "k": ["a", "a", "b", "c", None]})
    weights, used = drift_region.intensity(frame, violations, baseline)
    assert used == ["k", "x"]
    # x bins: under, [0,1), [1,2], over -> partition counts 0,1,2,1 of 4; baseline 0,90,10,0 of 100; +0.5 smoothing
    part = (np.array([0, 1, 2, 1]) + 0.5) / (4 + 2)
    base = (np.array([0, 90, 10, 0]) + 0.5) / (100 + 2)
    rx = np.array([part[1] / base[1], part[2] / base[2], part[2] / base[2], part[3] / base[3], 1.0])
    kp = (np.array([2, 1, 1]) + 0.5) / (4 + 1.5)
    kb = (np.array([50, 50, 0]) + 0.5) / (100 + 1.5)
    rk = np.array([kp[0] / kb[0], kp[0] / kb[0], kp[1] / kb[1], kp[2] / kb[2], 1.0])
    assert np.allclose(weights, np.maximum(rx, rk))
    with pytest.raises(ValueError, match="no drifted feature"):
        drift_region.intensity(frame, {"violations": []}, baseline)


def test_multiclass_document_and_ratio_against_direct_computation():
    rng = np.random.default_rng(0)
    n = 300
    y_pred = rng.choice(["a", "b", "c"], n)
    y_true = np.where(rng.random(n) < 0.7, y_pred, rng.choice(["a", "b", "c"], n))
    pi = rng.uniform(0.05, 0.5, n)
    q = model_quality.compute(y_true, y_pred, pi, 5000, ["a", "b", "c"])
    m = q.document["multiclass_classification_metrics"]
    w = 1 / pi
    assert m["accuracy"]["value"] == pytest.approx(np.sum(w * (y_true == y_pred)) / w.sum())
    f1 = []
    for c in "abc":
        tp = np.sum(w * ((y_true == c) & (y_pred == c)))
        prec, rec = tp / np.sum(w * (y_pred == c)), tp / np.sum(w * (y_true == c))
        f1.append(2 * prec * rec / (prec + rec))
        assert m["per_class"][c]["f1"]["value"] == pytest.approx(f1[-1])
    share = np.array([np.sum(w * (y_true == c)) for c in "abc"]) / w.sum()
    assert m["macro_f1"]["value"] == pytest.approx(np.mean(f1))
    assert m["weighted_f1"]["value"] == pytest.approx(np.sum(share * f1))
    for k in ("weighted_recall", "weighted_precision", "weighted_f0_5", "weighted_f2", "macro_f1"):
        ci = m[k]["confidence_interval"]
        assert ci["lower"] <= m[k]["value"] <= ci["upper"] and m[k]["standard_deviation"] > 0
    # the linearised standard deviation, written out directly
    r = m["accuracy"]["value"]
    e = w * ((y_true == y_pred) - r)
    sd = np.sqrt(n / (n - 1) * np.sum((1 - pi) * e ** 2) / w.sum() ** 2)
    assert m["accuracy"]["standard_deviation"] == pytest.approx(sd)
    assert quality.wilson(0.5, 100)[0] == pytest.approx(0.4038, abs=1e-4)   # textbook Wilson, z = 1.96
