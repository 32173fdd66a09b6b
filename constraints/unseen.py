"""Values of a categorical column outside the categories its baseline knows, counted in validate's pass.

A partition may hold any number of values its baseline never saw (an id written into a category column:
millions of them). Their cost stays bounded by small constants: validate's pass hands them to its Python
workers (constraints.tally, the `Values` lane) and each partition keeps

  count        how many rows hold such a value (exact)
  lengths      their shortest and longest length (exact)
  sketch       Apache DataSketches' frequent-items sketch (Misra-Gries with error bounds, 2**LG_MAX_MAP
               counters, at most ~50 KiB): each listed value's count lies between a lower and an upper bound,
               exact (equal bounds) while the partition has fewer than 0.75 * 2**LG_MAX_MAP distinct values
  distinct     DataSketches' HyperLogLog (2**LG_K registers, 2.3% standard error, like constraints.hll): the
               distinct count once the frequent-items sketch is not exact

The driver merges the partitions' tallies; `summary` turns the merged tally into an `Unseen`: the totals and
the most frequent values (at most LISTED), never every value.

Why DataSketches: its frequent-items sketch is the maintained, mergeable, serialisable heavy-hitters summary
with proven error bounds (the Apache project behind Druid's and Spark's sketches); writing one by hand would
repeat it with less testing.
"""

from __future__ import annotations

from dataclasses import dataclass

import datasketches as ds
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Values", "ValuesTally", "Unseen", "summary", "LISTED", "LG_MAX_MAP"]

LG_MAX_MAP = 12     # 4,096 counters: exact up to 3,072 distinct values; else error <= ~0.0009 of the count
LISTED = 20         # most frequent values kept in a summary (and in reports)
LG_K = 11           # HyperLogLog registers: 2**11, relative standard error 1.04 / sqrt(2048) = 2.3%


@dataclass(frozen=True)
class Unseen:
    """Values outside the known categories of a column, in a partition."""

    count: int                                          # rows holding one (exact)
    distinct: int                                       # distinct such values (exact when `exact`)
    exact: bool                                         # counts and distinct exact (the sketch never overflowed)
    top: tuple[tuple[str, int, int], ...] = ()          # (value, count at least, count at most), most frequent first
    min_length: int | None = None
    max_length: int | None = None

    @property
    def listed(self) -> int:
        """Rows holding a listed value (at least)."""
        return sum(lo for _, lo, _ in self.top)

    def phrase(self, limit: int = 5) -> str:
        """'N values in D distinct ones ...; most frequent: a (n), ...' for a sentence."""
        how = "" if self.exact else "about "
        text = f"{self.count} value{'s' if self.count != 1 else ''} in {how}{self.distinct} distinct unseen value" \
               f"{'s' if self.distinct != 1 else ''}"
        if self.top:
            text += "; most frequent: " + ", ".join(f"{_show(v)} ({_count(lo, hi)})" for v, lo, hi in self.top[:limit])
        return text


def _show(value: str, width: int = 60) -> str:
    shown = value if len(value) <= width else value[:width] + "\u2026"
    return repr(shown)


def _count(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo} to {hi}"


class ValuesTally:
    """A partition's (or a merged) tally of the `Values` lane."""

    __slots__ = ("count", "low", "high", "sketch", "distinct")

    def __init__(self, count: int = 0, low: int | None = None, high: int | None = None,
                 sketch: ds.frequent_strings_sketch | bytes | None = None, distinct: ds.hll_sketch | bytes | None = None):
        self.count, self.low, self.high, self.sketch, self.distinct = count, low, high, sketch, distinct

    def __getstate__(self):   # pickled between the workers and the driver: the sketches as their bytes
        sketch = self.sketch.serialize() if isinstance(self.sketch, ds.frequent_strings_sketch) else self.sketch
        distinct = self.distinct.serialize_compact() if isinstance(self.distinct, ds.hll_sketch) else self.distinct
        return self.count, self.low, self.high, sketch, distinct

    def __setstate__(self, state) -> None:
        self.count, self.low, self.high, self.sketch, self.distinct = state


def _sketch(s: ds.frequent_strings_sketch | bytes | None) -> ds.frequent_strings_sketch:
    if isinstance(s, ds.frequent_strings_sketch):
        return s
    return ds.frequent_strings_sketch.deserialize(s) if s else ds.frequent_strings_sketch(LG_MAX_MAP)


def _hll(s: ds.hll_sketch | bytes | None) -> ds.hll_sketch:
    if isinstance(s, ds.hll_sketch):
        return s
    return ds.hll_sketch.deserialize(s) if s else ds.hll_sketch(LG_K)


@dataclass(frozen=True)
class Values:
    """The lane: a string per row where the value is outside the known categories, else null."""

    def fold(self, lane: pa.Array) -> ValuesTally:
        v = lane.drop_null() if lane.null_count else lane
        if len(v) == 0:
            return ValuesTally()
        lengths = pc.utf8_length(v)
        counted = pc.value_counts(v)
        values, counts = counted.field(0), counted.field(1)
        sketch, distinct = ds.frequent_strings_sketch(LG_MAX_MAP), ds.hll_sketch(LG_K)
        for value, n in zip(values.to_pylist(), counts.to_pylist()):
            sketch.update(value, n)
            distinct.update(value)
        return ValuesTally(len(v), pc.min(lengths).as_py(), pc.max(lengths).as_py(), sketch, distinct)

    def merge(self, a: ValuesTally, b: ValuesTally) -> ValuesTally:
        if not b.count:
            return a
        if not a.count:
            return b
        sketch = _sketch(a.sketch)
        sketch.merge(_sketch(b.sketch))
        union = ds.hll_union(LG_K)
        union.update(_hll(a.distinct))
        union.update(_hll(b.distinct))
        return ValuesTally(a.count + b.count, min(a.low, b.low), max(a.high, b.high), sketch,
                           union.get_result(ds.tgt_hll_type.HLL_4))

    def close(self, t: ValuesTally) -> ValuesTally:
        return t


def summary(t: ValuesTally | None, limit: int = LISTED) -> Unseen | None:
    """The totals and the `limit` most frequent values of a merged tally; None when there were none."""
    if t is None or not t.count:
        return None
    sketch = _sketch(t.sketch)
    items = sketch.get_frequent_items(ds.frequent_items_error_type.NO_FALSE_NEGATIVES, 0)
    exact = all(lo == hi for _, _, lo, hi in items) and sum(lo for _, _, lo, _ in items) == t.count
    items = sorted(items, key=lambda it: (-it[1], -it[2], it[0]))[:limit]
    distinct = sketch.num_active_items if exact else max(round(_hll(t.distinct).get_estimate()),
                                                         sketch.num_active_items)
    return Unseen(t.count, int(distinct), exact, tuple((v, int(lo), int(hi)) for v, _, lo, hi in items),
                  t.low, t.high)
