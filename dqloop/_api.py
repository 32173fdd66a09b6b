"""dqloop's steps as functions: what `dqloop baseline|validate|label|report` run, callable from a notebook or
a pipeline. Each takes the data (a path or URI, or a DataFrame), typed options (dqloop.options) and
returns a typed result (dqloop.results); the command line is a thin layer over the same job code
(jobs.*.execute). Errors are dqloop's exception tree (dqloop.DqloopError, constraints.errors).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dqloop.options import BaselineOptions, IndexOptions, LabelPushOptions, LabelReportOptions, Table, ValidateOptions
from dqloop.results import BaselineResult, Index, LabelPush, LabelReport, Labels, ValidationRun


def session(app_name: str = "dqloop", master: str | None = None):
    """The active SparkSession, or a new one configured from dqloop's spark-conf/spark-defaults.conf (the
    Deequ jar, the executors' Python); `master` as `--master` (default: spark.master of that file)."""
    from jobs.session import build_session

    return build_session(app_name, master)


def _spark(spark):
    return spark if spark is not None else session()


def _spark_frame(spark, data: Any) -> Any:
    """A path stays a path; a pandas DataFrame becomes a Spark DataFrame."""
    import pandas as pd

    return spark.createDataFrame(data) if isinstance(data, pd.DataFrame) else data


def _source(spark, data: Any) -> dict[str, Any]:
    """The request's fields for the data: a Table by name (--table, --version, --where), else `input`."""
    if isinstance(data, Table):
        return {"input": None, "table": data.name, "version": data.version, "where": data.where}
    return {"input": _spark_frame(spark, data)}


def _pandas(data: Any) -> Any:
    """A path stays a path; a Spark DataFrame is collected to pandas (label steps run on the driver)."""
    from pyspark.sql import DataFrame

    return data.toPandas() if isinstance(data, DataFrame) else data


def _fields(options: Any) -> dict[str, Any]:
    return {name: getattr(options, name) for name in options.__dataclass_fields__}


def baseline(data: Any, options: BaselineOptions = BaselineOptions(), *, output: str | None = None,
             spark: Any = None) -> BaselineResult:
    """Profile a model's training data and suggest its constraint suite (`dqloop baseline`).

    data: a path or URI (Parquet or CSV; file, folder or partitioned table), a Spark or a pandas DataFrame,
    or a `Table` (catalog or Delta; `options.partition` selects its partitions).
    output: folder to write statistics.json, constraints.json, suite.json and pandera_schema.yaml into
    (replaced when complete); None keeps the documents in the result only.
    Returns a BaselineResult (profile, suite, documents; `to_pandas()`: one row per feature), which
    `validate` accepts as its baseline.
    """
    from jobs.baseline import Request, execute

    spark = _spark(spark)
    return execute(spark, Request(**_fields(options), **_source(spark, data), output=output))


def validate(data: Any, baseline: str | BaselineResult | Mapping[str, str],
             options: ValidateOptions = ValidateOptions(), *, output: str | None = None,
             spark: Any = None) -> ValidationRun:
    """Check production data against a baseline (`dqloop validate`).

    data: one partition (path or URI, Spark or pandas DataFrame), a partitioned table's root path or a
    `Table` (catalog or Delta) (then
    `options.partition` selects partitions; default all). baseline: the folder `dqloop baseline` wrote, or
    a BaselineResult. output: where reports go (per partition of a table: OUTPUT/<name=value>/); None
    writes none. The metrics history is `options.metrics_repo` (default OUTPUT/_metrics for a table).
    Returns a ValidationRun: per partition the verdict, checks, violations and statistics, and the exit
    status the command line would return. A partition that cannot be read is a result with an `error`.
    """
    from jobs.validate import Request, execute

    spark = _spark(spark)
    source = baseline.documents if isinstance(baseline, BaselineResult) else baseline
    return execute(spark, Request(**_fields(options), baseline=source, **_source(spark, data), output=output))


def label_push(predictions: Any, project: str, options: LabelPushOptions = LabelPushOptions()) -> LabelPush:
    """Sample a partition's predictions into a Label Studio project (`dqloop label push`); the server and
    token come from LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY. predictions: path, pandas or Spark DataFrame."""
    from jobs.label import PushRequest, push

    return push(PushRequest(**_fields(options), input=_pandas(predictions), project=project))


def label_pull(project: str, *, output: str | None = None) -> Labels:
    """The project's finished labels, one row per task (`dqloop label pull`); written as Parquet to
    `output` when given."""
    from jobs.label import PullRequest, pull

    return pull(PullRequest(project=project, output=output))


def label_report(predictions: Any, labels: Any, options: LabelReportOptions = LabelReportOptions(), *,
                 output: str | None = None) -> LabelReport:
    """Model quality from labels joined to the predictions, each metric with a confidence interval
    (`dqloop label report`). labels: label_pull's result or file, or a ground-truth table (path, pandas or
    Spark DataFrame) keyed by the id column. output: folder for model_quality.json and summary.txt."""
    from jobs.label import ReportRequest, report

    if isinstance(labels, Labels):
        labels = labels.frame
    return report(ReportRequest(**_fields(options), input=_pandas(predictions), labels=_pandas(labels),
                                output=output))


def build_index(output_root: str, options: IndexOptions = IndexOptions()) -> Index:
    """Write OUTPUT_ROOT/index.html over the validated partitions from the metrics history (`dqloop report`)."""
    from jobs.report import Request, execute

    return execute(Request(**_fields(options), output_root=output_root))
