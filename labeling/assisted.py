"""The model-assisted accuracy beside the Hajek one in model_quality.json, which to use and why.

Both estimates are valid under the sampling design (labeling.quality, labeling.estimation); the recommended
one is the one with the narrower interval. The document also says when the labels contradict the calibrated
scores (the calibration does not hold on this partition: concept drift or label shift; the model-assisted
estimate stays valid, the labels correct it) and when the reference looks like the model's training data
(its accuracy far above what the labels show). With a reference, the labeled class mix (design-weighted,
labeling.label_mix) is compared with the reference's priors.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from labeling.estimation import ModelAssisted
from labeling.model_quality import Quality, _metric
from labeling.reference import ModelReference

MODEL_ASSISTED, HAJEK = "model_assisted", "hajek"
TRAINING_DATA_MARGIN = 0.02


def _width(e) -> float:
    return float(e.upper - e.lower)


def recommendation(q: Quality, ma: ModelAssisted | None, unavailable: str | None = None) -> tuple[str, str]:
    """(estimator, reason)."""
    if ma is None or not np.isfinite(ma.estimate.standard_deviation):
        return HAJEK, unavailable or "the model-assisted estimate needs at least two labeled rows"
    wh, wm = _width(q.accuracy), _width(ma.estimate)
    if wm < wh:
        gain = 1 - wm / wh if wh > 0 else 0.0
        return MODEL_ASSISTED, (f"its interval is {gain:.0%} narrower: it uses every row's calibrated score, and the "
                                f"labels only correct the calibrated expectation, so it stays unbiased under the "
                                f"sampling design whatever the calibration")
    return HAJEK, ("the calibrated scores do not narrow the interval on this partition (both estimates are valid; "
                   "the Hajek one rests on the labels alone)")


def training_data_warning(q: Quality, reference: ModelReference | None) -> str | None:
    """The reference accuracy far above the labeled one: the reference may be the model's training data."""
    if reference is None or "accuracy" not in reference.metrics:
        return None
    ref = reference.metrics["accuracy"]["value"]
    if ref is None or not np.isfinite(q.accuracy.upper) or ref <= q.accuracy.upper + TRAINING_DATA_MARGIN:
        return None
    return (f"the baseline's reference accuracy {ref:.1%} is far above the labeled accuracy (interval "
            f"{q.accuracy.lower:.1%} to {q.accuracy.upper:.1%}): if the reference is the model's training data, its "
            f"calibration is over-confident; rebuild the baseline with --reference on held-out rows")


def annotate(q: Quality, ma: ModelAssisted | None, reference: ModelReference | None,
             unavailable: str | None = None, y_true=None, pi=None) -> tuple[Quality, str]:
    """A Quality whose document carries both estimates and the recommendation; and summary lines."""
    doc: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in q.document.items()}
    key = next(k for k in doc if k.endswith("_metrics"))
    meta = dict(doc["dqloop"])
    choice, reason = recommendation(q, ma, unavailable)
    lines = []
    pct = lambda x: "n/a" if x is None or not np.isfinite(x) else f"{x:.1%}"  # noqa: E731
    if ma is not None:
        doc[key]["accuracy_model_assisted"] = _metric(ma.estimate)
        meta["model_assisted"] = {
            "accuracy": _metric(ma.estimate),
            "expected_accuracy_all_rows": ma.expected_mean,
            "residual_mean": ma.residual_mean if np.isfinite(ma.residual_mean) else None,
            "residual_standard_deviation": ma.residual_sd if np.isfinite(ma.residual_sd) else None,
            "calibration_holds": not ma.calibration_off,
            "estimator": "difference (model-assisted) estimator: mean over all rows of the calibrated expected "
                         "correctness plus the Hajek mean of (actual - expected) over the labeled rows; t interval "
                         "on n - 1 degrees of freedom, Hajek's variance approximation",
        }
        e = ma.estimate
        lines.append(f"model-assisted accuracy {pct(e.value)} (95% interval {pct(e.lower)} to {pct(e.upper)}): "
                     f"calibrated expectation {pct(ma.expected_mean)} over all {q.population} rows, corrected by "
                     f"{ma.residual_mean:+.1%} from the labels")
        if ma.calibration_off:
            note = (f"the labels disagree with the calibrated scores by {ma.residual_mean:+.1%} (beyond 3 standard "
                    f"deviations): the calibration does not hold on this partition (concept drift or label shift?); "
                    f"the model-assisted estimate stays unbiased (the labels correct it), label-free estimates do not")
            meta["model_assisted"]["calibration_note"] = note
            lines.append(f"note: {note}")
    meta["recommended_accuracy_estimator"] = choice
    meta["recommendation_reason"] = reason
    lines.append(f"recommended: {'model-assisted' if choice == MODEL_ASSISTED else 'Hajek (labels only)'} "
                 f"accuracy, because {reason}")
    if reference is not None and y_true is not None and pi is not None:
        from labeling.label_mix import label_mix
        mix = label_mix(y_true, pi, reference.priors)
        meta["label_mix"] = mix
        moved = [c for c, m in mix.items() if m["moved"]]
        if moved:
            lines.append("label shift: the labeled share of " + ", ".join(
                f"{c} is {mix[c]['labeled_share']['value']:.1%} (reference {mix[c]['reference_prior']:.1%})"
                for c in moved) + "; calibration-based (label-free) estimates are biased on this partition")
    warning = training_data_warning(q, reference)
    if warning:
        meta["reference_warning"] = warning
        lines.append(f"warning: {warning}")
    doc["dqloop"] = meta
    return replace(q, document=doc), "\n".join(lines) + "\n"
