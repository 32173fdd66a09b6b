"""The per-partition tally behind label-free estimates, run by Spark's Python workers on Arrow batches of two
lanes (predicted class as its position among the reference's classes, an int: len(classes) for another class,
-1 for none; score as double): per (predicted class, score bin) the row count, the sum of the
scores and of their squares (labeling.performance.ScoreBins), as flat arrays, one row per Spark partition.
Class slot K counts predictions of a class the reference does not know; rows without a prediction or a finite
score are not counted. Pure numpy and pyarrow: no Spark here."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pyarrow as pa

DDL = "count array<double>, s1 array<double>, s2 array<double>"


def tally_partition(batches: Iterator[pa.RecordBatch], classes: tuple[str, ...], edges: np.ndarray) \
        -> Iterator[pa.RecordBatch]:
    k, b = len(classes) + 1, len(edges) + 1
    count, s1, s2 = np.zeros(k * b), np.zeros(k * b), np.zeros(k * b)
    for batch in batches:
        codes = batch.column(0).to_numpy(zero_copy_only=False).astype("int64")
        score = batch.column(1).to_numpy(zero_copy_only=False).astype("float64")
        keep = (codes >= 0) & np.isfinite(score)
        key = codes[keep] * b + np.searchsorted(edges, score[keep], side="right")
        s = score[keep]
        count += np.bincount(key, minlength=k * b)
        s1 += np.bincount(key, weights=s, minlength=k * b)
        s2 += np.bincount(key, weights=s * s, minlength=k * b)
    yield pa.RecordBatch.from_pydict({"count": [count.tolist()], "s1": [s1.tolist()], "s2": [s2.tolist()]})


def merge(rows, classes: tuple[str, ...], edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum the partitions' tallies: (count, s1, s2), each (len(classes) + 1) x (len(edges) + 1)."""
    shape = (len(classes) + 1, len(edges) + 1)
    total = [np.zeros(shape) for _ in range(3)]
    for r in rows:
        for t, name in zip(total, ("count", "s1", "s2")):
            t += np.asarray(r[name], dtype="float64").reshape(shape)
    return total[0], total[1], total[2]
