"""A partition's metrics for validate: one pass over the rows, no shuffle.

Validate knows from its baseline what to measure, so it asks for exactly that. Spark computes a few
lanes per row (a numeric column's value, a known categorical's value, a string's length and hash, a
counted rule's verdict) and hands them as Arrow batches to Python workers that tally each partition with
numpy (constraints.tally): per numeric column count, min, max, sum and sum of squares less the baseline
mean and counts per cell of its baseline grid (constraints.grid); counts per known category, and of the
values outside them a count and sketches (constraints.unseen: the most frequent, a distinct count),
never the values themselves; a HyperLogLog of other strings (constraints.hll); distinct values of
unique columns. One row per partition comes back. (Deequ's analyzers cost about three times as much
for the same statistics, and a grouping of (key, value) entries per row twice as much as this pass;
bench/RESULTS.md.)

Narrow jobs follow only where needed: the exact distinct count of a unique integral column whose
partitions' value ranges overlap, from Spark's bitmaps (it reads that one column); unique strings are
settled in the pass from their values' 64-bit hashes (constraints.identifiers), other unique columns, and
strings whose hashes outgrew the driver's budget, by a job shuffling hashes, not values; and values by themselves
(the known categories of a column with too many to count in the pass, a unique column whose hashes
repeat: what reaches the driver is bounded by the baseline). The suite's row-level rules are judged from
the counts: domains from the categories, ranges kept by a
share of the rows from the grid (their bounds are grid points), rules every row must keep from min and
max; the others are counted in the pass.

The result is a Profile like the baseline's (its numeric distributions as grid counts) and the suite
rules' offending-row counts.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Mapping

import numpy as np
from py4j.protocol import Py4JJavaError
from pyspark.errors import PythonException
from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from constraints import direct, hll, identifiers, multivariate, tally, unseen
from constraints.baseline import Baseline
from constraints.categories import BITMAP_SPAN, distinct_integers, hashed_multiplicity
from constraints.columns import FRACTIONAL, INTEGRAL, STRING, Column
from constraints.errors import SetupError, UnreadableInput
from constraints.frames import Files, Frame
from constraints.grid import GridCounts, grid_points
from constraints.profile import ColumnProfile, Kll, KllParameters, Profile, SplitStats
from constraints.backends import PASS
from constraints.suite import Constraint, Suite

log = logging.getLogger("dqloop.scan")

MAX_KNOWN = 10_000   # a column's known categories are counted by position in the pass up to this many, else by value


def offending(c: Constraint, col: Column) -> SparkColumn | None:
    """The rows that break `c`, as a condition on the projection (its kind's InPass.offending,
    constraints.backends.PASS); None where no row-level test exists."""
    how = PASS.lookup(c).offending
    return how(c, F.col(col.alias)) if how is not None else None


@dataclass(frozen=True)
class ScanPlan:
    """What to measure of a partition, decided from its baseline before reading it."""

    columns: tuple[Column, ...]
    unique: frozenset[str]                      # exact multiplicities (suite uniqueness, identifiers)
    known: dict[str, tuple[str, ...]]           # categorical: baseline categories, grouped by position
    grouped_categorical: frozenset[str]         # categorical with too many known categories: grouped by value
    sketched: frozenset[str]                    # other strings: distinct count from a HyperLogLog (constraints.hll)
    grids: dict[str, np.ndarray]                # numeric: baseline grid points
    edges: dict[str, tuple[float, ...]]         # numeric: the baseline's 10 bucket edges (statistics.json)
    centers: dict[str, float]                   # numeric: the baseline mean (squared deviations from it)
    rules: tuple[tuple[int, Constraint], ...]   # row-level suite rules counted in the pass (suite index, rule)
    derived: tuple[tuple[int, Constraint], ...]  # row-level rules judged from other metrics (bounds, category counts)
    grouped_known: dict[str, tuple[str, ...]] = field(default_factory=dict)   # grouped_categorical: their categories
    extended: dict[str, Any] = field(default_factory=dict, compare=False)   # the baseline's (constraints.multivariate)
    levels: dict[str, Any] = field(default_factory=dict, compare=False)     # numeric: the baseline's KLL levels
    sample: Any = field(default=None, compare=False)   # a caller's row-sample request (constraints.rowsample)


def plan_scan(baseline: Baseline, columns: tuple[Column, ...], unique: frozenset[str],
              suite: Suite | None, sample: Any = None) -> ScanPlan:
    known: dict[str, tuple[str, ...]] = {}
    grouped: set[str] = set()
    grids: dict[str, np.ndarray] = {}
    edges: dict[str, tuple[float, ...]] = {}
    grouped_known: dict[str, tuple[str, ...]] = {}
    bounds: dict[str, list[float]] = {}   # range rules kept by a share of the rows: counted on the grid
    domains: dict[str, list[str]] = {}    # a suite's domain values are counted exactly, as the baseline's categories
    for s in suite.constraints if suite else ():
        r, how = s.constraint, PASS.lookup(s.constraint)
        if how.grid_points is not None:
            bounds.setdefault(r.column, []).extend(how.grid_points(r))
        if how.categories is not None:
            domains.setdefault(r.column, []).extend(how.categories(r))
    for c in columns:
        f = baseline.feature(c.name)
        if f is None:
            continue
        if not f.is_numeric and (f.categories or f.domains):
            values = tuple(dict.fromkeys([*(f.categories or {}), *(f.domains or ()), *domains.get(c.name, ())]))
            if len(values) <= MAX_KNOWN and c.name not in unique:
                known[c.name] = values
            else:
                grouped.add(c.name)
                grouped_known[c.name] = values
        elif c.name not in unique and f.is_numeric and c.is_numeric and f.kll_edges and any(f.kll_levels or ()):
            grids[c.name] = grid_points(f.kll_levels, f.kll_edges, extra=bounds.get(c.name, ()))
            edges[c.name] = f.kll_edges
    by_name = {c.name: c for c in columns}
    row_level = [(i, s.constraint) for i, s in enumerate(suite.constraints if suite else ())   # no Column built:
                 if s.constraint.column in by_name and PASS.lookup(s.constraint).offending is not None]   # py4j calls
    derived = tuple((i, c) for i, c in row_level if _derivable(c, known, grids))
    rules = tuple((i, c) for i, c in row_level if not _derivable(c, known, grids))
    sketched = frozenset(c.name for c in columns if c.inferred_type == STRING and c.name not in unique
                         and c.name not in known and c.name not in grouped)  # statistics.json: strings only
    centers = {c.name: float(f.mean) if f is not None and f.mean is not None else 0.0
               for c in columns if c.is_numeric for f in [baseline.feature(c.name)]}
    return ScanPlan(columns, unique, known, frozenset(grouped), sketched, grids, edges, centers, rules, derived,
                    grouped_known, baseline.extended,
                    {f.name: f.kll_levels for f in baseline.features if f.is_numeric and f.kll_levels}, sample)


def _derivable(c: Constraint, known: dict[str, tuple[str, ...]], grids: dict[str, np.ndarray]) -> bool:
    """Rules whose offending rows other metrics count (the kind's InPass): domains over counted categories
    (every value of the domain is counted; the others are unseen, constraints.unseen), ranges on a grid
    holding their bounds; and a rule every row must keep (at_least 1) holds exactly when the column's min
    and max (or lengths) do. Lengths kept by a share of the rows are counted in the pass: unseen values are
    sketched, not listed."""
    how = PASS.lookup(c)
    if how.categories is not None and c.column in known:
        return True
    if how.grid_points is not None and c.column in grids:
        return True
    return getattr(c, "at_least", 1.0) >= 1.0


def _derived_offending(c: Constraint, p: ColumnProfile) -> int | None:
    """Offending rows of a derivable rule: exact from the category or grid counts; for rules every row must
    keep, 0 or None (some rows, not counted: the min or max is already outside)."""
    how = PASS.lookup(c)
    if how.from_counts is not None and (counted := how.from_counts(c, p)) is not None:
        return counted
    ok, _ = c.evaluate(p.train)
    return 0 if ok else None


@dataclass(frozen=True)
class ScanResult:
    profile: Profile
    offending_rows: dict[Any, int | None]   # constraint -> rows breaking it (None: some, not counted)
    extra: dict[str, Any] = field(default_factory=dict)   # the tallies of the caller's extra lanes
    joint: dict[str, Any] = field(default_factory=dict)   # across features (constraints.multivariate.measured)




def scan(data: Frame | DataFrame, plan: ScanPlan, extra: Mapping[str, Any] | None = None) -> ScanResult:
    """Measure `data` (a columns.projection) as `plan` says: one pass, plus a by-value grouping only for
    the columns that need their values themselves (module docstring). `extra`: lanes a caller adds to the
    pass, {column of `data`: a lane with fold, merge, close}; their tallies come back in `ScanResult.extra`
    (label-free quality estimation, labeling.lanes). As a constraints.frames.Frame, `data` is made only if
    Spark computes something: not when the workers read its files themselves (`Frame.source`,
    constraints.direct) and no column needs its values by themselves."""
    frame = data if isinstance(data, Frame) else Frame.of(data)
    measured, rows, rule_counts, extra_tallies, joint = _measure(frame, plan, extra or {})
    present = [c for c in plan.columns if measured[c.name].present]
    for c in present:
        m = measured[c.name]
        if c.name in plan.unique and not m.most and c.inferred_type == INTEGRAL \
                and c.name not in plan.grouped_categorical \
                and m.high - m.low + 1 <= BITMAP_SPAN * m.present:   # sparse values: one 4 KiB bitmap each
            m.distinct = distinct_integers(frame.df, c)
            m.most = 1 if m.distinct == m.present else 0   # 0: a value occurs twice, counted by value below
    hashed = [c for c in present if c.name in plan.unique and not measured[c.name].most
              and not measured[c.name].repeat and c.name not in plan.grouped_categorical]
    for name, (distinct, most) in (hashed_multiplicity(frame.df, hashed) if hashed else {}).items():
        if most["all"] == 1:   # no hash twice, so no value twice; else counted by value below (a collision is not a repeat)
            measured[name].distinct, measured[name].most = distinct, 1
    by_value = [c for c in present if c.name in plan.grouped_categorical
                or (c.name in plan.unique and not measured[c.name].most)]
    for name, (distinct, most, values) in (_value_counts(frame.df, plan, by_value) if by_value else {}).items():
        measured[name].distinct, measured[name].most, measured[name].values = distinct, most, values
    profiles = tuple(_column_profile(c, measured[c.name], rows, plan) for c in plan.columns)
    by_column = {p.column.name: p for p in profiles}
    offending_rows: dict[Any, int | None] = {c: rule_counts.get(i, 0) for i, c in plan.rules}
    offending_rows.update({c: _derived_offending(c, by_column[c.column]) for _, c in plan.derived})
    return ScanResult(Profile(rows, rows, 0, profiles), offending_rows, extra_tallies, joint)


@dataclass
class _Measured:
    """What the pass measured of one column."""

    present: int = 0
    nonfinite: int = 0
    mistyped: int = 0
    shifted: float = 0.0                  # sum of the values less the baseline mean (numeric)
    squares: float = 0.0                  # sum of their squares: no cancellation while the mean stays near
    low: int | float | None = None        # smallest value (numeric) or length (strings)
    high: int | float | None = None
    cells: dict[int, int] = field(default_factory=dict)    # grid cell or known category position -> count
    ranks: np.ndarray | None = None       # HyperLogLog registers (sketched strings)
    distinct: int = 0                     # unique columns: distinct values
    most: int = 0                         # and the largest count of one (0: not known yet)
    values: dict[str, int] = field(default_factory=dict)   # grouped: counts of the known categories
    unseen: unseen.Unseen | None = None   # values outside the known categories: totals and the most frequent
    repeat: bool = False                  # the pass saw a hash twice: counted by value, no hash job


def _lanes(data: Frame, plan: ScanPlan, extra: Mapping[str, Any]
           ) -> tuple[DataFrame | None, dict[str, tally.Lane], Reading | None]:
    """The columns Spark computes for the pass's Python workers, and what each worker tallies of them
    (constraints.tally): per numeric column its values (`v`, NaN for non-finite ones), per known
    categorical its values (`k`, looked up among the known categories by the worker, the others sketched:
    constraints.unseen), of a categorical with too many known categories its other values (`u`, else
    null), per other string
    its length (`n`) and, sketched, its hash (`h`); flags for values not of the type (`t`) and for each
    counted rule's offending rows (`r`). Lookups stay out of Spark's generated code: a CASE per category
    over many columns made methods HotSpot would not compile (bench/RESULTS.md, table shapes). With
    `data.source`, and a recipe for every lane, the workers read the files themselves (constraints.direct):
    the tasks and recipes come back instead of Spark's columns, and `data` is not made."""
    lanes: dict[str, tally.Lane] = {}
    exprs: list[tuple[str, Callable[[], SparkColumn]]] = []   # made only if Spark computes the lanes
    recipes: dict[str, direct.Recipe | None] = {}
    hashes: list[tuple[str, str]] = []   # unique strings: settled in the pass (constraints.identifiers)

    def lane(name: str, expr: Callable[[], SparkColumn], kind: tally.Lane | None, recipe: direct.Recipe | None
             ) -> None:
        exprs.append((name, expr))
        recipes[name] = recipe or None
        if kind is not None:
            lanes[name] = kind

    for k, c in enumerate(plan.columns):
        x = partial(F.col, c.alias)
        plain = plain_column(c)   # read as it is from the files
        if c.name in plan.grouped_known:   # values outside the categories: constraints.unseen
            lane(f"u{k}", lambda x=x, known=list(plan.grouped_known[c.name]): F.when(~x().isin(known), x()),
                 unseen.Values(), plain and direct.Outside(c.name, plan.grouped_known[c.name]))
        if c.name in plan.known:
            lane(f"k{k}", x, tally.Categories(plan.known[c.name]), plain and direct.Text(c.name))
        elif c.is_numeric:
            lane(f"v{k}", partial(numeric_value, c),
                 tally.Numbers(plan.centers[c.name], plan.grids.get(c.name), c.name in plan.unique),
                 plain and direct.Number(c.name, c.inferred_type == INTEGRAL))
        else:
            lane(f"n{k}", lambda x=x: F.length(x()), tally.Lengths(), plain and direct.Length(c.name))
            if c.name in plan.sketched:
                lane(f"h{k}", lambda x=x: hll.hashed(x()), tally.Registers(), plain and direct.Hash(c.name))
            elif c.name in plan.unique and c.name not in plan.grouped_categorical:
                lane(f"h{k}", lambda x=x: hll.hashed(x()), None, plain and direct.Hash(c.name))   # the joint lane's
                hashes.append((f"h{k}", f"n{k}"))
        if c.is_retyped:
            lane(f"t{k}", lambda c=c: ~F.col(c.typeok_alias), tally.Flags(), None)
    by_name = {c.name: c for c in plan.columns}
    for i, rule in plan.rules:
        col = by_name[rule.column]
        arrow = plain_column(col) and PASS.lookup(rule).arrow_offending is not None
        lane(f"r{i}", lambda rule=rule, col=col: offending(rule, col) & F.col(col.alias).isNotNull(), tally.Flags(),
             arrow and direct.Offending(col.name, rule, col.is_numeric, col.inferred_type == INTEGRAL) or None)
    for name, kind in extra.items():
        lane(name, partial(F.col, name), kind, None)
    tasks = reading(data.spark, data.source) if data.source is not None and recipes and all(recipes.values()) \
        else None
    if hashes:
        lanes[identifiers.LANE] = identifiers.Hashes(
            tuple(hashes), identifiers.budget(len(tasks) if tasks else data.df.rdd.getNumPartitions()))
    numeric = {c.name: f"v{k}" for k, c in enumerate(plan.columns) if f"v{k}" in lanes}
    known = {c.name: f"k{k}" for k, c in enumerate(plan.columns) if f"k{k}" in lanes}
    lanes.update(multivariate.validate_lanes(plan.extended, numeric, plan.levels, known, plan.sample))   # joint
    multivariate.expecting(lanes, tasks)
    if tasks:   # the workers compute the lanes: Spark's projection of them would be analysed for nothing
        return None, lanes, (tasks, recipes)
    columns = [expr().alias(name) for name, expr in exprs] or [F.lit(0).alias("none")]
    return data.df.select(*columns), lanes, None


def plain_column(c: Column) -> bool:
    """A column the workers can read from its files as the projection has it: numeric, or a string."""
    return not c.is_retyped and (c.spark_type == "string" if c.inferred_type == STRING
                                 else c.spark_type in _NUMERIC_TYPES and (c.source_type or c.inferred_type) != STRING)


_NUMERIC_TYPES = ("tinyint", "smallint", "int", "bigint", "float", "double")


def numeric_value(c: Column) -> SparkColumn:
    """A numeric column's lane: a long, or a double with NaN for its non-finite values (the projection
    made them null and flagged them)."""
    value = F.col(c.alias).cast("long" if c.inferred_type == INTEGRAL else "double")
    if c.inferred_type == FRACTIONAL:
        value = F.when(F.col(c.nonfinite_alias), F.lit(float("nan"))).otherwise(value)
    return value


Reading = tuple[list[tuple[direct.Split, ...]], dict[str, direct.Recipe]]   # the tasks, each lane's recipe


def run_pass(lanes_df: DataFrame | SparkSession, lanes: dict[str, tally.Lane], what: str,
             read: Reading | None = None) -> tuple[int, dict]:
    """One pass (validate's or the baseline's): Python workers tally the lanes per partition
    (constraints.tally), one row per partition reaches the driver; the rows and the merged tallies.
    `read`: the tasks and lane recipes of workers reading the files themselves (constraints.direct); then
    `lanes_df` may be the session alone.
    An executor Python without dqloop's dependencies is a SetupError naming the fix."""
    try:
        if read is None:
            partitions = [(r["rows"], r["tallies"]) for r in
                          lanes_df.mapInArrow(partial(tally.tally_partition, lanes=lanes), tally.DDL).collect()]
        else:   # a plain RDD of task ids: no Dataset, encoder or Arrow hand-off to set up for a job over ids
            tasks, recipes = read
            log.info("%s: the workers read %d Parquet splits themselves", what, len(tasks))
            spark = lanes_df if isinstance(lanes_df, SparkSession) else lanes_df.sparkSession
            rows = spark._jsparkSession.sessionState().conf().arrowMaxRecordsPerBatch()
            partitions = spark.sparkContext.parallelize(range(len(tasks)), len(tasks)).mapPartitions(
                partial(direct.read_and_tally, tasks=tasks, recipes=recipes, lanes=lanes, rows=rows,
                        fold=tally.tally_partition)).collect()
    except (PythonException, Py4JJavaError) as exc:   # an RDD's worker error comes as Py4JJavaError
        missing = re.search(r"No module named '([^']+)'", str(exc))
        if missing is not None:
            raise SetupError(f"{what} runs Python on the Spark executors, and their Python has no module "
                             f"{missing.group(1)!r}.", "point spark.pyspark.python (or PYSPARK_PYTHON) at a Python "
                             "with dqloop installed: its .venv, or the environment scripts/package builds") from None
        unreadable = re.search(r"OSError: (.*)", str(exc))
        if read is None or unreadable is None:
            raise
        raise UnreadableInput(f"Could not read {unreadable.group(1).strip()}", direct.FIX) from None
    log.debug("%s: %d partitions, %d bytes of tallies to the driver", what, len(partitions),
              sum(len(blob) for _, blob in partitions))
    return tally.merge_partitions(partitions, lanes)


def reading(spark: SparkSession, source: Files) -> list[tuple[direct.Split, ...]]:
    """The tasks of a pass whose workers read `source`'s files themselves, sized by the session's file-scan
    settings (spark.sql.files.maxPartitionBytes, openCostInBytes, as Spark's SQLConf reads them)."""
    conf = spark._jsparkSession.sessionState().conf()
    return direct.splits(list(source.paths), conf.filesMaxPartitionBytes(), conf.filesOpenCostInBytes(),
                         spark.sparkContext.defaultParallelism)


def _measure(data: Frame, plan: ScanPlan, extra: Mapping[str, Any]
             ) -> tuple[dict[str, _Measured], int, dict[int, int], dict[str, Any], Any]:
    """The one pass: Spark computes the lanes, Python workers tally them per partition (constraints.tally),
    one row per partition reaches the driver."""
    lanes_df, lanes, read = _lanes(data, plan, extra)
    rows, tallies = run_pass(lanes_df if lanes_df is not None else data.spark, lanes, "validate's pass", read)
    measured = {c.name: _Measured() for c in plan.columns}
    for k, c in enumerate(plan.columns):
        m = measured[c.name]
        if (t := tallies.get(f"k{k}")) is not None:
            counts, others = t
            m.cells = {b: int(n) for b, n in enumerate(counts) if b and n}
            m.present = sum(m.cells.values())
            m.unseen = unseen.summary(others)
        elif c.name in plan.known:
            m.cells, m.present = {}, 0
        elif (t := tallies.get(f"v{k}")) is not None:
            m.present, m.nonfinite, m.shifted, m.squares, m.low, m.high = \
                t.present, t.nonfinite, t.shifted, t.squares, t.low, t.high
            if t.cells is not None:
                m.cells = {b: int(n) for b, n in enumerate(t.cells) if n}
            if c.name in plan.unique and (settled := tally.distinct_and_most(t.runs)) is not None:
                m.distinct, m.most = settled
        elif (t := tallies.get(f"n{k}")) is not None:
            m.present, m.low, m.high = t.present, t.low, t.high
            m.ranks = tallies.get(f"h{k}")
            if identifiers.LANE in lanes and f"h{k}" in lanes[identifiers.LANE].hash_lanes:   # a unique string
                ids = tallies.get(identifiers.LANE)
                if (distinct := identifiers.settle(ids, f"h{k}")) is not None:
                    m.distinct, m.most = distinct, 1 if distinct else 0   # no hash twice: no value twice
                m.repeat = identifiers.repeated(ids, f"h{k}")             # a hash twice: counted by value
        m.mistyped = tallies.get(f"t{k}", 0)
        if (others := tallies.get(f"u{k}")) is not None:
            m.unseen = unseen.summary(others)
    rule_counts = {i: tallies.get(f"r{i}", 0) for i, _ in plan.rules}
    joint = multivariate.measured(lanes, tallies, plan.levels, plan.sample is not None)
    return measured, rows, rule_counts, {name: tallies[name] for name in extra if name in tallies}, joint


def _value_counts(data: DataFrame, plan: ScanPlan, columns: list[Column]) -> dict[str, tuple[int, int, dict[str, int]]]:
    """Values by themselves, a second job run only where needed: counts of the known categories of grouped
    columns (their other values are counted in the pass, constraints.unseen), multiplicities of unique
    columns (integral ones only where their bitmaps found a value twice). Per column: distinct values
    grouped, the largest count, and the known categories' counts. What reaches the driver is bounded by
    the baseline: known categories and one row per column, whatever the data holds."""
    entries = []
    for k, c in enumerate(columns):
        x = F.col(c.alias)
        known = F.lit(False)
        if c.name in plan.grouped_known:
            known = x.isin(list(plan.grouped_known[c.name]))
            if c.name not in plan.unique:   # only the known categories: the pass sketched the others
                x = F.when(known, x)
        entries.append(F.struct(F.lit(k).alias("k"), x.cast("string").alias("v"), known.alias("known")))
    counted = data.select(F.explode(F.array(*entries)).alias("e")).select("e.k", "e.v", "e.known") \
        .where(F.col("v").isNotNull()).groupBy("k", "v", "known").agg(F.count(F.lit(1)).alias("n"))
    per_column = counted.groupBy("k").agg(
        F.count(F.lit(1)).alias("distinct"), F.max("n").alias("most"),
        F.collect_list(F.when(F.col("known"), F.struct("v", "n"))).alias("values"))
    return {columns[r["k"]].name: (int(r["distinct"]), int(r["most"]), {e["v"]: int(e["n"]) for e in r["values"] or ()})
            for r in per_column.collect()}


def _finite(x: Any) -> float | None:
    return None if x is None or not np.isfinite(float(x)) else float(x)


def _column_profile(c: Column, m: _Measured, rows: int, plan: ScanPlan) -> ColumnProfile:
    name, present = c.name, m.present
    mean = std = total = grid = minimum = maximum = None
    if c.is_numeric and present:
        center = plan.centers[name]
        offset = m.shifted / present                       # mean - center
        with np.errstate(over="ignore", invalid="ignore"):   # values near the float limits: sums overflow
            mean, total = _finite(np.float64(center) + offset), np.float64(center) * present + m.shifted
            variance = np.float64(m.squares) / present - np.float64(offset) ** 2
        std = float(np.sqrt(max(0.0, variance))) if np.isfinite(variance) else None
        minimum, maximum = _finite(m.low), _finite(m.high)
    if name in plan.grids:
        points = plan.grids[name]
        grid = GridCounts(tuple(float(p) for p in points), tuple(m.cells.get(j, 0) for j in range(len(points) + 1)))
    kll = None
    if grid is not None and present:  # statistics.json's distribution: the baseline's buckets, the counts as levels
        kll = Kll(grid.buckets(plan.edges[name]), KllParameters.shrinking_factor, KllParameters.sketch_size,
                  grid.levels(minimum))
    categories = distinct = min_length = max_length = None
    if name in plan.known or name in plan.grouped_categorical:
        known = plan.known.get(name, ())
        counts = {known[b - 1]: n for b, n in m.cells.items() if 0 < b <= len(known)}
        counts.update(m.values)
        lengths = [len(v) for v in counts]
        distinct = len(counts)
        if m.unseen is not None:   # the most frequent unseen values (counts at least), totals in `unseen`
            counts.update({v: lo for v, lo, _ in m.unseen.top})
            lengths += [m.unseen.min_length, m.unseen.max_length]
            distinct += m.unseen.distinct
        categories = tuple(sorted(counts.items(), key=lambda p: (-p[1], p[0])))
        if lengths:
            min_length, max_length = min(lengths), max(lengths)
    elif not c.is_numeric and m.low is not None:
        min_length, max_length = int(m.low), int(m.high)
    if name in plan.unique:
        distinct = m.distinct
    elif name in plan.sketched:
        distinct = hll.estimate(m.ranks) if m.ranks is not None else 0
    multiplicity = m.most if name in plan.unique and present else None
    source_present = present + m.mistyped
    return ColumnProfile(
        column=c, num_present=present, num_missing=rows - present, nonfinite=m.nonfinite,
        mean=mean, sum=_finite(total), std_dev=std, minimum=minimum, maximum=maximum, kll=kll,
        distinct_count=distinct, min_length=min_length, max_length=max_length, categories=categories,
        train=SplitStats(rows, present, minimum, maximum, min_length, max_length, multiplicity,
                         dict(categories) if categories is not None else None),
        holdout=SplitStats(0, 0), type_share=present / source_present if source_present else 1.0, grid=grid,
        unseen=m.unseen)
