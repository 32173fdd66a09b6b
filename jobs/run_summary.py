"""What a validate run keeps for its end (the violations table, the alert, the exit status), bounded
whatever the number of partitions in the backfill.

A run used to keep every partition's whole report (and its DataFrame) until the end: the driver's
memory grew with the partitions (610 MiB at 1,000, bench/RESULTS.md, "Stress"). The end needs only
counts plus the failed checks of the first few partitions with violations -- as many as the terminal's
table (40 rows) and the alert (10 partitions) show. A partition's failed checks are bounded by its
baseline (columns times checks), so the summary is bounded by the baseline, never by the partitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from constraints.validation import ValidationReport
from jobs.render.alert import MAX_PARTITIONS
from jobs.render.terminal import MAX_ROWS

FIELDS = ("check", "feature", "status", "measured", "threshold")


@dataclass
class RunSummary:
    partitions: int = 0
    errors: int = 0
    with_violations: int = 0
    failed_checks: int = 0                                    # failed checks over every partition
    shown: list[dict[str, Any]] = field(default_factory=list)  # trimmed checks documents (see above)
    where: dict[str, str] = field(default_factory=dict)       # report location of the shown partitions

    def add(self, report: ValidationReport | None, error: bool, location: str | None = None) -> None:
        self.partitions += 1
        self.errors += bool(error)
        if report is None or not report.violations:
            return
        doc = report.checks_document()
        failed = [{k: c.get(k) for k in FIELDS} for c in doc["checks"] if c.get("status") == "failed"]
        self.with_violations += 1
        if len(self.shown) < MAX_PARTITIONS or self.shown_rows < MAX_ROWS:
            self.shown.append({"partition": doc["partition"], "rows": doc["rows"], "verdict": doc["verdict"],
                               "violations": doc["violations"], "checks": failed})
            if location is not None:
                self.where[doc["partition"]] = location
        self.failed_checks += len(failed)

    @property
    def shown_rows(self) -> int:
        return sum(len(d["checks"]) for d in self.shown)
