"""A data set's profile as values: per column counts, moments, extremes, a KLL distribution, lengths,
categories, and the same per held-out split, as the suggestion rules and SageMaker's documents read them.

Pure values (no Spark). Two engines produce them: the one pass (constraints.profiling, the default) and
Deequ's analyzers (constraints.deequ_profile); validate's scan (constraints.scan) produces a partition's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from constraints.columns import UNKNOWN, Column, SkippedColumn
from constraints.grid import GridCounts
from constraints.unseen import Unseen


@dataclass(frozen=True)
class KllParameters:
    sketch_size: int = 2048
    shrinking_factor: float = 0.64
    buckets: int = 10


@dataclass(frozen=True)
class Kll:
    """Deequ's BucketDistribution: equal-width buckets between min and max, and the sketch itself."""

    buckets: tuple[tuple[float, float, int], ...]
    c: float
    k: int
    data: tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class SplitStats:
    """What the suggestion rules see of one split (training or held-out) of a column."""

    rows: int
    num_present: int
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    max_multiplicity: int | None = None           # exact, for uniqueness candidates
    categories: dict[str, int] | None = None      # exact, for categorical columns

    @property
    def completeness(self) -> float:
        return self.num_present / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class ColumnProfile:
    column: Column
    num_present: int
    num_missing: int
    nonfinite: int = 0
    mean: float | None = None
    sum: float | None = None
    std_dev: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    kll: Kll | None = None
    distinct_count: int | None = None                     # exact for categorical columns, else HyperLogLog
    min_length: int | None = None
    max_length: int | None = None
    categories: tuple[tuple[str, int], ...] | None = None  # most frequent first (validate: known ones + top unseen)
    train: SplitStats | None = None
    holdout: SplitStats | None = None
    failures: tuple[str, ...] = ()                        # metrics Deequ could not compute
    type_share: float = 1.0                               # share of non-null values of the profiled type
    grid: GridCounts | None = None                        # a partition's values counted on its baseline grid
    unseen: Unseen | None = None                          # validate: values outside the known categories (totals, top)

    @property
    def inferred_type(self) -> str:
        return self.column.inferred_type if self.num_present else UNKNOWN


@dataclass(frozen=True)
class Profile:
    rows: int
    train_rows: int
    holdout_rows: int
    columns: tuple[ColumnProfile, ...]
    skipped: tuple[SkippedColumn, ...] = ()
    extended: dict[str, Any] | None = field(default=None, compare=False)   # constraints.multivariate
    sample: Any = field(default=None, compare=False, repr=False)   # the pass's row sample (pandas; rowsample)

    def column(self, name: str) -> ColumnProfile:
        return next(p for p in self.columns if p.column.name == name)


@dataclass(frozen=True)
class ProfileOptions:
    """How to profile. `categorical` and `unique` name columns to treat so whatever the data says
    (a partition checked against its baseline); None lets the data decide."""

    kll: KllParameters = KllParameters()
    max_categories: int = 100            # categorical if at most this many distinct values
    unique_ratio: float = 0.8            # uniqueness candidate if approx. distinct >= ratio * present
                                         # (HyperLogLog is a few % off; the grouping pass is exact)
    categorical: frozenset[str] | None = None
    unique: frozenset[str] | None = None
    splits: bool = True                  # metrics per training / held-out split too (baselines only)


@dataclass(frozen=True)
class CheckOutcome:
    """A Deequ check run in the same pass as the profile: passed, and the messages of failed constraints."""

    passed: bool
    message: str
