"""Partition-level history rows that summarise the checks across features, for the index page and
Prometheus: how many feature pairs correlation drift checked and how many of them failed (Pearson or
Spearman), and whether the domain classifier, the reconstruction error and the anomaly share failed (1)
or passed (0). Their values (AUROC, drift coefficient, mean error, share) are already history rows
(constraints.domain.metric_rows, constraints.multivariate.metric_rows); these add the verdicts, which
the history's values alone do not carry. Not history-checked (constraints.anomaly lists its metrics).
"""

from __future__ import annotations

from typing import Any, Iterable

__all__ = ["PAIRS", "FAILED_PAIRS", "FAILED", "summary_rows"]

PAIRS, FAILED_PAIRS = "correlation_pairs", "correlation_failed_pairs"
FAILED = {"domain_classifier_check": "domain_failed", "reconstruction_error_check": "reconstruction_error_failed",
          "anomaly_share_check": "anomaly_share_failed"}   # check -> its history metric (1 failed, 0 passed)
CORRELATION = "correlation_drift_check"


def summary_rows(results: Iterable[Any]) -> list[dict[str, Any]]:
    """The rows for the checks `results` (CheckResult-like: check, feature, status, failed); none for a
    check that did not run (absent or skipped)."""
    pairs: set[str] = set()
    failed_pairs: set[str] = set()
    rows = []
    for r in results:
        if r.check == CORRELATION and r.status != "skipped":
            pairs.add(r.feature)
            if r.failed:
                failed_pairs.add(r.feature)
        elif r.check in FAILED and r.status != "skipped":
            rows.append({"feature": "*", "metric": FAILED[r.check], "value": float(r.failed)})
    if pairs:
        rows += [{"feature": "*", "metric": PAIRS, "value": float(len(pairs))},
                 {"feature": "*", "metric": FAILED_PAIRS, "value": float(len(failed_pairs))}]
    return rows
