"""Metrics a constraint needs, as values: a metric names what is measured of which column, and reads its
value from a split's statistics (profile.SplitStats), the sufficient statistics every engine produces.

As in Deequ, a constraint never reads data: it names its metrics (`Constraint.metrics()`) and judges their
values (`Constraint.assess(values)`), and results are looked up by the metric object itself, not by a
string: `values[Minimum("age")]`. Metrics are frozen dataclasses, so they hash and compare by value.

Pure values: no Spark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Mapping

from constraints.profile import SplitStats


@dataclass(frozen=True)
class Metric:
    """A measured quantity of one column. `from_schema`: known from the schema alone, without the rows."""

    column: str
    from_schema: ClassVar[bool] = False

    def of(self, s: SplitStats) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no value in a split's statistics")


@dataclass(frozen=True)
class Completeness(Metric):
    """Share of the rows that are not null."""

    def of(self, s: SplitStats) -> float:
        return s.completeness


@dataclass(frozen=True)
class Minimum(Metric):
    def of(self, s: SplitStats) -> float | None:
        return s.minimum


@dataclass(frozen=True)
class Maximum(Metric):
    def of(self, s: SplitStats) -> float | None:
        return s.maximum


@dataclass(frozen=True)
class MinLength(Metric):
    def of(self, s: SplitStats) -> int | None:
        return s.min_length


@dataclass(frozen=True)
class MaxLength(Metric):
    def of(self, s: SplitStats) -> int | None:
        return s.max_length


@dataclass(frozen=True)
class MaxMultiplicity(Metric):
    """How often the most frequent value occurs (exact: 1 means unique). Engines count it only for the
    columns that ask for it (a grouping or hashing pass)."""

    def of(self, s: SplitStats) -> int | None:
        return s.max_multiplicity


@dataclass(frozen=True)
class CategoryCounts(Metric):
    """Exact counts per value, for categorical columns (None elsewhere)."""

    def of(self, s: SplitStats) -> dict[str, int] | None:
        return s.categories


@dataclass(frozen=True)
class SparkType(Metric):
    """The column's Spark type (`simpleString`), known from the schema. A split has none of its own
    (all splits share one schema): None."""

    from_schema: ClassVar[bool] = True

    def of(self, s: SplitStats) -> None:
        return None


# Measured by an engine over a whole split, with no value in a split's statistics (SplitStats): the
# profile's own figures. Deequ's engine (constraints.deequ_profile) addresses its analyzers' results by them.

@dataclass(frozen=True)
class Size(Metric):
    """Rows of the data (column "*": the whole table)."""


TABLE_SIZE = Size("*")


@dataclass(frozen=True)
class Mean(Metric):
    pass


@dataclass(frozen=True)
class Sum(Metric):
    pass


@dataclass(frozen=True)
class StandardDeviation(Metric):
    pass


@dataclass(frozen=True)
class KllSketch(Metric):
    """The column's KLL sketch (a profile.Kll)."""


@dataclass(frozen=True)
class ApproxCountDistinct(Metric):
    """Distinct values, by HyperLogLog."""


@dataclass(frozen=True)
class NonFiniteShare(Metric):
    """Share of the rows whose value is NaN or +-Inf (fractional columns)."""


@dataclass(frozen=True)
class TypeShare(Metric):
    """Share of the rows that are null or convert to the profiled type (retyped string columns)."""


def values_of(s: SplitStats, metrics: Iterable[Metric]) -> dict[Metric, Any]:
    """The values of `metrics` in a split's statistics, addressed by the metric objects."""
    return {m: m.of(s) for m in metrics}


def needed(constraints: Iterable[Any]) -> frozenset[Metric]:
    """Every metric the constraints need (each constraint's `metrics()`)."""
    return frozenset(m for c in constraints for m in c.metrics())


def columns_of(kind: type[Metric], metrics: Iterable[Metric]) -> frozenset[str]:
    """Columns for which one of `metrics` is of type `kind` (e.g. the columns whose multiplicity to count)."""
    return frozenset(m.column for m in metrics if type(m) is kind)


def schema_values(metrics: Iterable[Metric], types: Mapping[str, str]) -> dict[Metric, Any] | None:
    """The values of schema-only metrics from `types` (column -> Spark type); None when any metric needs rows."""
    metrics = tuple(metrics)
    if not metrics or not all(m.from_schema for m in metrics):
        return None
    return {m: types.get(m.column) for m in metrics}
