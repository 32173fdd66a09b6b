"""Reading tables and writing result folders, the only file I/O of the jobs.

Inputs: Parquet or CSV; a file, a folder or a Hive-style partitioned table; a local path or any
Hadoop filesystem URI. Outputs (written from the driver): a folder that is either complete or
absent, written under a temporary name beside it, renamed into place, then marked with an empty
_SUCCESS file; plain paths with Python's file functions, URIs (file://, hdfs://, s3a://, ...)
through the Hadoop FileSystem API of the active Spark session (jobs.hadoop_fs), so outputs use the
same filesystems, jars and credentials as inputs.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from py4j.protocol import Py4JJavaError

from constraints.errors import EmptyInput, InputNotFound, UnreadableInput, UsageError
from constraints.frames import Frame

FORMATS = ("parquet", "csv")


@dataclass(frozen=True)
class Table:
    frame: Frame   # the data; Spark-written local Parquet files: its DataFrame made on first use (read_table)
    format: str
    partition_columns: tuple[str, ...]

    @property
    def df(self) -> DataFrame:
        return self.frame.df


def _hadoop_path(spark: SparkSession, path: str):
    jvm = spark._jvm
    p = jvm.org.apache.hadoop.fs.Path(path)
    return p, p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def _data_files(spark: SparkSession, path: str) -> list[str]:
    """Data files under `path`, relative to it (`name=value/part-0.parquet`); hidden and `_` files left out."""
    p, fs = _hadoop_path(spark, path)
    if not fs.exists(p):
        raise InputNotFound(f"Input path {path} does not exist.",
                            "check the path (a file, a folder, or the root of a partitioned table)")
    files = []
    it = fs.listFiles(p, True)
    while it.hasNext():
        f = it.next().getPath()
        rel = f.toString()[len(fs.makeQualified(p).toString()):]
        parts = [part for part in rel.split("/") if part] or [f.getName()]
        if not any(part.startswith(("_", ".")) for part in parts):
            files.append("/".join(parts))
    return files


SPARK_SCHEMA_KEY = b"org.apache.spark.sql.parquet.row.metadata"   # Spark's schema in the files it writes


def _local_files(path: str, files: list[str]) -> list[str]:
    return [os.path.abspath(path)] if os.path.isfile(path) else [os.path.abspath(os.path.join(path, f)) for f in files]


def _footer_schema(path: str, files: list[str]):
    """The schema Spark wrote into the footers of local Parquet files, when every file holds the same one
    (else None: Spark infers it). Spark reads that schema from a footer itself, but in a job of its own
    before the pass (ParquetUtils.inferSchema); read here from the same footers, the reader needs none.
    Not for partitioned folders (their partition columns come from the paths) or other filesystems."""
    import pyarrow.parquet as pq
    from pyspark.sql.types import StructType

    if not is_local(path) or _partition_columns(files):
        return None
    local = _local_files(path, files)
    texts = set()
    try:
        for f in local:
            texts.add((pq.read_schema(f).metadata or {}).get(SPARK_SCHEMA_KEY))
        if len(texts) != 1 or None in texts:
            return None
        return StructType.fromJson(json.loads(texts.pop()))
    except Exception:   # noqa: BLE001 -- not Parquet, a corrupt footer, another layout: Spark's reader says why
        return None


def _format_of(files: list[str]) -> str:
    def kind(f: str) -> str | None:
        name = f.rsplit("/", 1)[-1].lower()
        for ext, fmt in ((".parquet", "parquet"), (".csv", "csv"), (".csv.gz", "csv")):
            if name.endswith(ext):
                return fmt
        return None

    kinds = [k for k in map(kind, files) if k]
    return max(set(kinds), key=kinds.count) if kinds else "parquet"


def partition_keys(spark: SparkSession, path: str) -> list[str]:
    """The Hive-style partitions under `path` (`chunk=03`, `day=1/hour=2`), sorted; [] if it is not partitioned."""
    keys = set()
    for rel in _data_files(spark, path):
        segments = rel.split("/")[:-1]
        if segments and all("=" in seg for seg in segments):
            keys.add("/".join(segments))
    return sorted(keys)


def _partition_columns(files: list[str]) -> tuple[str, ...]:
    return tuple(seg.split("=", 1)[0] for seg in files[0].split("/")[:-1] if "=" in seg) if files else ()


def read_table(spark: SparkSession, path: str, fmt: str = "auto") -> Table:
    """Read `path`; raise InputNotFound, EmptyInput or UnreadableInput with what to do next."""
    if fmt not in ("auto",) + FORMATS:
        raise UsageError(f"Unknown format {fmt!r}.", f"use one of auto, {', '.join(FORMATS)}")
    files = _data_files(spark, path)
    if not files:
        raise EmptyInput(f"Input path {path} holds no data files.", "point --input at a folder with Parquet or CSV files")
    fmt = _format_of(files) if fmt == "auto" else fmt
    schema = _footer_schema(path, files) if fmt == "parquet" else None

    def make() -> DataFrame:
        try:
            if fmt == "parquet":
                return (spark.read.schema(schema) if schema is not None else spark.read).parquet(path)
            return spark.read.options(header=True, inferSchema=True, mode="FAILFAST", multiLine=False).csv(path)
        except (AnalysisException, Py4JJavaError) as exc:
            raise unreadable(path, exc) from None

    if schema is not None:   # plain local files with Spark's schema: Spark is asked nothing until a DataFrame is needed
        return Table(Frame(spark, make, schema, tuple(_local_files(path, files))), fmt, ())
    return Table(Frame.of(make()), fmt, _partition_columns(files))


def as_table(spark: SparkSession, data: str | DataFrame, fmt: str = "auto") -> Table:
    """`data` as a Table: a DataFrame as it is (no partition columns), a path or URI read with read_table."""
    return Table(Frame.of(data), "dataframe", ()) if isinstance(data, DataFrame) else read_table(spark, data, fmt)


def source_name(data: Any) -> str:
    """How an input is named in documents and messages: its path, or `a DataFrame (columns ...)`."""
    if isinstance(data, DataFrame):
        return f"a DataFrame ({', '.join(data.columns[:8])}{', ...' if len(data.columns) > 8 else ''})"
    return str(data)


def unreadable(path: str, exc: Exception) -> UnreadableInput:
    """Turn a Spark read failure into an UnreadableInput that names the cause."""
    text = str(exc)
    cause = next((line.strip() for line in text.splitlines()
                  if any(k in line for k in ("Exception:", "is not a Parquet file", "Malformed", "footer"))), text[:300])
    return UnreadableInput(f"Could not read {path}: {cause}",
                           "check that the files are complete and of one format (--format parquet|csv); "
                           "remove or repair the corrupt file")


SUCCESS = "_SUCCESS"  # written last into every result folder (see jobs.hadoop_fs for object stores)


def is_local(uri: str | Path) -> bool:
    """A plain path (no scheme): written with Python's own file functions. `file://` goes through Hadoop."""
    return urlparse(str(uri)).scheme == ""


def join(base: str, *names: str) -> str:
    """`base/name/...` for a path or a URI (pathlib would fold `s3a://bucket` into `s3a:/bucket`)."""
    return "/".join([str(base).rstrip("/"), *names])


def json_text(doc: Any) -> str:
    """How every JSON document is written: indented, UTF-8 as is, no NaN (an error, never invalid JSON)."""
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_file(path: str | Path, text: str) -> None:
    """Write one file completely or not at all (temporary name, then rename)."""
    if not is_local(path):
        return _hadoop().write_file(str(path), text)
    _replace_local(Path(path), lambda staging: staging.write_text(text, encoding="utf-8"))


def write_parquet(frame, path: str | Path) -> None:
    """A pandas frame as one local Parquet file, completely or not at all."""
    _replace_local(Path(path), lambda staging: frame.to_parquet(staging, index=False))


def _replace_local(target: Path, write) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        write(staging)
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)


def read_folder(folder: str, names: tuple[str, ...]) -> dict[str, str]:
    """{name: text} for the files among `names` that exist in the folder; InputNotFound if it does not.

    On an object store the folder must carry its _SUCCESS marker (a writer may still be copying it).
    """
    if not is_local(folder):
        return _hadoop().read_folder(folder, names)
    base = Path(folder)
    if not base.is_dir():
        raise InputNotFound(f"Folder {folder} does not exist.", "check the path")
    return {n: (base / n).read_text(encoding="utf-8") for n in names if (base / n).is_file()}


def read_matching(folder: str | Path, suffix: str) -> dict[str, str]:
    """{name: text} of the files in `folder` whose names end with `suffix`, by name ({} if no folder).
    Hidden files (a writer's temporary names) are left out."""
    if not is_local(folder):
        return dict(sorted(_hadoop().read_matching(str(folder), suffix).items()))
    base = Path(folder)
    if not base.is_dir():
        return {}
    with os.scandir(base) as entries:   # names sorted as strings: pathlib's sort costs more than the reads
        names = sorted(e.name for e in entries if e.name.endswith(suffix) and not e.name.startswith(".") and e.is_file())
    return {name: (base / name).read_text(encoding="utf-8") for name in names}


def write_folder(output: str, files: dict[str, str]) -> str:
    """Write `files` (name -> text) as the folder `output`, complete or not at all; returns `output`.

    The files go to a temporary sibling folder that is renamed into place, then the empty _SUCCESS
    marker is written last; an existing folder is replaced only after the new one is complete (its
    marker is removed first, so a reader on an object store never trusts a folder mid-replacement).
    """
    if not is_local(output):
        _hadoop().write_folder(output, files)
        return output
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    staging = target.with_name(f".{target.name}.tmp-{token}")
    staging.mkdir()
    try:
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
        old = None
        if target.exists():
            (target / SUCCESS).unlink(missing_ok=True)
            old = target.with_name(f".{target.name}.old-{token}")
            os.rename(target, old)
        os.rename(staging, target)
        (target / SUCCESS).write_text("")
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return output


def _hadoop():
    from jobs.hadoop_fs import HadoopFiles
    return HadoopFiles.of_active_session()
