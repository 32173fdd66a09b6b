"""What a pass reads: a partition's schema and, when they are plain Parquet files, its files, known
before Spark is asked anything; its DataFrame made only when something needs Spark to compute.

A JVM's first DataFrame costs about a second of Spark's own analysis and class loading (the file
relation, then the projection's analysis; bench/RESULTS.md, "validate's start"). A pass whose workers
read the files themselves (constraints.direct) needs neither, so `jobs.io.read_table` hands validate a
`Frame` whose schema comes from the files' footers and whose DataFrame is made on first use: by a pass
that Spark computes, a job that needs the values by themselves (constraints.scan), a failed rule's
examples, or estimated quality's lanes. A DataFrame given by a caller is a `Frame` as it is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from typing import Callable
from urllib.parse import unquote, urlparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

log = logging.getLogger("dqloop.frames")

READ_PARQUET = "spark.dqloop.pass.readParquet"   # false: Spark reads the files for the pass (spark-conf/)


@dataclass(frozen=True)
class Files:
    """Plain Parquet files that the pass's workers may read themselves (constraints.direct)."""

    paths: tuple[str, ...]


class Frame:
    """A DataFrame made on first use (`df`), with its session and, when known without it, its schema and
    its plain Parquet files (`source`). `derived` is a Frame of a DataFrame computed from this one (the
    projection), made when it is first used, reading the same files."""

    def __init__(self, spark: SparkSession, make: Callable[[], DataFrame], schema: StructType | None = None,
                 files: tuple[str, ...] | None = None) -> None:
        self.spark, self._make, self._schema, self._files = spark, make, schema, files

    @classmethod
    def of(cls, df: DataFrame) -> "Frame":
        """A DataFrame already made; its files are read from its plan (parquet_source) when asked for."""
        frame = cls(df.sparkSession, lambda: df)
        frame.__dict__["df"] = df   # made already: where cached_property keeps it
        return frame

    @cached_property
    def df(self) -> DataFrame:
        return self._make()

    @property
    def schema(self) -> StructType:
        return self._schema if self._schema is not None else self.df.schema

    @property
    def columns(self) -> list[str]:
        return self.schema.names

    @cached_property
    def source(self) -> Files | None:
        """The files the workers may read themselves, or None (Spark reads): the known files, or those of a
        made DataFrame's plan; none when the session says so (spark.dqloop.pass.readParquet false)."""
        if self._files is None:
            return parquet_source(self.df)   # which asks the session too
        return Files(self._files) if _reading_allowed(self.spark) else None

    def derived(self, make: Callable[[DataFrame], DataFrame]) -> "Frame":
        frame = Frame(self.spark, lambda: make(self.df))
        frame.__dict__["source"] = self.source   # this one's files (cached_property's slot)
        return frame


def _reading_allowed(spark: SparkSession) -> bool:
    return spark.conf.get(READ_PARQUET, "true").lower() == "true"


def parquet_source(df: DataFrame) -> Files | None:
    """`df`'s files when it is plain Parquet files as Spark reads them -- a file relation with no filter,
    no partition column, no computed column, on the local filesystem -- and the session allows the workers
    to read them (spark.dqloop.pass.readParquet, spark-conf/); else None (Spark's path)."""
    if not _reading_allowed(df.sparkSession):
        return None
    try:
        node = df._jdf.queryExecution().analyzed()   # not optimizedPlan: the optimizer's first run costs 0.3 s
        while node.getClass().getSimpleName() == "Project":
            outputs = node.projectList()
            if any(outputs.apply(i).getClass().getSimpleName() != "AttributeReference" for i in range(outputs.size())):
                return None
            node = node.child()
        if node.getClass().getSimpleName() != "LogicalRelation":
            return None
        relation = node.relation()
        if relation.getClass().getSimpleName() != "HadoopFsRelation" \
                or relation.fileFormat().getClass().getSimpleName() != "ParquetFileFormat" \
                or relation.location().getClass().getSimpleName() != "InMemoryFileIndex" \
                or relation.partitionSchema().size() or relation.bucketSpec().isDefined():
            return None
        files = list(relation.location().inputFiles())
    except Exception:   # noqa: BLE001 -- a plan this cannot read (another Spark version): Spark's path
        log.debug("the pass reads through Spark: the plan is not plain Parquet files", exc_info=True)
        return None
    paths = [unquote(urlparse(f).path) for f in files if urlparse(f).scheme == "file"]
    return Files(tuple(paths)) if files and len(paths) == len(files) else None
