"""The baseline's profile through validate's engine: one pass over the rows, no shuffle, no Deequ.

Spark computes a few lanes per row (the held-out flag, each numeric column's value, each string column's
value, and a 64-bit hash of every non-fractional column for its HyperLogLog) and hands them as Arrow
batches to Python workers (constraints.tally), which fold each split of each batch: numeric columns into
counts, extremes, moments and an Apache DataSketches KLL sketch; string columns into lengths and, while a
column has at most --max-categories distinct values, exact counts per value. One row per partition
reaches the driver.

After the pass, only the columns that may be identifiers (non-fractional, not categorical, distinct
estimate >= 80% of the values present) need more: their exact largest count of one value, per split.
A dense integral column is settled from Spark's bitmaps (one narrow job); the others from their values'
64-bit hashes (one job for all of them, shuffling hashes); only where a hash repeats are the values
themselves grouped (a repeat may be a hash collision).

Compared with Deequ's profile (constraints.profile, still selectable: `dqloop baseline --engine deequ`):
counts, sums, extremes, lengths and categories are exact and equal; mean and standard deviation equal up
to floating-point rounding; the KLL sketch is DataSketches' (k = 2048: normalized rank error 0.14% at
99% confidence, `RANK_ERROR`) instead of Deequ's, written in Deequ's layout (compactor levels, level h
weighing 2**h); categorical columns are chosen from exact distinct counts instead of a HyperLogLog.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from functools import partial

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from constraints import direct, hll, identifiers, multivariate, rowsample, tally
from constraints.categories import BITMAP_SPAN, CategoryCounts, count_categories, distinct_integers, hashed_multiplicity
from constraints.columns import FRACTIONAL, HOLDOUT, INTEGRAL, PREDICTION, STRING, Column, SkippedColumn
from constraints.profile import ColumnProfile, Kll, KllParameters, Profile, ProfileOptions, SplitStats
from constraints.frames import Frame
from constraints.scan import numeric_value, plain_column, reading, run_pass

log = logging.getLogger("dqloop.profiling")

SPLITS = ("train", "holdout")
KLL_C = 2 / 3        # DataSketches' KLL: each compactor level holds 2/3 of the items of the one above it


def rank_error(k: int) -> float:
    """DataSketches' normalized rank error of a KLL sketch of size k (single rank, 99% confidence)."""
    from datasketches import kll_doubles_sketch
    return float(kll_doubles_sketch.get_normalized_rank_error(k, False))


def profile_pass(data: Frame | DataFrame, columns: tuple[Column, ...], skipped: tuple[SkippedColumn, ...] = (),
                 options: ProfileOptions = ProfileOptions(), sample_rows: int = 0,
                 split: direct.Holdout | None = None) -> Profile:
    """Profile `data`, a columns.projection with its held-out split, as the module docstring says.
    `sample_rows`: the pass's row sample also keeps that many rows of the input features for the domain
    classifier (`Profile.sample`, constraints.rowsample). As a constraints.frames.Frame whose files the
    workers may read themselves (`Frame.source`), with `split` the projection's held-out split, `data` is
    made only if a column needs its values by themselves."""
    data = data if isinstance(data, Frame) else Frame.of(data)
    lanes: dict[str, tally.Lane] = {tally.SPLIT: tally.Flags()}   # held-out rows; the flag also splits the others
    exprs = [lambda: F.col(HOLDOUT).alias(tally.SPLIT)]   # Spark's columns: made only if Spark computes the lanes
    recipes: dict[str, direct.Recipe | None] = {tally.SPLIT: split}
    for k, c in enumerate(columns):
        x = partial(F.col, c.alias)
        plain = plain_column(c)
        if c.is_numeric:
            exprs.append(lambda c=c, k=k: numeric_value(c).alias(f"v{k}"))
            lanes[f"v{k}"] = tally.Described(options.kll.sketch_size)
            recipes[f"v{k}"] = plain and direct.Number(c.name, c.inferred_type == INTEGRAL) or None
        else:
            exprs.append(lambda x=x, k=k: x().alias(f"s{k}"))
            lanes[f"s{k}"] = tally.Strings(options.max_categories)
            recipes[f"s{k}"] = plain and direct.Text(c.name) or None
        if c.inferred_type != FRACTIONAL:
            exprs.append(lambda x=x, k=k: hll.hashed(x()).alias(f"h{k}"))
            lanes[f"h{k}"] = tally.Registers()
            recipes[f"h{k}"] = plain and direct.Hash(c.name) or None
    numeric = [(c.name, f"v{k}") for k, c in enumerate(columns) if c.is_numeric]
    strings = [(c.name, f"s{k}") for k, c in enumerate(columns) if not c.is_numeric]
    inputs = [c for c in columns if c.role != PREDICTION]
    domain = rowsample.SampleRequest(tuple(c.name for c in inputs if c.is_numeric),
                                     tuple(c.name for c in inputs if not c.is_numeric), sample_rows) \
        if sample_rows else None
    tasks = reading(data.spark, data.source) \
        if data.source is not None and split is not None and all(recipes.values()) else None
    if strings:   # identifier candidates among them settled in the pass (constraints.identifiers)
        lanes[identifiers.LANE] = identifiers.Hashes(tuple((f"h{k}", f"s{k}") for k, c in enumerate(columns)
                                                          if not c.is_numeric),
                                                     identifiers.budget(len(tasks) if tasks
                                                                        else data.df.rdd.getNumPartitions()))
    # correlations, associations, the row sample: joint lanes
    lanes.update(multivariate.baseline_lanes(numeric, strings, domain=domain, max_categories=options.max_categories))
    multivariate.expecting(lanes, tasks)
    # the workers reading the files compute the lanes: Spark's projection of them is not analysed
    rows, tallies = run_pass(data.spark if tasks else data.df.select(*[e() for e in exprs]), lanes,
                             "the baseline's pass", (tasks, recipes) if tasks else None)
    for name, lane in lanes.items():   # no rows: no batch folded any lane
        if name not in tallies and isinstance(lane, tally.Described):
            tallies[name] = tally.DescribedTally()
        elif name not in tallies and isinstance(lane, tally.Strings):
            tallies[name] = ((tally.LengthTally(), {}), (tally.LengthTally(), {}))
    held = tallies.get(tally.SPLIT, 0)
    sizes = {"all": rows, "train": rows - held, "holdout": held}

    categorical, distinct = {}, {}
    for k, c in enumerate(columns):
        if (ranks := tallies.get(f"h{k}")) is not None:
            distinct[c.name] = hll.estimate(ranks)
        if c.inferred_type == STRING and (t := tallies.get(f"s{k}")) is not None:
            counts = _category_counts(t, options.max_categories)
            if counts is not None and (options.categorical is None or c.name in options.categorical):
                categorical[c.name] = counts
    present = {c.name: _present(tallies, k, c) for k, c in enumerate(columns)}
    if options.unique is not None:
        candidates = [c for c in columns if c.name in options.unique and c.name not in categorical]
    else:
        candidates = [c for c in columns if c.inferred_type in (INTEGRAL, STRING) and c.name not in categorical
                      and 0 < present[c.name] and distinct.get(c.name, 0) >= options.unique_ratio * present[c.name]]
    unique = _multiplicities(data, candidates, tallies, columns) if candidates else {}
    profiles = tuple(_column_profile(k, c, tallies, sizes, categorical.get(c.name) or unique.get(c.name),
                                     distinct.get(c.name), options.kll) for k, c in enumerate(columns))
    prof = Profile(sizes["all"], sizes["train"], sizes["holdout"], profiles, skipped)
    sample = rowsample.frame(tallies[multivariate.SAMPLE], lanes[multivariate.SAMPLE]) \
        if multivariate.SAMPLE in tallies else None
    return replace(prof, extended=multivariate.extended_document(prof, tallies, numeric, strings, sample=sample),
                   sample=sample)


def _present(tallies: dict, k: int, c: Column) -> int:
    if (t := tallies.get(f"v{k}")) is not None:
        return t.count
    return sum(lengths.present for lengths, _ in tallies[f"s{k}"])


def _category_counts(t, cap: int) -> CategoryCounts | None:
    """Exact counts per value and split of a string column with at most `cap` distinct values; else None."""
    (_, train), (_, holdout) = t
    if train is None or holdout is None or len(set(train) | set(holdout)) > cap:
        return None
    values = tuple((v, train.get(v, 0), holdout.get(v, 0)) for v in sorted(set(train) | set(holdout)))
    most = {"all": max((a + b for _, a, b in values), default=0), "train": max(train.values(), default=0),
            "holdout": max(holdout.values(), default=0)}
    return CategoryCounts(len(values), most, values)


def _multiplicities(data: Frame, candidates: list[Column], tallies: dict,
                    columns: tuple[Column, ...]) -> dict[str, CategoryCounts]:
    """Exact distinct count and largest count of one value per split, for the identifier candidates."""
    out: dict[str, CategoryCounts] = {}
    index = {c.name: k for k, c in enumerate(columns)}
    hashed = []
    for c in candidates:
        t = tallies.get(f"v{index[c.name]}")
        if c.inferred_type == INTEGRAL and t is not None and t.count:
            low = min(s.low for s in t.splits if s.present)
            high = max(s.high for s in t.splits if s.present)
            if high - low + 1 <= BITMAP_SPAN * t.count and distinct_integers(data.df, c) == t.count:
                out[c.name] = CategoryCounts(t.count, _ones(t.splits))
                continue
        if (lengths := tallies.get(f"s{index[c.name]}")) is not None \
                and identifiers.settle(tallies.get(identifiers.LANE), f"h{index[c.name]}"):   # no hash twice
            splits = tuple(split for split, _ in lengths)
            out[c.name] = CategoryCounts(sum(s.present for s in splits), _ones(splits))
            continue
        hashed.append(c)
    ids = tallies.get(identifiers.LANE)
    hashed = [c for c in hashed if not identifiers.duplicated(ids, f"h{index[c.name]}")]   # surely not unique:
    repeated = [c for c in hashed if identifiers.repeated(ids, f"h{index[c.name]}")]        # the HLL's distinct
    hashed = [c for c in hashed if c not in repeated]   # a hash twice in a partition: counted by value
    for name, (distinct, most) in (hashed_multiplicity(data.df, hashed) if hashed else {}).items():
        if most["all"] == 1:
            out[name] = CategoryCounts(distinct, most)
        else:
            repeated.append(next(c for c in hashed if c.name == name))
    if repeated:
        out.update({next(c.name for c in repeated if c.alias == alias): counts
                    for alias, counts in count_categories(data.df, [], repeated).items()})
    return out


def _ones(splits) -> dict[str, int]:
    return {"all": 1, **{s: int(t.present > 0) for s, t in zip(SPLITS, splits)}}


def _kll(t: tally.DescribedTally, params: KllParameters, low: float, high: float) -> Kll | None:
    """Deequ's BucketDistribution from a DataSketches sketch: equal-width buckets between min and max
    counted on the sketch (as Deequ counts them on its own), and the sketch's retained items as compactor
    levels (level h weighing 2**h). The items' weights come from the sketch's ranks (its iterator reports
    weight 1 for every item of a merged sketch); an item of weight w goes into each level of w's binary
    digits, so the levels describe exactly the sketch's distribution."""
    from datasketches import kll_doubles_sketch

    sketch = kll_doubles_sketch.deserialize(t.sketch) if isinstance(t.sketch, bytes) else t.sketch
    if sketch.is_empty():
        return None
    items = np.unique(np.fromiter((item for item, _ in sketch), dtype=float))
    ranks = np.rint(np.asarray(sketch.get_cdf(items.tolist(), True))[:len(items)] * sketch.n).astype(np.int64)
    weights = np.diff(ranks, prepend=0)
    levels = tuple(tuple(items[(weights >> h) & 1 == 1].tolist()) for h in range(int(weights.max()).bit_length()))
    n = params.buckets
    edges = np.linspace(low, high, n + 1)
    below = np.searchsorted(items, edges[1:-1], side="left")      # items below each inner edge
    counts = np.diff(np.concatenate(([0], np.cumsum(weights)[below - 1] * (below > 0), [sketch.n])))
    buckets = tuple((float(edges[i]), float(edges[i + 1]), int(counts[i])) for i in range(n))
    return Kll(buckets, KLL_C, params.sketch_size, levels)


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _column_profile(k: int, c: Column, tallies: dict, sizes: dict[str, int], counts: CategoryCounts | None,
                    estimate: int | None, params: KllParameters) -> ColumnProfile:
    if (t := tallies.get(f"v{k}")) is not None:
        extents, present = t.splits, t.count
        mean = std = total = low = high = kll = None
        if present:
            low = min(s.low for s in extents if s.present)
            high = max(s.high for s in extents if s.present)
            mean, total, std = t.mean, t.total, math.sqrt(max(0.0, t.m2 / present))
            kll = _kll(t, params, float(low), float(high))
        lengths = (None, None)
    else:
        extents = tuple(lengths for lengths, _ in tallies[f"s{k}"])
        present = sum(s.present for s in extents)
        mean = std = total = low = high = kll = None
        nonempty = [s for s in extents if s.present]
        lengths = (min(s.low for s in nonempty), max(s.high for s in nonempty)) if nonempty else (None, None)

    def split_stats(i: int, split: str) -> SplitStats:
        s = extents[i]
        numeric = c.is_numeric
        return SplitStats(
            rows=sizes[split], num_present=s.present,
            minimum=_finite(float(s.low)) if numeric and s.present else None,
            maximum=_finite(float(s.high)) if numeric and s.present else None,
            min_length=None if numeric or not s.present else int(s.low),
            max_length=None if numeric or not s.present else int(s.high),
            max_multiplicity=counts.max_multiplicity.get(split) if counts else None,
            categories=counts.split_counts(split) if counts and counts.values is not None else None)

    return ColumnProfile(
        column=c, num_present=present, num_missing=sizes["all"] - present,
        nonfinite=t.nonfinite if t is not None else 0,
        mean=_finite(mean), sum=_finite(total), std_dev=_finite(std),
        minimum=_finite(float(low)) if low is not None else None,
        maximum=_finite(float(high)) if high is not None else None, kll=kll,
        distinct_count=counts.distinct if counts else estimate,
        min_length=lengths[0], max_length=lengths[1],
        categories=counts.totals() if counts and counts.values is not None else None,
        train=split_stats(0, "train"), holdout=split_stats(1, "holdout"))
