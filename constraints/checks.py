"""The checks of a partition against its baseline: SageMaker's six, plus the richer suite's constraints.

Each check is a pure function of the baseline and the partition's profile, returning CheckResults
(passed ones too) with the measured value, the threshold, a reason code and a sentence. Reason codes
are SageMaker's constraint_check_type names; dqloop's own checks add `suite_constraint_check` and
`row_count_check`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from constraints.baseline import Baseline, FeatureBaseline
from constraints.columns import STRING, UNKNOWN
from constraints.distance import Sketch, categorical_drift, numeric_drift
from constraints.profile import ColumnProfile, Profile
from constraints.verification import ConstraintResult

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
COMPLETENESS_SIGMAS = 3.0  # completeness may fall this many binomial standard deviations below the baseline


@dataclass(frozen=True)
class CheckResult:
    check: str                       # SageMaker constraint_check_type, or a dqloop check
    feature: str | None
    status: str                      # passed | failed | skipped
    measured: float | None
    threshold: float | None
    description: str
    examples: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    constraint: Any = field(default=None, compare=False)   # the suite constraint, for suite_constraint_check

    @property
    def failed(self) -> bool:
        return self.status == FAILED

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "feature": self.feature, "status": self.status, "measured": self.measured,
                "threshold": self.threshold, "description": self.description, "examples": list(self.examples),
                **({"details": self.details} if self.details else {})}


def _pct(x: float) -> str:
    return f"{100 * x:.4g}%"


def schema_checks(baseline: Baseline, columns: list[str]) -> list[CheckResult]:
    """missing_column_check and extra_column_check."""
    if baseline.monitoring_config.get("evaluate_constraints") == "Disabled":
        return []
    out = []
    present = set(columns)
    for f in baseline.features:
        ok = f.name in present
        out.append(CheckResult("missing_column_check", f.name, PASSED if ok else FAILED, None, None,
                               "Column is present." if ok else
                               f"Baseline column '{f.name}' is missing from the partition."))
    known = {f.name for f in baseline.features} | baseline.ignored_columns
    for name in columns:
        if name not in known:
            out.append(CheckResult("extra_column_check", name, FAILED, None, None,
                                   f"Column '{name}' is not in the baseline."))
    return out


def data_type_check(baseline: Baseline, f: FeatureBaseline, p: ColumnProfile) -> CheckResult:
    threshold = float(baseline.setting(f, "datatype_check_threshold"))
    if f.inferred_type in (STRING, UNKNOWN):
        return CheckResult("data_type_check", f.name, PASSED, 1.0, threshold, f"Every value is a {f.inferred_type}.")
    share = p.type_share
    ok = 1.0 - share <= threshold
    text = (f"Data type match requirement is {'met' if ok else 'not met'}. Expected data type: {f.inferred_type}, "
            f"Expected match: {_pct(1 - threshold)}. Observed: {_pct(share)} of data is {f.inferred_type}.")
    return CheckResult("data_type_check", f.name, PASSED if ok else FAILED, share, 1 - threshold, text,
                       details={"source_spark_type": p.column.spark_type})


def completeness_check(f: FeatureBaseline, p: ColumnProfile, rows: int, baseline_rows: int) -> CheckResult:
    if f.completeness is None or rows == 0:
        return CheckResult("completeness_check", f.name, SKIPPED, None, None, "No baseline completeness.")
    observed = p.num_present / rows
    c = f.completeness
    # sampling noise: the partition's (m rows) and the baseline estimate's own (n rows), var c(1-c)(1/m + 1/n)
    allowance = COMPLETENESS_SIGMAS * math.sqrt(c * (1 - c) * (1 / rows + 1 / max(baseline_rows, 1)))
    threshold = max(0.0, c - allowance)
    ok = observed >= threshold
    text = (f"Completeness {'meets' if ok else 'is below'} the baseline: observed {_pct(observed)}, baseline "
            f"{_pct(c)}, threshold {_pct(threshold)} (baseline less {COMPLETENESS_SIGMAS:g} standard deviations "
            f"of sampling noise at {rows} rows against a baseline of {baseline_rows}).")
    return CheckResult("completeness_check", f.name, PASSED if ok else FAILED, observed, threshold, text)


def categorical_values_check(baseline: Baseline, f: FeatureBaseline, p: ColumnProfile) -> CheckResult | None:
    if not f.domains:
        return None
    threshold = float(baseline.setting(f, "domain_content_threshold"))
    counts = dict(p.categories or ())
    total = sum(counts.values())
    unseen = sorted(((v, n) for v, n in counts.items() if v not in set(f.domains)), key=lambda vn: -vn[1])
    share = sum(n for _, n in unseen) / total if total else 0.0
    ok = share <= threshold
    examples = tuple(f"{v} ({n})" for v, n in unseen[:5])
    text = (f"{_pct(share)} of values are outside the baseline domain (threshold {_pct(threshold)})"
            + (f"; unseen: {', '.join(examples)}." if examples else "."))
    return CheckResult("categorical_values_check", f.name, PASSED if ok else FAILED, share, threshold, text, examples,
                       details={"unseen_values": len(unseen)})


def baseline_drift_check(baseline: Baseline, f: FeatureBaseline, p: ColumnProfile) -> CheckResult | None:
    config = baseline.monitoring_config["distribution_constraints"]
    if config.get("perform_comparison") == "Disabled":
        return None
    if f.is_numeric and f.kll_levels and p.kll is not None and f.kll_edges:
        method = baseline.setting(f, "comparison_method")
        threshold = float(baseline.setting(f, "comparison_threshold"))
        drift = numeric_drift(Sketch.from_levels(f.kll_levels), Sketch.from_levels(p.kll.data),
                              np.asarray(f.kll_edges), f.std_dev)
        distance = drift.linf_robust if method == "Robust" else drift.linf_simple
        details = {"method": method, "linf_simple": drift.linf_simple, "linf_robust": drift.linf_robust,
                   "psi": drift.psi, "js_distance": drift.js,
                   "wasserstein_normalized": drift.wasserstein_normalized}
    elif not f.is_numeric and f.categories and p.categories is not None:
        method = baseline.setting(f, "categorical_drift_method")
        threshold = float(baseline.setting(f, "categorical_comparison_threshold"))
        drift = categorical_drift({k: float(v) for k, v in f.categories.items()}, {k: float(v) for k, v in p.categories})
        details = {"method": method, "linf": drift.linf, "chi_squared_p_value": drift.chi_squared_p_value,
                   "psi": drift.psi, "js_distance": drift.js}
        if method == "ChiSquared":
            p_value = drift.chi_squared_p_value
            if p_value is None:
                return CheckResult("baseline_drift_check", f.name, SKIPPED, None, threshold,
                                   "Too few categories for a chi-squared test.", details=details)
            ok = p_value >= threshold
            return CheckResult("baseline_drift_check", f.name, PASSED if ok else FAILED, p_value, threshold,
                               f"Chi-squared test against the baseline shares: p-value {p_value:.4g} "
                               f"({'not ' if ok else ''}below the threshold {threshold:g}).", details=details)
        distance = drift.linf
    else:
        return CheckResult("baseline_drift_check", f.name, SKIPPED, None, None,
                           "No distribution to compare (no values, or no categorical buckets in the baseline).")
    ok = distance <= threshold
    text = (f"Baseline drift distance {distance:.4g} ({method}) is {'within' if ok else 'above'} the threshold "
            f"{threshold:g}. PSI {details['psi']:.4g}, Jensen-Shannon {details['js_distance']:.4g}.")
    return CheckResult("baseline_drift_check", f.name, PASSED if ok else FAILED, distance, threshold, text,
                       details=details)


def feature_checks(baseline: Baseline, profile: Profile, identifiers: frozenset[str] = frozenset()) -> list[CheckResult]:
    """The per-feature SageMaker checks. `identifiers` (unique in the baseline) get no drift check:
    the distribution of ids says nothing about the data."""
    out: list[CheckResult] = []
    evaluate = baseline.monitoring_config.get("evaluate_constraints") != "Disabled"
    for p in profile.columns:
        f = baseline.feature(p.column.name)
        if f is None:
            continue
        if evaluate:
            out.append(data_type_check(baseline, f, p))
            out.append(completeness_check(f, p, profile.rows, baseline.item_count))
            values = categorical_values_check(baseline, f, p)
            if values:
                out.append(values)
        if f.name in identifiers:
            out.append(CheckResult("baseline_drift_check", f.name, SKIPPED, None, None,
                                   "Identifier (unique in the baseline): its distribution is not compared."))
            continue
        drift = baseline_drift_check(baseline, f, p)
        if drift:
            out.append(drift)
    return out


def suite_checks(results: tuple[ConstraintResult, ...]) -> list[CheckResult]:
    return [CheckResult("suite_constraint_check", r.constraint.column, PASSED if r.passed else FAILED, None, None,
                        f"{r.constraint.describe()}: {'holds' if r.passed else 'violated'}"
                        + (f" ({r.message})" if r.message else "."),
                        details={"constraint": r.constraint.kind}, constraint=r.constraint)
            for r in results]


def row_count_check(rows: int) -> CheckResult:
    ok = rows > 0
    return CheckResult("row_count_check", None, PASSED if ok else FAILED, float(rows), 1.0,
                       f"The partition has {rows} rows." if ok else "The partition is empty: no row to check.")
