"""Identifiers settled in the pass: whether every value of a column is distinct, without a shuffle.

A unique column (validate: a suite uniqueness rule; the baseline: an identifier candidate) needs its
exact largest count of one value. Before, a job of its own shuffled a 64-bit hash of every row
(constraints.categories.hashed_multiplicity): on the table shapes with ids it cost as much as half the
pass (bench/RESULTS.md, "Issue 17: the pass's speed"). Now the pass's workers keep each partition's hashes
(the lane Spark already computes for the HyperLogLog, constraints.hll.hashed), sorted; the driver merges
the partitions' sorted hashes and looks for a repeat.

  Hashes    a joint lane reading hash lanes: per column a partition's distinct hashes, sorted (int64),
            or REPEATED once a hash occurs twice in it (not an identifier; the worker stops keeping
            them), or OVER once the partition's hashes of all columns exceed its `budget` (the driver
            memory bound; the columns with the most hashes go first)
  settle    the merged tally: (distinct, 1) when no hash repeats over all partitions, None otherwise;
            no hash twice means no value twice, so a settled column is exact; a repeat may be a collision
            (about n**2 / 2**65 for n values) and the caller confirms it by value, as before, unless
            DUPLICATED: a hash equalled another SURE times or more within one batch or partition (of m
            hashes); collisions explain that with probability about (m**2 / 2**65)**SURE / SURE!, under
            1e-13 for a partition within the budget (32M hashes), so the column is not unique and the
            baseline, which only needs to know that, runs no job for it (validate still counts a unique
            rule's column by value: its report shows the duplicated values)

What reaches the driver is 8 bytes per value of each such column, bounded by BUDGET bytes over the pass:
the budget is shared among the partitions (`budget`), and a partition over its share sends nothing for
its largest columns, for which the caller then runs the shuffle job (exact either way).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from constraints.tally import Joint

__all__ = ["LANE", "Hashes", "Partitions", "REPEATED", "DUPLICATED", "OVER", "settle", "repeated", "duplicated",
           "budget", "BUDGET"]

LANE = "ids"             # the joint lane's name in a pass
BUDGET = 256 * 2**20     # bytes of hashes sent to the driver by one pass, at most (spark.driver.maxResultSize: 1g)
REPEATED = "repeated"    # a hash occurs twice within a partition
DUPLICATED = "duplicated"  # SURE or more repeats within a batch or partition: not unique beyond doubt
OVER = "over"            # the partition's hashes were more than its share of the budget
SURE = 3


def budget(partitions: int) -> int:
    """Hashes one partition may keep and send, all its columns together."""
    return BUDGET // 8 // max(1, partitions)


@dataclass(frozen=True)
class Partitions:
    """Closed partitions' hashes of one column: one sorted array of distinct hashes per partition."""

    parts: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class Hashes(Joint):
    """Per column (its hash lane, its value lane, whose nulls are absent values: Spark's xxhash64 hashes a
    null too) the sorted distinct 64-bit hashes of a partition, within `budget` hashes over all columns;
    a column whose hashes repeat is dropped at once (REPEATED), the largest ones first once over (OVER)."""

    lanes: tuple[tuple[str, str], ...]
    budget: int
    incremental = True   # handed the tally so far: columns dropped earlier in the partition are not hashed again

    @property
    def hash_lanes(self) -> frozenset[str]:
        """The hash lanes this lane settles (the columns whose uniqueness it decides)."""
        return frozenset(h for h, _ in self.lanes)

    def fold(self, batch: pa.RecordBatch, so_far: dict | None = None) -> dict:
        out = {}
        for hashes, values in self.lanes:
            if so_far is not None and isinstance(so_far.get(hashes), str):
                out[hashes] = so_far[hashes]
                continue
            h = np.sort(batch.column(hashes).filter(batch.column(values).is_valid()).drop_null().to_numpy())
            out[hashes] = _repeats(h) or [h]
        return self._within(out) if so_far is None else self.merge(so_far, out)

    def merge(self, a: dict, b: dict) -> dict:
        """A partition's batches (lists of arrays, kept within the budget) or closed partitions (the driver)."""
        out = {}
        for hashes, _ in self.lanes:
            x, y = a.get(hashes, []), b.get(hashes, [])
            if isinstance(x, str) or isinstance(y, str):
                out[hashes] = next(m for m in (DUPLICATED, REPEATED, OVER) if m in (x, y))
            elif isinstance(x, Partitions):
                out[hashes] = Partitions(x.parts + y.parts)
            else:
                out[hashes] = x + y
        return out if any(isinstance(t, Partitions) for t in out.values()) else self._within(out)

    def close(self, t: dict) -> dict:
        """End of a partition: each column's hashes in one sorted array, or REPEATED / OVER."""
        out = {}
        for hashes, kept in t.items():
            if isinstance(kept, str):
                out[hashes] = kept
                continue
            h = np.sort(np.concatenate(kept)) if len(kept) > 1 else kept[0]
            out[hashes] = _repeats(h) or Partitions((h,))
        return out

    def _within(self, t: dict) -> dict:
        """The columns with the most hashes become OVER until the rest fit the budget."""
        sizes = {k: sum(len(x) for x in v) for k, v in t.items() if isinstance(v, list)}
        total = sum(sizes.values())
        for k in sorted(sizes, key=lambda k: -sizes[k]):
            if total <= self.budget:
                break
            t[k], total = OVER, total - sizes[k]
        return t


def _repeats(h: np.ndarray) -> str | None:
    """DUPLICATED, REPEATED or None: how often a hash of the sorted `h` equals the one before it."""
    twice = np.count_nonzero(h[1:] == h[:-1])
    return DUPLICATED if twice >= SURE else REPEATED if twice else None


def repeated(t: dict | None, hashes: str) -> bool:
    """Some hash of the column occurs twice within a partition (count it by value, no hash job needed)."""
    return (t or {}).get(hashes) in (REPEATED, DUPLICATED)


def duplicated(t: dict | None, hashes: str) -> bool:
    """SURE or more repeats of the column's hashes within a batch or partition: not unique."""
    return (t or {}).get(hashes) == DUPLICATED


def settle(t: dict | None, hashes: str) -> int | None:
    """The distinct count of one column (its hash lane) when no hash repeats over the whole pass (every value
    then occurs once); None when one repeats, or some partition sent none (OVER): the caller counts that
    column otherwise. No rows: 0."""
    kept = (t or {}).get(hashes)
    if kept is None:
        return 0
    if isinstance(kept, str):
        return None
    h = np.sort(np.concatenate(kept.parts)) if len(kept.parts) > 1 else kept.parts[0]
    return None if len(h) > 1 and (h[1:] == h[:-1]).any() else len(h)
