"""The pass's rows read by its Python workers themselves: Parquet files straight into Arrow.

Spark 3.5 hands a scan's columns to Python only as rows converted back to Arrow (mapInArrow), in the JVM beside
the workers' folds. When the
input is plain Parquet files the workers can open themselves (constraints.frames.parquet_source: a folder read
with spark.read.parquet, no filter, no computed column, a local filesystem), Spark only hands out the splits
(`splits`: runs of row groups, as many bytes per task as Spark's own file scan takes), and each worker reads its
row groups' columns with pyarrow and computes the lanes itself, each from its `Recipe`, exactly as Spark's
projection would (constraints.columns.projection, constraints.scan._lanes):

  Number    a numeric column as long or double; NaN for a non-finite double, null for null
  Text      a string column's values
  Outside   a string column's values outside its known categories (null otherwise)
  Length    a string column's lengths in characters
  Hash      Spark's xxhash64 of a string's UTF-8 bytes or of a long (seed 42), null for null (`xxhash64`)
  Holdout   the baseline's held-out split, from each row's file name and position in it (`holdout`)
  Offending the rows breaking a suite rule, from its kind's Arrow form (constraints.backends.InPass)

Every other input, and any lane without a recipe, takes Spark's path; the tallies are the same either way
(tests/test_direct_read.py). `spark.dqloop.pass.readParquet false` (spark-conf/) turns this path off.
Measured at 10M rows on eight table shapes, the two paths take the same time: the pass is bound by the
workers' folds, which both paths share (bench/RESULTS.md, table shapes); this one keeps the JVM out of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from constraints.errors import UnreadableInput

__all__ = ["Recipe", "Number", "Text", "Outside", "Length", "Hash", "Holdout", "Offending", "Split", "splits",
           "lane_batches", "read_and_tally", "xxhash64", "hash_longs", "hash_bytes", "holdout"]

SEED = 42   # Spark's xxhash64 seed
FIX = "check that the files are complete Parquet files; remove or repair the corrupt file"


# --- Spark's xxhash64 (org.apache.spark.sql.catalyst.expressions.XXH64), vectorised over uint64 arrays ---

_P1, _P2, _P3, _P4, _P5 = (np.uint64(p) for p in (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                                                  0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5))


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


def _fmix(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * _P2
    h = h ^ (h >> np.uint64(29))
    h = h * _P3
    return h ^ (h >> np.uint64(32))


def _round(h: np.ndarray, k: np.ndarray) -> np.ndarray:   # one 8-byte word into the hash
    return _rotl(h ^ (_rotl(k * _P2, 31) * _P1), 27) * _P1 + _P4


def hash_longs(values: np.ndarray, seed: np.ndarray | int = SEED) -> np.ndarray:
    """XXH64.hashLong of each int64 value (uint64 out)."""
    with np.errstate(over="ignore"):
        h = np.asarray(seed, np.uint64) + _P5 + np.uint64(8)
        return _fmix(_round(h, values.astype(np.int64, copy=False).view(np.uint64)))


def hash_bytes(offsets: np.ndarray, data: np.ndarray, seed: int = SEED) -> np.ndarray:
    """XXH64.hashUnsafeBytes of each byte string data[offsets[i]:offsets[i + 1]] (uint64 out)."""
    start, length = offsets[:-1].astype(np.int64), np.diff(offsets).astype(np.int64)
    padded = np.concatenate([data, np.zeros(8, np.uint8)])
    words = np.ndarray((len(padded) - 7,), "<u8", padded, 0, (1,))   # the 8 bytes at every byte offset
    ints = np.ndarray((len(padded) - 3,), "<u4", padded, 0, (1,))
    seed_ = np.uint64(seed)
    with np.errstate(over="ignore"):
        h = np.full(len(length), seed_ + _P5, np.uint64)
        long = np.flatnonzero(length >= 32)
        if len(long):   # 32-byte stripes into four accumulators
            s, stripes = start[long], length[long] // 32
            v = [np.full(len(long), x, np.uint64) for x in (seed_ + _P1 + _P2, seed_ + _P2, seed_, seed_ - _P1)]
            for j in range(int(stripes.max())):
                m = slice(None) if j < stripes.min() else stripes > j
                at = s[m] + 32 * j
                for i in range(4):
                    v[i][m] = _rotl(v[i][m] + words[at + 8 * i] * _P2, 31) * _P1
            acc = _rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)
            for x in v:
                acc = (acc ^ (_rotl(x * _P2, 31) * _P1)) * _P1 + _P4
            h[long] = acc
        h += length.astype(np.uint64)
        # the 8-byte words after the stripes, the 4-byte word, the bytes: a round per position over every row
        # (rows without that position keep their hash), cheaper than gathering the rows that have it
        last = len(padded) - 8
        at = start + (length // 32) * 32
        n_words = (length % 32) // 8
        every = int(n_words.min(initial=0))
        for j in range(int(n_words.max(initial=0))):
            k = words[np.minimum(at, last)]
            if j < every:
                h = _round(h, k)
                at += 8
            else:
                active = n_words > j
                h = np.where(active, _round(h, k), h)
                at += 8 * active
        four = length % 8 >= 4
        if four.any():
            k = ints[np.minimum(at, last)].astype(np.uint64)
            h = np.where(four, _rotl(h ^ (k * _P1), 23) * _P2 + _P3, h)
            at += 4 * four
        tail = length % 4
        for j in range(int(tail.max(initial=0))):
            active = tail > j
            b = padded[np.minimum(at, last)].astype(np.uint64)
            h = np.where(active, _rotl(h ^ (b * _P5), 11) * _P1, h)
            at += active
        return _fmix(h)


def xxhash64(x: pa.Array) -> pa.Array:
    """Spark's xxhash64 of each value of a string or integral array (as a long), int64; null for null
    (Spark's own gives the seed for null: constraints.hll.hashed keeps nulls null on both paths). A string
    array whose first rows repeat values (a category, a code: fewer than REPEATING distinct per present
    value) has its distinct values hashed once each (its dictionary) and gathered; one with many nulls has
    its present values hashed and put back in place; an id column is hashed as it is. The same hashes
    either way, cheaper (bench/RESULTS.md, "Issues 14 and 17: categorical lookups shared ...")."""
    if pa.types.is_integer(x.type):
        h = hash_longs(pc.fill_null(x.cast(pa.int64()), 0).to_numpy(zero_copy_only=False))
        return pa.array(h.view(np.int64), mask=_nulls(x))
    x = x if pa.types.is_string(x.type) or pa.types.is_large_string(x.type) else x.cast(pa.string())
    head = x.slice(0, PROBE)
    present = len(head) - head.null_count
    if len(x) > PROBE and pc.count_distinct(head, mode="only_valid").as_py() < REPEATING * present:
        enc = pc.dictionary_encode(x)
        distinct = _hash_strings(enc.dictionary)
        h = distinct.take(enc.indices.fill_null(0).to_numpy(zero_copy_only=False)) if len(distinct) \
            else np.zeros(len(x), np.uint64)   # every value null
    elif x.null_count * 4 > len(x):   # the nulls' empty slots would go through every round of the hash
        h = np.zeros(len(x), np.uint64)
        h[x.is_valid().to_numpy(zero_copy_only=False)] = _hash_strings(x.drop_null())
    else:
        h = _hash_strings(x)
    return pa.array(h.view(np.int64), mask=_nulls(x))


PROBE = 1_000       # rows whose distinct values decide how a string array is hashed
REPEATING = 0.5     # distinct per row below which its dictionary is hashed


def _hash_strings(x: pa.Array) -> np.ndarray:
    offsets = np.frombuffer(x.buffers()[1], np.int64 if pa.types.is_large_string(x.type) else np.int32
                            )[x.offset:x.offset + len(x) + 1]
    data = np.frombuffer(x.buffers()[2], np.uint8) if x.buffers()[2] is not None else np.empty(0, np.uint8)
    return hash_bytes(offsets, data)


def holdout(file_name: str, first_row: int, rows: int, fraction: float, seed: int) -> np.ndarray:
    """The held-out split of a file's rows first_row .. first_row + rows - 1, as Spark computes it
    (constraints.columns.HOLDOUT): xxhash64(seed, file name, row index) mod 2**24 below fraction * 2**24."""
    name = np.frombuffer(file_name.encode(), np.uint8)
    h = hash_bytes(np.array([0, len(name)]), name, int(hash_longs(np.array([seed]))[0]))
    index = np.arange(first_row, first_row + rows, dtype=np.int64)
    return (hash_longs(index, h[0]).view(np.int64) & (2 ** 24 - 1)) < fraction * 2 ** 24


def _nulls(x: pa.Array) -> np.ndarray | None:
    return None if x.null_count == 0 else x.is_null().to_numpy(zero_copy_only=False)


# --- recipes: one lane each, from the row group's columns ---

@dataclass(frozen=True)
class Number:
    column: str
    integral: bool

    def lane(self, src: dict[str, pa.Array], at: "_At") -> pa.Array:
        return _number(src[self.column], self.integral)


@dataclass(frozen=True)
class Text:
    column: str

    def lane(self, src: dict[str, pa.Array], at: "_At") -> pa.Array:
        return src[self.column]


@dataclass(frozen=True)
class Outside:
    column: str
    known: tuple[str, ...]

    def lane(self, src: dict[str, pa.Array], at: "_At") -> pa.Array:
        x = src[self.column]
        return pc.if_else(pc.is_in(x, value_set=pa.array(self.known, x.type)), pa.scalar(None, x.type), x)


@dataclass(frozen=True)
class Length:
    column: str

    def lane(self, src: dict[str, pa.Array], at: "_At") -> pa.Array:
        return pc.utf8_length(src[self.column]).cast(pa.int32())


@dataclass(frozen=True)
class Hash:
    column: str

    def lane(self, src: dict[str, pa.Array], at: "_At") -> pa.Array:
        return xxhash64(src[self.column])


@dataclass(frozen=True)
class Holdout:
    fraction: float
    seed: int

    def lane(self, src: dict[str, pa.Array], at: "_At") -> pa.Array:
        return pa.array(holdout(at.file_name, at.row, at.rows, self.fraction, self.seed))


@dataclass(frozen=True)
class Offending:
    """A rule's offending rows among the present ones (non-finite doubles are absent, as in the projection)."""

    column: str
    rule: Any
    numeric: bool
    integral: bool = False

    def lane(self, src: dict[str, pa.Array], at: "_At") -> pa.Array:
        from constraints.backends import PASS
        x = src[self.column]
        if self.numeric:
            x = _number(x, self.integral, nonfinite=None)
        flags = PASS.lookup(self.rule).arrow_offending(self.rule, x)
        return pc.and_(pc.fill_null(flags, False), x.is_valid())


Recipe = Number | Text | Outside | Length | Hash | Holdout | Offending


def _number(x: pa.Array, integral: bool, nonfinite: float | None = float("nan")) -> pa.Array:
    """The projection's value of a numeric column: a long, or a double with non-finite values `nonfinite`."""
    if integral:
        return x.cast(pa.int64())
    x = x.cast(pa.float64())
    values = pc.fill_null(x, 0.0).to_numpy(zero_copy_only=False)
    finite = np.isfinite(values)
    if finite.all():
        return x
    nulls = _nulls(x)
    if nonfinite is None:
        return pa.array(values, mask=~finite if nulls is None else nulls | ~finite)
    return pa.array(np.where(finite, values, nonfinite), mask=nulls)


# --- splits: what each task reads ---

@dataclass(frozen=True)
class Split:
    """Consecutive row groups of one file."""

    path: str
    row_groups: tuple[int, ...]
    first_row: int       # the row index (in the file) of the first group's first row
    bytes: int
    rows: int = 0        # the row groups' rows (their footers')


def splits(files: list[str], max_bytes: int, open_cost: int, parallelism: int) -> list[tuple[Split, ...]]:
    """The tasks of a pass over `files`: runs of consecutive row groups, at most about `max_bytes` each
    (spark.sql.files.maxPartitionBytes; each file counting `open_cost` more, as Spark counts it), and as many
    tasks as a multiple of `parallelism`, of about equal bytes, so that no core waits on a last, lone task
    (Spark's own splits of 2M rows in two files made three tasks for two cores). Footers are read here
    (the driver)."""
    import pyarrow.parquet as pq

    groups = []   # (path, group, first row, bytes, rows)
    for path in files:
        try:
            meta = pq.read_metadata(path)
        except (OSError, ValueError) as exc:   # pyarrow's ArrowInvalid is a ValueError
            raise UnreadableInput(f"Could not read {path}: {exc}", FIX) from None
        row = 0
        for g in range(meta.num_row_groups):
            rg = meta.row_group(g)
            groups.append((path, g, row, sum(rg.column(i).total_compressed_size for i in range(rg.num_columns))
                           + (open_cost if g == 0 else 0), rg.num_rows))
            row += rg.num_rows
    if not groups:
        return []
    total = sum(g[3] for g in groups)
    cores = max(1, parallelism)
    n = min(len(groups), -(-max(cores, -(-total // max_bytes)) // cores) * cores)
    before = np.cumsum([0] + [g[3] for g in groups[:-1]])
    index = np.minimum(n - 1, ((before + np.array([g[3] for g in groups]) / 2) * n // total).astype(int))
    tasks: list[list[Split]] = [[] for _ in range(n)]
    for (path, g, row, nbytes, rows), i in zip(groups, index):
        task = tasks[i]
        if task and task[-1].path == path and task[-1].row_groups[-1] == g - 1:
            last = task[-1]
            task[-1] = Split(path, last.row_groups + (g,), last.first_row, last.bytes + nbytes, last.rows + rows)
        else:
            task.append(Split(path, (g,), row, nbytes, rows))
    return [tuple(t) for t in tasks if t]


@dataclass(frozen=True)
class _At:
    file_name: str
    row: int
    rows: int


def lane_batches(task: tuple[Split, ...], recipes: dict[str, Recipe], batch_rows: int) -> Iterator[pa.RecordBatch]:
    """A task's lanes, batch by batch: its row groups read with pyarrow, each recipe applied."""
    import pyarrow.parquet as pq

    needed = sorted({r.column for r in recipes.values() if hasattr(r, "column")})
    for split in task:
        try:   # a corrupt page, or a value of another type than the first file's schema: named with its file
            yield from _split_lanes(pq.ParquetFile(split.path), split, needed, recipes, batch_rows)
        except (OSError, ValueError, pa.lib.ArrowException) as exc:
            raise OSError(f"{split.path}: {exc}") from None   # constraints.scan.run_pass names the file


def _split_lanes(f, split: Split, needed: list[str], recipes: dict[str, Recipe], batch_rows: int
                 ) -> Iterator[pa.RecordBatch]:
    present = [c for c in needed if c in f.schema_arrow.names]
    row, name = split.first_row, split.path.rsplit("/", 1)[-1]
    for batch in f.iter_batches(batch_size=batch_rows, row_groups=list(split.row_groups), columns=present,
                                use_threads=False):
        n = batch.num_rows
        src = {c: batch.column(c) for c in present}
        src.update({c: pa.nulls(n, pa.string()) for c in needed if c not in src})   # a file without it
        at = _At(name, row, n)
        yield pa.RecordBatch.from_arrays([r.lane(src, at) for r in recipes.values()], names=list(recipes))
        row += n


def read_and_tally(ids, tasks, recipes, lanes, rows, fold):
    """mapPartitions' function of the reading pass: each task id's row groups read, its lanes tallied by
    `fold` (tally.tally_partition); (rows, tallies) per task. Here, not in constraints.scan: a worker imports
    the module of the function it runs, and this one imports no more than reading needs (no scipy, pandas,
    pyspark.sql), which cost each worker about a second."""
    for i in ids:
        for out in fold(lane_batches(tasks[i], recipes, rows), lanes):
            yield out.column(0)[0].as_py(), out.column(1)[0].as_py()
