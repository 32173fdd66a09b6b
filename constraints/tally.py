"""Validate's pass on the Python workers: every Arrow batch of a partition folded into one tally per lane.

constraints.scan has Spark compute a few lanes per row and hands their Arrow batches to `tally_partition`
(Spark's mapInArrow). A worker folds each batch into a tally per lane with numpy and sends one row per
partition back: its row count and pickled tallies, a few kilobytes. The driver merges the partitions'
tallies in partition order (`merge_partitions`). No shuffle, no grouping: a single scan of the rows.

  Numbers     a numeric column (null: absent; NaN: a non-finite value): count, sum and sum of squares less
              the baseline mean (no cancellation while the mean stays near the baseline's), min, max, counts
              per grid cell; for unique columns the distinct values and the largest count of one, exact within
              a partition and exact overall while the partitions' value ranges do not overlap (`Run`)
  Categories  a categorical column's values, looked up among the baseline's categories (Arrow's hashed
              index_in): counts per known category, of other values and of nulls
  Registers   HyperLogLog ranks of 64-bit hashes (constraints.hll)
  Lengths     string lengths: count, min, max
  Flags       a boolean: the rows where it holds
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Union

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from constraints import hll

__all__ = ["Numbers", "Categories", "Registers", "Lengths", "Flags", "Lane", "Run", "distinct_and_most",
           "tally_partition", "merge_partitions", "SCHEMA", "DDL"]

@dataclass
class NumberTally:
    present: int = 0
    nonfinite: int = 0
    shifted: float = 0.0                     # sum of the values less the center
    squares: float = 0.0                     # sum of their squares
    low: int | float | None = None
    high: int | float | None = None
    cells: np.ndarray | None = None          # counts per grid cell: cell j holds the values with j points <= them
    values: list[np.ndarray] = field(default_factory=list)   # unique columns: the partition's values, until closed
    runs: list[Run] = field(default_factory=list)            # unique columns: one per closed partition


@dataclass(frozen=True)
class Run:
    """A partition's values of a unique column: the ranges they lie in (split at the widest gaps between
    them, so that files of separate id ranges read into one partition stay apart), the distinct values
    and the largest count of one."""

    ranges: tuple[tuple[int | float, int | float], ...]
    distinct: int
    most: int

    RANGES = 64

    @classmethod
    def of(cls, values: np.ndarray) -> Run:
        """From a partition's values, sorted."""
        starts = np.flatnonzero(values[1:] != values[:-1]) + 1   # where each distinct value begins
        counts = np.diff(starts, prepend=0, append=len(values))
        distinct = values[np.concatenate(([0], starts))]
        gaps = np.diff(distinct)
        wide = np.flatnonzero(gaps > np.median(gaps)) if len(gaps) else gaps.astype(np.intp)
        cuts = np.sort(wide[np.argsort(gaps[wide])[-(cls.RANGES - 1):]] + 1)   # the widest, wider than most
        bounds = zip([0, *cuts.tolist()], [*cuts.tolist(), len(distinct)])
        return cls(tuple((distinct[a].item(), distinct[b - 1].item()) for a, b in bounds), len(distinct),
                   int(counts.max()))


@dataclass(frozen=True)
class Numbers:
    center: float                            # the baseline mean
    grid: np.ndarray | None = None           # the baseline's grid points: counts per cell
    unique: bool = False                     # distinct values and multiplicities

    def fold(self, lane: pa.Array) -> NumberTally:
        v = np.sort(lane.drop_null().to_numpy())   # int64 stays int64: min and max exact beyond 2**53
        nonfinite = 0
        if v.dtype.kind == "f" and len(v) and np.isnan(v[-1]):   # NaN sorts last
            finite = int(np.searchsorted(v, np.inf, side="right"))
            nonfinite, v = len(v) - finite, v[:finite]
        t = NumberTally(present=len(v), nonfinite=nonfinite)
        if len(v):
            d = v - self.center
            t.shifted, t.squares = float(d.sum()), float(d @ d)
            t.low, t.high = v[0].item(), v[-1].item()
        if self.grid is not None:   # cell j: the values with j points <= them, so between two searches
            below = np.searchsorted(v, self.grid, side="left")
            t.cells = np.diff(below, prepend=0, append=len(v))
        if self.unique:
            t.values = [v]
        return t

    def merge(self, a: NumberTally, b: NumberTally) -> NumberTally:
        return NumberTally(a.present + b.present, a.nonfinite + b.nonfinite, a.shifted + b.shifted,
                           a.squares + b.squares, _least(a.low, b.low), _most(a.high, b.high),
                           None if a.cells is None else a.cells + b.cells, a.values + b.values, a.runs + b.runs)

    def close(self, t: NumberTally) -> NumberTally:
        """End of a partition: its unique column's values become a Run."""
        if t.values:
            values = np.sort(np.concatenate(t.values)) if len(t.values) > 1 else t.values[0]
            if len(values):
                t.runs = [*t.runs, Run.of(values)]
            t.values = []
        return t


def distinct_and_most(runs: Iterable[Run]) -> tuple[int, int] | None:
    """Distinct values and the largest count of one over partitions none of whose value ranges overlap
    another partition's (no value can be in two of them); None when some do (count them otherwise)."""
    runs = list(runs)
    ranges = sorted(r for run in runs for r in run.ranges)   # one partition's ranges never overlap
    if any(b[0] <= a[1] for a, b in zip(ranges, ranges[1:])):
        return None
    return sum(r.distinct for r in runs), max((r.most for r in runs), default=0)


@dataclass(frozen=True)
class Categories:
    """A categorical column's values looked up among its known categories by Arrow's hashed `index_in`:
    counts per position (0: absent, 1..k: the known categories in order, k + 1: any other value)."""

    known: tuple[str, ...]
    value_set: pa.Array = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "value_set", pa.array(self.known, pa.string()))

    def fold(self, lane: pa.Array) -> np.ndarray:
        k = len(self.known)
        found = pc.index_in(lane, value_set=self.value_set).fill_null(k).to_numpy().astype(np.intp, copy=False)
        positions = np.where(lane.is_valid().to_numpy(zero_copy_only=False), found + 1, 0)
        return np.bincount(positions, minlength=k + 2)

    def merge(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    def close(self, t: np.ndarray) -> np.ndarray:
        return t


@dataclass(frozen=True)
class Registers:
    def fold(self, lane: pa.Array) -> np.ndarray:
        return hll.ranks(lane.drop_null().to_numpy())

    def merge(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.maximum(a, b)

    def close(self, t: np.ndarray) -> np.ndarray:
        return t


@dataclass(frozen=True)
class LengthTally:
    present: int = 0
    low: int | None = None
    high: int | None = None


@dataclass(frozen=True)
class Lengths:
    def fold(self, lane: pa.Array) -> LengthTally:
        v = lane.drop_null().to_numpy()
        return LengthTally(len(v), v.min().item(), v.max().item()) if len(v) else LengthTally()

    def merge(self, a: LengthTally, b: LengthTally) -> LengthTally:
        return LengthTally(a.present + b.present, _least(a.low, b.low), _most(a.high, b.high))

    def close(self, t: LengthTally) -> LengthTally:
        return t


@dataclass(frozen=True)
class Flags:
    def fold(self, lane: pa.Array) -> int:
        return int(pc.sum(lane).as_py() or 0)   # nulls: not counted

    def merge(self, a: int, b: int) -> int:
        return a + b

    def close(self, t: int) -> int:
        return t


Lane = Union[Numbers, Categories, Registers, Lengths, Flags]
SCHEMA = pa.schema([("rows", pa.int64()), ("tallies", pa.binary())])   # one row per partition
DDL = "rows long, tallies binary"                                      # the same, for Spark


def tally_partition(batches: Iterator[pa.RecordBatch], lanes: dict[str, Lane]) -> Iterator[pa.RecordBatch]:
    """mapInArrow's function: a partition's batches folded into one row (its rows, its pickled tallies)."""
    rows, tallies = 0, {}
    for batch in batches:
        rows += batch.num_rows
        for name, lane in lanes.items():
            t = lane.fold(batch.column(name))
            tallies[name] = lane.merge(tallies[name], t) if name in tallies else t
    closed = {name: lanes[name].close(t) for name, t in tallies.items()}
    yield pa.RecordBatch.from_pydict({"rows": [rows], "tallies": [pickle.dumps(closed)]}, schema=SCHEMA)


def merge_partitions(partitions: Iterable[tuple[int, bytes]], lanes: dict[str, Lane]) -> tuple[int, dict]:
    """The partitions' rows and tallies merged, in the order given (floating sums merge in that order)."""
    rows, merged = 0, {}
    for n, blob in partitions:
        rows += n
        for name, t in pickle.loads(blob).items():
            merged[name] = lanes[name].merge(merged[name], t) if name in merged else t
    return rows, merged


def _least(a, b):
    return b if a is None else a if b is None else min(a, b)


def _most(a, b):
    return b if a is None else a if b is None else max(a, b)

