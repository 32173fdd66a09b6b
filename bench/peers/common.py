"""What every per-tool runner shares; imports nothing of dqloop, so it runs in each peer's own venv.

A runner is started by bench/peers_bench.py as `<venv>/bin/python bench/peers/run_<tool>.py ARGS`,
with the repository as working directory. It sets up untimed (interpreter, imports, Spark session,
a warm-up run on a small table), then times only the work (`Timer`): wall time, CPU time of this
process plus, where Spark is used, of its JVM (local mode: driver and executors are that one JVM),
and Spark jobs. It writes one JSON document to --out. Memory is sampled from outside by the driver.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def arguments(extra=None) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True, help="the table to measure (Parquet folder)")
    p.add_argument("--warmup", required=True, help="a small table for the untimed warm-up")
    p.add_argument("--train", help="the training table (a reference for drift, suggestions)")
    p.add_argument("--suite", help="dqloop's suite.json: the checks to reproduce")
    p.add_argument("--baseline", help="a dqloop baseline folder")
    p.add_argument("--only", help="which of the runner's tools")
    p.add_argument("--out", required=True)
    if extra:
        extra(p)
    return p.parse_args()


def versions(*names: str) -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for n in names:
        try:
            out[n] = version(n)
        except PackageNotFoundError:
            out[n] = "not installed"
    return out


def spark_session(app: str):
    """local[2] with the settings of spark-conf/spark-defaults.conf (the Deequ jar too: harmless for peers)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app)
    for line in (REPO / "spark-conf" / "spark-defaults.conf").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            value = value.strip()
            if key == "spark.jars":
                value = str((REPO / value).resolve())
            builder = builder.config(key, value)
    return builder.getOrCreate()


def tree_cpu(root: int) -> float:
    """CPU seconds of `root` and every live descendant (the Spark JVM, PySpark's daemon and Python workers),
    each with its reaped children's (utime + stime + cutime + cstime)."""
    stats, children = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:   # ended meanwhile
                continue
            stats[int(entry.name)] = sum(int(f) for f in fields[11:15])
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, 0)
        todo += children.get(pid, [])
    return total / os.sysconf("SC_CLK_TCK")


class Timer:
    """with Timer(spark) as t: ...  ->  t.result: wall s, cpu s (this process and all it started), Spark jobs."""

    def __init__(self, spark=None):
        self.spark = spark
        self.result: dict = {}

    def cpu(self) -> float:
        return tree_cpu(os.getpid())

    def __enter__(self):
        if self.spark is not None:
            self.group = f"bench-{uuid.uuid4().hex[:12]}"
            self.spark.sparkContext.setJobGroup(self.group, self.group)
        self.c0, self.t0 = self.cpu(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        wall, cpu = time.perf_counter() - self.t0, self.cpu() - self.c0
        jobs = None
        if self.spark is not None:
            sc = self.spark.sparkContext
            jobs = len(sc.statusTracker().getJobIdsForGroup(self.group))
            sc.setLocalProperty("spark.jobGroup.id", None)
        self.result = {"wall": wall, "cpu": cpu, "jobs": jobs}
        return False


def floor(spark, path: str) -> int:
    """The same floor as bench/baseline_bench.py: one aggregation, count(*) and count+sum of every column."""
    from pyspark.sql import functions as F, types as T

    df = spark.read.parquet(path)
    aggs = [F.count(F.lit(1)).alias("rows")]
    for f in df.schema.fields:
        c = F.col(f"`{f.name}`")
        aggs += [F.count(c), F.sum(c if isinstance(f.dataType, T.NumericType) else F.length(c.cast("string")))]
    return df.agg(*aggs).collect()[0]["rows"]


def timed_floor(spark, path: str) -> dict:
    with Timer(spark) as t:
        floor(spark, path)
    return t.result


def floor_and_work(spark, args: argparse.Namespace, name: str, work) -> list[dict]:
    """Warm both up on the small table, then time the floor and `work` on the data: the runs to write."""
    work(args.warmup)
    timed_floor(spark, args.warmup)
    runs = [{"name": "floor", **timed_floor(spark, args.data)}]
    with Timer(spark) as t:
        detail = work(args.data)
    return runs + [{"name": name, **t.result, "detail": detail}]


def write(out: str, runs: list[dict], versions_: dict, **extra) -> None:
    Path(out).write_text(json.dumps({"runs": runs, "versions": versions_, **extra}, indent=1, default=str))


def suite_constraints(path: str) -> list[dict]:
    """dqloop's suite.json constraints as plain dicts: kind, column and the kind's parameters."""
    keep = ("rule", "holdout", "reason", "description")
    return [{k: v for k, v in c.items() if k not in keep} for c in json.loads(Path(path).read_text())["constraints"]]
