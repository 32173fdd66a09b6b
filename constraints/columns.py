"""Columns as dqloop sees them: which are profiled, under which SageMaker type, and why others are skipped.

Inside Spark plans every profiled column is renamed to a safe alias (`c0`, `c1`, ...), so names
with spaces, dots, backticks or non-ASCII characters never reach an expression parser.
The values (Column, the type names) import no Spark; the functions that read a Spark schema or build a
projection import it when called, so the pure core (suite, rules, thresholds) loads without pyspark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from constraints.errors import UsageError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql import types as T

INTEGRAL = "Integral"
FRACTIONAL = "Fractional"
STRING = "String"
UNKNOWN = "Unknown"

FEATURE = "feature"
PREDICTION = "prediction"

HOLDOUT = "__dq_holdout"  # boolean split column added to the profiled projection


@dataclass(frozen=True)
class Column:
    """A profiled column: original name, safe alias, Spark type, SageMaker type and role.

    `inferred_type` is the type the column is profiled as; `source_type` is the SageMaker type of
    the data as it is (they differ when a partition is checked against a baseline and the column was
    retyped: values that do not convert count as missing, and their share is measured).
    """

    name: str
    alias: str
    spark_type: str
    inferred_type: str
    role: str = FEATURE
    source_type: str | None = None

    @property
    def is_numeric(self) -> bool:
        return self.inferred_type in (INTEGRAL, FRACTIONAL)

    @property
    def nonfinite_alias(self) -> str:
        return f"{self.alias}__nonfinite"

    @property
    def typeok_alias(self) -> str:
        return f"{self.alias}__typeok"

    @property
    def raw_alias(self) -> str:
        return f"{self.alias}__raw"

    @property
    def is_retyped(self) -> bool:
        """True when some values may not be of the profiled type (so their share is measured)."""
        source = self.source_type or self.inferred_type
        return self.inferred_type in (INTEGRAL, FRACTIONAL) and source != self.inferred_type and not (
            source == INTEGRAL and self.inferred_type == FRACTIONAL)


@dataclass(frozen=True)
class SkippedColumn:
    name: str
    spark_type: str
    reason: str


def sagemaker_type(data_type: T.DataType) -> str | None:
    """SageMaker's inferred_type for a Spark type; None when dqloop cannot profile the type."""
    from pyspark.sql import types as T
    if isinstance(data_type, (T.ByteType, T.ShortType, T.IntegerType, T.LongType)):
        return INTEGRAL
    if isinstance(data_type, (T.FloatType, T.DoubleType, T.DecimalType)):
        return FRACTIONAL
    if isinstance(data_type, (T.StringType, T.BooleanType, T.DateType, T.TimestampType,
                              T.TimestampNTZType, T.NullType, T.CharType, T.VarcharType)):
        return STRING
    return None


_FAMILIES = {INTEGRAL: ("tinyint", "smallint", "int", "bigint"), FRACTIONAL: ("float", "double", "decimal"),
             STRING: ("string", "boolean", "date", "timestamp", "timestamp_ntz", "void", "char", "varchar")}


def type_family(spark_type: str) -> str | None:
    """SageMaker's inferred_type for a Spark type's simpleString (`bigint`, `decimal(10,2)`, ...), as
    sagemaker_type; None for a type dqloop does not profile."""
    base = spark_type.split("(", 1)[0].strip().lower()
    return next((family for family, names in _FAMILIES.items() if base in names), None)


def plan_columns(
    schema: T.StructType,
    *,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    predictions: Iterable[str] = (),
    ignore: Iterable[str] = (),
) -> tuple[tuple[Column, ...], tuple[SkippedColumn, ...]]:
    """Choose the columns to profile. Unknown names in include/exclude/predictions are a UsageError.

    `ignore` names columns left out silently (partition columns of a Hive-style table).
    """
    from pyspark.sql import types as T

    names = [f.name for f in schema.fields]
    include = list(include) if include is not None else None
    exclude, predictions, ignore = set(exclude), list(predictions), set(ignore)
    for option, asked in (("--columns", include or []), ("--exclude", exclude), ("--predictions", predictions)):
        unknown = [n for n in asked if n not in names]
        if unknown:
            raise UsageError(
                f"{option} names columns the input does not have: {unknown}.",
                f"choose among the input's columns: {names}",
            )
    chosen = include if include is not None else [n for n in names if n not in ignore]
    chosen += [p for p in predictions if p not in chosen]
    profiled, skipped = [], []
    by_name = {f.name: f for f in schema.fields}
    for name in chosen:
        if name in exclude:
            continue
        field = by_name[name]
        inferred = sagemaker_type(field.dataType)
        if inferred is None:
            kind = "nested" if isinstance(field.dataType, (T.StructType, T.MapType, T.ArrayType)) else "unsupported"
            skipped.append(SkippedColumn(name, field.dataType.simpleString(),
                                         f"{kind} type {field.dataType.simpleString()} is not profiled"))
            continue
        role = PREDICTION if name in predictions else FEATURE
        profiled.append(Column(name, f"c{len(profiled)}", field.dataType.simpleString(), inferred, role))
    # Inputs first, model outputs after them: they are shown apart.
    profiled.sort(key=lambda c: c.role == PREDICTION)
    return tuple(profiled), tuple(skipped)


def projection(df: DataFrame, columns: Iterable[Column], *, holdout_fraction: float = 0.0, seed: int = 0,
               extra: Iterable[Any] = ()) -> DataFrame:
    """The DataFrame every metric is computed on: safe aliases, sanitised values, a split column.

    Decimals become doubles; NaN and +-Inf become null (their count is kept in a flag column);
    booleans, dates and timestamps become strings, as SageMaker sees them in CSV.
    """
    from pyspark.sql import functions as F

    exprs = []
    for c in columns:
        quoted = f"`{c.name.replace('`', '``')}`"
        source = F.col(quoted)
        if c.is_retyped:
            # a retyped column: the values that convert to the profiled type, and the share that do
            if (c.source_type or "") == FRACTIONAL and c.inferred_type == INTEGRAL:
                typed = F.when(source == F.floor(source), source.cast("long"))
            else:
                target = "BIGINT" if c.inferred_type == INTEGRAL else "DOUBLE"
                typed = F.expr(f"try_cast(CAST({quoted} AS STRING) AS {target})")
            exprs.append((source.isNull() | typed.isNotNull()).alias(c.typeok_alias))
            exprs.append(source.cast("string").alias(c.raw_alias))  # for offending examples; pruned otherwise
            source = typed
        if c.inferred_type == FRACTIONAL:
            as_double = source.cast("double")
            nonfinite = F.isnan(as_double) | (F.abs(as_double) == float("inf"))
            exprs.append(F.when(nonfinite, F.lit(None).cast("double")).otherwise(as_double).alias(c.alias))
            exprs.append(nonfinite.alias(c.nonfinite_alias))
        elif c.inferred_type == INTEGRAL:
            exprs.append(source.cast("long").alias(c.alias))
        else:
            if (c.source_type or "") == FRACTIONAL:   # a float checked as a string (its baseline saw no value):
                as_double = source.cast("double")     # NaN and +-Inf are missing, as everywhere else
                source = F.when(~(F.isnan(as_double) | (F.abs(as_double) == float("inf"))), source)
            exprs.append(source.cast("string").alias(c.alias))
    exprs.append(_split(df, holdout_fraction, seed).alias(HOLDOUT))
    return df.select(*exprs, *extra)   # extra: the caller's named columns of `df` (constraints.scan's extra lanes)


def _split(df: DataFrame, fraction: float, seed: int) -> Any:
    """The held-out split: for files whose rows Spark can number (Parquet), xxhash64 of the seed, each
    row's file name and its position in the file, so the split stays the same however Spark partitions the
    files, and workers reading the files themselves compute it too (constraints.direct.holdout); else Spark's
    rand(seed)."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    if fraction <= 0.0:
        return F.lit(False)
    try:
        df.select(F.col("_metadata.row_index"), F.col("_metadata.file_name"))   # resolved, not run
    except AnalysisException:
        return F.rand(seed) < F.lit(fraction)
    h = F.xxhash64(F.lit(seed).cast("long"), F.col("_metadata.file_name"), F.col("_metadata.row_index"))
    return h.bitwiseAND(F.lit(2 ** 24 - 1)) < F.lit(fraction * 2 ** 24)
