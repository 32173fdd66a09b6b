"""The model's outputs tallied inside validate's one pass (constraints.scan's extra lanes, folded by the Python
workers of constraints.tally), so that estimating quality without labels reads no row a second time.

  ModelOutputs  a classifier's predicted class and score(s), one struct lane (p: the predicted class's position
                among the reference's classes, coded by Spark, -1 for another value; s0..: the score columns as
                doubles): rows per predicted class (BBSE), and the statistic CBPE
                needs -- a binary model's labeling.performance.ScoreBins (rows, sum and sum of squares of the
                score per predicted class and 1/8192 score bin), a multiclass model's labeling.multiclass.ClassSums
                (the calibration applied on the worker)
  Losses        a regression model's inputs and prediction (one struct lane, f0..): labeling.loss_model.LossSums
                of the two LightGBM loss models' outputs, and the rows outside the reference's support

Each lane has fold (an Arrow batch's column to a tally), merge and close, as constraints.tally's lanes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from labeling import multiclass, performance
from labeling.calibration import BINARY, Calibration

UNKNOWN_CAP = 100   # predicted classes outside the reference's: counted by value up to this many


@dataclass
class OutputsTally:
    counts: np.ndarray                 # rows per reference class predicted (any score)
    unknown: dict[str, int]            # rows predicting a class the reference does not have
    stat: Any                          # ScoreBins arrays (binary: count, s1, s2) or ClassSums (multiclass)


def _column(lane: pa.StructArray, i: int) -> np.ndarray:
    return pc.fill_null(lane.field(i).cast(pa.float64()), float("nan")).to_numpy(zero_copy_only=False)


OTHER = "(classes not in the reference)"


@dataclass(frozen=True)
class ModelOutputs:
    calibration: Calibration

    @property
    def binary(self) -> bool:
        return self.calibration.kind == BINARY

    def empty(self) -> OutputsTally:
        k = len(self.calibration.classes)
        if self.binary:
            shape = (k, performance.GRID + 2)
            return OutputsTally(np.zeros(k), {}, (np.zeros(shape), np.zeros(shape), np.zeros(shape)))
        return OutputsTally(np.zeros(k), {}, multiclass.ClassSums.empty(self.calibration.classes))

    def fold(self, lane: pa.StructArray) -> OutputsTally:
        k = len(self.calibration.classes)
        out = self.empty()
        idx = lane.field(0).fill_null(-2).to_numpy(zero_copy_only=False).astype(np.intp)
        out.counts = np.bincount(idx[idx >= 0], minlength=k).astype(float)
        others = int(np.count_nonzero(idx == -1))
        if others:
            out.unknown = {OTHER: others}
        scores = np.column_stack([_column(lane, i) for i in range(1, lane.type.num_fields)])
        keep = (idx >= 0) & np.isfinite(scores).all(axis=1)
        if self.binary:
            s, p = scores[keep, 0], idx[keep]
            b = performance.bin_index(s, performance.bin_edges(self.calibration))
            width = performance.GRID + 2
            flat = p * width + b
            out.stat = tuple(np.bincount(flat, weights=w, minlength=k * width).reshape(k, width)
                             for w in (None, s, s * s))
        else:
            out.stat = multiclass.sums(scores[keep], idx[keep], self.calibration)
        return out

    def merge(self, a: OutputsTally, b: OutputsTally) -> OutputsTally:
        unknown = dict(a.unknown)
        for v, n in b.unknown.items():
            unknown[v] = unknown.get(v, 0) + n
        if len(unknown) > UNKNOWN_CAP:
            top = sorted(unknown.items(), key=lambda p: -p[1])
            unknown = dict(top[:UNKNOWN_CAP - 1])
            unknown["(other values)"] = sum(n for _, n in top[UNKNOWN_CAP - 1:])
        stat = tuple(x + y for x, y in zip(a.stat, b.stat)) if self.binary else a.stat + b.stat
        return OutputsTally(a.counts + b.counts, unknown, stat)

    def close(self, t: OutputsTally) -> OutputsTally:
        return t

    def predicted_counts(self, t: OutputsTally) -> dict[str, int]:
        """Rows per predicted class: the reference's classes, then the others."""
        counts = {c: int(n) for c, n in zip(self.calibration.classes, t.counts)}
        counts.update({str(v): int(n) for v, n in t.unknown.items()})
        return counts

    def score_bins(self, t: OutputsTally) -> performance.ScoreBins:
        """A binary model's ScoreBins (labeling.performance) from the tally."""
        count, s1, s2 = t.stat
        return performance.ScoreBins(performance.bin_edges(self.calibration), tuple(self.calibration.classes),
                                     count, s1, s2)


@dataclass(frozen=True)
class Losses:
    """A regression model's features (f0.. in `model.features` order) to LossSums (labeling.loss_model)."""

    model: Any   # labeling.loss_model.LossModel

    def fold(self, lane: pa.StructArray):
        import pandas as pd

        from labeling.loss_model import sums

        frame = pd.DataFrame({f: lane.field(i).to_pandas() for i, f in enumerate(self.model.features)})
        return sums(frame, self.model)

    def merge(self, a, b):
        return a + b

    def close(self, t):
        return t
