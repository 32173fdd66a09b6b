"""A partition's metrics for validate: one plain Spark aggregation and one grouping pass.

Validate knows from its baseline what to measure, so it asks Spark for exactly that, as plain
aggregate expressions fused into one scan (Deequ's analyzers cost about three times as much for the
same statistics, and its KLL pass was half of validate's time; bench/RESULTS.md):

  aggregation  rows; per column the present count, sum, squared deviations from the baseline mean, min and
               max, the non-finite and mistyped counts, string lengths; a HyperLogLog distinct count of
               strings where no exact count is made; and the row-level suite rules that other metrics do
               not decide (ranges kept by a share of the rows, domains over uncounted categories) as their
               counts of offending rows;
  grouping     the columns unpivoted into (column, value, cell) and counted once: exact multiplicities of
               unique columns, category counts (a baseline category by its position, an int key; an unseen
               value by itself), and each numeric value's cell on its baseline grid (constraints.grid).

The result is a Profile like the baseline's (its numeric distributions as grid counts) and the suite
rules' offending-row counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pyspark.ml.feature import Bucketizer
from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from constraints.baseline import Baseline
from constraints.columns import FRACTIONAL, STRING, Column
from constraints.grid import GridCounts, grid_points
from constraints.profile import ColumnProfile, Kll, KllParameters, Profile, SplitStats
from constraints.suite import Constraint, HasLengthBetween, IsInDomain, IsInRange, IsNonNegative, Suite

MAX_KNOWN = 32   # a column's known categories are grouped by position up to this many, else by value


def offending(c: Constraint, col: Column) -> SparkColumn | None:
    """The rows that break `c`, as a condition on the projection; None where no row-level test exists."""
    x = F.col(col.alias)
    if isinstance(c, IsInRange):
        return (x < c.lower) | (x > c.upper)
    if isinstance(c, IsNonNegative):
        return x < 0
    if isinstance(c, HasLengthBetween):
        return (F.length(x) < c.min_length) | (F.length(x) > c.max_length)
    if isinstance(c, IsInDomain):
        return ~x.isin(list(c.values))
    return None


@dataclass(frozen=True)
class ScanPlan:
    """What to measure of a partition, decided from its baseline before reading it."""

    columns: tuple[Column, ...]
    unique: frozenset[str]                      # exact multiplicities (suite uniqueness, identifiers)
    known: dict[str, tuple[str, ...]]           # categorical: baseline categories, grouped by position
    grouped_categorical: frozenset[str]         # categorical with too many known categories: grouped by value
    grids: dict[str, np.ndarray]                # numeric: baseline grid points
    edges: dict[str, tuple[float, ...]]         # numeric: the baseline's 10 bucket edges (statistics.json)
    centers: dict[str, float]                   # numeric: the baseline mean (squared deviations from it)
    rules: tuple[tuple[int, Constraint], ...]   # row-level suite rules counted in the aggregation (suite index, rule)
    derived: tuple[tuple[int, Constraint], ...]  # row-level rules judged from other metrics (bounds, category counts)


def plan_scan(baseline: Baseline, columns: tuple[Column, ...], unique: frozenset[str],
              suite: Suite | None) -> ScanPlan:
    known: dict[str, tuple[str, ...]] = {}
    grouped: set[str] = set()
    grids: dict[str, np.ndarray] = {}
    edges: dict[str, tuple[float, ...]] = {}
    for c in columns:
        f = baseline.feature(c.name)
        if f is None:
            continue
        if not f.is_numeric and (f.categories or f.domains):
            values = tuple(dict.fromkeys([*(f.categories or {}), *(f.domains or ())]))
            if len(values) <= MAX_KNOWN and c.name not in unique:
                known[c.name] = values
            else:
                grouped.add(c.name)
        elif c.name not in unique and f.is_numeric and c.is_numeric and f.kll_edges and any(f.kll_levels or ()):
            grids[c.name] = grid_points(f.kll_levels, f.kll_edges)
            edges[c.name] = f.kll_edges
    by_name = {c.name: c for c in columns}
    row_level = [(i, s.constraint) for i, s in enumerate(suite.constraints if suite else ())
                 if s.constraint.column in by_name
                 and offending(s.constraint, by_name[s.constraint.column]) is not None]
    derived = tuple((i, c) for i, c in row_level if _derivable(c, known))
    rules = tuple((i, c) for i, c in row_level if not _derivable(c, known))
    centers = {c.name: float(f.mean) if f is not None and f.mean is not None else 0.0
               for c in columns if c.is_numeric for f in [baseline.feature(c.name)]}
    return ScanPlan(columns, unique, known, frozenset(grouped), grids, edges, centers, rules, derived)


def _derivable(c: Constraint, known: dict[str, tuple[str, ...]]) -> bool:
    """A domain over counted categories has its offending rows counted already; a rule every row must keep
    (at_least 1) holds exactly when the column's min and max (or lengths) do."""
    if isinstance(c, IsInDomain):
        return c.column in known
    return getattr(c, "at_least", 1.0) >= 1.0


def _derived_offending(c: Constraint, p: ColumnProfile) -> int | None:
    """Offending rows of a derivable rule: the exact count for domains; for bounds 0, or None (some rows,
    not counted: the min or max is already outside)."""
    if isinstance(c, IsInDomain):
        domain = set(c.values)
        inside = sum(n for v, n in p.categories or () if v in domain)
        return p.num_present - inside
    ok, _ = c.evaluate(p.train)
    return 0 if ok else None


@dataclass(frozen=True)
class ScanResult:
    profile: Profile
    offending_rows: dict[int, int | None]   # suite index -> rows breaking that rule (None: some, not counted)


def scan(data: DataFrame, plan: ScanPlan) -> ScanResult:
    """Measure `data` (a columns.projection) as `plan` says: one aggregation, then one grouping pass."""
    aggs: list[SparkColumn] = [F.count(F.lit(1))]
    keys: list[tuple[str, ...]] = [("rows",)]

    def add(key: tuple[str, ...], expr: SparkColumn) -> None:
        keys.append(key)
        aggs.append(expr)

    by_name = {c.name: c for c in plan.columns}
    for c in plan.columns:
        x = F.col(c.alias)
        add((c.name, "present"), F.count(x))
        if c.is_numeric:
            center = plan.centers[c.name]
            add((c.name, "sum"), F.sum(x))
            add((c.name, "squares"), F.sum((x - F.lit(center)) * (x - F.lit(center))))  # shifted: no cancellation
            add((c.name, "min"), F.min(x))
            add((c.name, "max"), F.max(x))
            if c.inferred_type == FRACTIONAL:
                add((c.name, "nonfinite"), F.count_if(F.col(c.nonfinite_alias)))
        else:
            add((c.name, "min_length"), F.min(F.length(x)))
            add((c.name, "max_length"), F.max(F.length(x)))
        if c.is_retyped:
            add((c.name, "typeok"), F.count_if(F.col(c.typeok_alias)))
        if c.inferred_type == STRING and c.name not in plan.unique and c.name not in plan.known \
                and c.name not in plan.grouped_categorical:   # statistics.json lists distinct counts of strings only
            add((c.name, "approx_distinct"), F.approx_count_distinct(x))
    for i, rule in plan.rules:
        col = by_name[rule.column]
        add(("rule", str(i)), F.count_if(offending(rule, col) & F.col(col.alias).isNotNull()))
    row = data.agg(*[a.alias(f"m{i}") for i, a in enumerate(aggs)]).collect()[0]
    m: dict[tuple[str, ...], Any] = {k: row[f"m{i}"] for i, k in enumerate(keys)}
    rows = int(m[("rows",)])
    groups = _grouping(data, plan) if rows else {}
    profiles = tuple(_column_profile(c, m, rows, groups.get(c.name), plan) for c in plan.columns)
    by_column = {p.column.name: p for p in profiles}
    offending_rows = {i: int(m[("rule", str(i))] or 0) for i, _ in plan.rules}
    offending_rows.update({i: _derived_offending(c, by_column[c.column]) for i, c in plan.derived})
    return ScanResult(Profile(rows, rows, 0, profiles), offending_rows)


@dataclass(frozen=True)
class _Group:
    distinct: int
    max_multiplicity: int
    values: dict[str, int]       # categorical values outside the known ones (all of them when grouped)
    cells: dict[int, int]        # numeric cell -> count


def _grouping(data: DataFrame, plan: ScanPlan) -> dict[str, _Group]:
    columns = [c for c in plan.columns if c.name in plan.unique or c.name in plan.known
               or c.name in plan.grouped_categorical or c.name in plan.grids]
    if not columns:
        return {}
    numeric = [c for c in columns if c.name in plan.grids]
    if numeric:  # each numeric value's cell: a binary search on its grid; null (as NaN) lands in the extra bucket
        splits = [[-float("inf"), *map(float, plan.grids[c.name]), float("inf")] for c in numeric]
        data = data.select("*", *[F.coalesce(F.col(c.alias).cast("double"), F.lit(float("nan"))).alias(f"{c.alias}__x")
                                  for c in numeric])
        data = Bucketizer(splitsArray=splits, inputCols=[f"{c.alias}__x" for c in numeric],
                          outputCols=[f"{c.alias}__cell" for c in numeric], handleInvalid="keep").transform(data)
    entries = []
    for k, c in enumerate(columns):
        x = F.col(c.alias)
        if c.name in plan.grids:
            cell = F.when(x.isNotNull(), F.col(f"{c.alias}__cell").cast("int"))
            entries.append(F.struct(F.lit(k).alias("k"), F.lit(None).cast("string").alias("v"), cell.alias("b")))
            continue
        if c.name in plan.known:   # a known category by its position (an int key), other values by themselves
            position = F.when(x.isNotNull(), F.lit(0))
            for j, v in reversed(list(enumerate(plan.known[c.name], start=1))):
                position = F.when(x == F.lit(v), F.lit(j)).otherwise(position)
            entries.append(F.struct(F.lit(k).alias("k"), F.when(position == 0, x.cast("string")).alias("v"),
                                    position.alias("b")))
            continue
        entries.append(F.struct(F.lit(k).alias("k"), x.cast("string").alias("v"), F.lit(None).cast("int").alias("b")))
    long = data.select(F.explode(F.array(*entries)).alias("e")).select("e.k", "e.v", "e.b") \
        .where(F.col("v").isNotNull() | F.col("b").isNotNull())
    counted = long.groupBy("k", "v", "b").agg(F.count(F.lit(1)).alias("n"))
    unique_keys = [k for k, c in enumerate(columns) if c.name in plan.unique and c.name not in plan.grouped_categorical]
    per_column = counted.groupBy("k").agg(
        F.count(F.lit(1)).alias("distinct"), F.max("n").alias("most"),
        F.collect_list(F.when(~F.col("k").isin(unique_keys), F.struct("v", "b", "n"))).alias("values"))
    out = {}
    for r in per_column.collect():
        entries_ = r["values"] or []
        out[columns[r["k"]].name] = _Group(
            int(r["distinct"]), int(r["most"]),
            {e["v"]: int(e["n"]) for e in entries_ if e["v"] is not None},
            {int(e["b"]): int(e["n"]) for e in entries_ if e["b"] is not None and e["v"] is None})
    return out


def _finite(x: Any) -> float | None:
    return None if x is None or not np.isfinite(float(x)) else float(x)


def _column_profile(c: Column, m: dict, rows: int, group: _Group | None, plan: ScanPlan) -> ColumnProfile:
    name = c.name
    present = int(m[(name, "present")])
    get = lambda metric: m.get((name, metric))  # noqa: E731
    mean = std = grid = None
    if c.is_numeric and present:
        center = plan.centers[name]
        mean = float(get("sum")) / present
        std = float(np.sqrt(max(0.0, float(get("squares")) / present - (mean - center) ** 2)))
    if name in plan.grids:
        points = plan.grids[name]
        cells = group.cells if group else {}
        grid = GridCounts(tuple(float(p) for p in points), tuple(cells.get(j, 0) for j in range(len(points) + 1)))
    minimum, maximum = _finite(get("min")), _finite(get("max"))
    kll = None
    if grid is not None and present:  # statistics.json's distribution: the baseline's buckets, the counts as levels
        kll = Kll(grid.buckets(plan.edges[name]), KllParameters.shrinking_factor, KllParameters.sketch_size,
                  grid.levels(minimum))
    categories = distinct = None
    if name in plan.known or name in plan.grouped_categorical:
        known = plan.known.get(name, ())
        counts = {known[b - 1]: n for b, n in (group.cells.items() if group else ()) if 0 < b <= len(known)}
        counts.update(group.values if group else {})
        categories = tuple(sorted(counts.items(), key=lambda p: (-p[1], p[0])))
        distinct = len(counts)
    elif name in plan.unique:
        distinct = group.distinct if group else 0
    elif get("approx_distinct") is not None:
        distinct = int(get("approx_distinct"))
    min_length = None if get("min_length") is None else int(get("min_length"))
    max_length = None if get("max_length") is None else int(get("max_length"))
    multiplicity = group.max_multiplicity if group and name in plan.unique else None
    typeok = get("typeok")
    source_present = present + (rows - int(typeok) if typeok is not None else 0)
    return ColumnProfile(
        column=c, num_present=present, num_missing=rows - present, nonfinite=int(get("nonfinite") or 0),
        mean=mean, sum=_finite(get("sum")) if present else None, std_dev=std, minimum=minimum, maximum=maximum, kll=kll,
        distinct_count=distinct, min_length=min_length, max_length=max_length, categories=categories,
        train=SplitStats(rows, present, minimum, maximum, min_length, max_length, multiplicity,
                         dict(categories) if categories is not None else None),
        holdout=SplitStats(0, 0), type_share=present / source_present if source_present else 1.0, grid=grid)
