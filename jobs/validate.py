"""dqloop validate: check production partitions against a baseline.

    dqloop validate --baseline DIR --input PATH --output DIR [--partition chunk=03 ...]
    dqloop validate --baseline DIR --table NAME [--version N] --output DIR [--partition dt=2026-11-30 ...]
    spark-submit --properties-file spark-conf/spark-defaults.conf jobs/validate.py (same arguments)

PATH is one partition folder (reports go straight into DIR) or a partitioned table root; then the
selected partitions (--partition, repeated: exact `chunk=03`, glob `chunk=0*`, range `chunk=01..05`;
default: all) are validated in turn in one Spark session, each reported under DIR/<name=value>/.
--table reads a catalog table (or a Delta table, at one version) instead, partitioned by its own
partition columns (jobs.tables, docs/tables.md). Each partition's report:
constraint_violations.json and statistics.json (SageMaker's formats), checks.json (every check
with measured value, threshold, status and evidence), report.html (for people) and metrics.prom
(Prometheus text format). Each partition's metrics go to the metrics history (DIR/_metrics for a
table; --metrics-repo to choose), replacing an earlier run of it. --prometheus-textfile FILE also
writes the run's metrics to FILE (node_exporter's textfile collector). With a webhook configured
(DQLOOP_WEBHOOK_URL, or --webhook-url-file), a run with violations POSTs one Slack-compatible alert.

Thresholds are calibrated to the partition's and the baseline's sizes (--thresholds calibrated, the
default: sampling noise at both sizes, a minimum effect, false alarms held across features) or
SageMaker's fixed ones (--thresholds sagemaker). With a metrics history, each partition's metrics
are also checked against those of the partitions before it (in name order; in a backfill, the ones
validated earlier in the same run count): n-sigma rules (--history-sigmas, 3) and a row-count
rate-of-change rule; --history-metrics chooses the metrics, --no-history turns them off. With the
baseline's domain_sample.json, a classifier trained to tell a sample of the partition from the baseline's
checks the features together (domain_classifier_check; --no-domain-classifier turns it off).

Exit status: 0 no violations, 1 violations (0 with --warn-only), 2 usage error (bad arguments,
baseline invalid, a named partition missing), 3 runtime error (a partition unreadable, Spark failure,
or the alert could not be delivered: the reports are written all the same). One summary line per
partition on stdout (only those: scripts parse it); progress and a table of the violations on stderr.
"""

from __future__ import annotations

import argparse
import fnmatch
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script by spark-submit
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession

from constraints.anomaly import DEFAULT_METRICS, DEFAULT_OUTPUT_METRICS, HISTORY_METRICS, HistoryOptions, history_checks
from constraints.baseline import Baseline, load_baseline
from constraints.columns import PREDICTION
from constraints.frames import Frame
from constraints.errors import EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_VIOLATIONS, DqloopError, SetupError, UsageError
from constraints.thresholds import CALIBRATED, SAGEMAKER, Thresholds
from constraints.validation import ValidationReport, validate
from dqloop.options import ValidateOptions
from dqloop.results import PartitionResult, ValidationRun
from jobs import domain_drift, estimated, tables
from jobs.history import HistoryIndex, MetricsRepository, ResultKey, default_repository
from jobs.io import as_table, join, json_text, partition_keys, read_folder, unreadable, write_folder
from jobs.run_summary import RunSummary
from jobs.reporting import Progress, extra_files, labeled_rows, print_violations, samples, send_alert, write_textfile
from jobs.webhook import webhook_from

log = logging.getLogger("dqloop.validate")
BASELINE_FILES = ("statistics.json", "constraints.json", "suite.json", "extended_statistics.json")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--baseline", required=True, metavar="DIR", help="folder written by `dqloop baseline`")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", metavar="PATH", help="a partition folder, or a partitioned table root")
    tables.add_arguments(p, source, with_partition=False)
    p.add_argument("--output", required=True, metavar="DIR", help="where reports go")
    p.add_argument("--partition", action="append", default=[], metavar="SEL",
                   help="partition(s) of a table to validate: chunk=03, chunk=0*, chunk=01..05 (repeatable; "
                        "default: all)")
    p.add_argument("--format", default="auto", choices=["auto", "parquet", "csv"], help="input format")
    p.add_argument("--metrics-repo", metavar="DIR", help="metrics history folder (default: OUTPUT/_metrics for a "
                                                          "table, none for a single partition)")
    p.add_argument("--warn-only", action="store_true", help="report violations but exit 0")
    p.add_argument("--prometheus-textfile", metavar="FILE",
                   help="also write the run's metrics to FILE in Prometheus text format (e.g. dqloop.prom in "
                        "node_exporter's textfile-collector folder)")
    p.add_argument("--webhook-url-file", metavar="FILE",
                   help="file holding the webhook URL for alerts (default: $DQLOOP_WEBHOOK_URL; no alert if neither)")
    t, h = Thresholds(), HistoryOptions()
    g = p.add_argument_group("thresholds")
    g.add_argument("--thresholds", choices=[CALIBRATED, SAGEMAKER], default=CALIBRATED,
                   help="calibrated to the sizes (default) or SageMaker's fixed ones from constraints.json")
    g.add_argument("--family-alpha", type=float, default=t.family_alpha,
                   help=f"false-alarm rate of one check type across a partition's features (default {t.family_alpha})")
    g.add_argument("--min-effect", type=float, default=t.min_effect,
                   help=f"smallest drift distance (KS / L-infinity) worth an alarm (default {t.min_effect})")
    g.add_argument("--min-share-effect", type=float, default=t.min_share_effect,
                   help="smallest rise in the share of missing, mistyped or unseen values worth an alarm "
                        f"(default {t.min_share_effect})")
    g = p.add_argument_group("history checks (need a metrics history)")
    g.add_argument("--no-history", action="store_true", help="do not check metrics against their history")
    g.add_argument("--history-sigmas", type=float, default=h.sigmas, help=f"n of the n-sigma rule (default {h.sigmas:g})")
    g.add_argument("--history-strategy", choices=["online", "batch"], default=h.strategy,
                   help="online: mean and sd of all earlier partitions; batch: of the last --history-window")
    g.add_argument("--history-window", type=int, default=h.window, help=f"batch window (default {h.window})")
    g.add_argument("--history-min", type=int, default=h.min_history,
                   help=f"earlier partitions needed before a rule applies (default {h.min_history})")
    g.add_argument("--history-alpha", type=float, default=h.family_alpha,
                   help=f"false-alarm rate across the series checked in a partition (default {h.family_alpha})")
    g.add_argument("--history-metrics", metavar="LIST", default=",".join(DEFAULT_METRICS),
                   help=f"metrics with rules for every feature, from {','.join(HISTORY_METRICS)} "
                        f"(default {','.join(DEFAULT_METRICS)})")
    g.add_argument("--history-output-metrics", metavar="LIST", default=",".join(DEFAULT_OUTPUT_METRICS),
                   help=f"extra metrics with rules for model outputs (--predictions of the baseline) "
                        f"(default {','.join(DEFAULT_OUTPUT_METRICS)})")
    domain_drift.add_validate_arguments(p)


def _metric_list(text: str) -> tuple[str, ...]:
    return tuple(m.strip() for m in text.split(",") if m.strip())


@dataclass(frozen=True, kw_only=True)
class Request(ValidateOptions):
    """One validate run: the options, the baseline (folder, or its documents {file name: text}), the data
    (partition or table path, or a DataFrame) and the output root (None: nothing written). The job body
    reads it by flag name, as it read argparse's Namespace."""
    baseline: str | Mapping[str, str]
    input: Any
    output: str | None = None
    table: str | None = None                 # --table NAME (dqloop.Table): a catalog or Delta table instead of input
    version: int | None = None
    where: str | None = None
    cli: argparse.Namespace | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_args(cls, args: argparse.Namespace, **values: Any) -> "Request":
        thresholds, history = options_from(args)
        return super().from_args(args, thresholds=thresholds, history=history, **values)


def options_from(args: argparse.Namespace | ValidateOptions) -> tuple[Thresholds, HistoryOptions | None]:
    """Thresholds and history options from the arguments (defaults where a caller's Namespace lacks them)."""
    if isinstance(args, ValidateOptions):
        return args.thresholds, args.history
    t, h = Thresholds(), HistoryOptions()
    try:
        thresholds = Thresholds(getattr(args, "thresholds", t.mode), getattr(args, "family_alpha", t.family_alpha),
                                min_effect=getattr(args, "min_effect", t.min_effect),
                                min_share_effect=getattr(args, "min_share_effect", t.min_share_effect))
        if getattr(args, "no_history", False):
            return thresholds, None
        history = HistoryOptions(
            sigmas=getattr(args, "history_sigmas", h.sigmas), strategy=getattr(args, "history_strategy", h.strategy),
            window=getattr(args, "history_window", h.window), min_history=getattr(args, "history_min", h.min_history),
            family_alpha=getattr(args, "history_alpha", h.family_alpha),
            metrics=_metric_list(getattr(args, "history_metrics", ",".join(h.metrics))),
            output_metrics=_metric_list(getattr(args, "history_output_metrics", ",".join(h.output_metrics))))
    except ValueError as exc:
        raise UsageError(f"Invalid threshold or history option: {exc}.", "see `dqloop validate --help`") from None
    return thresholds, history


def read_baseline(folder: str | Mapping[str, str]) -> Baseline:
    """The baseline in `folder`, or from its documents ({file name: text}, e.g. BaselineResult.documents)."""
    texts = {n: folder[n] for n in BASELINE_FILES if n in folder} if isinstance(folder, Mapping) \
        else read_folder(folder, BASELINE_FILES)
    return load_baseline(texts)


def select(available: list[str], selectors: list[str]) -> tuple[list[str], list[str]]:
    """(selected partitions in table order, selectors that matched nothing)."""
    if not selectors:
        return available, []
    chosen, unmatched = set(), []
    for sel in selectors:
        if ".." in sel and "=" in sel:
            key, _, bounds = sel.rpartition("=")
            lo, _, hi = bounds.partition("..")
            hits = {a for a in available if a.startswith(f"{key}=") and lo <= a.split("=", 1)[1] <= hi}
        else:
            hits = set(fnmatch.filter(available, sel))
        if not hits:
            unmatched.append(sel)
        chosen |= hits
    return [a for a in available if a in chosen], unmatched


@dataclass(frozen=True)
class Outcome:
    partition: str
    report: ValidationReport | None = None
    error: DqloopError | None = None
    data: Frame | None = None   # the partition as read, for steps after validation (estimated quality)


def validate_one(spark: SparkSession, baseline: Baseline, path: str, partition: str, fmt: str,
                 thresholds: Thresholds = Thresholds(), model_reference=None, sample=None) -> Outcome:
    """`sample`: the row sample the pass keeps for the domain classifier (jobs.domain_drift.sample_request)."""
    try:
        table = as_table(spark, path, fmt) if not isinstance(path, tables.TablePartition) else path.read(spark)
        lanes = estimated.lanes(model_reference, table.frame)   # the model's outputs, tallied in the same pass
        return Outcome(partition, validate(spark, table.frame, baseline, partition, thresholds, lanes, sample),
                       data=table.frame)
    except SetupError:
        raise   # the installation, not this partition: no other partition would fare better
    except DqloopError as exc:
        return Outcome(partition, error=exc)
    except Py4JJavaError as exc:
        return Outcome(partition, error=unreadable(path, exc))


def write_report(report: ValidationReport, folder: str, extra: dict[str, str] | None = None) -> None:
    write_folder(folder, {"constraint_violations.json": json_text(report.violations_document()),
                          "statistics.json": json_text(report.statistics_document()),
                          "checks.json": json_text(report.checks_document()), **(extra or {})})


def record_metrics(repo: str, report: ValidationReport, run_time: str) -> None:
    """One file per partition: validating it again replaces its entry."""
    MetricsRepository(repo).save(ResultKey(report.partition), report.metric_rows(), run_time)


def metrics_file(report: ValidationReport) -> str:
    return ResultKey(report.partition).file_name


def with_history(report: ValidationReport, repo: str, baseline: Baseline, options: HistoryOptions,
                 index: HistoryIndex | None = None) -> ValidationReport:
    """The report plus its history checks against the partitions before it in `repo` (in name order).
    Metrics other jobs wrote for this partition (labeled accuracy) are checked too. `index`: the history
    already read (a backfill reads it once and records each partition into it)."""
    index = index if index is not None else MetricsRepository(repo).index()
    history = index.before(report.partition)
    current = {(r["feature"], r["metric"]): float(r["value"]) for r in report.metric_rows()}
    for key, value in index.at(report.partition).items():
        current.setdefault(key, value)
    outputs = frozenset(c.name for c in baseline.suite.columns if c.role == PREDICTION) if baseline.suite else frozenset()
    findings = history_checks(current, history, options, outputs, report.identifiers)
    return replace(report, results=report.results + tuple(findings))


def summary_line(o: Outcome) -> str:
    if o.error is not None:
        return f"{o.partition}  error  {o.error}"   # with its fix on the next line
    r = o.report
    failed: dict[str, set[str]] = {}
    for v in r.violations:   # a table-wide check (row count, domain classifier) names no feature
        failed.setdefault(v.check, set()).update([v.feature] if v.feature else [])
    detail = "; ".join(f"{k}: {', '.join(sorted(names))}" if names else k for k, names in failed.items())
    return f"{o.partition}  rows={r.rows}  {r.verdict}  violations={len(r.violations)}" + (f"  ({detail})" if detail else "")


def _folder_targets(spark: SparkSession, args: Request) -> tuple[list, list[str], str | None]:
    """(path, partition name, output folder) per selected partition of --input (a path or a DataFrame),
    unmatched selectors, the metrics history."""
    keys = partition_keys(spark, args.input) if isinstance(args.input, str) else []
    unmatched: list[str] = []
    if not keys:
        if args.partition:
            raise UsageError(f"--partition was given but {args.input} is not a partitioned table.",
                             "drop --partition to validate the folder as one partition")
        name = Path(args.input.rstrip("/")).name if isinstance(args.input, str) else ""
        targets = [(args.input, args.partition_name or (name if "=" in name else "partition"), args.output)]
        repo = args.metrics_repo
    else:
        chosen, unmatched = select(keys, args.partition)
        for sel in unmatched:
            print(f"{sel}  error  no such partition under {args.input}", flush=True)
        if not chosen:
            raise UsageError(f"No partition of {args.input} matches {args.partition}.",
                             f"choose among: {', '.join(keys[:10])}{' ...' if len(keys) > 10 else ''}")
        targets = [(join(args.input, k), k, args.output and join(args.output, k)) for k in chosen]
        repo = args.metrics_repo or (args.output and default_repository(args.output))
    return targets, unmatched, repo


def _table_targets(spark: SparkSession, args: Request) -> tuple[list, list[str], str | None]:
    targets, unmatched, table = tables.targets(spark, args, select)
    for sel in unmatched:
        print(f"{sel}  error  no such partition in {table}", flush=True)
    partitioned = bool(table.partition_columns)
    return targets, unmatched, args.metrics_repo or (args.output and default_repository(args.output)
                                                     if partitioned else None)


def run(spark: SparkSession, args: argparse.Namespace) -> int:
    return execute(spark, Request.from_args(args)).exit_code


def preload(args: argparse.Namespace) -> None:
    """Work that needs no Spark session, started before it (jobs.cli): the domain classifier's imports."""
    domain_drift.preload(domain_drift.options_from(args))


def execute(spark: SparkSession, args: Request) -> ValidationRun:
    """The validate step (dqloop.validate and the command line): every selected partition validated,
    reported (when `args.output` is set) and recorded in the metrics history; summary lines on stdout."""
    baseline = read_baseline(args.baseline)
    model_reference = estimated.load_reference(args.baseline)   # label-free quality estimates, when present
    domain_sample, domain_options = domain_drift.load_sample(args.baseline), domain_drift.options_from(args)
    domain_drift.preload(domain_options if domain_sample is not None else replace(domain_options, enabled=False))
    wanted = domain_drift.sample_request(domain_sample, domain_options)   # the classifier's rows: from the pass
    hook = webhook_from(getattr(args, "webhook_url_file", None))
    thresholds, history = options_from(args)
    run_time = datetime.now(timezone.utc).isoformat(timespec="seconds")
    targets, unmatched, repo = _table_targets(spark, args) if getattr(args, "table", None) \
        else _folder_targets(spark, args)
    summary, run_samples = RunSummary(), []       # bounded: not every partition's report (jobs.run_summary)
    results: list[PartitionResult] = []           # the API's results; the command keeps none (a backfill may be long)
    keep = args.cli is None
    textfile = getattr(args, "prometheus_textfile", None)
    index = MetricsRepository(repo).index() if repo and history is not None else None   # read once per run
    labels = labeled_rows(repo)
    steps = Progress(len(targets))
    for i, (path, partition, out) in enumerate(targets, start=1):
        log.info("validating %s (%d of %d)", partition, i, len(targets))
        steps.step(i, partition)
        o = validate_one(spark, baseline, path, partition, args.format, thresholds, model_reference, wanted)
        o = domain_drift.attach(domain_sample, o, domain_options, thresholds)   # multivariate drift (sampled)
        o, estimated_files, estimated_metrics = estimated.attach(model_reference, o.data, o)
        if o.report is not None and repo and history is not None and o.report.rows:
            o = replace(o, report=with_history(o.report, repo, baseline, history, index))
        files = {}
        if o.report is not None:
            more = [*labels.get(partition, ()), *estimated_metrics]   # labeled and estimated quality: metrics.prom
            files = {**extra_files(o.report, baseline, run_time, more), **estimated_files}
            if out is not None:
                write_report(o.report, out, files)
            if textfile:
                run_samples += samples(o.report, more)
            if repo:
                record_metrics(repo, o.report, run_time)
                written = estimated.record(repo, partition, run_time, estimated_metrics)
                if index is not None:
                    index.record(metrics_file(o.report), o.report.partition, run_time, o.report.metric_rows())
                    if written:
                        index.record(written[0], partition, run_time, written[1])
        summary.add(o.report, o.error is not None, join(out, "report.html") if out is not None else None)
        if keep:
            results.append(PartitionResult(partition, o.report, o.error, out if o.report is not None else None, files))
        steps.clear()
        print(summary_line(o), flush=True)
    print_violations(summary)
    if textfile:
        write_textfile(textfile, run_samples)
    if hook is not None and summary.with_violations:
        delivery = send_alert(hook, summary)
        if not delivery.ok:
            print(f"dqloop validate: error: the alert to the webhook from {hook.source} was not delivered after "
                  f"{delivery.attempts} attempt(s): {delivery.detail}. The reports are written.\n"
                  f"  fix: check the webhook and the network; rerun to alert again", file=sys.stderr, flush=True)
            return ValidationRun(tuple(results), EXIT_RUNTIME, tuple(unmatched))
        print(f"alert: sent ({summary.with_violations} partition(s) with violations)", file=sys.stderr, flush=True)

    if summary.errors:
        return ValidationRun(tuple(results), EXIT_RUNTIME, tuple(unmatched))
    if unmatched:
        return ValidationRun(tuple(results), EXIT_USAGE, tuple(unmatched))
    if summary.with_violations and not args.warn_only:
        return ValidationRun(tuple(results), EXIT_VIOLATIONS, tuple(unmatched))
    return ValidationRun(tuple(results), EXIT_OK, tuple(unmatched))


def main(argv: list[str] | None = None) -> int:
    from jobs.cli import main as cli_main
    return cli_main(["validate", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
