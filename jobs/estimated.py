"""Estimated model quality without labels, per validated partition (when the baseline has model_reference.json).

The model's outputs are tallied inside validate's own pass (`lanes`: one extra struct lane of constraints.scan,
folded by labeling.lanes on the Python workers; no extra Spark job): rows per predicted class, and for a binary
model per (predicted class, 1/8192 score bin) the rows, sum and sum of squares of the score
(labeling.performance.ScoreBins), for a multiclass model the calibrated class probabilities' sums
(labeling.multiclass.ClassSums), for a regression model the loss models' sums (labeling.loss_model.LossSums).
From that tally, on the driver:

- estimated accuracy, precision, recall, F1 and ROC AUC (binary; labeling.performance) or accuracy and macro
  precision, recall, F1 and one-vs-rest ROC AUC (multiclass; labeling.multiclass), with sampling error (and the
  calibration map's, binary), checked against the reference's band (`estimated_performance_check`);
- the partition's class priors by BBSE (labeling.label_shift), checked against the reference priors
  (`label_shift_check`, one result per class);
- a regression model's MAE, MSE and RMSE (direct loss estimation), with the share of rows beyond the reference's
  range: past a limit the estimate is not trusted (`estimated_performance_check` fails as out of range).

They join the partition's checks (checks.json, constraint_violations.json when they fail, report.html, the
exit status), `model_quality_estimated.json` (SageMaker's model-quality shape, marked estimated) goes into the
partition's folder, and `<partition>.estimated.json` into the metrics history (and metrics.prom).
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
from constraints.frames import Frame
from jobs.history import ESTIMATED, MetricsRepository, ResultKey
from jobs.io import json_text, read_folder

log = logging.getLogger("dqloop.validate")
FILE = "model_reference.json"
DOCUMENT = "model_quality_estimated.json"
PERFORMANCE_CHECK, SHIFT_CHECK = "estimated_performance_check", "label_shift_check"
LANE = "model_outputs"    # the extra lane's name in validate's pass


def load_reference(baseline_folder: "str | Mapping[str, str]"):
    """The baseline's ModelReference (or LossModel, regression), or None when it has none."""
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


def _needed(reference) -> list[str]:
    if reference.task == "regression":
        return list(reference.features)
    return [reference.prediction_column, *reference.score_columns]


def lanes(reference, df: DataFrame | Frame | None) -> dict[str, tuple[Any, Any]]:
    """{LANE: (expression over `df`'s DataFrame, lane)} for validate's pass; {} without a reference or its
    columns."""
    from labeling.lanes import Losses, ModelOutputs

    if reference is None or df is None or any(c not in df.columns for c in _needed(reference)):
        return {}
    q = lambda c: F.col(f"`{c.replace('`', '``')}`")  # noqa: E731
    if reference.task == "regression":
        cats = set(reference.categories)
        return {LANE: (F.struct(*[(q(c).cast("string") if c in cats else q(c).cast("double")).alias(f"f{i}")
                                  for i, c in enumerate(reference.features)]), Losses(reference))}
    pred = q(reference.prediction_column).cast("string")
    code = F.when(pred.isNull(), F.lit(None))   # the class's position among the reference's, -1 for another
    for i, c in enumerate(reference.classes):
        code = code.when(pred == c, F.lit(i))
    expr = F.struct(code.otherwise(F.lit(-1)).cast("int").alias("p"),
                    *[q(c).cast("double").alias(f"s{i}") for i, c in enumerate(reference.score_columns)])
    return {LANE: (expr, ModelOutputs(reference.calibration))}


def _tally(reference, data: Frame, report):
    """The lane's tally from validate's pass, or (a caller that validated without it) from a pass of its own."""
    if LANE in report.lanes:
        return report.lanes[LANE]
    from constraints.scan import run_pass

    (expr, lane), = lanes(reference, data).values()
    _, tallies = run_pass(data.df.select(expr.alias(LANE)), {LANE: lane}, "estimated quality's pass")
    return tallies.get(LANE)


def _metric(e) -> dict[str, Any]:
    f = lambda x: float(x) if x is not None and np.isfinite(x) else None  # noqa: E731
    return {"value": f(e.value), "standard_deviation": f(e.standard_deviation),
            "confidence_interval": {"lower": f(e.lower), "upper": f(e.upper), "level": e.level}}


def _performance(reference, tally, lane, rows_total: int) -> tuple[list[CheckResult], dict[str, Any], list[dict]]:
    """The CBPE estimates and their checks: binary (labeling.performance) or multiclass (labeling.multiclass)."""
    from labeling import multiclass, performance

    if lane.binary:
        est = performance.estimate(lane.score_bins(tally), reference.calibration, maps=reference.map_replicates)
        names, cal_sd = performance.METRICS, est.calibration_sd
    else:
        est = multiclass.estimate(tally.stat)
        names, cal_sd = multiclass.METRICS, {}
    if est.rows == 0:
        return [], {}, []
    band = performance.Band()
    checks, metrics = [], []
    for m in names:
        e = est.metrics[m]
        ref = reference.metrics.get(m) or {}
        metrics += [{"feature": "*", "metric": f"estimated_{m}", "value": e.value},
                    {"feature": "*", "metric": f"estimated_{m}_lower", "value": e.lower},
                    {"feature": "*", "metric": f"estimated_{m}_upper", "value": e.upper}]
        if not np.isfinite(e.value) or ref.get("value") is None or ref.get("standard_deviation") is None:
            checks.append(CheckResult(PERFORMANCE_CHECK, m, SKIPPED, None, None,
                                      f"Estimated {m} is not available for this partition or the reference."))
            continue
        low, sd = band.threshold(ref["value"], ref["standard_deviation"], reference.rows, est.rows, len(names))
        bad = e.value < low
        details = {"estimated": True, "method": "CBPE (calibrated scores)", "reference_value": ref["value"],
                   "reference_rows": reference.rows, "rows": est.rows, "standard_deviation": e.standard_deviation,
                   "calibration_standard_deviation": cal_sd.get(m), "no_change_standard_deviation": sd,
                   "confidence_interval": [e.lower, e.upper], "min_effect": band.min_effect, "alpha": band.alpha}
        text = (f"Estimated {m.replace('_', ' ')} (no labels) is {e.value:.4g} (95% interval {e.lower:.4g} to "
                f"{e.upper:.4g}); the reference's is {ref['value']:.4g}, an alarm below {low:.4g}.")
        if bad:
            text += " The model is probably doing worse on this partition: label a sample (`dqloop label push`)."
        checks.append(CheckResult(PERFORMANCE_CHECK, m, FAILED if bad else PASSED, e.value, low, text, details=details))
    block: dict[str, Any] = {m: _metric(est.metrics[m]) for m in names}
    block["confusion_matrix"] = est.confusion
    if lane.binary:
        block["positive_label"] = reference.positive
    else:
        block["per_class"] = est.per_class
        block["macro_auc"]["method"] = "one-vs-rest (scikit-learn's multi_class=\"ovr\", average=\"macro\")"
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


def _skipped(outcome, text: str):
    report = outcome.report
    skip = CheckResult(PERFORMANCE_CHECK, None, SKIPPED, None, None, text)
    return replace(outcome, report=replace(report, results=report.results + (skip,))), {}, []


def attach(reference, data, outcome):
    """(outcome with the estimated checks, extra files for the partition's folder, metric rows); `data` is the
    partition as validate read it (a constraints.frames.Frame). The model's outputs were tallied in validate's
    pass (`lanes`); without that tally (a caller that validated without the lanes) they are tallied here in a
    pass of their own."""
    if reference is None or data is None or outcome.report is None or not outcome.report.rows:
        return outcome, {}, []
    report = outcome.report
    missing = [c for c in _needed(reference) if c not in data.columns]
    if missing:
        return _skipped(outcome, f"Estimated quality needs column(s) {', '.join(missing)}, absent from the partition.")
    try:
        tally = _tally(reference, data, report)
        if reference.task == "regression":
            return _regression(reference, tally, outcome)
        lane = lanes(reference, data)[LANE][1]
        checks, block, metrics = [], {}, []
        if tally is not None:
            checks, block, metrics = _performance(reference, tally, lane, report.rows)
        counts = lane.predicted_counts(tally) if tally is not None else {}
        shift_checks, shift_block, shift_metrics = _label_shift(reference, counts)
    except (Py4JJavaError, ValueError, np.linalg.LinAlgError) as exc:   # a value in the report, not a crash
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        return _skipped(outcome, f"Estimated quality could not be computed: {type(exc).__name__}: {first}")
    key = reference.task + "_metrics"
    doc = {key: block, "dqloop": {"estimated": True, "labels_used": 0, "partition_rows": report.rows,
                                  "method": "confidence-based performance estimation from the baseline's calibration "
                                            "map (valid under covariate shift, not under concept drift or label "
                                            "shift)", "label_shift": shift_block, "reference_rows": reference.rows}}
    results = report.results + tuple(checks) + tuple(shift_checks)
    return (replace(outcome, report=replace(report, results=results)), {DOCUMENT: json_text(doc)},
            metrics + shift_metrics)


def _regression(model, total, outcome):
    """Estimated MAE, MSE, RMSE (direct loss estimation) and their checks against the reference's band; past
    the share of rows beyond the reference's range the model may hold (`LossModel.support`), the estimate is
    reported but not trusted: the check fails as out of range."""
    from labeling.loss_model import LossSums, estimate
    from labeling.performance import Band

    report = outcome.report
    total = total if total is not None else LossSums()
    est = estimate(total)
    band = Band()
    checks, metrics = [], []
    outside = total.outside / total.n if total.n else 0.0
    beyond = model.support is not None and total.n > 0 and model.support.beyond(total.outside, total.n)
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
        bad = e.value > high or beyond
        text = (f"Estimated {m} (no labels) is {e.value:.4g} (95% interval {e.lower:.4g} to {e.upper:.4g}); the "
                f"reference's is {ref['value']:.4g}, an alarm above {high:.4g}.")
        if beyond:
            text += (f" But {outside:.1%} of the rows lie beyond the reference's range of the loss model's inputs "
                     f"(at most {model.support.limit:.0%} expected): there the estimate extrapolates and its "
                     "interval does not hold. Label a sample of this partition (`dqloop label push`), or rebuild "
                     "the reference with rows like these.")
        elif bad:
            text += " The model's errors are probably larger on this partition: label a sample (`dqloop label push`)."
        checks.append(CheckResult(PERFORMANCE_CHECK, m, FAILED if bad else PASSED, e.value, high, text, details={
            "estimated": True, "method": "direct loss estimation (LightGBM)", "reference_value": ref["value"],
            "reference_rows": model.rows, "rows": int(total.n), "standard_deviation": e.standard_deviation,
            "no_change_standard_deviation": sd, "confidence_interval": [e.lower, e.upper],
            "rows_beyond_reference": int(total.outside), "beyond_reference": bool(beyond)}))
    metrics.append({"feature": "*", "metric": "estimated_rows_beyond_reference_share", "value": outside})
    doc = {"regression_metrics": {m: _metric(est[m]) for m in ("mae", "mse", "rmse")},
           "dqloop": {"estimated": True, "labels_used": 0, "partition_rows": report.rows, "rows_estimated": int(total.n),
                      "method": "direct loss estimation: LightGBM models of |error| and error^2 from the baseline's "
                                "reference (valid under covariate shift inside the reference's range, not under "
                                "concept drift)",
                      "rows_beyond_reference": int(total.outside), "beyond_reference": bool(beyond),
                      "trusted": not beyond, "reference_rows": model.rows}}
    return (replace(outcome, report=replace(report, results=report.results + tuple(checks))),
            {DOCUMENT: json_text(doc)}, metrics)


def record(repo: str, partition: str, run_time: str, metrics: list[dict]) -> tuple[str, list[dict]] | None:
    """`<repo>/<partition>.estimated.json` in the metrics-history format (read by jobs.history); returns the
    file's name and rows (for the run's history index), None when there is nothing to record."""
    if not metrics:
        return None
    rows = [m for m in metrics if m["value"] is not None and np.isfinite(m["value"])]
    return MetricsRepository(repo).save(ResultKey(partition, ESTIMATED), rows, run_time)
