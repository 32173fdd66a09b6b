"""History checks: each metric of a partition against its own history across earlier partitions.

Like Deequ's anomaly detection over a metrics repository: an n-sigma rule (OnlineNormal: mean and
standard deviation of every earlier point; BatchNormal: of the last `window` points), with points
that were themselves anomalies left out of the estimates (Deequ's ignoreAnomalies; found by replaying
the rule over the history, so the result does not depend on what earlier runs stored), and a
rate-of-change rule for the row count against the last normal partition.

Many metrics times many partitions are many tests: at 3 sigma, 40 noisy series over 20 partitions give
a couple of false alarms by chance in every backfill. Three things keep that down, stated in every
finding:
  - which metrics get rules by default (DEFAULT_METRICS): the partition's volume and label accuracy,
    every feature's completeness, and the model outputs' mean and distinct count; the input features'
    distributions are already checked against the baseline with calibrated, family-controlled
    thresholds (baseline_drift_check), so their means, distinct counts and drift get history rules only
    when asked for (`metrics`, `output_metrics`);
  - no rule before `min_history` earlier points;
  - family-wise control: the rule's width is max(sigmas, z) with z the two-sided normal quantile that
    holds `family_alpha` across the series checked in the partition (Sidak).
Deterministic series (a complete column, a fixed set of categories) have no spread: any change is a
finding, except that completeness must move by at least `min_share_change`; the row count's spread
is at least Poisson's sqrt(mean), and completeness's spread at least the binomial sqrt(c(1-c)/m) at the
partition's m rows (a short history can look calmer than sampling allows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from scipy import stats

from constraints.checks import CheckResult, FAILED, PASSED, SKIPPED

ONLINE, BATCH = "online", "batch"
DATASET = "*"                                  # the feature name of partition-level metrics
DOMAIN_METRICS = ("domain_auroc", "domain_skill", "domain_drift_coefficient")   # constraints.domain
DATASET_METRICS = ("row_count", "labeled_accuracy", *DOMAIN_METRICS)
DEFAULT_METRICS = ("row_count", "labeled_accuracy", "completeness")      # for every feature
DEFAULT_OUTPUT_METRICS = ("mean", "completeness")      # for model outputs (predictions)
HISTORY_METRICS = ("row_count", "labeled_accuracy", "completeness", "mean", "distinct_count", "baseline_drift_z",
                   *DOMAIN_METRICS, "domain_contribution")
ONE_SIDED_UP = frozenset({"baseline_drift_z", *DOMAIN_METRICS, "domain_contribution"})   # only a rise is bad


@dataclass(frozen=True)
class HistoryOptions:
    sigmas: float = 3.0
    strategy: str = ONLINE             # online: all earlier points; batch: the last `window`
    window: int = 30
    min_history: int = 10
    family_alpha: float = 0.01         # false alarms across the series checked in one partition
    metrics: tuple[str, ...] = DEFAULT_METRICS
    output_metrics: tuple[str, ...] = DEFAULT_OUTPUT_METRICS
    min_share_change: float = 0.005    # completeness must move at least this much
    max_rate_decrease: float = 0.3     # row count vs. the last normal partition
    max_rate_increase: float = 1.0

    def __post_init__(self) -> None:
        if self.strategy not in (ONLINE, BATCH):
            raise ValueError(f"history strategy must be {ONLINE} or {BATCH}, not {self.strategy!r}")
        unknown = [m for m in self.metrics + self.output_metrics if m not in HISTORY_METRICS]
        if unknown:
            raise ValueError(f"unknown history metrics {unknown}; choose among {', '.join(HISTORY_METRICS)}")
        if self.sigmas <= 0 or self.min_history < 2 or self.window < 2 or not 0 < self.family_alpha < 1:
            raise ValueError("history options: sigmas > 0, min_history >= 2, window >= 2, 0 < family_alpha < 1")

    def applies(self, feature: str, metric: str, outputs: frozenset[str]) -> bool:
        if metric in DATASET_METRICS:
            return feature == DATASET and metric in self.metrics
        return feature != DATASET and (metric in self.metrics or (feature in outputs and metric in self.output_metrics))

    def width(self, series: int) -> float:
        """The rule's width in standard deviations for `series` checks in one partition."""
        alpha = 1.0 - (1.0 - self.family_alpha) ** (1.0 / max(series, 1))
        return max(self.sigmas, float(stats.norm.isf(alpha / 2)))


@dataclass(frozen=True)
class _Estimate:
    center: float
    sd: float
    points: int
    excluded: tuple[str, ...]


def _sd_floor(metric: str, feature: str, center: float, values: dict[tuple[str, str], float]) -> float:
    """The least spread chance gives in a partition with these metric `values`: Poisson's for its row
    count, the binomial's sqrt(c(1-c)/m) at its m rows for completeness, the standard error
    std_dev / sqrt(present values) for a mean; none known for the others."""
    m = values.get((DATASET, "row_count"))
    if metric == "row_count":
        return math.sqrt(max(center, 0.0))
    if metric == "completeness" and m:
        c = min(max(center, 0.0), 1.0)
        return math.sqrt(c * (1.0 - c) / m)
    std_dev = values.get((feature, "std_dev"))
    present = (m or 0.0) * values.get((feature, "completeness"), 1.0)
    if metric == "mean" and std_dev and present >= 1:
        return std_dev / math.sqrt(present)
    return 0.0


def _estimate(past: list[tuple[str, float]], options: HistoryOptions, excluded: list[str],
              floor: Callable[[float], float]) -> _Estimate:
    values = [v for _, v in (past[-options.window:] if options.strategy == BATCH else past)]
    h = len(values)
    center = sum(values) / h
    sd = math.sqrt(sum((v - center) ** 2 for v in values) / (h - 1)) if h > 1 else 0.0
    return _Estimate(center, max(sd, floor(center)), h, tuple(excluded))


def _outside(metric: str, x: float, e: _Estimate, k: float, options: HistoryOptions) -> tuple[bool, float, float]:
    """(anomalous, lower bound, upper bound)."""
    half = k * e.sd
    lower, upper = e.center - half, e.center + half
    if metric in ONE_SIDED_UP:
        lower = -math.inf
    tolerance = 1e-9 * max(1.0, abs(e.center))
    out = x > upper + tolerance or x < lower - tolerance
    if metric == "completeness" and abs(x - e.center) < options.min_share_change:
        out = False
    return out, lower, upper


def _replay(feature: str, metric: str, points: list[tuple[str, float]], k: float, options: HistoryOptions,
            partitions: dict[str, dict[tuple[str, str], float]]) -> tuple[list[tuple[str, float]], list[str]]:
    """Walk the history in order; return its normal points and the partitions that were anomalies.
    The online estimate is kept as running sums (Welford), so a history of n partitions costs O(n), not
    a pass over all earlier points per point (5,000 partitions: bench/RESULTS.md, "Stress")."""
    normal: list[tuple[str, float]] = []
    excluded: list[str] = []
    count, mean, m2 = 0, 0.0, 0.0   # of the normal points so far
    for partition, x in points:
        if len(normal) >= options.min_history:
            values = partitions.get(partition, {})
            floor = lambda c: _sd_floor(metric, feature, c, values)  # noqa: E731
            if options.strategy == BATCH:
                e = _estimate(normal, options, excluded, floor)   # the last `window` points only
            else:
                sd = math.sqrt(m2 / (count - 1)) if count > 1 else 0.0
                e = _Estimate(mean, max(sd, floor(mean)), count, ())
            anomalous = _outside(metric, x, e, k, options)[0]
            if metric == "row_count" and not anomalous:
                anomalous = _rate(x, normal[-1][1], options)[0]
            if anomalous:
                excluded.append(partition)
                continue
        normal.append((partition, x))
        count += 1
        delta = x - mean
        mean += delta / count
        m2 += delta * (x - mean)
    return normal, excluded


def _rate(x: float, reference: float, options: HistoryOptions) -> tuple[bool, float]:
    if reference <= 0:
        return False, 0.0
    change = x / reference - 1.0
    return change < -options.max_rate_decrease or change > options.max_rate_increase, change


def _label(feature: str, metric: str) -> str:
    return metric if feature == DATASET else f"{metric} of '{feature}'"


def history_checks(current: dict[tuple[str, str], float], history: dict[tuple[str, str], list[tuple[str, float]]],
                   options: HistoryOptions = HistoryOptions(), outputs: frozenset[str] = frozenset(),
                   skip: frozenset[str] = frozenset()) -> list[CheckResult]:
    """Check the current partition's metrics ({(feature, metric): value}) against their histories
    ({(feature, metric): [(partition, value), ...]} of earlier partitions, in order). `outputs` are the
    model-output columns, `skip` columns that get no rule (identifiers). Returns `history_check`
    results (n-sigma) and a `history_rate_check` for the row count."""
    keys = [key for key in current if key[0] not in skip and options.applies(key[0], key[1], outputs)]
    ready = [key for key in keys if len(history.get(key, ())) >= options.min_history]
    if not ready:
        longest = max((len(history.get(key, ())) for key in keys), default=0)
        return [CheckResult("history_check", None, SKIPPED, None, None,
                            f"History of {longest} earlier partitions: rules start at {options.min_history}.",
                            details={"history_length": longest, "min_history": options.min_history})]
    k = options.width(len(ready))
    partitions: dict[str, dict[tuple[str, str], float]] = {}   # the metrics _sd_floor reads, per earlier partition
    for key in [key for key in history if key[1] in ("row_count", "completeness", "std_dev")]:
        for partition, value in history[key]:
            partitions.setdefault(partition, {})[key] = value
    m = current.get((DATASET, "row_count"))
    out = []
    for feature, metric in ready:
        x = current[(feature, metric)]
        normal, excluded = _replay(feature, metric, history[(feature, metric)], k, options, partitions)
        if len(normal) < options.min_history:
            out.append(CheckResult("history_check", None if feature == DATASET else feature, SKIPPED, x, None,
                                   f"{_label(feature, metric)}: only {len(normal)} normal earlier partitions.",
                                   details={"metric": metric, "excluded_partitions": excluded}))
            continue
        e = _estimate(normal, options, excluded, lambda c: _sd_floor(metric, feature, c, current))
        anomalous, lower, upper = _outside(metric, x, e, k, options)
        bound = upper if x > e.center else lower
        floor = _sd_floor(metric, feature, e.center, current)
        floor_text = {"row_count": "Poisson's sqrt(mean)", "completeness": f"binomial sqrt(c(1-c)/{m or 0:.0f})",
                      "mean": "standard error std_dev/sqrt(values)"}.get(metric, "")
        sd_text = f"{e.sd:.4g}" + (f" (the floor: {floor_text})" if floor and e.sd == floor else "")
        how = (f"{options.strategy} normal over {e.points} earlier partitions"
               + (f" ({len(excluded)} earlier anomalies left out)" if excluded else "")
               + f": mean {e.center:.6g}, sd {sd_text}; width {k:.3g} sd = max({options.sigmas:g}, the two-sided "
                 f"normal quantile holding {options.family_alpha:g} across {len(ready)} series)")
        text = (f"{_label(feature, metric)} is {x:.6g}, {'outside' if anomalous else 'within'} "
                f"[{lower:.6g}, {upper:.6g}] ({how}"
                + (f"; changes below {options.min_share_change:g} are ignored" if metric == "completeness" else "")
                + ").")
        details: dict[str, Any] = {"metric": metric, "strategy": options.strategy, "mean": e.center, "sd": e.sd,
                                   "sigmas": options.sigmas, "width_sd": k, "lower": lower, "upper": upper,
                                   "history_length": e.points, "excluded_partitions": list(excluded),
                                   "series_checked": len(ready), "family_alpha": options.family_alpha,
                                   "deviation_sd": (x - e.center) / e.sd if e.sd else None}
        out.append(CheckResult("history_check", None if feature == DATASET else feature,
                               FAILED if anomalous else PASSED, x, bound if math.isfinite(bound) else None, text,
                               details=details))
        if metric == "row_count":
            reference_partition, reference = normal[-1]
            bad, change = _rate(x, reference, options)
            limit = -options.max_rate_decrease if change < 0 else options.max_rate_increase
            out.append(CheckResult(
                "history_rate_check", None, FAILED if bad else PASSED, change, limit,
                f"Row count {x:.0f} is {change:+.1%} against {reference:.0f} in {reference_partition}, the last "
                f"normal partition ({'outside' if bad else 'within'} the allowed change "
                f"-{options.max_rate_decrease:.0%} .. +{options.max_rate_increase:.0%}).",
                details={"metric": "row_count", "reference_partition": reference_partition,
                         "reference_value": reference, "rows": x}))
    return out
