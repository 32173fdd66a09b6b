"""Labeling loop: sample predictions into Label Studio, pull the labels, compute accuracy honestly.

Pure: sampling (designs with known inclusion probabilities), drift_region (intensity toward drift),
config (label config XML), tasks (task JSON), resolve (majority over annotators), quality (weighted
estimates and intervals, McNemar), model_quality (SageMaker's model-quality document and a summary),
regression (mae, mse, rmse, r2 from labels). Model reference and estimates: calibration (isotonic map of
the score), reference (model_reference.json), estimation (model-assisted accuracy), assisted (both
accuracies in the report), label_mix (labeled class mix vs. priors), performance (CBPE without labels),
label_shift (BBSE), loss_model (DLE for regression).
Edges: client (the only module talking to Label Studio), server (start/stop/status of a local server).
"""

from labeling.config import label_config
from labeling.model_quality import Quality, compute, summary
from labeling.quality import Comparison, Estimate, accuracy, mcnemar, ratio
from labeling.resolve import resolve
from labeling.sampling import STRATEGIES, Sample, drift_weighted, low_confidence, stratified, uncertainty, uniform
from labeling.tasks import Prediction, task

__all__ = [
    "STRATEGIES", "Comparison", "Estimate", "Prediction", "Quality", "Sample", "accuracy", "compute",
    "drift_weighted", "label_config", "low_confidence", "mcnemar", "ratio", "resolve", "stratified", "summary",
    "task", "uncertainty", "uniform",
]
