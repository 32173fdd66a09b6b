"""Estimated model quality without labels, per validated partition (when the baseline has model_reference.json).

One small Spark aggregation over the two prediction columns (predicted class, score): per (predicted class,
score bin) the row count, sum and sum of squares of the score (labeling.performance.ScoreBins; bins cut at
the calibration map's thresholds and a 1/1024 grid, assigned by Spark ML's Bucketizer); a multiclass model
only needs its predicted-class counts. From that aggregate, on the driver:

- estimated accuracy, precision, recall, F1 and ROC AUC (binary; labeling.performance), with sampling and
  calibration error, checked against the reference's band (`estimated_performance_check`);
- the partition's class priors by BBSE (labeling.label_shift), checked against the reference priors
  (`label_shift_check`, one result per class).

They join the partition's checks (checks.json, constraint_violations.json when they fail, report.html, the
exit status), `model_quality_estimated.json` (SageMaker's model-quality shape, marked estimated) goes into the
partition's folder, and `<partition>.estimated.json` into the metrics history.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
from py4j.protocol import Py4JJavaError
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from constraints.checks import FAILED, PASSED, SKIPPED, CheckResult
from jobs.history import ESTIMATED, MetricsRepository, ResultKey
from jobs.io import json_text, read_folder

log = logging.getLogger("dqloop.validate")
FILE = "model_reference.json"
DOCUMENT = "model_quality_estimated.json"
PERFORMANCE_CHECK, SHIFT_CHECK = "estimated_performance_check", "label_shift_check"


def load_reference(baseline_folder: "str | Mapping[str, str]"):
    """The baseline's ModelReference, or None when it has none."""
    from labeling.loss_model import TASK, LossModel
    from labeling.reference import ModelReference

    texts = baseline_folder if isinstance(baseline_folder, Mapping) else read_folder(baseline_folder, (FILE,))
    text = texts.get(FILE)
    if text is None:
        return None
    from constraints.baseline import BaselineError
    try:
        doc = json.loads(text)
        return LossModel.from_dict(doc) if doc.get("task") == TASK else ModelReference.from_dict(doc)
    except (ValueError, KeyError, TypeError) as exc:
        raise BaselineError(f"Baseline file {FILE} is not valid: {exc}.",
                            "rebuild the baseline with `dqloop baseline --target ... --reference ...`") from None


def aggregate(df: DataFrame, reference) -> tuple[dict[str, int], Any]:
    """(predicted-class counts, ScoreBins or None): one native Spark aggregation over the two prediction columns,
    grouped by predicted class and score bin (a few thousand groups; partial aggregation before the shuffle)."""
    from labeling.calibration import BINARY
    from labeling.performance import GRID, ScoreBins, bin_edges

    pred = F.col(reference.prediction_column).cast("string").alias("p")
    if reference.calibration.kind != BINARY:
        rows = df.where(F.col(reference.prediction_column).isNotNull()).groupBy(pred).count().collect()
        return {r["p"]: int(r["count"]) for r in rows}, None
    edges = bin_edges(reference.calibration)
    s = F.col(reference.score_column).cast("double")
    b = F.least(F.greatest(F.floor(s * GRID) + 1, F.lit(0)), F.lit(GRID + 1)).cast("int")   # = searchsorted right
    rows = df.where(F.col(reference.prediction_column).isNotNull() & s.isNotNull() & ~F.isnan(s)) \
        .groupBy(pred, b.alias("b")).agg(F.count(F.lit(1)).alias("n"), F.sum(s).alias("s1"),
                                         F.sum(s * s).alias("s2")).collect()
    known = tuple(reference.classes)
    shape = (len(known), len(edges) + 1)
    count, s1, s2 = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    counts: dict[str, int] = {}
    k = {c: i for i, c in enumerate(known)}
    for r in rows:
        counts[r["p"]] = counts.get(r["p"], 0) + int(r["n"])
        if r["p"] in k:
            i, j = k[r["p"]], int(r["b"])
            count[i, j], s1[i, j], s2[i, j] = r["n"], r["s1"], r["s2"]
    return counts, ScoreBins(edges, known, count, s1, s2)


def _metric(e) -> dict[str, Any]:
    f = lambda x: float(x) if x is not None and np.isfinite(x) else None  # noqa: E731
    return {"value": f(e.value), "standard_deviation": f(e.standard_deviation),
            "confidence_interval": {"lower": f(e.lower), "upper": f(e.upper), "level": e.level}}


def _performance(reference, bins, rows_total: int) -> tuple[list[CheckResult], dict[str, Any], list[dict]]:
    from labeling.performance import METRICS, Band, estimate

    est = estimate(bins, reference.calibration, maps=reference.map_replicates)
    band = Band()
    checks, metrics = [], []
    for m in METRICS:
        e = est.metrics[m]
        ref = reference.metrics.get(m) or {}
        metrics += [{"feature": "*", "metric": f"estimated_{m}", "value": e.value},
                    {"feature": "*", "metric": f"estimated_{m}_lower", "value": e.lower},
                    {"feature": "*", "metric": f"estimated_{m}_upper", "value": e.upper}]
        if not np.isfinite(e.value) or ref.get("value") is None or ref.get("standard_deviation") is None:
            checks.append(CheckResult(PERFORMANCE_CHECK, m, SKIPPED, None, None,
                                      f"Estimated {m} is not available for this partition or the reference."))
            continue
        low, sd = band.threshold(ref["value"], ref["standard_deviation"], reference.rows, est.rows, len(METRICS))
        bad = e.value < low
        details = {"estimated": True, "method": "CBPE (calibrated scores)", "reference_value": ref["value"],
                   "reference_rows": reference.rows, "rows": est.rows, "standard_deviation": e.standard_deviation,
                   "calibration_standard_deviation": est.calibration_sd[m], "no_change_standard_deviation": sd,
                   "confidence_interval": [e.lower, e.upper], "min_effect": band.min_effect, "alpha": band.alpha}
        text = (f"Estimated {m} (no labels) is {e.value:.4g} (95% interval {e.lower:.4g} to {e.upper:.4g}); the "
                f"reference's is {ref['value']:.4g}, an alarm below {low:.4g}.")
        if bad:
            text += " The model is probably doing worse on this partition: label a sample (`dqloop label push`)."
        checks.append(CheckResult(PERFORMANCE_CHECK, m, FAILED if bad else PASSED, e.value, low, text, details=details))
    block = {"accuracy": _metric(est.metrics["accuracy"]), "precision": _metric(est.metrics["precision"]),
             "recall": _metric(est.metrics["recall"]), "f1": _metric(est.metrics["f1"]),
             "auc": _metric(est.metrics["auc"]), "confusion_matrix": est.confusion,
             "positive_label": reference.positive}
    if rows_total > est.rows:
        block["rows_without_score"] = rows_total - est.rows
    return checks, block, metrics


def _label_shift(reference, counts: dict[str, int]) -> tuple[list[CheckResult], dict[str, Any], list[dict]]:
    from labeling.label_shift import bbse

    classes = list(reference.classes)
    conf = np.array([[reference.confusion[t][p] for p in classes] for t in classes], dtype=float)
    pred = np.array([counts.get(c, 0) for c in classes], dtype=float)
    unknown = {c: n for c, n in counts.items() if c not in classes}
    if pred.sum() == 0:
        return [CheckResult(SHIFT_CHECK, None, SKIPPED, None, None, "No predicted class of the reference occurs.")], {}, []
    shift = bbse(conf, pred, classes)
    checks, metrics, priors = [], [], {}
    for i, c in enumerate(classes):
        q, p = float(shift.estimate[i]), float(shift.reference[i])
        priors[c] = {"value": q, "confidence_interval": {"lower": float(shift.lower[i]), "upper": float(shift.upper[i]),
                                                         "level": shift.level}, "reference": p}
        metrics.append({"feature": c, "metric": "estimated_prior", "value": q})
        moved = bool(shift.moved[i])
        text = (f"Estimated share of true class {c!r} (no labels, BBSE) is {q:.3f} (95% interval "
                f"{shift.lower[i]:.3f} to {shift.upper[i]:.3f}); the reference's is {p:.3f}.")
        if moved:
            text += (" The class mix has moved (label shift): calibration-based estimates are biased; label a "
                     "sample to measure the model.")
        checks.append(CheckResult(SHIFT_CHECK, c, FAILED if moved else PASSED, q, p, text, details={
            "estimated": True, "method": "BBSE", "difference_interval": [float(shift.diff_lower[i]),
                                                                           float(shift.diff_upper[i])],
            "confusion_condition_number": shift.condition}))
    block = {"estimated_class_priors": priors, "method": "black-box shift estimation (Lipton et al. 2018), "
             "parametric bootstrap interval", "predicted_counts": {c: int(counts.get(c, 0)) for c in classes}}
    if unknown:
        block["predicted_classes_not_in_reference"] = unknown
    return checks, block, metrics


def attach(reference, df, outcome):
    """(outcome with the estimated checks, extra files for the partition's folder, metric rows); `df` is the
    partition as validate read it (not read again)."""
    if reference is None or df is None or outcome.report is None or not outcome.report.rows:
        return outcome, {}, []
    report = outcome.report
    if reference.task == "regression":
        return _regression(df, reference, outcome)
    missing = [c for c in [reference.prediction_column, *reference.score_columns] if c not in df.columns]
    if missing:
        skip = CheckResult(PERFORMANCE_CHECK, None, SKIPPED, None, None,
                           f"Estimated quality needs column(s) {', '.join(missing)}, absent from the partition.")
        return replace(outcome, report=replace(report, results=report.results + (skip,))), {}, []
    try:
        counts, bins = aggregate(df, reference)
        checks, metrics = [], []
        block: dict[str, Any] = {}
        if bins is not None and bins.rows:
            checks, block, metrics = _performance(reference, bins, report.rows)
        shift_checks, shift_block, shift_metrics = _label_shift(reference, counts)
    except (Py4JJavaError, ValueError, np.linalg.LinAlgError) as exc:   # a value in the report, not a crash
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        skip = CheckResult(PERFORMANCE_CHECK, None, SKIPPED, None, None,
                           f"Estimated quality could not be computed: {type(exc).__name__}: {first}")
        return replace(outcome, report=replace(report, results=report.results + (skip,))), {}, []
    key = reference.task + "_metrics"
    doc = {key: block, "dqloop": {"estimated": True, "labels_used": 0, "partition_rows": report.rows,
                                  "method": "confidence-based performance estimation from the baseline's calibration "
                                            "map (valid under covariate shift, not under concept drift or label "
                                            "shift)" if block else "label shift only (multiclass)",
                                  "label_shift": shift_block, "reference_rows": reference.rows}}
    results = report.results + tuple(checks) + tuple(shift_checks)
    return (replace(outcome, report=replace(report, results=results)), {DOCUMENT: json_text(doc)},
            metrics + shift_metrics)


def _loss_partition(batches, model):
    """Python worker: the partition's LossSums as one row."""
    import pyarrow as pa

    from labeling.loss_model import LossSums, sums

    total = LossSums()
    for batch in batches:
        total = total + sums(batch.to_pandas(), model)
    yield pa.RecordBatch.from_pydict({k: [float(getattr(total, k))] for k in ("n", "a", "s", "a2", "s2")})


def _regression(df: DataFrame, model, outcome):
    """Estimated MAE, MSE, RMSE (direct loss estimation) and their checks against the reference's band."""
    from functools import partial

    from labeling.loss_model import LossSums, estimate
    from labeling.performance import Band

    report = outcome.report
    missing = [c for c in model.features if c not in df.columns]
    if missing:
        skip = CheckResult(PERFORMANCE_CHECK, None, SKIPPED, None, None,
                           f"Estimated quality needs column(s) {', '.join(missing)}, absent from the partition.")
        return replace(outcome, report=replace(report, results=report.results + (skip,))), {}, []
    lanes = df.select(*[F.col(c).cast("double") for c in model.features])
    try:
        rows = lanes.mapInArrow(partial(_loss_partition, model=model),
                                "n double, a double, s double, a2 double, s2 double").collect()
    except Py4JJavaError as exc:
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        skip = CheckResult(PERFORMANCE_CHECK, None, SKIPPED, None, None, f"Estimated quality failed: {first}")
        return replace(outcome, report=replace(report, results=report.results + (skip,))), {}, []
    total = LossSums()
    for r in rows:
        total = total + LossSums(r["n"], r["a"], r["s"], r["a2"], r["s2"])
    est = estimate(total)
    band = Band()
    checks, metrics = [], []
    for m in ("mae", "rmse"):
        e, ref = est[m], model.metrics.get(m) or {}
        metrics += [{"feature": "*", "metric": f"estimated_{m}{sfx}", "value": getattr(e, attr)}
                    for sfx, attr in (("", "value"), ("_lower", "lower"), ("_upper", "upper"))]
        if not np.isfinite(e.value) or ref.get("value") is None:
            checks.append(CheckResult(PERFORMANCE_CHECK, m, SKIPPED, None, None, f"Estimated {m} is not available."))
            continue
        # larger is worse: the band mirrored (ref + (ref - low)), minimum effect 1% of the reference's value
        low, sd = Band(band.alpha, 0.01 * ref["value"]).threshold(ref["value"], ref["standard_deviation"], model.rows,
                                                                  int(total.n), 2)
        high = 2 * ref["value"] - low
        bad = e.value > high
        text = (f"Estimated {m} (no labels) is {e.value:.4g} (95% interval {e.lower:.4g} to {e.upper:.4g}); the "
                f"reference's is {ref['value']:.4g}, an alarm above {high:.4g}.")
        if bad:
            text += " The model's errors are probably larger on this partition: label a sample (`dqloop label push`)."
        checks.append(CheckResult(PERFORMANCE_CHECK, m, FAILED if bad else PASSED, e.value, high, text, details={
            "estimated": True, "method": "direct loss estimation (LightGBM)", "reference_value": ref["value"],
            "reference_rows": model.rows, "rows": int(total.n), "standard_deviation": e.standard_deviation,
            "no_change_standard_deviation": sd, "confidence_interval": [e.lower, e.upper]}))
    doc = {"regression_metrics": {m: _metric(est[m]) for m in ("mae", "mse", "rmse")},
           "dqloop": {"estimated": True, "labels_used": 0, "partition_rows": report.rows, "rows_estimated": int(total.n),
                      "method": "direct loss estimation: LightGBM models of |error| and error^2 from the baseline's "
                                "reference (valid under covariate shift, not under concept drift)",
                      "reference_rows": model.rows}}
    return (replace(outcome, report=replace(report, results=report.results + tuple(checks))),
            {DOCUMENT: json_text(doc)}, metrics)


def record(repo: str, partition: str, run_time: str, metrics: list[dict]) -> tuple[str, list[dict]] | None:
    """`<repo>/<partition>.estimated.json` in the metrics-history format (read by jobs.history); returns the
    file's name and rows (for the run's history index), None when there is nothing to record."""
    if not metrics:
        return None
    rows = [m for m in metrics if m["value"] is not None and np.isfinite(m["value"])]
    return MetricsRepository(repo).save(ResultKey(partition, ESTIMATED), rows, run_time)
