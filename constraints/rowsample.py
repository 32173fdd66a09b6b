"""One row sample per pass: the rows the checks across features need, drawn while the pass reads them.

Spearman's rho (constraints.correlation), Pearson's fourth-moment variance, the PCA fit
(constraints.reconstruction) and the domain classifier (constraints.domain) all work on a bounded uniform
sample of rows. Each pass (validate's and the baseline's) keeps one: `RowSample`, a joint lane of
constraints.tally that reads the numeric lanes (as float64; null and non-finite: NaN) and categorical
lanes (values, dictionary-coded) the pass already computes, so Spark computes nothing more and no extra
job reads the data.

Priority (bottom-k) sampling: every row gets a uniform random key and the sample is the k rows with the
smallest keys. That is a uniform sample without replacement of min(k, rows) rows whatever the order of
the rows or files, and it merges: the bottom k of two samples' union is the bottom k of the two
partitions together, so tasks merge in any order into a uniform sample of the whole. Sorted by key, any
prefix is again a uniform sample (the bottom k' for k' < k): a user that wants fewer rows takes a prefix.

Keys come from numpy's generator seeded by (salt, the Spark partition, the rows of the partition before
the batch, a checksum of the batch's first values): the same data read the same way gives the same sample,
and two runs draw independent keys for every batch. A worker gathers only the rows whose key is below the
k-th smallest key kept so far, and at most the batch's k smallest (after the first k rows of a partition,
batch i of b rows holds about k / i of them; a partition's first batch, k of its b), and cuts its buffer
back to k rows when it passes 2 k: the work after the first batches is drawing b random numbers per batch,
and the memory per task is at most (2 k + b) rows of 8 (key) + 8 per numeric + 4 per categorical column
bytes (`task_bytes`).

When the pass's rows are known before it starts (the workers read Parquet files whose footers give them:
constraints.direct), the lane is told (`expected`) and every task gathers only rows whose key is below a
bound `prior` under which k + 8 sqrt(k) + 16 of the expected rows' keys fall on average: fewer than k fall
under it with probability about 1e-15, and the rows under any fixed bound are a uniform sample anyway, so
the result is the same uniform sample while a task of n rows gathers about n k / rows of them, not k (1 +
ln(n / k)) (on a 200-column table of 1M rows in 8 tasks: 18,000 rows gathered, not 400,000).

Categorical values are kept as codes into a dictionary per column (0: null; 1..: the dictionary's values
in the order first seen; -1: a value after the dictionary reached `cap` values), so a free-text column
costs 4 bytes a row and at most `cap` values per task. The baseline sets `cap` to its --max-categories,
so a column it finds categorical (at most that many distinct values in all its rows) is never cut;
decoded (`frame`), both sides' samples hold the values themselves, which LightGBM encodes one way.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from constraints.tally import Joint

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MAX_COLUMNS", "RowSample", "SampleRequest", "SampleTally", "OTHER", "frame", "task_bytes"]

OTHER = "(another value)"   # decoded label of a value past a column's dictionary cap
BASELINE_SALT, VALIDATE_SALT = 1, 2   # the baseline's and validate's key streams differ for the same data


MAX_COLUMNS = 256         # columns a sample carries at most (the first ones): bounded memory on wide tables


@dataclass(frozen=True)
class SampleRequest:
    """What a caller of validate's pass wants in its row sample besides the correlations' columns (the
    domain classifier's features, by kind) and how many rows."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    rows: int


@dataclass
class SampleTally:
    """The k rows with the smallest keys (sorted by key once closed or merged)."""

    keys: np.ndarray                       # float64 in [0, 1)
    numbers: np.ndarray                    # rows x numeric lanes, float64 (NaN: absent)
    codes: np.ndarray                      # rows x categorical lanes, int32 (0 null, i + 1 values[j][i], -1 other)
    values: list[list[str]]                # per categorical lane its dictionary
    seen: int = 0                          # rows the sample was drawn from
    bound: float = 2.0                     # a row whose key is not below it cannot enter (k-th key at the last cut)
    pending: list = field(default_factory=list, repr=False)   # gathered batches not yet cut: (keys, numbers, codes)


def _empty(p: int, q: int) -> SampleTally:
    return SampleTally(np.empty(0), np.empty((0, p)), np.empty((0, q), np.int32), [[] for _ in range(q)])


def _task_partition() -> int:
    try:
        from pyspark import TaskContext
    except ImportError:   # outside Spark (tests, the pure core)
        return 0
    tc = TaskContext.get()
    return tc.partitionId() if tc is not None else 0


@dataclass(frozen=True)
class RowSample(Joint):
    """A joint lane: a uniform sample of at most `k` rows of the numeric lanes `numeric` and the
    categorical (string) lanes `categorical`; `features` names the columns they hold, numeric first."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...] = ()
    k: int = 4096
    features: tuple[str, ...] = ()
    cap: int = 1000          # values kept per categorical column per task; later ones are OTHER
    salt: int = 0
    expected: int = 0        # the pass's rows when known before it (0: not known)
    incremental: ClassVar[bool] = True   # constraints.tally hands fold the partition's tally so far

    @property
    def prior(self) -> float:
        """The key every gathered row is below from the start (module docstring); 2.0: none."""
        if self.expected <= self.k:
            return 2.0
        return min(2.0, (self.k + 8 * math.sqrt(self.k) + 16) / self.expected)

    def fold(self, batch: pa.RecordBatch, so_far: SampleTally | None = None) -> SampleTally:
        if so_far is None:
            t = _empty(len(self.numeric), len(self.categorical))
            t.bound = self.prior
        else:
            t = so_far
        n = batch.num_rows
        first = batch.column(0).slice(0, 16).to_pylist() if batch.num_columns else []
        seed = [self.salt, _task_partition(), t.seen, zlib.crc32(repr(first).encode())]
        keys = np.random.default_rng(seed).random(n)
        t.seen += n
        take = np.flatnonzero(keys < t.bound)
        if len(take) > self.k:   # only the batch's k smallest keys can be among the k smallest of all
            take = np.sort(take[np.argpartition(keys[take], self.k - 1)[:self.k]])
        if not len(take):
            return t
        at = pa.array(take)
        numbers = np.empty((len(take), len(self.numeric)))
        for j, name in enumerate(self.numeric):
            numbers[:, j] = np.asarray(batch.column(name).take(at).to_numpy(zero_copy_only=False), dtype=np.float64)
        codes = np.empty((len(take), len(self.categorical)), np.int32)
        for j, name in enumerate(self.categorical):
            codes[:, j] = _encode(batch.column(name).take(at), t.values[j], self.cap)
        t.pending.append((keys[take], numbers, codes))
        if sum(len(p[0]) for p in t.pending) + len(t.keys) > 2 * self.k:
            self._cut(t)
        return t

    def _cut(self, t: SampleTally) -> SampleTally:
        """Keep the k smallest keys (sorted), pending rows included."""
        if t.pending:
            t.keys = np.concatenate([t.keys, *(p[0] for p in t.pending)])
            t.numbers = np.concatenate([t.numbers, *(p[1] for p in t.pending)])
            t.codes = np.concatenate([t.codes, *(p[2] for p in t.pending)])
            t.pending = []
        if len(t.keys) > self.k:
            at = np.argpartition(t.keys, self.k - 1)[:self.k]
            t.keys, t.numbers, t.codes = t.keys[at], t.numbers[at], t.codes[at]
            t.bound = float(t.keys.max())
        order = np.argsort(t.keys, kind="stable")
        t.keys, t.numbers, t.codes = t.keys[order], t.numbers[order], t.codes[order]
        return t

    def merge(self, a: SampleTally, b: SampleTally) -> SampleTally:
        a, b = self._cut(a), self._cut(b)
        values = [list(v) for v in a.values]
        codes_b = b.codes.copy()
        for j, (dictionary, theirs) in enumerate(zip(values, b.values)):
            remap = np.concatenate([[-1, 0], _extend(dictionary, theirs, self.cap)])   # at code + 1 (-1 other, 0 null)
            codes_b[:, j] = remap[b.codes[:, j] + 1]
        out = SampleTally(np.concatenate([a.keys, b.keys]), np.concatenate([a.numbers, b.numbers]),
                          np.concatenate([a.codes, codes_b]), values, a.seen + b.seen)
        return self._cut(out)

    def close(self, t: SampleTally) -> SampleTally:
        return self._cut(t)


def _encode(arr: pa.Array, dictionary: list[str], cap: int) -> np.ndarray:
    """Codes of `arr`'s values in `dictionary`, which grows (in place) up to `cap` values."""
    enc = arr.cast(pa.string()).dictionary_encode()
    remap = np.concatenate([[0], _extend(dictionary, enc.dictionary, cap)])   # at arrow's index + 1
    index = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)
    return remap[index + 1]


def _extend(dictionary: list[str], values: list[str] | pa.Array, cap: int) -> np.ndarray:
    """The codes of the distinct `values` (position in `dictionary` + 1, or -1 past the cap); `dictionary`
    grows in place with the values it lacks, in their order, while it holds fewer than `cap`. Many values
    (a free-text column brings thousands per batch) are looked up by Arrow's hashed index_in, a few by a
    dict (Arrow's call costs more than the loop below about 100 values)."""
    if len(values) > 100:
        values = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
        found = pc.index_in(values, value_set=pa.array(dictionary, pa.string()))
        out = found.fill_null(-2).to_numpy(zero_copy_only=False).astype(np.int32) + 1
        added = np.flatnonzero(out < 0)[:max(0, cap - len(dictionary))]
        out[added] = np.arange(len(dictionary) + 1, len(dictionary) + 1 + len(added), dtype=np.int32)
        dictionary.extend(values.take(pa.array(added)).to_pylist())
        return out
    values = values.to_pylist() if isinstance(values, pa.Array) else values
    position = {v: i for i, v in enumerate(dictionary)}
    out = np.empty(len(values), np.int32)
    for i, v in enumerate(values):
        if v not in position and len(dictionary) < cap:
            position[v] = len(dictionary)
            dictionary.append(v)
        out[i] = position[v] + 1 if v in position else -1
    return out


def _other(values: list[str]) -> str:
    label = OTHER
    while label in values:
        label += "'"
    return label


def frame(t: SampleTally, lane: RowSample, rows: int | None = None) -> "pd.DataFrame":
    """The sample as a pandas frame, one column per feature (lane.features: numeric as float64,
    categorical as their values, None for null), its first `rows` rows by key (a uniform subsample)."""
    import pandas as pd   # here: the pass's workers import this module for RowSample

    names = lane.features or (*lane.numeric, *lane.categorical)
    m = len(t.keys) if rows is None else min(rows, len(t.keys))
    columns: dict[str, object] = {}
    for j, name in enumerate(names[:len(lane.numeric)]):
        columns[name] = pd.Series(t.numbers[:m, j], dtype="float64")
    for j, name in enumerate(names[len(lane.numeric):]):
        lookup = np.array([_other(t.values[j]), None, *t.values[j]], dtype=object)   # at code + 1
        columns[name] = pd.Series(lookup[t.codes[:m, j] + 1], dtype="object")
    return pd.DataFrame(columns)


def task_bytes(lane: RowSample, batch_rows: int = 10_000) -> int:
    """The most a task's tally of `lane` holds: (2 k + a batch) rows of its key and columns (dictionaries
    of at most `cap` values per categorical column besides)."""
    return (2 * lane.k + batch_rows) * (8 + 8 * len(lane.numeric) + 4 * len(lane.categorical))
