"""dqloop as a library: baseline, validate and label a model's data from a notebook or a pipeline.

    import dqloop
    base = dqloop.baseline("data/train", dqloop.BaselineOptions(predictions=("score",)), output="out/baseline")
    run = dqloop.validate("data/production", base, output="out/validate")
    run.to_pandas()                     # every check; run["chunk=03"].violations; shown as a table in Jupyter
    dqloop.label_report("data/production/chunk=03", "truth.csv", output="out/quality").accuracy

The steps (each the same code the `dqloop` command runs):
    baseline, validate, label_push, label_pull, label_report, build_index, session
Their options (frozen dataclasses named as the flags):
    BaselineOptions, ValidateOptions, Thresholds, HistoryOptions, LabelPushOptions, LabelReportOptions, IndexOptions
Their results (`to_pandas()`, `_repr_html_()`):
    BaselineResult, ValidationRun, PartitionResult, LabelReport, LabelPush, Labels, Index
The metrics history: MetricsRepository, ResultKey.
Errors: DqloopError and its tree (UsageError, BaselineError, SetupError, DataError, InputNotFound,
EmptyInput, UnreadableInput); each message says what to do next, `exit_code` is the command's status.
"""

from __future__ import annotations

from constraints.anomaly import HistoryOptions
from constraints.baseline import BaselineError
from constraints.errors import (DataError, DqloopError, EmptyInput, InputNotFound, SetupError, UnreadableInput,
                                UsageError)
from constraints.thresholds import Thresholds
from dqloop._api import baseline, build_index, label_pull, label_push, label_report, session, validate
from dqloop.options import BaselineOptions, IndexOptions, LabelPushOptions, LabelReportOptions, Table, ValidateOptions
from dqloop.results import BaselineResult, Index, LabelPush, LabelReport, Labels, PartitionResult, ValidationRun
from jobs.history import MetricsRepository, ResultKey

__all__ = [
    "baseline", "validate", "label_push", "label_pull", "label_report", "build_index", "session",
    "BaselineOptions", "ValidateOptions", "Thresholds", "HistoryOptions", "LabelPushOptions", "LabelReportOptions",
    "IndexOptions", "Table",
    "BaselineResult", "ValidationRun", "PartitionResult", "LabelReport", "LabelPush", "Labels", "Index",
    "MetricsRepository", "ResultKey",
    "DqloopError", "UsageError", "BaselineError", "SetupError", "DataError", "InputNotFound", "EmptyInput",
    "UnreadableInput",
]
