"""Catalog tables and Delta Lake tables as inputs of `dqloop baseline` and `dqloop validate`.

    --table NAME [--version N] [--partition SEL ...] [--where CONDITION]

NAME is a table of the session's catalog (`shop.events`: Spark's Hive-compatible catalog when
spark.sql.catalogImplementation is `hive`, see docs/tables.md) or a Delta table by path
(delta.`/data/events`). Partitions are the table's own partition columns: the metastore's partition
list for Hive-format tables, the distinct partition values at the version read for Delta tables,
named like folders (`dt=2026-11-30`, `dt=2026-11-30/hour=04`), so --partition's selectors (exact,
glob, range) work as for a partitioned folder; --where filters them by a SQL condition on the partition
columns (`dt >= '2026-11-01' AND region = 'eu'`, typed as the table types them). A Delta table is read at one version: --version N
(time travel), or its current version, resolved once and pinned for the whole run; the baseline
records the table, its format and that version.

Errors name the cause and the fix: a missing table is InputNotFound, a version that does not exist
(or --version on a table without versions) is a UsageError (both exit 2).
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from urllib.parse import unquote

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from constraints.errors import InputNotFound, UsageError
from constraints.frames import Frame
from jobs.io import Table

DELTA = "delta"
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"   # how Hive and Spark name the partition of null values
_NAME = re.compile(r"^(delta\.`[^`]+`|[A-Za-z_][\w]*(\.[A-Za-z_][\w]*){0,2}|`[^`]+`(\.`[^`]+`){0,2})$")


def add_arguments(p: argparse.ArgumentParser, source: argparse._MutuallyExclusiveGroup, *,
                  with_partition: bool) -> None:
    """--table (beside --input in `source`) and --version; --partition too where the job has none."""
    source.add_argument("--table", metavar="NAME",
                        help="a catalog table (db.table; Hive metastore: docs/tables.md) or a Delta table by path "
                             "(delta.`/path`), instead of --input")
    p.add_argument("--version", type=int, metavar="N",
                   help="with --table: read a Delta table as of version N (time travel; default: its current "
                        "version, pinned for the run)")
    p.add_argument("--where", metavar="CONDITION",
                   help="with --table: only the partitions whose partition columns meet this SQL condition "
                        "(\"dt >= '2026-11-01'\"); with --partition, both apply")
    if with_partition:
        p.add_argument("--partition", action="append", default=[], metavar="SEL",
                       help="with --table: only these partitions (dt=2026-11-30, dt=2026-11-*, dt=2026-11-01..30; "
                            "repeatable; default: all)")


@dataclass(frozen=True)
class CatalogTable:
    """A table as resolved once per run: its format, partition columns and (Delta) the version read."""
    name: str
    format: str
    partition_columns: tuple[str, ...]
    version: int | None = None

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name} (version {self.version})"

    def provenance(self) -> dict:
        """What a baseline records about the table it was computed from."""
        return {"name": self.name, "format": self.format, "version": self.version,
                "partition_columns": list(self.partition_columns)}


def open_table(spark: SparkSession, name: str, version: int | None = None) -> CatalogTable:
    """Resolve `name` in the catalog; pin a Delta table's version (the current one unless `version`)."""
    if not _NAME.match(name.strip()):
        raise UsageError(f"--table {name!r} is not a table name.",
                         "use db.table, catalog.db.table, or delta.`/path/to/table` for a Delta table by path")
    name = name.strip()
    try:
        detail = spark.sql(f"DESCRIBE DETAIL {name}").select("format", "partitionColumns").first()
        fmt, columns = str(detail["format"] or "unknown").lower(), tuple(detail["partitionColumns"] or ())
    except AnalysisException as exc:
        fmt, columns = _catalog_entry(spark, name, exc)   # a view, or a table DESCRIBE DETAIL does not know
    if fmt != DELTA:
        if version is not None:
            raise UsageError(f"--version {version} was given but {name} is a {fmt} table, which has no versions.",
                             "drop --version, or point --table at a Delta table")
        return CatalogTable(name, fmt, columns)
    versions = [int(r["version"]) for r in spark.sql(f"DESCRIBE HISTORY {name}").select("version").collect()]
    if version is None:
        version = max(versions)
    elif version not in versions:
        raise UsageError(f"{name} has no version {version}; its versions are {_ranges(sorted(versions))}.",
                         f"pick one of those with --version (DESCRIBE HISTORY {name} lists them with their times), "
                         "or drop --version for the current one")
    return CatalogTable(name, fmt, columns, version)


def _catalog_entry(spark: SparkSession, name: str, exc: AnalysisException) -> tuple[str, tuple[str, ...]]:
    try:
        entry = spark.catalog.getTable(name)
        columns = tuple(c.name for c in spark.catalog.listColumns(name) if c.isPartition)
    except AnalysisException:
        raise _not_found(spark, name, exc) from None
    return str(entry.tableType or "unknown").lower(), columns


def _not_found(spark: SparkSession, name: str, exc: AnalysisException) -> InputNotFound:
    first = str(exc).splitlines()[0]
    catalog = spark.conf.get("spark.sql.catalogImplementation", "in-memory")
    hint = "check the name (SHOW TABLES IN <database> lists the tables)"
    if catalog != "hive" and not name.startswith("delta."):
        hint += ("; this session's catalog is Spark's in-memory one, so only tables created in this run exist: set "
                 "spark.sql.catalogImplementation hive and the metastore in spark-conf/ (docs/tables.md)")
    return InputNotFound(f"Table {name} was not found: {first}", hint)


def _ranges(versions: list[int]) -> str:
    """[0, 1, 2, 5] -> '0-2, 5'."""
    out, start = [], None
    for i, v in enumerate(versions):
        if start is None:
            start = v
        if i + 1 == len(versions) or versions[i + 1] != v + 1:
            out.append(f"{start}" if start == v else f"{start}-{v}")
            start = None
    return ", ".join(out)


def frame(spark: SparkSession, table: CatalogTable) -> DataFrame:
    """The whole table, at its pinned version."""
    reader = spark.read
    if table.version is not None:
        reader = reader.option("versionAsOf", table.version)
    return reader.table(table.name)


def partitions(spark: SparkSession, table: CatalogTable) -> list[str]:
    """The table's partitions as `col=value[/col=value]` names, sorted ([] for an unpartitioned table)."""
    if not table.partition_columns:
        return []
    if table.format != DELTA:   # the metastore's list: no data read
        return sorted(unquote(str(r[0])) for r in spark.sql(f"SHOW PARTITIONS {table.name}").collect())
    cols = table.partition_columns
    rows = frame(spark, table).select(*[F.col(c).cast("string").alias(c) for c in cols]).distinct().collect()
    return sorted("/".join(f"{c}={HIVE_NULL if r[c] is None else r[c]}" for c in cols) for r in rows)


def where(spark: SparkSession, table: CatalogTable, keys: list[str], condition: str) -> list[str]:
    """The partitions among `keys` whose values meet the SQL `condition`, the columns typed as in the table
    (evaluated on the list of partition values: no data is read)."""
    if not keys:
        return []
    cols = list(table.partition_columns)
    types = {f.name: f.dataType for f in frame(spark, table).schema.fields}
    rows = [[i, *(None if v == HIVE_NULL else v for v in (part.partition("=")[2] for part in key.split("/")))]
            for i, key in enumerate(keys)]
    listed = spark.createDataFrame(rows, "`__i` int, " + ", ".join(f"`{c}` string" for c in cols))
    typed = listed.select("__i", *[F.col(c).cast(types[c]).alias(c) for c in cols])
    try:
        kept = {r["__i"] for r in typed.where(condition).select("__i").collect()}
    except AnalysisException as exc:   # ParseException included
        raise UsageError(f"--where {condition!r} is not a condition on the partition columns "
                         f"({', '.join(cols)}): {str(exc).strip().splitlines()[0]}",
                         f"use only {', '.join(cols)}, e.g. --where \"{cols[0]} >= '...'\"") from None
    return [k for i, k in enumerate(keys) if i in kept]


def _condition(df: DataFrame, key: str):
    condition = F.lit(True)
    types = dict(df.dtypes)
    for part in key.split("/"):
        column, _, value = part.partition("=")
        cond = F.col(column).isNull() if value == HIVE_NULL else F.col(column) == F.lit(value).cast(types[column])
        condition = condition & cond
    return condition


def read_partition(spark: SparkSession, table: CatalogTable, key: str) -> Table:
    """One partition's rows without its partition columns (as a partition folder reads)."""
    df = frame(spark, table)
    if key:
        df = df.where(_condition(df, key))
    return Table(Frame.of(df.drop(*table.partition_columns)), table.format, ())


def read_selected(spark: SparkSession, table: CatalogTable, keys: list[str] | None) -> Table:
    """The table (or the union of the partitions `keys`) with its partition columns, as a table root reads."""
    df = frame(spark, table)
    if keys:
        condition = F.lit(False)
        for key in keys:
            condition = condition | _condition(df, key)
        df = df.where(condition)
    return Table(Frame.of(df), table.format, table.partition_columns)


@dataclass(frozen=True)
class TablePartition:
    """What validate reads for one report: a partition of a catalog table (key '' = the whole table)."""
    table: CatalogTable
    key: str

    def read(self, spark: SparkSession) -> Table:
        return read_partition(spark, self.table, self.key)

    def __str__(self) -> str:
        return f"{self.table} partition {self.key}" if self.key else str(self.table)


def targets(spark: SparkSession, args: argparse.Namespace, select) -> tuple[list[tuple], list[str], CatalogTable]:
    """validate's (source, partition name, output folder) per selected partition, the selectors that matched
    nothing, and the table. `select(available, selectors)` is validate's selector matching."""
    from jobs.io import join

    _no_format(args)
    table = open_table(spark, args.table, args.version)
    keys = partitions(spark, table)
    if not table.partition_columns:
        if args.partition or getattr(args, "where", None):
            raise UsageError(f"--partition or --where was given but {table} has no partition columns.",
                             "drop them to validate the whole table as one partition")
        return [(TablePartition(table, ""), _plain_name(table.name), args.output)], [], table
    chosen, unmatched = select(keys, args.partition)
    if getattr(args, "where", None):
        chosen = where(spark, table, chosen, args.where)
    if not chosen:
        raise UsageError(f"No partition of {table} matches {' and '.join(_asked(args)) or 'anything (it has none)'}.",
                         f"choose among: {', '.join(keys[:10])}{' ...' if len(keys) > 10 else ''}" if keys
                         else "write data into the table first")
    return [(TablePartition(table, k), k, args.output and join(args.output, k)) for k in chosen], unmatched, table


def _asked(args: argparse.Namespace) -> list[str]:
    return [*(f"--partition {p}" for p in args.partition), *([f"--where {args.where}"] if getattr(args, "where", None)
                                                               else [])]


def _no_format(args: argparse.Namespace) -> None:
    if getattr(args, "format", "auto") != "auto":
        raise UsageError("--format applies to --input; a table's format comes from the catalog.", "drop --format")


def _plain_name(name: str) -> str:
    return re.sub(r"[^\w.=-]+", "_", name.replace("delta.", "", 1).strip("`")).strip("_") or "table"


def baseline_input(spark: SparkSession, args: argparse.Namespace, select) -> tuple[Table, dict]:
    """The baseline's input from --table (and --partition): the rows, and the provenance it records."""
    _no_format(args)
    table = open_table(spark, args.table, args.version)
    keys = None
    if args.partition or getattr(args, "where", None):
        if not table.partition_columns:
            raise UsageError(f"--partition or --where was given but {table} has no partition columns.",
                             "drop them to profile the whole table")
        available = partitions(spark, table)
        keys, unmatched = select(available, args.partition)
        if getattr(args, "where", None):
            keys = where(spark, table, keys, args.where)
        if unmatched or not keys:
            raise UsageError(f"No partition of {table} matches {', '.join(unmatched) or ' and '.join(_asked(args))}.",
                             f"choose among: {', '.join(available[:10])}{' ...' if len(available) > 10 else ''}")
    return read_selected(spark, table, keys), {**table.provenance(), "partitions": keys}
