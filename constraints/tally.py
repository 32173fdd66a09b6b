"""Validate's pass on the Python workers: every Arrow batch of a partition folded into one tally per lane.

constraints.scan has Spark compute a few lanes per row and hands their Arrow batches to `tally_partition`
(Spark's mapInArrow). A worker folds each batch into a tally per lane with numpy and sends one row per
partition back: its row count and pickled tallies, a few kilobytes. The driver merges the partitions'
tallies in partition order (`merge_partitions`). No shuffle, no grouping: a single scan of the rows.

  Numbers     a numeric column (null: absent; NaN: a non-finite value): count, sum and sum of squares less
              the baseline mean (no cancellation while the mean stays near the baseline's), min, max, counts
              per grid cell; for unique columns the distinct values and the largest count of one, exact within
              a partition and exact overall while the partitions' value ranges do not overlap (`Run`)
  Categories  a categorical column's values, looked up among the baseline's categories: counts per known
              category, of other values and of nulls; the other values themselves in constraints.unseen's
              bounded sketches
  Registers   HyperLogLog ranks of 64-bit hashes (constraints.hll)
  Lengths     string lengths: count, min, max
  Flags       a boolean: the rows where it holds
  Described   (the baseline) a numeric column per held-out split: present, min, max; over both, count, sum,
              mean and centred sum of squares, non-finite values, a KLL sketch (Apache DataSketches)
  Strings     (the baseline) a string column per held-out split: lengths, and counts per value up to a cap
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Union

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from constraints import hll, unseen

__all__ = ["Numbers", "Categories", "Described", "DescribedTally", "Strings", "SPLIT", "Registers", "Lengths", "Flags",
           "Lane", "Joint", "Run", "distinct_and_most", "tally_partition", "fold_lane", "held_out", "merge_partitions",
           "float_block", "Coded", "coded", "SCHEMA", "DDL"]

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
    """A categorical column's values looked up among its known categories: counts per position (0: absent,
    1..k: the known categories in order, k + 1: any other value), and the other values themselves folded
    into constraints.unseen's bounded sketches (never kept whole). Folds the column's `Coded` form, which
    the batch's other lanes that look the same column up share (`coded`)."""

    known: tuple[str, ...]
    value_set: pa.Array = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "value_set", pa.array(self.known, pa.string()))

    def fold(self, c: "Coded") -> tuple[np.ndarray, unseen.ValuesTally]:
        k = len(self.known)
        positions = c.positions(self.value_set, other=k, null=-1) + 1
        counts = np.bincount(positions, minlength=k + 2)
        others = unseen.Values().fold(c.rows_outside(self.value_set)) if counts[k + 1] else unseen.ValuesTally()
        return counts, others

    def merge(self, a, b):
        return a[0] + b[0], unseen.Values().merge(a[1], b[1])

    def close(self, t):
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


@dataclass
class DescribedTally:
    """A numeric column as the baseline describes it: per split (training, held-out) the values present and
    their extremes; over both, count, sum, mean and centred sum of squares (merged by Chan et al.'s
    formula, no cancellation), non-finite values and a KLL sketch (Apache DataSketches)."""

    splits: tuple[LengthTally, LengthTally] = (LengthTally(), LengthTally())
    count: int = 0
    nonfinite: int = 0
    total: float = 0.0
    mean: float = 0.0
    m2: float = 0.0
    sketch: object = None                    # kll_doubles_sketch while folding, its bytes once closed


@dataclass(frozen=True)
class Described:
    """A baseline's numeric column (null: absent; NaN: non-finite), split by the held-out flag."""

    k: int = 2048                            # the KLL sketch's size (Deequ's sketchSize)

    def fold(self, lane: pa.Array, holdout: np.ndarray, so_far: DescribedTally | None = None) -> DescribedTally:
        """The batch's values: sums as they come, then sorted into the sketch (DataSketches' KLL updates
        sorted values three times faster, and its rank error holds for any order of the values; the sort
        costs less than it saves: 4.0 -> 1.2 CPU ms per 100,000 values)."""
        if lane.null_count:
            valid = lane.is_valid().to_numpy(zero_copy_only=False)
            v, held = lane.fill_null(0).to_numpy()[valid], holdout[valid]
        else:
            v, held = lane.to_numpy(zero_copy_only=False), holdout
        nonfinite = 0
        if v.dtype.kind == "f" and (nan := np.isnan(v)).any():
            nonfinite = int(nan.sum())
            v, held = v[~nan], held[~nan]
        t = DescribedTally(splits=_split_extents(v, held), count=len(v), nonfinite=nonfinite)
        t.sketch = _kll(self.k)
        if len(v):
            x = v.astype(np.float64)   # a copy of its own, sorted below
            t.total, t.mean = float(x.sum()), float(x.mean())
            d = x - t.mean
            t.m2 = float(np.dot(d, d))
            x.sort()
            t.sketch.update(x)
        return t

    def merge(self, a: DescribedTally, b: DescribedTally) -> DescribedTally:
        n = a.count + b.count
        delta = b.mean - a.mean
        mean = a.mean + delta * b.count / n if n else 0.0
        m2 = a.m2 + b.m2 + delta * delta * a.count * b.count / n if n else 0.0
        sketch = _opened(a.sketch, self.k)
        sketch.merge(_opened(b.sketch, self.k))
        splits = tuple(_extents(x, y) for x, y in zip(a.splits, b.splits))
        return DescribedTally(splits, n, a.nonfinite + b.nonfinite, a.total + b.total, mean, m2, sketch)

    def close(self, t: DescribedTally) -> DescribedTally:
        t.sketch = _opened(t.sketch, self.k).serialize()
        return t


@dataclass(frozen=True)
class Strings:
    """A baseline's string column, split by the held-out flag: per split the lengths (present, shortest,
    longest) and the counts per value while there are at most `cap` distinct values (None once there are
    more: not categorical; the worker then stops counting values)."""

    cap: int

    def fold(self, lane: pa.Array, holdout: np.ndarray, so_far=None,
             coding=None) -> tuple[tuple[LengthTally, dict | None], ...]:
        """Per split (training, held-out): lengths, and counts per value unless the partition's values
        already were too many (`so_far`: the partition's tally up to this batch; a batch with more than
        `cap` distinct values, too: the column is not categorical either way). The lengths and the values'
        positions in the batch's dictionary are split, not the strings (no copies of them). `coding`: a
        callable giving the lane's Coded form, shared with the batch's other lanes (`coded`)."""
        valid = lane.is_valid().to_numpy(zero_copy_only=False)
        lengths = pc.utf8_length(lane).fill_null(0).to_numpy()
        splits = (valid & ~holdout, valid & holdout)
        over = so_far is not None and any(counts is None for _, counts in so_far)
        counts: tuple[dict | None, dict | None] = (None, None)
        if not over:
            c = coding() if coding else Coded.of(lane)
            if len(c.values) <= self.cap:
                names = c.values.to_pylist()
                counts = tuple({names[i]: int(n) for i, n in enumerate(np.bincount(c.codes[m], minlength=len(names)))
                                if n} for m in splits)
        return tuple((_extent(lengths[m]), c) for m, c in zip(splits, counts))

    def merge(self, a, b):
        return tuple((Lengths().merge(la, lb), self._merged(ca, cb)) for (la, ca), (lb, cb) in zip(a, b))

    def _merged(self, a: dict | None, b: dict | None) -> dict | None:
        if a is None or b is None:
            return None
        out = dict(a)
        for v, n in b.items():
            out[v] = out.get(v, 0) + n
        return out if len(out) <= self.cap else None

    def close(self, t):
        return t


def _extent(v: np.ndarray) -> LengthTally:
    return LengthTally(len(v), v.min().item(), v.max().item()) if len(v) else LengthTally()


def _split_extents(v: np.ndarray, held: np.ndarray) -> tuple[LengthTally, LengthTally]:
    """Extents of the values not held out and of those held out (np.where, not copies of each split:
    0.7 CPU ms instead of 1.2 per 100,000 values)."""
    n = int(np.count_nonzero(held))
    if n in (0, len(v)):
        return (_extent(v), LengthTally()) if not n else (LengthTally(), _extent(v))
    top, bottom = (np.inf, -np.inf) if v.dtype.kind == "f" else (np.iinfo(v.dtype).max, np.iinfo(v.dtype).min)
    return (LengthTally(len(v) - n, np.where(held, top, v).min().item(), np.where(held, bottom, v).max().item()),
            LengthTally(n, np.where(held, v, top).min().item(), np.where(held, v, bottom).max().item()))


def _extents(a: LengthTally, b: LengthTally) -> LengthTally:
    return LengthTally(a.present + b.present, _least(a.low, b.low), _most(a.high, b.high))


def _kll(k: int):
    from datasketches import kll_doubles_sketch   # imported where sketches are made: workers and driver
    return kll_doubles_sketch(k)


def _opened(sketch, k: int):
    if sketch is None:
        return _kll(k)
    if isinstance(sketch, bytes):
        from datasketches import kll_doubles_sketch
        return kll_doubles_sketch.deserialize(sketch)
    return sketch


class Joint:
    """A lane over several of the other lanes at once (constraints.correlation): folds whole batches,
    reading the lanes it names; Spark computes no column for it. An `incremental` one is handed its
    partition's tally so far and returns it updated (constraints.rowsample skips rows it would drop;
    association.Contingency and identifiers.Hashes skip columns already settled)."""

    incremental = False   # True: fold(batch, the partition's tally so far or None) returns that tally updated


Lane = Union[Numbers, Categories, Registers, Lengths, Flags, Described, Strings, Joint]
SPLIT = "split"    # the lane of the held-out flag, for lanes folded per split (Described, Strings)
SCHEMA = pa.schema([("rows", pa.int64()), ("tallies", pa.binary())])   # one row per partition
DDL = "rows long, tallies binary"                                      # the same, for Spark


@dataclass(frozen=True)
class Coded:
    """A string column of one batch dictionary-encoded: each row's index among the batch's distinct
    `values` (-1: null). Looking values up among a set of categories then costs a hash per distinct
    value and a gather per row, however many lanes look the column up."""

    codes: np.ndarray    # per row (intp)
    values: pa.Array     # the batch's distinct values (string)
    lane: pa.Array = field(repr=False, compare=False)   # the column itself

    @classmethod
    def of(cls, lane: pa.Array) -> "Coded":
        enc = lane if pa.types.is_dictionary(lane.type) else pc.dictionary_encode(lane)   # nulls: null indices
        values = enc.dictionary if pa.types.is_string(enc.dictionary.type) else enc.dictionary.cast(pa.string())
        return cls(enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp, copy=False), values, lane)

    def positions(self, value_set: pa.Array, other: int, null: int) -> np.ndarray:
        """Each row's position among `value_set`: `other` for a value outside it, `null` for a null (a
        null in `value_set` is not looked up: pass its position as `null`)."""
        found = pc.index_in(self.values, value_set=value_set).fill_null(other)
        table = np.append(found.to_numpy(zero_copy_only=False).astype(np.intp, copy=False), null)
        return table.take(self.codes)   # code -1 (null) takes the last entry

    def rows_outside(self, value_set: pa.Array) -> pa.Array:
        """The rows' values outside `value_set` (nulls not included)."""
        outside = pc.invert(pc.is_in(self.values, value_set=value_set)).to_numpy(zero_copy_only=False)
        return self.lane.filter(pa.array(np.append(outside, False).take(self.codes)))


_BATCH: list = [None, {}]   # the batch folded last, and what its lanes share of it (float_block, coded)


def _shared(batch: pa.RecordBatch, key: tuple, make):
    if _BATCH[0] is not batch:
        _BATCH[:] = [batch, {}]
    if key not in _BATCH[1]:
        _BATCH[1][key] = make()
    return _BATCH[1][key]


def float_block(batch: pa.RecordBatch, names: tuple[str, ...]) -> np.ndarray:
    """The numeric lanes `names` of `batch` as one float64 block (rows x lanes; NaN: absent), read-only:
    the joint lanes of one batch that read the same lanes (co-moments, the reconstruction error) share it
    instead of each converting and stacking the columns again (30% of the folds on bench's numeric shape).
    Column-major: each lane's values contiguous (`block.T` is a C-ordered lanes x rows array)."""
    def make():
        rows = np.empty((len(names), batch.num_rows))   # lane by lane into contiguous rows: 10x column_stack's speed
        for j, n in enumerate(names):
            rows[j] = batch.column(n).to_numpy(zero_copy_only=False)
        block = rows.T                                  # rows x lanes, column-major
        block.flags.writeable = False
        return block
    return _shared(batch, ("float", names), make)


def coded(batch: pa.RecordBatch, name: str) -> Coded:
    """The categorical lane `name` of `batch` dictionary-encoded once for every lane that looks it up
    (Categories, association.KnownContingency, reconstruction.Errors): on bench's categorical shape three
    hashed lookups per value became one."""
    return _shared(batch, ("coded", name), lambda: Coded.of(batch.column(name)))


def tally_partition(batches: Iterator[pa.RecordBatch], lanes: dict[str, Lane]) -> Iterator[pa.RecordBatch]:
    """mapInArrow's function: a partition's batches folded into one row (its rows, its pickled tallies)."""
    rows, tallies = 0, {}
    for batch in batches:
        rows += batch.num_rows
        holdout = held_out(batch)
        for name, lane in lanes.items():
            fold_lane(name, lane, batch, holdout, tallies)
    _BATCH[:] = [None, {}]   # the partition's last batch is not kept past it
    closed = {name: lanes[name].close(t) for name, t in tallies.items()}
    yield pa.RecordBatch.from_pydict({"rows": [rows], "tallies": [pickle.dumps(closed)]}, schema=SCHEMA)


def held_out(batch: pa.RecordBatch) -> np.ndarray | None:
    """The batch's held-out flags (the SPLIT lane), None without one."""
    if SPLIT not in batch.schema.names:
        return None
    return batch.column(SPLIT).fill_null(False).to_numpy(zero_copy_only=False)


def fold_lane(name: str, lane: Lane, batch: pa.RecordBatch, holdout: np.ndarray | None, tallies: dict) -> None:
    """One lane's batch folded into the partition's `tallies` (in place): tally_partition's step, which
    bench/pass_profile.py times lane by lane."""
    if isinstance(lane, Joint) and lane.incremental:   # folds the batch into the tally so far itself
        tallies[name] = lane.fold(batch, tallies.get(name))
        return
    if isinstance(lane, Joint):
        t = lane.fold(batch)
    elif isinstance(lane, Strings):
        t = lane.fold(batch.column(name), holdout, tallies.get(name), lambda: coded(batch, name))
    elif isinstance(lane, Described):
        t = lane.fold(batch.column(name), holdout, tallies.get(name))
    elif isinstance(lane, Categories):
        t = lane.fold(coded(batch, name))
    else:
        t = lane.fold(batch.column(name))
    tallies[name] = lane.merge(tallies[name], t) if name in tallies else t


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

