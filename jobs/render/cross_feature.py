"""The index's columns and section on the checks across features (issue 14): per partition the domain
classifier's drift coefficient (Azure's, 0-100) and AUROC, correlation drift's failed pairs out of those
checked, and the PCA reconstruction error with the share of anomalous rows; a failed check's cell is
marked. Pure: the partition-level history values (jobs.render.index's `run`) in, HTML cells and blocks out.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from constraints.cross_feature import FAILED, FAILED_PAIRS, PAIRS
from jobs.render.charts import BASE, BAD, line_chart
from jobs.render.html import Cell, fmt, number, pct

Run = Mapping[tuple[str, str], float]
HEADERS = ("drift coefficient [AUROC]", "correlation pairs failed", "reconstruction error [anomalous rows]")
SHOWN = ("domain_drift_coefficient", "domain_auroc", PAIRS, "reconstruction_error", "anomaly_share")


def present(partitions: Sequence[str], run: Run) -> bool:
    """Whether any partition has a result across features (else the index shows none of this)."""
    return any((p, m) in run for p in partitions for m in SHOWN)


def _failed(run: Run, p: str, check: str) -> bool:
    return bool(run.get((p, FAILED[check])))


def cells(p: str, run: Run) -> list[Cell]:
    """The partition's three cells for the index's partitions table."""
    coef, auc = run.get((p, "domain_drift_coefficient")), run.get((p, "domain_auroc"))
    pairs, failed = run.get((p, PAIRS)), run.get((p, FAILED_PAIRS))
    error, share = run.get((p, "reconstruction_error")), run.get((p, "anomaly_share"))
    domain = number(coef, "-" if coef is None else f"{fmt(coef, 3)} [{fmt(auc, 3)}]")
    correlation = number(failed, "-" if pairs is None else f"{fmt(failed)} of {fmt(pairs)}")
    reconstruction = number(error, "-" if error is None else
                            f"{fmt(error, 3)} [{'-' if share is None else pct(share)}]")
    for cell, bad in ((domain, _failed(run, p, "domain_classifier_check")), (correlation, bool(failed)),
                      (reconstruction, _failed(run, p, "reconstruction_error_check")
                       or _failed(run, p, "anomaly_share_check"))):
        if bad:
            cell.cls = "num failed"
    return [domain, correlation, reconstruction]


def section(partitions: Sequence[str], run: Run, hrefs: Sequence[str | None]) -> list[str]:
    """HTML blocks for the index (none when no partition has a result across features)."""
    if not present(partitions, run):
        return []
    body = ["<h2 id=\"across-features\">Across features</h2><p class=\"legend\">The domain classifier's drift "
            "coefficient (Azure's: Matthews correlation of its out-of-fold predictions, 0-100) and AUROC (0.5: it "
            "cannot tell the partition from the baseline); correlation drift's failed feature pairs (Pearson or "
            "Spearman) out of those checked; the PCA reconstruction error and the share of rows above the "
            "baseline's 99th percentile of it. Red: the check failed; each partition's report names the features "
            "and pairs.</p>"]
    coefficient = [run.get((p, "domain_drift_coefficient")) for p in partitions]
    if any(v is not None for v in coefficient):
        body.append(line_chart(list(partitions), [("drift coefficient", coefficient, BASE)],
                               "domain classifier's drift coefficient per partition (0-100)", links=hrefs,
                               y_range=(0.0, 100.0)))
    failed = [run.get((p, FAILED_PAIRS)) for p in partitions]
    if any(v is not None for v in failed):
        body.append(line_chart(list(partitions), [("failed pairs", failed, BAD)],
                               "correlation pairs failed per partition", links=hrefs))
    return body

