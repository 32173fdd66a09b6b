"""History checks: each metric of a partition against its own history across earlier partitions.

Like Deequ's anomaly detection over a metrics repository: an n-sigma rule (OnlineNormal: mean and
standard deviation of every earlier point; BatchNormal: of the last `window` points), with points
that were themselves anomalies left out of the estimates (Deequ's ignoreAnomalies; found by replaying
the rule over the history, so the result does not depend on what earlier runs stored), and a
rate-of-change rule for the row count against the last normal partition. The replay is a SeriesReplay
stepped point by point; a history index keeps it per series and extends it by each new partition, so a
backfill's checks cost the same per partition however long the history (jobs.history.HistoryIndex.fold).

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
from collections import deque
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Callable, Protocol, runtime_checkable

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


def _estimate(values: list[float], excluded: tuple[str, ...], floor: Callable[[float], float]) -> _Estimate:
    h = len(values)
    center = sum(values) / h
    sd = math.sqrt(sum((v - center) ** 2 for v in values) / (h - 1)) if h > 1 else 0.0
    return _Estimate(center, max(sd, floor(center)), h, excluded)


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


FLOOR_METRICS = ("row_count", "completeness", "std_dev")    # what _sd_floor reads of a partition


class SeriesReplay:
    """One series' rule walked over its history in order, one point at a time: what the rule needs of the
    normal points so far (count, mean and M2 of Welford's running sums for online; the last `window` values
    for batch; the last normal point for the rate rule) and the partitions found to be anomalies (left out
    of the estimates, Deequ's ignoreAnomalies). The state after n points depends on those n points, the
    floors of their partitions, `k` and the options only, so a history index can keep it and extend it by
    the points of each new partition (jobs.history.HistoryIndex.fold) instead of replaying every earlier point:
    the per-partition cost stays flat over a backfill (bench/RESULTS.md, "Issue 19: incremental history checks").
    The online estimate of the current partition is read from the same running sums (it was a second pass
    over the normal points: the same mean and sd to ~1e-14 relative, identical findings in the bench)."""

    __slots__ = ("feature", "metric", "k", "options", "count", "mean", "m2", "window", "last", "excluded")

    def __init__(self, feature: str, metric: str, k: float, options: HistoryOptions) -> None:
        self.feature, self.metric, self.k, self.options = feature, metric, k, options
        self.count, self.mean, self.m2 = 0, 0.0, 0.0               # of the normal points so far
        self.window: deque[float] | None = deque(maxlen=options.window) if options.strategy == BATCH else None
        self.last: tuple[str, float] | None = None                # the last normal point (the rate rule's reference)
        self.excluded: list[str] = []

    def estimate(self, floor: Callable[[float], float], excluded: tuple[str, ...] = ()) -> _Estimate:
        """Center and spread of the normal points so far (batch: the last `window` of them)."""
        if self.window is not None:
            return _estimate(list(self.window), excluded, floor)
        sd = math.sqrt(self.m2 / (self.count - 1)) if self.count > 1 else 0.0
        return _Estimate(self.mean, max(sd, floor(self.mean)), self.count, excluded)

    def step(self, partition: str, x: float, values_at: Callable[[str], Mapping[tuple[str, str], float]]) -> None:
        """Take the next point: judged against the normal points before it once there are `min_history` of
        them (the floor from its own partition's metrics, `values_at(partition)`), kept if normal."""
        if self.count >= self.options.min_history:
            values = values_at(partition)
            e = self.estimate(lambda c: _sd_floor(self.metric, self.feature, c, values))
            anomalous = _outside(self.metric, x, e, self.k, self.options)[0]
            if self.metric == "row_count" and not anomalous:
                anomalous = _rate(x, self.last[1], self.options)[0]
            if anomalous:
                self.excluded.append(partition)
                return
        self.count += 1
        self.last = (partition, x)
        if self.window is not None:
            self.window.append(x)
        delta = x - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (x - self.mean)


@runtime_checkable
class SeriesHistory(Protocol):
    """Earlier partitions' series as the history checks read them (jobs.history.HistoryIndex.before gives one
    that keeps each series' SeriesReplay and extends it; a plain mapping is replayed in full, _Replayed)."""

    def length(self, key: tuple[str, str]) -> int:
        """The number of earlier points of series `key`."""

    def value(self, key: tuple[str, str], partition: str) -> float | None:
        """Series `key`'s value at an earlier `partition` (the last point of that partition), None if absent."""

    def fold(self, key: tuple[str, str], tag: Hashable, start: Callable[[], Any],
             step: Callable[[Any, str, float], None]) -> Any:
        """`start()` stepped over series `key`'s earlier points in order by `step(state, partition, value)`;
        `tag` names what else the state depends on (the options and the width). The result is read only."""


class _Replayed:
    """A plain {key: [(partition, value), ...]} history: every rule replayed from its first point, each time
    (the reference the incremental index is tested against, tests/test_history_incremental.py)."""

    def __init__(self, history: Mapping[tuple[str, str], list[tuple[str, float]]]) -> None:
        self._history = history
        self._values: dict[str, dict[tuple[str, str], float]] | None = None

    def length(self, key: tuple[str, str]) -> int:
        return len(self._history.get(key, ()))

    def value(self, key: tuple[str, str], partition: str) -> float | None:
        if self._values is None:     # the metrics _sd_floor reads, per earlier partition (the last point wins)
            self._values = {}
            for k in [k for k in self._history if k[1] in FLOOR_METRICS]:
                for p, v in self._history[k]:
                    self._values.setdefault(p, {})[k] = v
        return self._values.get(partition, {}).get(key)

    def fold(self, key: tuple[str, str], tag: Hashable, start: Callable[[], Any],
             step: Callable[[Any, str, float], None]) -> Any:
        state = start()
        for partition, value in self._history.get(key, ()):
            step(state, partition, value)
        return state


def _replay(feature: str, metric: str, history: SeriesHistory, k: float, options: HistoryOptions) -> SeriesReplay:
    """The rule walked over series (feature, metric)'s history: its normal points' state and the partitions
    that were anomalies. An index extends its kept state by the new points (O(1) per partition); a plain
    mapping is replayed from the first point (O(n))."""
    def values_at(partition: str) -> dict[tuple[str, str], float]:
        keys = ((DATASET, "row_count"), (feature, "completeness"), (feature, "std_dev"))
        return {key: v for key in keys if (v := history.value(key, partition)) is not None}

    return history.fold((feature, metric), (options, k), lambda: SeriesReplay(feature, metric, k, options),
                        lambda state, partition, x: state.step(partition, x, values_at))


def _rate(x: float, reference: float, options: HistoryOptions) -> tuple[bool, float]:
    if reference <= 0:
        return False, 0.0
    change = x / reference - 1.0
    return change < -options.max_rate_decrease or change > options.max_rate_increase, change


def _label(feature: str, metric: str) -> str:
    return metric if feature == DATASET else f"{metric} of '{feature}'"


def history_checks(current: dict[tuple[str, str], float], history: Mapping[tuple[str, str], list[tuple[str, float]]] | SeriesHistory,
                   options: HistoryOptions = HistoryOptions(), outputs: frozenset[str] = frozenset(),
                   skip: frozenset[str] = frozenset()) -> list[CheckResult]:
    """Check the current partition's metrics ({(feature, metric): value}) against their histories
    ({(feature, metric): [(partition, value), ...]} of earlier partitions, in order; or a SeriesHistory that
    keeps each series' replayed state, jobs.history.HistoryIndex.before). `outputs` are the
    model-output columns, `skip` columns that get no rule (identifiers). Returns `history_check`
    results (n-sigma) and a `history_rate_check` for the row count."""
    keys = [key for key in current if key[0] not in skip and options.applies(key[0], key[1], outputs)]
    series = history if isinstance(history, SeriesHistory) else _Replayed(history)
    lengths = {key: series.length(key) for key in keys}
    ready = [key for key in keys if lengths[key] >= options.min_history]
    if not ready:
        longest = max(lengths.values(), default=0)
        return [CheckResult("history_check", None, SKIPPED, None, None,
                            f"History of {longest} earlier partitions: rules start at {options.min_history}.",
                            details={"history_length": longest, "min_history": options.min_history})]
    k = options.width(len(ready))
    m = current.get((DATASET, "row_count"))
    out = []
    for feature, metric in ready:
        x = current[(feature, metric)]
        state = _replay(feature, metric, series, k, options)
        excluded = tuple(state.excluded)
        if state.count < options.min_history:
            out.append(CheckResult("history_check", None if feature == DATASET else feature, SKIPPED, x, None,
                                   f"{_label(feature, metric)}: only {state.count} normal earlier partitions.",
                                   details={"metric": metric, "excluded_partitions": list(excluded)}))
            continue
        e = state.estimate(lambda c: _sd_floor(metric, feature, c, current), excluded)
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
            reference_partition, reference = state.last
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
