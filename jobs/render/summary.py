"""What a person reads first in report.html: the failed checks grouped by feature and ranked by severity,
one sentence each, and a violation's sentence without its threshold derivation.

Pure: checks.json's checks in, values out. Checks are read generically from their fields (check,
feature, status, measured, threshold, description, details.derivation), so check types added later
rank and read without a change here; CHECK_PHRASES only gives the known ones a plainer name.

Severity of a failed check: how far past its threshold it is, as a ratio. Above an upper bound,
measured / threshold; under a lower bound on a share (completeness, type match: values in [0, 1]),
the shortfall against the allowed one, (1 - measured) / (1 - threshold); under another lower bound,
threshold / measured. A feature's severity is that of its worst failed check with both numbers; a feature
whose failed checks have none (a missing column) is structural and ranks above every ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

from jobs.render.html import fmt

CHECK_PHRASES = {
    "baseline_drift_check": "distribution drifted from the baseline",
    "completeness_check": "more values missing than the baseline",
    "data_type_check": "values of the wrong type",
    "categorical_values_check": "values outside the baseline's categories",
    "missing_column_check": "column missing",
    "extra_column_check": "column not in the baseline",
    "history_check": "unusual against its history",
    "suite_constraint_check": "a baseline constraint failed",
    "row_count_check": "row count out of range",
    "estimated_performance_check": "estimated model quality out of range",
}
PARTITION = "(whole partition)"   # the row of checks that concern no one feature


def phrase(check: str) -> str:
    return CHECK_PHRASES.get(check, check.replace("_", " "))


def severity(check: dict[str, Any]) -> float:
    """How far past its threshold a failed check is (see the module's doc); inf when structural."""
    m, t = check.get("measured"), check.get("threshold")
    if not _number(m) or not _number(t):
        return math.inf
    m, t = float(m), float(t)
    if m > t:
        return m / t if t > 0 else math.inf
    if 0.0 <= m <= 1.0 and 0.0 <= t <= 1.0:
        return (1.0 - m) / (1.0 - t) if t < 1.0 else math.inf
    return t / m if m > 0 else math.inf


def _number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@dataclass(frozen=True)
class Finding:
    """A feature with failed checks: its worst check and a sentence about it."""
    feature: str
    severity: float
    worst: dict[str, Any]
    checks: tuple[str, ...]      # the failed checks' names, worst first
    sentence: str

    @property
    def times(self) -> str:
        return "structural" if math.isinf(self.severity) else f"{self.severity:.3g}\u00d7"


def ranked(checks: Iterable[dict[str, Any]]) -> list[Finding]:
    """Features with failed checks, most severe first (then more failed checks, then name)."""
    by_feature: dict[str, list[dict[str, Any]]] = {}
    for c in checks:
        if c.get("status") == "failed":
            by_feature.setdefault(str(c.get("feature") or PARTITION), []).append(c)
    findings = []
    for feature, failed in by_feature.items():
        failed = sorted(failed, key=lambda c: (math.isinf(severity(c)), -severity(c)))   # numbers first
        names = tuple(dict.fromkeys(str(c.get("check")) for c in failed))
        findings.append(Finding(feature, severity(failed[0]), failed[0], names, sentence(failed[0], names[1:])))
    return sorted(findings, key=lambda f: (-f.severity, -len(f.checks), f.feature))


def sentence(worst: dict[str, Any], others: Iterable[str] = ()) -> str:
    """One sentence: what happened, measured against the threshold, and what else failed."""
    m, t = worst.get("measured"), worst.get("threshold")
    if _number(m) and _number(t):
        text = f"{phrase(str(worst.get('check')))}: {fmt(m)} against a threshold of {fmt(t)}"
    else:
        text = terse(str(worst.get("description") or phrase(str(worst.get("check"))))).rstrip(".")
    others = [phrase(o) for o in others]
    return text + (f"; also {', '.join(others)}" if others else "") + "."


def terse(description: str, derivation: str | None = None) -> str:
    """The description without the threshold's derivation (kept behind the row's disclosure):
    'distance 0.19 is above the calibrated threshold 0.028: max of ... . PSI 0.25.' ->
    'distance 0.19 is above the calibrated threshold 0.028. PSI 0.25.'"""
    if not derivation or derivation not in description:
        return description
    i = description.index(derivation)
    head, tail = description[:i].rstrip(" :"), description[i + len(derivation):]
    if head.endswith("("):          # '(derivation)' alone in brackets: drop the brackets too
        head, tail = head[:-1].rstrip(), tail[1:] if tail.startswith(")") else tail
    return (head + tail).replace(" .", ".").strip()


def verdict_sentence(verdict: str, findings: list[Finding], failed: int, total: int, rows: int) -> str:
    if verdict == "empty" or (rows == 0 and not failed):
        return "The partition has no rows: nothing was measured. Check the job that writes it."
    if not failed:
        return f"All {total} checks passed."
    named = [f.feature for f in findings[:3]]
    first = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    return (f"{failed} of {total} checks failed in {len(findings)} feature{'s' if len(findings) != 1 else ''}; "
            f"look first at {first}.")
