"""The constraint kinds, each declared in one place: the frozen spec (its fields are its JSON), the metrics
it needs (constraints.metrics), how it judges their values, and how each backend expresses it
(constraints.backends: validate's pass, Deequ, pandera, SageMaker's constraints.json), registered right
below the class. A new kind is one such block, in this module or any other (docs/constraints.md).

Pure: nothing here imports Spark or pandera at import time; the backends' functions import them when called.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from constraints.backends import DEEQU, PANDERA, PASS, SAGEMAKER, InPass, PanderaPart
from constraints.columns import type_family
from constraints.metrics import (CategoryCounts, Completeness, Maximum, MaxLength, MaxMultiplicity, Metric, Minimum,
                                 MinLength, SparkType, values_of)
from constraints.profile import SplitStats

KINDS: dict[str, type] = {}   # JSON name (`kind`) -> class, for reading suites back


class Constraint:
    """Base of the constraint kinds. A kind is a frozen dataclass with a `column`, a `kind` field
    (`field(default="snake_name", init=False)`, its name in suite.json), and these methods."""

    column: str
    kind: str

    def metrics(self) -> tuple[Metric, ...]:
        """What must be measured to judge it."""
        raise NotImplementedError

    def assess(self, values: Mapping[Metric, Any]) -> tuple[bool, str]:
        """Kept or not, judged on the values of its metrics, and what was observed."""
        raise NotImplementedError

    def evaluate(self, s: SplitStats) -> tuple[bool, str]:
        """Judged on one split's statistics (the suggestion rules' held-out split, validate's partition)."""
        return self.assess(values_of(s, self.metrics()))

    def describe(self) -> str:
        raise NotImplementedError


def constraint_kind(cls: type) -> type:
    """Class decorator: make a kind known by its `kind` name, so suites naming it read back."""
    name = cls.kind
    if name in KINDS and KINDS[name].__qualname__ != cls.__qualname__:
        raise ValueError(f"constraint kind {name!r} is already {KINDS[name].__qualname__}")
    KINDS[name] = cls
    return cls


def _functions():
    from pyspark.sql import functions as F   # the pass and Deequ run on Spark; the spec does not need it
    return F


def _pc():
    import pyarrow.compute as pc   # the pass's workers reading files themselves (constraints.direct)
    return pc


def _pa():
    import pyarrow as pa
    return pa


def _pandera():
    import pandera.pandas as pa   # constraints.pandera_schema has made pandera importable beside pyspark
    return pa


def _share_kept(check_share):
    """Deequ's assertion for a rule kept by a share of the rows."""
    return lambda x, t=check_share: x >= t


# ---- completeness -------------------------------------------------------------------------------------------

@constraint_kind
@dataclass(frozen=True)
class HasCompleteness(Constraint):
    """At least `at_least` of the rows are non-null (1.0: the column is complete)."""

    column: str
    at_least: float
    kind: str = field(default="has_completeness", init=False)

    def metrics(self) -> tuple[Metric, ...]:
        return (Completeness(self.column),)

    def assess(self, values: Mapping[Metric, Any]) -> tuple[bool, str]:
        completeness = values[Completeness(self.column)]
        return completeness >= self.at_least, f"completeness {completeness:.4f}"

    def describe(self) -> str:
        return (f"'{self.column}' is complete" if self.at_least >= 1.0
                else f"at least {self.at_least:.1%} of '{self.column}' is non-null")


PASS.register(HasCompleteness, InPass())   # the pass counts every column's present values
DEEQU.register(HasCompleteness, lambda c, check, a: check.isComplete(a) if c.at_least >= 1.0
               else check.hasCompleteness(a, _share_kept(c.at_least)))
PANDERA.register(HasCompleteness, lambda c, info: PanderaPart(complete=True) if c.at_least >= 1.0
                 else PanderaPart(left_out=True, unless_complete=True))
SAGEMAKER.not_expressible(HasCompleteness, "constraints.json's completeness is the share observed in the profile")


# ---- type ---------------------------------------------------------------------------------------------------

@constraint_kind
@dataclass(frozen=True)
class HasType(Constraint):
    """The column keeps its type family (SageMaker's Integral, Fractional, String), as SageMaker's
    data_type_check judges it: a change of storage width or file format (int for bigint, CSV read
    for Parquet) is information, not a violation. With `exact` (`"exact": true` in suite.json) the
    Spark type itself must stay."""

    column: str
    spark_type: str
    exact: bool = False
    kind: str = field(default="has_type", init=False)

    def metrics(self) -> tuple[Metric, ...]:
        return (SparkType(self.column),)

    def assess(self, values: Mapping[Metric, Any]) -> tuple[bool, str]:
        present = values[SparkType(self.column)]
        if present is None:   # a split of the same data: the splits share one schema
            return True, f"type {self.spark_type}"
        return self.judge(present)

    def judge(self, present_type: str) -> tuple[bool, str]:
        """Whether a column of Spark type `present_type` keeps the rule, and a note (empty when the
        type is the same)."""
        if present_type == self.spark_type:
            return True, ""
        if self.exact:
            return False, f"type is {present_type}, expected {self.spark_type} exactly"
        now, then = type_family(present_type), type_family(self.spark_type)
        if now is not None and now == then:
            return True, (f"stored as {present_type}, was {self.spark_type}: the same {now} family; set "
                          f"\"exact\": true on this rule in suite.json to require {self.spark_type}")
        return False, f"type is {present_type} ({now or 'not profiled'}), expected {self.spark_type} ({then})"

    def describe(self) -> str:
        if self.exact:
            return f"'{self.column}' has type {self.spark_type} exactly"
        family = type_family(self.spark_type)
        return f"'{self.column}' has type {self.spark_type}" + (f" (or another {family} type)" if family else "")


PASS.register(HasType, InPass())   # decided from the schema (metrics.SparkType) before the pass
DEEQU.not_expressible(HasType, "a question of the schema: decided from the DataFrame's schema before Deequ runs")
PANDERA.register(HasType, lambda c, info: PanderaPart())   # the column's dtype, from the suite's column types
SAGEMAKER.not_expressible(HasType, "constraints.json states the inferred type observed in the profile")


# ---- sign ---------------------------------------------------------------------------------------------------

@constraint_kind
@dataclass(frozen=True)
class IsNonNegative(Constraint):
    column: str
    kind: str = field(default="is_non_negative", init=False)

    def metrics(self) -> tuple[Metric, ...]:
        return (Minimum(self.column),)

    def assess(self, values: Mapping[Metric, Any]) -> tuple[bool, str]:
        low = values[Minimum(self.column)]
        return low is None or low >= 0, f"min {low}"

    def describe(self) -> str:
        return f"'{self.column}' is never negative"


PASS.register(IsNonNegative, InPass(offending=lambda c, x: x < 0, arrow_offending=lambda c, x: _pc().less(x, 0)))
DEEQU.register(IsNonNegative, lambda c, check, a: check.isNonNegative(a))
PANDERA.register(IsNonNegative, lambda c, info: PanderaPart(checks=(_pandera().Check.greater_than_or_equal_to(0),)))
SAGEMAKER.register(IsNonNegative, lambda c: {"num_constraints": {"is_non_negative": True}})


# ---- range --------------------------------------------------------------------------------------------------

@constraint_kind
@dataclass(frozen=True)
class IsInRange(Constraint):
    """At least `at_least` of the non-null values lie in [lower, upper].

    Suggested ranges carry a share just below 1 (a lower confidence bound): a batch larger than the
    training data will sometimes show a value past the training extremes, a shifted one many.
    """

    column: str
    lower: float
    upper: float
    at_least: float = 1.0
    kind: str = field(default="is_in_range", init=False)

    def metrics(self) -> tuple[Metric, ...]:
        return (Minimum(self.column), Maximum(self.column))

    def assess(self, values: Mapping[Metric, Any]) -> tuple[bool, str]:
        low, high = values[Minimum(self.column)], values[Maximum(self.column)]
        ok = (low is None or low >= self.lower) and (high is None or high <= self.upper)
        return ok, f"min {low}, max {high}"

    def describe(self) -> str:
        share = "" if self.at_least >= 1.0 else f"at least {self.at_least:.2%} of "
        return f"{share}'{self.column}' lies in [{self.lower:g}, {self.upper:g}]"


def _range_from_grid(c: IsInRange, p: Any) -> int | None:
    """Values outside [lower, upper] from the grid counts (its points hold both bounds); NaN and infinities
    are null there, not counted. Only for ranges kept by a share: the others follow from min and max."""
    if p.grid is None or c.at_least >= 1.0:
        return None
    return p.grid.count_below(c.lower) + p.grid.n - p.grid.count_below(math.nextafter(c.upper, math.inf))


PASS.register(IsInRange, InPass(
    offending=lambda c, x: (x < c.lower) | (x > c.upper),
    arrow_offending=lambda c, x: _pc().or_(_pc().less(x, c.lower), _pc().greater(x, c.upper)),
    grid_points=lambda c: (c.lower, math.nextafter(c.upper, math.inf)) if c.at_least < 1.0 else (),
    from_counts=_range_from_grid))
DEEQU.register(IsInRange, lambda c, check, a: check.satisfies(
    f"`{a}` IS NULL OR (`{a}` >= {c.lower!r} AND `{a}` <= {c.upper!r})", f"range {a}", _share_kept(c.at_least)))
PANDERA.register(IsInRange, lambda c, info: PanderaPart(checks=(_pandera().Check.in_range(c.lower, c.upper),))
                 if c.at_least >= 1.0 else PanderaPart(left_out=True))
SAGEMAKER.not_expressible(IsInRange, "constraints.json has no numeric range")


# ---- uniqueness ---------------------------------------------------------------------------------------------

@constraint_kind
@dataclass(frozen=True)
class IsUnique(Constraint):
    column: str
    kind: str = field(default="is_unique", init=False)

    def metrics(self) -> tuple[Metric, ...]:
        return (MaxMultiplicity(self.column),)

    def assess(self, values: Mapping[Metric, Any]) -> tuple[bool, str]:
        most = values[MaxMultiplicity(self.column)]
        return most is not None and most <= 1, f"most frequent value occurs {most} times"

    def describe(self) -> str:
        return f"'{self.column}' has no duplicate values"


PASS.register(IsUnique, InPass())   # the pass settles the multiplicity of the columns that ask for it
DEEQU.not_expressible(IsUnique, "judged on the exact value counts of the profile's one grouping pass, not a "
                                "Deequ grouping pass per column")
PANDERA.register(IsUnique, lambda c, info: PanderaPart(unique=True))
SAGEMAKER.not_expressible(IsUnique, "constraints.json has no uniqueness")


# ---- domain -------------------------------------------------------------------------------------------------

@constraint_kind
@dataclass(frozen=True)
class IsInDomain(Constraint):
    """At least `at_least` of the non-null values are among `values`."""

    column: str
    values: tuple[str, ...]
    at_least: float = 1.0
    kind: str = field(default="is_in_domain", init=False)

    def metrics(self) -> tuple[Metric, ...]:
        return (CategoryCounts(self.column),)

    def _share(self, counts: dict[str, int] | None) -> tuple[float, dict[str, int]]:
        counts = counts or {}
        total = sum(counts.values())
        unseen = {v: n for v, n in counts.items() if v not in set(self.values)}
        return (1.0 - sum(unseen.values()) / total if total else 1.0), unseen

    def in_domain_share(self, s: SplitStats) -> tuple[float, dict[str, int]]:
        return self._share(CategoryCounts(self.column).of(s))

    def assess(self, values: Mapping[Metric, Any]) -> tuple[bool, str]:
        share, unseen = self._share(values[CategoryCounts(self.column)])
        top = sorted(unseen.items(), key=lambda kv: -kv[1])[:5]
        return share >= self.at_least, f"{share:.4f} in domain" + (f"; unseen {top}" if top else "")

    def describe(self) -> str:
        shown = ", ".join(map(repr, self.values[:8])) + (", ..." if len(self.values) > 8 else "")
        share = "every value" if self.at_least >= 1.0 else f"at least {self.at_least:.1%} of values"
        return f"{share} of '{self.column}' in {{{shown}}}"


def _domain_from_categories(c: IsInDomain, p: Any) -> int | None:
    """Values outside the domain from the category counts (every value of the domain is counted; the
    others are unseen, constraints.unseen)."""
    if p.categories is None:
        return None
    domain = set(c.values)
    return p.num_present - sum(n for v, n in p.categories if v in domain)


def _domain_in_pandera(c: IsInDomain, info: Any) -> PanderaPart:
    if info.spark_type != "string":
        return PanderaPart()   # domains of booleans and dates are their string forms; the dtype covers them
    if c.at_least >= 1.0:
        return PanderaPart(checks=(_pandera().Check.isin(list(c.values)),))
    return PanderaPart(left_out=True)


PASS.register(IsInDomain, InPass(offending=lambda c, x: ~x.isin(list(c.values)), categories=lambda c: c.values,
                                 arrow_offending=lambda c, x: _pc().invert(_pc().is_in(x, value_set=_pa().array(
                                     list(c.values), x.type))),
                                 from_counts=_domain_from_categories))
DEEQU.register(IsInDomain, lambda c, check, a: check.isContainedIn(a, list(c.values), _share_kept(c.at_least)))
PANDERA.register(IsInDomain, _domain_in_pandera)
SAGEMAKER.register(IsInDomain, lambda c: {"string_constraints": {"domains": list(c.values)}})


# ---- length -------------------------------------------------------------------------------------------------

def _outside_lengths(n, low: int, high: int):
    """Arrow: the lengths `n` (computed once) below `low` or above `high`."""
    return _pc().or_(_pc().less(n, low), _pc().greater(n, high))


@constraint_kind
@dataclass(frozen=True)
class HasLengthBetween(Constraint):
    """At least `at_least` of the non-null strings have min_length..max_length characters."""

    column: str
    min_length: int
    max_length: int
    at_least: float = 1.0
    kind: str = field(default="has_length_between", init=False)

    def metrics(self) -> tuple[Metric, ...]:
        return (MinLength(self.column), MaxLength(self.column))

    def assess(self, values: Mapping[Metric, Any]) -> tuple[bool, str]:
        low, high = values[MinLength(self.column)], values[MaxLength(self.column)]
        ok = (low is None or low >= self.min_length) and (high is None or high <= self.max_length)
        return ok, f"lengths {low}..{high}"

    def describe(self) -> str:
        share = "" if self.at_least >= 1.0 else f"at least {self.at_least:.2%} of "
        return f"{share}'{self.column}' has {self.min_length} to {self.max_length} characters"


PASS.register(HasLengthBetween, InPass(
    offending=lambda c, x: (_functions().length(x) < c.min_length) | (_functions().length(x) > c.max_length),
    arrow_offending=lambda c, x: _outside_lengths(_pc().utf8_length(x), c.min_length, c.max_length)))
DEEQU.register(HasLengthBetween, lambda c, check, a: check.satisfies(
    f"`{a}` IS NULL OR length(`{a}`) BETWEEN {c.min_length} AND {c.max_length}", f"length {a}",
    _share_kept(c.at_least)))
PANDERA.register(HasLengthBetween, lambda c, info: PanderaPart(checks=(_pandera().Check.str_length(
    c.min_length, c.max_length),)) if c.at_least >= 1.0 else PanderaPart(left_out=True))
SAGEMAKER.not_expressible(HasLengthBetween, "constraints.json has no string lengths")
