"""Typed options of dqloop's steps: frozen dataclasses with defaults, one per step.

Every option is named as its command-line flag (`--holdout-fraction` is `holdout_fraction`), so the
`dqloop --help` texts describe the API too, and the command line turns its parsed arguments into these
records (`from_args`) before it calls the same code the API calls. Pure values: no Spark is imported.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields
from typing import Any, Sequence

from constraints.anomaly import HistoryOptions
from constraints.thresholds import Thresholds


class _Flags:
    """Built from the command line's parsed arguments (`from_args`). A flag the record does not model yet
    (one a later change adds to the parser) is read from those arguments, so a job body that reads
    `args.new_flag` keeps working from the command line; the API sets only the modelled fields."""

    def __getattr__(self, name: str) -> Any:
        cli = self.__dict__.get("cli")
        if name.startswith("__") or cli is None or not hasattr(cli, name):
            raise AttributeError(f"{type(self).__name__} has no option {name!r}")
        return getattr(cli, name)

    @classmethod
    def from_args(cls, args: argparse.Namespace, **values: Any):
        """The record of `args` (argparse's Namespace): every modelled flag's value, lists as tuples."""
        names = {f.name for f in fields(cls)}
        for key, value in vars(args).items():
            if key in names and key not in values:
                values[key] = tuple(value) if isinstance(value, list) else value
        return cls(**values, **({"cli": args} if "cli" in names else {}))


def _names(value: Sequence[str] | str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(v.strip() for v in value.split(",") if v.strip()) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class Table:
    """A catalog table (Hive metastore, a view) or a Delta table (`delta.`/path``) as the data of `baseline`
    and `validate` (`--table NAME [--version N] [--where COND]`): partitions are the table's partition
    columns, chosen by `options.partition` and `where`; `version` reads a Delta table as of that version
    (default: the current one, looked up once). See docs/tables.md."""

    name: str
    version: int | None = None
    """A Delta table's version (time travel); the baseline records it."""
    where: str | None = None
    """A SQL condition on the partition columns, e.g. "dt >= '2026-11-01'"."""


@dataclass(frozen=True, kw_only=True)
class BaselineOptions(_Flags):
    """How `dqloop.baseline` profiles the training data and suggests constraints (`dqloop baseline --help`)."""

    format: str = "auto"
    """Input format of a path: auto, parquet or csv."""
    columns: tuple[str, ...] | None = None
    """Profile only these columns (default: all)."""
    exclude: tuple[str, ...] = ()
    """Columns to leave out."""
    predictions: tuple[str, ...] = ()
    """Model output columns (score, predicted label): profiled like inputs, shown apart."""
    holdout_fraction: float = 0.2
    """Share of rows held out to check the suggested constraints, in [0, 1)."""
    seed: int = 42
    """Seed of the held-out split."""
    max_categories: int = 100
    """A string column with at most this many distinct values is categorical."""
    engine: str = "pass"
    """`pass` (one pass, validate's engine) or `deequ` (Deequ's analyzers; the reference, ~10x slower)."""
    target: str | None = None
    """The true class (or value) column of the reference rows; set it to write model_reference.json."""
    model_task: str = "classification"
    """classification (calibration map) or regression (a LightGBM loss model of the error)."""
    loss_features: tuple[str, ...] | None = None
    """Regression: inputs of the loss model (default: the reference's numeric columns but the target)."""
    reference: Any = None
    """Held-out reference rows (path or DataFrame), NOT the training data (default: the input, with a warning)."""
    reference_format: str = "auto"
    """Format of a reference path."""
    prediction_column: str | None = None
    """Predicted class (default: the non-fractional column of `predictions`)."""
    score_column: str | None = None
    """Binary model: probability of the positive class (default: the fractional column of `predictions`)."""
    probability_columns: tuple[str, ...] = ()
    """Multiclass model: one probability column per class, named <prefix><class>."""
    positive_label: str | None = None
    """Positive class of a binary model (default: 1/true/yes/positive, else the rarer class)."""
    reference_max_rows: int = 1_000_000
    """Reference rows used at most (a random sample beyond)."""

    def __post_init__(self) -> None:
        for name in ("columns", "exclude", "predictions", "loss_features", "probability_columns"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, tuple):
                object.__setattr__(self, name, _names(value))


@dataclass(frozen=True, kw_only=True)
class ValidateOptions(_Flags):
    """How `dqloop.validate` checks partitions against a baseline (`dqloop validate --help`)."""

    format: str = "auto"
    """Input format of a path: auto, parquet or csv."""
    partition: tuple[str, ...] = ()
    """Partitions of a table to validate: `chunk=03`, `chunk=0*`, `chunk=01..05` (default: all)."""
    partition_name: str | None = None
    """The name a single partition is reported and recorded under (default: its folder's name if it is
    `key=value`, else `partition`); give it when validating a DataFrame with a metrics history."""
    metrics_repo: str | None = None
    """Metrics history (folder or URI; default: OUTPUT/_metrics for a table, none for one partition)."""
    warn_only: bool = False
    """Report violations but exit 0 (the command line's status; the result keeps the violations)."""
    prometheus_textfile: str | None = None
    """Also write the run's metrics to this file in Prometheus text format."""
    webhook_url_file: str | None = None
    """File holding the webhook URL for alerts (default: $DQLOOP_WEBHOOK_URL; no alert if neither)."""
    thresholds: Thresholds = Thresholds()
    """Calibrated (default) or SageMaker's fixed thresholds, with their rates (constraints.thresholds)."""
    history: HistoryOptions | None = HistoryOptions()
    """History checks against earlier partitions (constraints.anomaly); None turns them off."""


@dataclass(frozen=True, kw_only=True)
class LabelPushOptions(_Flags):
    """How `dqloop.label_push` samples predictions into Label Studio (`dqloop label push --help`)."""

    format: str = "auto"
    id_column: str = "id"
    """Row id column."""
    prediction_column: str = "predicted_label"
    """Predicted class (or value, task regression)."""
    second_prediction_column: str | None = None
    """A second model's predicted class (champion/challenger)."""
    task: str = "classification"
    """classification or regression."""
    strategy: str = "uniform"
    """uniform, stratified, low-confidence or drift; every one keeps each row's inclusion probability."""
    size: int = 100
    """Rows to sample."""
    seed: int = 0
    """Random seed: same seed, same sample."""
    score_column: str | None = None
    """The model's score for the predicted class (binary: probability of the positive class)."""
    probability_columns: tuple[str, ...] | str | None = None
    """Per-class probability columns, named <prefix><class> or in `classes` order."""
    classes: tuple[str, ...] | str | None = None
    """Class names (default: the predicted labels found)."""
    show: tuple[str, ...] | str | None = None
    """Columns shown to the annotator (default: all others)."""
    model_version: str = "champion"
    second_model_version: str = "challenger"
    violations: str | None = None
    """constraint_violations.json of this partition (strategy drift)."""
    baseline_statistics: str | None = None
    """The baseline's statistics.json (strategy drift)."""
    batch_size: int = 1000
    """Tasks per import request."""


@dataclass(frozen=True, kw_only=True)
class LabelReportOptions(_Flags):
    """How `dqloop.label_report` measures model quality from labels (`dqloop label report --help`)."""

    format: str = "auto"
    id_column: str = "id"
    """Row id column of the predictions (and of a ground-truth file without row_id)."""
    prediction_column: str = "predicted_label"
    second_prediction_column: str | None = None
    task: str = "classification"
    """classification or regression (mae, mse, rmse, r2)."""
    label_column: str = "label"
    """Column of the labels with the true class."""
    positive_label: str | None = None
    """Positive class of a binary model (default: 1/true/yes/positive if present, else the rarer class)."""
    baseline: str | None = None
    """Baseline folder with model_reference.json: adds the model-assisted accuracy."""
    metrics_repo: str | None = None
    """Also record the labeled accuracy in this metrics history (needs `partition`)."""
    partition: str | None = None
    """Partition name for `metrics_repo` (e.g. chunk=03)."""


@dataclass(frozen=True, kw_only=True)
class IndexOptions(_Flags):
    """How `dqloop.build_index` writes the index page over validated partitions (`dqloop report --help`)."""

    metrics_repo: str | None = None
    """Metrics history folder (default: OUTPUT_ROOT/_metrics)."""
    index: str | None = None
    """Where the index goes (default: OUTPUT_ROOT/index.html)."""
    prometheus_textfile: str | None = None
    """Also write every partition's latest metrics in Prometheus text format."""
    title: str = "dqloop: partitions"


__all__ = ["BaselineOptions", "ValidateOptions", "LabelPushOptions", "LabelReportOptions", "IndexOptions"]
