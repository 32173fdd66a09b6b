"""The end of a validate run (violations table, alert, exit status) from a summary bounded by the baseline,
not by the number of partitions: the same table and alert as from every partition's whole report."""

from __future__ import annotations

from constraints.checks import FAILED, PASSED, CheckResult
from constraints.validation import ValidationReport
from jobs.render import alert_payload, violations_table
from jobs.run_summary import RunSummary


def report(i: int, failed: int) -> ValidationReport:
    results = [CheckResult("baseline_drift_check", f"f{j}", FAILED, 0.5 + j, 0.1, "drifted", ("x" * 1000,))
               for j in range(failed)]
    results.append(CheckResult("data_type_check", "ok", PASSED, 1.0, 1.0, "fine"))
    return ValidationReport(f"chunk={i:05d}", 20, tuple(results))


def test_summary_is_bounded_and_gives_the_same_table_and_alert():
    reports = [report(i, (i % 3)) for i in range(3_000)]         # a third of them pass
    summary = RunSummary()
    for r in reports:
        summary.add(r, error=False, location=f"/out/{r.partition}/report.html")
    summary.add(None, error=True)
    bad = [r for r in reports if r.violations]
    assert summary.partitions == 3_001 and summary.errors == 1 and summary.with_violations == len(bad) == 2_000
    assert summary.failed_checks == sum(len(r.violations) for r in bad) == 3_000
    assert len(summary.shown) <= 50 and set(summary.where) == {d["partition"] for d in summary.shown}
    assert all("examples" not in c and "description" not in c for d in summary.shown for c in d["checks"])

    whole = [r.checks_document() for r in bad]
    assert violations_table(summary.shown, total=summary.failed_checks) == violations_table(whole)
    assert "... and 2960 more" in violations_table(summary.shown, total=summary.failed_checks)
    where = {r.partition: f"/out/{r.partition}/report.html" for r in reports}
    assert alert_payload(summary.shown, summary.partitions, summary.where, bad=summary.with_violations) == \
        alert_payload(whole, 3_001, where)


def test_few_partitions_are_all_kept():
    summary = RunSummary()
    for i in range(4):
        summary.add(report(i, 2), error=False)
    assert [d["partition"] for d in summary.shown] == [f"chunk={i:05d}" for i in range(4)]
    assert violations_table(summary.shown, total=summary.failed_checks).count("baseline_drift_check") == 8
