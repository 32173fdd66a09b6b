"""dqloop validate: check production partitions against a baseline.

    dqloop validate --baseline DIR --input PATH --output DIR [--partition chunk=03 ...]
    spark-submit --properties-file spark-conf/spark-defaults.conf jobs/validate.py (same arguments)

PATH is one partition folder (reports go straight into DIR) or a partitioned table root; then the
selected partitions (--partition, repeated: exact `chunk=03`, glob `chunk=0*`, range `chunk=01..05`;
default: all) are validated in turn in one Spark session, each reported under DIR/<name=value>/:
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
rate-of-change rule; --history-metrics chooses the metrics, --no-history turns them off.

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
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

if __package__ in (None, ""):  # run as a script by spark-submit
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from py4j.protocol import Py4JJavaError
from pyspark.sql import DataFrame, SparkSession

from constraints.anomaly import DEFAULT_METRICS, DEFAULT_OUTPUT_METRICS, HISTORY_METRICS, HistoryOptions, history_checks
from constraints.baseline import Baseline, load_baseline
from constraints.columns import PREDICTION
from constraints.errors import EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_VIOLATIONS, DqloopError, SetupError, UsageError
from constraints.thresholds import CALIBRATED, SAGEMAKER, Thresholds
from constraints.validation import ValidationReport, validate
from jobs import estimated
from jobs.history import HistoryIndex, history_file
from jobs.io import join, json_text, partition_keys, read_folder, read_table, unreadable, write_file, write_folder
from jobs.reporting import Progress, extra_files, labeled_rows, print_violations, samples, send_alert, write_textfile
from jobs.webhook import webhook_from

log = logging.getLogger("dqloop.validate")
BASELINE_FILES = ("statistics.json", "constraints.json", "suite.json", "extended_statistics.json")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--baseline", required=True, metavar="DIR", help="folder written by `dqloop baseline`")
    p.add_argument("--input", required=True, metavar="PATH", help="a partition folder, or a partitioned table root")
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


def _metric_list(text: str) -> tuple[str, ...]:
    return tuple(m.strip() for m in text.split(",") if m.strip())


def options_from(args: argparse.Namespace) -> tuple[Thresholds, HistoryOptions | None]:
    """Thresholds and history options from the arguments (defaults where a caller's Namespace lacks them)."""
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


def read_baseline(folder: str) -> Baseline:
    return load_baseline(read_folder(folder, BASELINE_FILES))


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
    data: DataFrame | None = None   # the partition as read, for steps after validation (estimated quality)


def validate_one(spark: SparkSession, baseline: Baseline, path: str, partition: str, fmt: str,
                 thresholds: Thresholds = Thresholds()) -> Outcome:
    try:
        table = read_table(spark, path, fmt)
        return Outcome(partition, validate(spark, table.df, baseline, partition, thresholds), data=table.df)
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
    doc = {"partition": report.partition, "run_time": run_time, "metrics": report.metric_rows()}
    write_file(join(repo, metrics_file(report)), json_text(doc))


def metrics_file(report: ValidationReport) -> str:
    return history_file(report.partition)


def with_history(report: ValidationReport, repo: str, baseline: Baseline, options: HistoryOptions,
                 index: HistoryIndex | None = None) -> ValidationReport:
    """The report plus its history checks against the partitions before it in `repo` (in name order).
    Metrics other jobs wrote for this partition (labeled accuracy) are checked too. `index`: the history
    already read (a backfill reads it once and records each partition into it)."""
    index = index if index is not None else HistoryIndex.load(repo)
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
    failed: dict[str, list[str]] = {}
    for v in r.violations:
        failed.setdefault(v.check, []).append(v.feature or "-")
    detail = "; ".join(f"{k}: {', '.join(sorted(set(names)))}" for k, names in failed.items())
    return f"{o.partition}  rows={r.rows}  {r.verdict}  violations={len(r.violations)}" + (f"  ({detail})" if detail else "")


def run(spark: SparkSession, args: argparse.Namespace) -> int:
    baseline = read_baseline(args.baseline)
    model_reference = estimated.load_reference(args.baseline)   # label-free quality estimates, when present
    hook = webhook_from(getattr(args, "webhook_url_file", None))
    thresholds, history = options_from(args)
    keys = partition_keys(spark, args.input)
    run_time = datetime.now(timezone.utc).isoformat(timespec="seconds")
    unmatched: list[str] = []
    if not keys:
        if args.partition:
            raise UsageError(f"--partition was given but {args.input} is not a partitioned table.",
                             "drop --partition to validate the folder as one partition")
        name = Path(args.input.rstrip("/")).name
        targets = [(args.input, name if "=" in name else "partition", args.output)]
        repo = args.metrics_repo
    else:
        chosen, unmatched = select(keys, args.partition)
        for sel in unmatched:
            print(f"{sel}  error  no such partition under {args.input}", flush=True)
        if not chosen:
            raise UsageError(f"No partition of {args.input} matches {args.partition}.",
                             f"choose among: {', '.join(keys[:10])}{' ...' if len(keys) > 10 else ''}")
        targets = [(join(args.input, k), k, join(args.output, k)) for k in chosen]
        repo = args.metrics_repo or join(args.output, "_metrics")
    outcomes, run_samples, folders = [], [], {}
    index = HistoryIndex.load(repo) if repo and history is not None else None   # read once per run
    labels = labeled_rows(repo)
    steps = Progress(len(targets))
    for i, (path, partition, out) in enumerate(targets, start=1):
        log.info("validating %s (%d of %d)", partition, i, len(targets))
        steps.step(i, partition)
        o = validate_one(spark, baseline, path, partition, args.format, thresholds)
        o, estimated_files, estimated_metrics = estimated.attach(model_reference, o.data, o)
        if o.report is not None and repo and history is not None and o.report.rows:
            o = replace(o, report=with_history(o.report, repo, baseline, history, index))
        if o.report is not None:
            write_report(o.report, out, {**extra_files(o.report, baseline, run_time, labels.get(partition, ())),
                                         **estimated_files})
            folders[partition] = join(out, "report.html")
            run_samples += samples(o.report, labels.get(partition, ()))
            if repo:
                record_metrics(repo, o.report, run_time)
                written = estimated.record(repo, partition, run_time, estimated_metrics)
                if index is not None:
                    index.record(metrics_file(o.report), o.report.partition, run_time, o.report.metric_rows())
                    if written:
                        index.record(written[0], partition, run_time, written[1])
        outcomes.append(o)
        steps.clear()
        print(summary_line(o), flush=True)
    bad = [o.report for o in outcomes if o.report is not None and o.report.violations]
    print_violations(bad)
    if getattr(args, "prometheus_textfile", None):
        write_textfile(args.prometheus_textfile, run_samples)
    if hook is not None and bad:
        delivery = send_alert(hook, bad, len(outcomes), folders)
        if not delivery.ok:
            print(f"dqloop validate: error: the alert to the webhook from {hook.source} was not delivered after "
                  f"{delivery.attempts} attempt(s): {delivery.detail}. The reports are written.\n"
                  f"  fix: check the webhook and the network; rerun to alert again", file=sys.stderr, flush=True)
            return EXIT_RUNTIME
        print(f"alert: sent ({len(bad)} partition(s) with violations)", file=sys.stderr, flush=True)

    if any(o.error is not None for o in outcomes):
        return EXIT_RUNTIME
    if unmatched:
        return EXIT_USAGE
    if any(o.report.violations for o in outcomes) and not args.warn_only:
        return EXIT_VIOLATIONS
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    from jobs.cli import main as cli_main
    return cli_main(["validate", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
