"""The validate job's human- and machine-facing outputs beside the JSON documents: report.html and
metrics.prom per partition, the run's Prometheus textfile, the terminal's violations table and
progress, and the webhook alert. Rendering is in `reports`; this module reads and writes.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Sequence, TextIO

from constraints.baseline import Baseline
from constraints.validation import ValidationReport
from jobs.history import LABELS, MetricsRepository
from jobs.io import write_file
from jobs.run_summary import RunSummary
from jobs.webhook import Delivery, Webhook, post_json
from jobs.render import (alert_payload, check_samples, exposition, history_samples, partition_report,
                     statistics_samples, violations_table)
from jobs.render.prometheus import Sample
from jobs.render.terminal import progress, use_colour

log = logging.getLogger("dqloop.report")


def labeled_rows(repo: str | None) -> dict[str, list[dict[str, Any]]]:
    """{partition: metric rows} from the labeling loop's `<partition>.labels.json` files in the metrics
    history; an unreadable file is skipped with a warning (it must not stop validation)."""
    return MetricsRepository(repo).by_source(LABELS) if repo else {}


def samples(report: ValidationReport, labels: Sequence[dict[str, Any]] = ()) -> list[Sample]:
    """The partition's Prometheus samples: history metrics, feature statistics, violations by check, labels."""
    p = report.partition
    return (history_samples(p, [*report.metric_rows(), *labels]) + statistics_samples(p, report.statistics_document())
            + check_samples(p, report.checks_document()))


def extra_files(report: ValidationReport, baseline: Baseline, run_time: str,
                labels: Sequence[dict[str, Any]] = ()) -> dict[str, str]:
    """report.html and metrics.prom, written in the same atomic folder as the JSON documents."""
    return {"report.html": partition_report(report.checks_document(), report.statistics_document(), baseline, run_time),
            "metrics.prom": exposition(samples(report, labels))}


def write_textfile(path: str, all_samples: Sequence[Sample]) -> None:
    """The run's metrics for node_exporter's textfile collector (give it a *.prom path in the collector's
    folder); replaced atomically, so the collector never reads half a file."""
    write_file(path, exposition(all_samples))


class Progress:
    """`[i/N] validating PARTITION` on stderr for backfills: one updating line on a terminal, a line
    each otherwise (logs); nothing for a single partition."""

    def __init__(self, total: int, stream: TextIO | None = None):
        self.total, self.stream = total, stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def step(self, i: int, partition: str) -> None:
        if self.total < 2:
            return
        line = progress(i, self.total, partition)
        self.stream.write(f"\r\033[K{line}" if self.tty else line + "\n")
        self.stream.flush()

    def clear(self) -> None:
        if self.total >= 2 and self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()


def print_violations(summary: RunSummary, stream: TextIO | None = None) -> None:
    """The table goes to stderr, beside the progress: stdout keeps exactly one summary line per partition
    for scripts that parse it."""
    out = stream or sys.stderr
    table = violations_table(summary.shown, colour=use_colour(out), total=summary.failed_checks)
    if table:
        print("\nviolations:", file=out)
        print(table, file=out, flush=True)


def send_alert(hook: Webhook, summary: RunSummary, **retry: Any) -> Delivery:
    payload = alert_payload(summary.shown, summary.partitions, summary.where, bad=summary.with_violations)
    return post_json(hook, payload, **retry)
