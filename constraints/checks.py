"""The checks of a partition against its baseline: SageMaker's six, plus the richer suite's constraints.

Each check is a pure function of the baseline and the partition's profile, returning CheckResults
(passed ones too) with the measured value, the threshold, a reason code and a sentence. Reason codes
are SageMaker's constraint_check_type names; dqloop's own checks add `suite_constraint_check` and
`row_count_check` (and `history_check`, constraints.anomaly).

Thresholds are calibrated to the partition's and the baseline's sizes by default (constraints.thresholds:
drift, completeness, type share, unseen-category share); `Thresholds(mode="sagemaker")` uses the fixed
ones of monitoring_config, and a per-feature monitoringConfigOverrides value always wins for its feature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from constraints.baseline import Baseline, FeatureBaseline
from constraints.columns import STRING, UNKNOWN
from constraints.distance import categorical_drift
from constraints.grid import grid_drift
from constraints.profile import ColumnProfile, Profile
from constraints.thresholds import (Threshold, Thresholds, ks_threshold, linf_shares_threshold, share_rise_threshold,
                                    sketch_rank_error)
from constraints.suite import ConstraintResult

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


def _calibrated(baseline: Baseline, f: FeatureBaseline, key: str, t: Thresholds) -> bool:
    """Calibrated unless the mode is sagemaker or the feature overrides `key` in monitoringConfigOverrides."""
    return t.calibrated and key not in f.overrides


def data_type_check(baseline: Baseline, f: FeatureBaseline, p: ColumnProfile, t: Thresholds = Thresholds(),
                    alpha: float = 0.005) -> CheckResult:
    threshold = float(baseline.setting(f, "datatype_check_threshold"))
    if f.inferred_type in (STRING, UNKNOWN):
        return CheckResult("data_type_check", f.name, PASSED, 1.0, threshold, f"Every value is a {f.inferred_type}.")
    share = p.type_share
    if _calibrated(baseline, f, "datatype_check_threshold", t) and p.num_present and f.num_present:
        th = share_rise_threshold(0.0, f.num_present, p.num_present, alpha, t, "mistyped")
        minimum = max(0.0, 1.0 - th.value)
        ok = share >= minimum
        text = (f"Data type match requirement is {'met' if ok else 'not met'}. Expected data type: {f.inferred_type}, "
                f"Expected match: {_pct(minimum)} (calibrated: {th.derivation}). Observed: {_pct(share)} of data "
                f"is {f.inferred_type}.")
        return CheckResult("data_type_check", f.name, PASSED if ok else FAILED, share, minimum, text,
                           details={"source_spark_type": p.column.spark_type, **th.to_details()})
    ok = 1.0 - share <= threshold
    text = (f"Data type match requirement is {'met' if ok else 'not met'}. Expected data type: {f.inferred_type}, "
            f"Expected match: {_pct(1 - threshold)}. Observed: {_pct(share)} of data is {f.inferred_type}.")
    return CheckResult("data_type_check", f.name, PASSED if ok else FAILED, share, 1 - threshold, text,
                       details={"source_spark_type": p.column.spark_type})


def completeness_check(f: FeatureBaseline, p: ColumnProfile, rows: int, baseline_rows: int,
                       t: Thresholds = Thresholds(), alpha: float = 0.005) -> CheckResult:
    if f.completeness is None or rows == 0:
        return CheckResult("completeness_check", f.name, SKIPPED, None, None, "No baseline completeness.")
    observed = p.num_present / rows
    c = f.completeness
    if t.calibrated:
        th = share_rise_threshold(1.0 - c, max(baseline_rows, 1), rows, alpha, t, "missing")
        threshold = max(0.0, 1.0 - th.value)
        ok = observed >= threshold
        text = (f"Completeness {'meets' if ok else 'is below'} the baseline: observed {_pct(observed)}, baseline "
                f"{_pct(c)}, threshold {_pct(threshold)} (calibrated at {rows} rows against {baseline_rows}: "
                f"{th.derivation}).")
        return CheckResult("completeness_check", f.name, PASSED if ok else FAILED, observed, threshold, text,
                           details={"baseline_completeness": c, **th.to_details()})
    # sampling noise: the partition's (m rows) and the baseline estimate's own (n rows), var c(1-c)(1/m + 1/n)
    allowance = COMPLETENESS_SIGMAS * math.sqrt(c * (1 - c) * (1 / rows + 1 / max(baseline_rows, 1)))
    threshold = max(0.0, c - allowance)
    ok = observed >= threshold
    text = (f"Completeness {'meets' if ok else 'is below'} the baseline: observed {_pct(observed)}, baseline "
            f"{_pct(c)}, threshold {_pct(threshold)} (baseline less {COMPLETENESS_SIGMAS:g} standard deviations "
            f"of sampling noise at {rows} rows against a baseline of {baseline_rows}).")
    return CheckResult("completeness_check", f.name, PASSED if ok else FAILED, observed, threshold, text)


MAX_UNSEEN_LISTED = 20


def categorical_values_check(baseline: Baseline, f: FeatureBaseline, p: ColumnProfile, t: Thresholds = Thresholds(),
                             alpha: float = 0.005) -> CheckResult | None:
    """Share of values outside the baseline's domain. The unseen values are reported by their totals (rows,
    distinct values) and the most frequent of them with their counts (at most MAX_UNSEEN_LISTED: a partition
    may hold millions, constraints.unseen), passed or not (examples and details); the check fails only when
    the share is beyond chance and the minimum effect (calibrated) or above domain_content_threshold
    (sagemaker)."""
    if not f.domains:
        return None
    counts = dict(p.categories or ())
    domain = set(f.domains)
    u = p.unseen
    sketched = {v: hi for v, _, hi in u.top} if u is not None else {}   # listed with a lower bound: at most `hi`
    known_out = [(v, n) for v, n in counts.items() if v not in domain and v not in sketched]   # exact counts
    total = p.num_present if u is not None else sum(counts.values())
    rows = sum(n for _, n in known_out) + (u.count if u is not None else 0)
    distinct = len(known_out) + (u.distinct if u is not None else 0)
    exact = u is None or u.exact
    listed = sorted([(v, n, n) for v, n in known_out] + list(u.top if u is not None else ()),
                    key=lambda e: (-e[1], -e[2], e[0]))[:MAX_UNSEEN_LISTED]
    share = rows / total if total else 0.0
    details: dict[str, Any] = {"unseen_values": distinct, "unseen_rows": rows,
                               "unseen": [{"value": v, "count": lo, **({} if lo == hi else {"count_max": hi})}
                                          for v, lo, hi in listed]}
    if not exact:
        details["unseen_values_estimated"] = True
    if _calibrated(baseline, f, "domain_content_threshold", t) and total and f.num_present:
        th = share_rise_threshold(0.0, f.num_present, total, alpha, t, "unseen")
        threshold, how = th.value, f" (calibrated: {th.derivation})"
        details.update(th.to_details())
    else:
        threshold, how = float(baseline.setting(f, "domain_content_threshold")), ""
    ok = share <= threshold
    examples = tuple(f"{v} ({lo if lo == hi else f'{lo} to {hi}'})" for v, lo, hi in listed[:5])
    if rows:
        about = "" if exact else "about "
        tops = ", ".join(f"{v!r} ({lo if lo == hi else f'{lo} to {hi}'})" for v, lo, hi in listed[:5])
        found = (f": {rows} of {total} values in {about}{distinct} distinct unseen value{'s' if distinct != 1 else ''}"
                 f"; most frequent: {tops}.")
    else:
        found = "."
    text = f"{_pct(share)} of values are outside the baseline domain (threshold {_pct(threshold)}{how}){found}"
    return CheckResult("categorical_values_check", f.name, PASSED if ok else FAILED, share, threshold, text, examples,
                       details=details)


def _calibrated_drift(f: FeatureBaseline, distance: float, th: Threshold, details: dict) -> CheckResult:
    ok = distance <= th.value
    text = (f"Baseline drift distance {distance:.4g} (L-infinity) is {'within' if ok else 'above'} the calibrated "
            f"threshold {th.value:.4g}: {th.derivation}. PSI {details['psi']:.4g}, Jensen-Shannon "
            f"{details['js_distance']:.4g}, KL {details['kl_divergence']:.4g}.")
    return CheckResult("baseline_drift_check", f.name, PASSED if ok else FAILED, distance, th.value, text,
                       details={**details, **th.to_details()})


def baseline_drift_check(baseline: Baseline, f: FeatureBaseline, p: ColumnProfile, t: Thresholds = Thresholds(),
                         alpha: float = 0.005) -> CheckResult | None:
    """Distance between the baseline's and the partition's distributions. Calibrated: the L-infinity
    distance (KS of the baseline's KLL sketch against the partition's counts on its grid,
    constraints.grid; or over category shares) against thresholds.ks_threshold /
    linf_shares_threshold at the two sizes; sagemaker: comparison_method and the fixed thresholds."""
    config = baseline.monitoring_config["distribution_constraints"]
    if config.get("perform_comparison") == "Disabled":
        return None
    if f.is_numeric and f.kll_levels and p.grid is not None and p.grid.n and f.kll_edges:
        method = baseline.setting(f, "comparison_method")
        threshold = float(baseline.setting(f, "comparison_threshold"))
        drift = grid_drift(f.kll_levels, f.kll_edges, p.grid, f.std_dev, (p.minimum, p.maximum))
        n, m = float(f.num_present), float(p.grid.n)
        distance = drift.linf_robust if method == "Robust" else drift.linf_simple
        details = {"method": method, "linf_simple": drift.linf_simple, "linf_robust": drift.linf_robust,
                   "psi": drift.psi, "js_distance": drift.js, "kl_divergence": drift.kl,
                   "wasserstein_normalized": drift.wasserstein_normalized,
                   "grid_points": len(p.grid.points), "grid_resolution": drift.resolution}
        if _calibrated(baseline, f, "comparison_threshold", t) and n and m:
            # the partition is counted exactly: only the baseline sketch's rank error is added
            th = ks_threshold(n, m, alpha, t, sketch_rank_error(len(f.kll_levels)))
            return _calibrated_drift(f, drift.linf_simple, th, {**details, "method": "Simple"})
    elif not f.is_numeric and f.categories and p.categories is not None:
        method = baseline.setting(f, "categorical_drift_method")
        threshold = float(baseline.setting(f, "categorical_comparison_threshold"))
        # unseen values beyond the listed ones (constraints.unseen) count as one more cell
        other = float(p.unseen.count - p.unseen.listed) if p.unseen is not None else 0.0
        drift = categorical_drift({k: float(v) for k, v in f.categories.items()}, {k: float(v) for k, v in p.categories},
                                  other)
        details = {"method": method, "linf": drift.linf, "chi_squared_p_value": drift.chi_squared_p_value,
                   "psi": drift.psi, "js_distance": drift.js, "kl_divergence": drift.kl}
        n, m = float(sum(f.categories.values())), float(sum(c for _, c in p.categories)) + other
        if _calibrated(baseline, f, "categorical_comparison_threshold", t) and n and m:
            th = linf_shares_threshold([c / n for c in f.categories.values()], n, m, alpha, t)
            return _calibrated_drift(f, drift.linf, th, {**details, "method": "LInfinity"})
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
            f"{threshold:g}. PSI {details['psi']:.4g}, Jensen-Shannon {details['js_distance']:.4g}, KL "
            f"{details['kl_divergence']:.4g}.")
    return CheckResult("baseline_drift_check", f.name, PASSED if ok else FAILED, distance, threshold, text,
                       details=details)


def feature_checks(baseline: Baseline, profile: Profile, identifiers: frozenset[str] = frozenset(),
                   thresholds: Thresholds = Thresholds()) -> list[CheckResult]:
    """The per-feature SageMaker checks. `identifiers` (unique in the baseline) get no drift check:
    the distribution of ids says nothing about the data. With calibrated thresholds, each check type
    is one family across the partition's features (thresholds.Thresholds.feature_alpha)."""
    out: list[CheckResult] = []
    evaluate = baseline.monitoring_config.get("evaluate_constraints") != "Disabled"
    pairs = [(baseline.feature(p.column.name), p) for p in profile.columns]
    pairs = [(f, p) for f, p in pairs if f is not None]
    t = thresholds
    alpha_type = t.feature_alpha(sum(f.inferred_type not in (STRING, UNKNOWN) for f, _ in pairs))
    alpha_complete = t.feature_alpha(sum(f.completeness is not None for f, _ in pairs))
    alpha_values = t.feature_alpha(sum(bool(f.domains) for f, _ in pairs))
    alpha_drift = t.feature_alpha(sum(f.name not in identifiers and (bool(f.kll_levels) or bool(f.categories))
                                      for f, _ in pairs))
    for f, p in pairs:
        if evaluate:
            out.append(data_type_check(baseline, f, p, t, alpha_type))
            out.append(completeness_check(f, p, profile.rows, baseline.item_count, t, alpha_complete))
            values = categorical_values_check(baseline, f, p, t, alpha_values)
            if values:
                out.append(values)
        if f.name in identifiers:
            out.append(CheckResult("baseline_drift_check", f.name, SKIPPED, None, None,
                                   "Identifier (unique in the baseline): its distribution is not compared."))
            continue
        drift = baseline_drift_check(baseline, f, p, t, alpha_drift)
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
