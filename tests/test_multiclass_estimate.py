"""Multiclass CBPE (labeling.multiclass) against scikit-learn on small data: the point estimates are the metrics
of the expected confusion matrix, i.e. scikit-learn's metrics over every row repeated once per class with the
calibrated probability as sample weight; the standard deviations are those of the realized metrics when the labels
are drawn from the calibrated probabilities (Monte Carlo)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from labeling import calibration, multiclass

CLASSES = ["a", "b", "c", "d"]


def _model(n: int, seed: int):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, (n, 4)) + np.array([0.4, 0.0, -0.2, -0.6])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(4, p=row) for row in p])
    raw = p ** 0.7 / (p ** 0.7).sum(axis=1, keepdims=True)     # under-confident, right order
    return raw, y


def _calibrated():
    raw, y = _model(20_000, 0)
    return calibration.fit(raw, np.array(CLASSES)[y], CLASSES)


def test_point_estimates_equal_sklearn_on_weighted_rows():
    cal = _calibrated()
    raw, _ = _model(300, 1)
    pred = raw.argmax(axis=1)
    est = multiclass.estimate(multiclass.sums(raw, pred, cal))
    c = cal.probabilities(raw)
    n, k = c.shape
    y_rep = np.tile(np.arange(k), n)              # row i repeated with labels 0..K-1
    p_rep = np.repeat(pred, k)
    w = c.reshape(-1)
    m = est.metrics
    assert m["accuracy"].value == pytest.approx(skm.accuracy_score(y_rep, p_rep, sample_weight=w), abs=1e-12)
    for name, fn in (("macro_precision", skm.precision_score), ("macro_recall", skm.recall_score),
                     ("macro_f1", skm.f1_score)):
        assert m[name].value == pytest.approx(fn(y_rep, p_rep, average="macro", sample_weight=w,
                                                 labels=range(k), zero_division=0.0), abs=1e-12), name
    auc = skm.roc_auc_score(y_rep, np.repeat(raw, k, axis=0), multi_class="ovr", average="macro", sample_weight=w)
    assert m["macro_auc"].value == pytest.approx(auc, abs=2e-3)   # rows sharing a 1/8192 bin count as ties
    conf = skm.confusion_matrix(y_rep, p_rep, sample_weight=w, labels=range(k))
    assert np.allclose([[est.confusion[t][p] for p in CLASSES] for t in CLASSES], conf, atol=1e-9)


def test_standard_deviations_match_labels_drawn_from_the_probabilities():
    cal = _calibrated()
    raw, _ = _model(1500, 2)
    pred = raw.argmax(axis=1)
    est = multiclass.estimate(multiclass.sums(raw, pred, cal))
    c = cal.probabilities(raw)
    rng = np.random.default_rng(4)
    cum = c.cumsum(axis=1)
    draws = {m: [] for m in multiclass.METRICS}
    for _ in range(600):
        y = (rng.random((len(c), 1)) > cum).sum(axis=1).clip(0, 3)
        draws["accuracy"].append(skm.accuracy_score(y, pred))
        for name, fn in (("macro_precision", skm.precision_score), ("macro_recall", skm.recall_score),
                         ("macro_f1", skm.f1_score)):
            draws[name].append(fn(y, pred, average="macro", labels=range(4), zero_division=0.0))
        draws["macro_auc"].append(skm.roc_auc_score(y, raw, multi_class="ovr", average="macro"))
    for m in multiclass.METRICS:
        realized = np.asarray(draws[m])
        assert est.metrics[m].standard_deviation == pytest.approx(realized.std(ddof=1), rel=0.15), m
        assert abs(realized.mean() - est.metrics[m].value) < 3 * realized.std(ddof=1) / np.sqrt(600) + 2e-3, m


def test_sums_merge_and_skip_unpredicted_classes():
    cal = _calibrated()
    raw, _ = _model(400, 5)
    pred = np.zeros(400, dtype=int)          # only class a predicted: other classes' precision counts 0
    whole = multiclass.sums(raw, pred, cal)
    halves = multiclass.sums(raw[:150], pred[:150], cal) + multiclass.sums(raw[150:], pred[150:], cal)
    assert np.allclose(whole.s2, halves.s2) and np.allclose(whole.auc_pos, halves.auc_pos)
    est = multiclass.estimate(whole)
    c = cal.probabilities(raw)
    assert est.metrics["macro_precision"].value == pytest.approx(c[:, 0].mean() / 4)
    assert est.rows == 400
