"""Category frequencies and exact uniqueness for many columns in one grouping pass.

Deequ runs one grouping pass per column set (Histogram, Uniqueness, ...), which makes wide tables
slow. Here all chosen columns are unpivoted into (column, value) pairs and grouped once
(`count_categories`), or, where only multiplicities matter, into (column, 64-bit hash) pairs
(`hashed_multiplicity`: a shuffle of hashes, not of values).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from constraints.columns import HOLDOUT, Column

BITMAP_SPAN = 64   # bitmaps count an integral column whose values span at most this many per value (4 KiB per bucket)


@dataclass(frozen=True)
class CategoryCounts:
    distinct: int
    max_multiplicity: dict[str, int]                          # split -> largest count of one value
    values: tuple[tuple[str, int, int], ...] | None = None    # (value, train count, holdout count)

    def totals(self) -> tuple[tuple[str, int], ...]:
        pairs = [(v, t + h) for v, t, h in self.values or ()]
        return tuple(sorted(pairs, key=lambda p: (-p[1], p[0])))

    def split_counts(self, split: str) -> dict[str, int]:
        pick = {"all": lambda t, h: t + h, "train": lambda t, h: t, "holdout": lambda t, h: h}[split]
        return {v: pick(t, h) for v, t, h in self.values or () if pick(t, h) > 0}


def count_categories(data: DataFrame, categorical: list[Column], unique_candidates: list[Column]) -> dict[str, CategoryCounts]:
    """{alias: CategoryCounts}; values are kept for `categorical` columns only."""
    chosen = list(categorical) + list(unique_candidates)
    keep_values = [c.alias for c in categorical]
    pairs = F.explode(F.array(*[
        F.struct(F.lit(c.alias).alias("k"), F.col(c.alias).cast("string").alias("v")) for c in chosen
    ])).alias("p")
    long = data.select(F.col(HOLDOUT), pairs).select(HOLDOUT, "p.k", "p.v").where(F.col("v").isNotNull())
    holdout = F.col(HOLDOUT).cast("long")
    grouped = long.groupBy("k", "v").agg(F.sum(1 - holdout).alias("t"), F.sum(holdout).alias("h"))
    per_column = grouped.groupBy("k").agg(
        F.count(F.lit(1)).alias("distinct"),
        F.max(F.col("t") + F.col("h")).alias("max_all"),
        F.max("t").alias("max_train"),
        F.max("h").alias("max_holdout"),
        F.collect_list(F.when(F.col("k").isin(keep_values), F.struct("v", "t", "h"))).alias("values"),
    )
    out: dict[str, CategoryCounts] = {}
    for row in per_column.collect():
        out[row["k"]] = CategoryCounts(
            distinct=int(row["distinct"]),
            max_multiplicity={"all": int(row["max_all"]), "train": int(row["max_train"] or 0),
                              "holdout": int(row["max_holdout"] or 0)},
            values=tuple((r["v"], int(r["t"]), int(r["h"])) for r in row["values"])
            if row["k"] in keep_values else None,
        )
    return out


def hashed_multiplicity(data: DataFrame, columns: list[Column]) -> dict[str, tuple[int, dict[str, int]]]:
    """{name: (distinct hashes, split -> largest count of one hash)} of the columns' values' xxhash64, one
    job for all of them. No hash twice means no value twice; a repeated hash may be a collision (about
    n**2 / 2**65 for n values), so a caller confirms a repeat by value (`count_categories`)."""
    holdout = F.col(HOLDOUT).cast("long")
    entries = F.explode(F.array(*[
        F.struct(F.lit(k).alias("k"), F.when(F.col(c.alias).isNotNull(), F.xxhash64(F.col(c.alias))).alias("h"))
        for k, c in enumerate(columns)])).alias("e")
    long = data.select(holdout.alias("held"), entries).select("held", "e.k", "e.h").where(F.col("h").isNotNull())
    grouped = long.groupBy("k", "h").agg(F.sum(1 - F.col("held")).alias("t"), F.sum("held").alias("o"))
    per_column = grouped.groupBy("k").agg(F.count(F.lit(1)).alias("distinct"), F.max(F.col("t") + F.col("o")).alias("a"),
                                          F.max("t").alias("t"), F.max("o").alias("o"))
    return {columns[r["k"]].name: (int(r["distinct"]), {"all": int(r["a"]), "train": int(r["t"] or 0),
                                                        "holdout": int(r["o"] or 0)})
            for r in per_column.collect()}


def distinct_integers(data: DataFrame, c: Column) -> int:
    """Exact distinct count of an integral column, from bitmaps of its values (Spark's bitmap functions:
    one bit per value, a bucket per 32,768 values): a job that reads the one column and shuffles a few
    bitmaps, not the values. Equal to the present count: no value occurs twice."""
    x = F.col(c.alias)
    bitmaps = data.where(x.isNotNull()).groupBy(F.bitmap_bucket_number(x).alias("bucket")) \
        .agg(F.bitmap_construct_agg(F.bitmap_bit_position(x)).alias("bits"))
    return int(bitmaps.agg(F.sum(F.bitmap_count("bits"))).collect()[0][0] or 0)
