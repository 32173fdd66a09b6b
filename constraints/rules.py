"""Suggestion heuristics, one small Rule each, in the manner of Deequ's `*Rule`s.

A rule looks at a column's training split: `applies` says whether it has something to say,
`candidate` proposes a constraint, and `relax` proposes a looser one when the candidate failed on
the held-out split (None: drop it). Bounds are never the observed extremes themselves: ranges and
lengths get a margin, shares a lower bound that allows for the baseline's estimation error and
for the sampling noise of a future batch of at least MIN_BATCH_ROWS rows.
"""

from __future__ import annotations

import math
import sys

from constraints.columns import INTEGRAL, STRING
from constraints.profile import ColumnProfile
from constraints.suite import (Constraint, HasCompleteness, HasLengthBetween, HasType, IsInDomain, IsInRange,
                               IsNonNegative, IsUnique)

Z = 2.576              # two-sided 99% normal quantile for lower confidence bounds
MIN_BATCH_ROWS = 1000  # smallest batch a suggested share must not cry wolf on


def wilson_lower(successes: float, n: int, z: float = Z) -> float:
    """Lower bound of the Wilson score interval for a proportion."""
    if n <= 0:
        return 0.0
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - spread) / (1 + z * z / n))


def batch_floor(successes: float, n: int, min_batch: int = MIN_BATCH_ROWS, z: float = Z) -> float:
    """The share a future batch should still reach when `successes` of `n` baseline rows did.

    q, the upper confidence bound of the failing share, covers the baseline's estimation error; a
    batch of m >= min_batch rows then shows a failing share up to about q + z*sqrt(q(1-q)/m)
    (with q at least 1/m: a batch can always hold one unlucky row).
    """
    q = 1.0 - wilson_lower(successes, n, z)
    allowance = z * math.sqrt(max(q, 1.0 / min_batch) * (1.0 - q) / min_batch)
    return _floor(max(0.0, 1.0 - q - allowance))


def _floor(x: float, digits: int = 4) -> float:
    return math.floor(x * 10**digits) / 10**digits


class CompletenessRule:
    name = "CompletenessRule"

    def applies(self, p: ColumnProfile) -> bool:
        return p.train.num_present > 0

    def candidate(self, p: ColumnProfile) -> Constraint:
        t = p.train
        at_least = 1.0 if t.num_present == t.rows else batch_floor(t.num_present, t.rows)
        return HasCompleteness(p.column.name, at_least)

    def relax(self, p: ColumnProfile, failed: Constraint) -> Constraint | None:
        both = p.train.num_present + p.holdout.num_present
        at_least = batch_floor(both, p.train.rows + p.holdout.rows)
        return HasCompleteness(p.column.name, at_least) if at_least > 0 else None


class TypeRule:
    name = "TypeRule"

    def applies(self, p: ColumnProfile) -> bool:
        return True

    def candidate(self, p: ColumnProfile) -> Constraint:
        return HasType(p.column.name, p.column.spark_type)

    def relax(self, p: ColumnProfile, failed: Constraint) -> Constraint | None:
        return None


class NonNegativeRule:
    name = "NonNegativeRule"

    def applies(self, p: ColumnProfile) -> bool:
        return p.column.is_numeric and p.train.minimum is not None and p.train.minimum >= 0

    def candidate(self, p: ColumnProfile) -> Constraint:
        return IsNonNegative(p.column.name)

    def relax(self, p: ColumnProfile, failed: Constraint) -> Constraint | None:
        return None


def _all_seen_share(p: ColumnProfile) -> float:
    """Lower confidence bound of the share of future values inside bounds that held for all n training values.

    All n values inside the bounds does not mean every future value will be (a larger batch reaches
    further into the tails): what the data supports is a share of at least batch_floor(n, n).
    """
    return batch_floor(p.train.num_present, p.train.num_present)


def _widen(lo: float, hi: float, *, integral: bool, floor_at_zero: bool, fraction: float = 0.1) -> tuple[float, float]:
    margin = fraction * (hi - lo) if hi > lo else max(abs(hi) * fraction, 1.0)
    lower, upper = lo - margin, hi + margin
    # near the ends of the double range the margin overflows: the range then ends at the largest double
    lower, upper = max(lower, -sys.float_info.max), min(upper, sys.float_info.max)
    if floor_at_zero:
        lower = max(lower, 0.0)
    if integral:
        lower, upper = float(math.floor(lower)), float(math.ceil(upper))
        if upper == hi and lower == lo:  # never the observed extremes themselves
            lower, upper = lower - 1, upper + 1
    return lower, upper


class RangeRule:
    """Numeric ranges with a margin; not for identifiers (unique integers grow from batch to batch)."""

    name = "RangeRule"

    def applies(self, p: ColumnProfile) -> bool:
        return (p.column.is_numeric and p.train.minimum is not None and p.train.maximum is not None
                and p.train.max_multiplicity != 1)

    def _range(self, p: ColumnProfile, s_lo: float, s_hi: float) -> Constraint:
        lower, upper = _widen(s_lo, s_hi, integral=p.column.inferred_type == INTEGRAL,
                              floor_at_zero=p.train.minimum >= 0 and s_lo >= 0)
        return IsInRange(p.column.name, lower, upper, _all_seen_share(p))

    def candidate(self, p: ColumnProfile) -> Constraint:
        return self._range(p, p.train.minimum, p.train.maximum)

    def relax(self, p: ColumnProfile, failed: Constraint) -> Constraint | None:
        h = p.holdout
        lo = min(p.train.minimum, h.minimum if h.minimum is not None else p.train.minimum)
        hi = max(p.train.maximum, h.maximum if h.maximum is not None else p.train.maximum)
        return self._range(p, lo, hi)


class UniqueRule:
    name = "UniqueRule"

    def applies(self, p: ColumnProfile) -> bool:
        t = p.train
        return t.max_multiplicity == 1 and t.num_present == t.rows and t.rows > 1

    def candidate(self, p: ColumnProfile) -> Constraint:
        return IsUnique(p.column.name)

    def relax(self, p: ColumnProfile, failed: Constraint) -> Constraint | None:
        return None


class CategoricalDomainRule:
    """Low-cardinality strings: values come from the training domain (Deequ's CategoricalRangeRule)."""

    name = "CategoricalDomainRule"
    max_distinct_ratio = 0.1   # a domain is worth stating when values repeat a lot

    def applies(self, p: ColumnProfile) -> bool:
        t = p.train
        return (p.column.inferred_type == STRING and t.categories is not None and t.num_present > 0
                and len(t.categories) <= max(2, self.max_distinct_ratio * t.num_present))

    def candidate(self, p: ColumnProfile) -> Constraint:
        return IsInDomain(p.column.name, tuple(sorted(p.train.categories)), 1.0)

    def relax(self, p: ColumnProfile, failed: Constraint) -> Constraint | None:
        share, _ = failed.in_domain_share(p.holdout)
        n = p.holdout.num_present
        at_least = _floor(wilson_lower(share * n, n))
        return IsInDomain(failed.column, failed.values, at_least) if at_least >= 0.9 else None


class LengthRule:
    name = "LengthRule"

    def applies(self, p: ColumnProfile) -> bool:
        return p.column.inferred_type == STRING and p.train.min_length is not None and p.column.spark_type == "string"

    def _between(self, p: ColumnProfile, lo: int, hi: int) -> Constraint:
        lower, upper = _widen(lo, hi, integral=True, floor_at_zero=True)
        return HasLengthBetween(p.column.name, int(lower), int(upper), _all_seen_share(p))

    def candidate(self, p: ColumnProfile) -> Constraint:
        return self._between(p, p.train.min_length, p.train.max_length)

    def relax(self, p: ColumnProfile, failed: Constraint) -> Constraint | None:
        h = p.holdout
        return self._between(p, min(p.train.min_length, h.min_length if h.min_length is not None else 10**9),
                             max(p.train.max_length, h.max_length or 0))


DEFAULT_RULES = (CompletenessRule(), TypeRule(), NonNegativeRule(), RangeRule(), UniqueRule(),
                 CategoricalDomainRule(), LengthRule())

