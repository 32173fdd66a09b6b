"""Spark sessions for dqloop's jobs, configured from spark-conf/ and never from code.

Under spark-submit the session already carries the submitted configuration. From the `dqloop`
command, the session is launched with SPARK_CONF_DIR pointing at spark-conf/ (so spark-defaults.conf
and log4j2.properties apply); relative paths in its spark.jars are resolved against the repository.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import uuid
from concurrent.futures import Future
from pathlib import Path
from typing import Iterator

from pyspark.sql import SparkSession

from constraints.deequ import SETUP_HINT, require_deequ, shutdown_callback_server
from constraints.errors import ClusterUnreachable, SetupError

REPO_ROOT = Path(__file__).resolve().parents[1]


def conf_dir() -> Path:
    return Path(os.environ.get("DQLOOP_SPARK_CONF_DIR", REPO_ROOT / "spark-conf"))


def read_defaults(path: Path) -> dict[str, str]:
    """Parse a spark-defaults.conf: `key value` lines, `#` comments."""
    conf = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            conf[key] = value.strip()
    return conf


def _resolved_jars(value: str, base: Path) -> str:
    jars = []
    for jar in filter(None, (j.strip() for j in value.split(","))):
        if "://" not in jar and not os.path.isabs(jar):
            jar = str((base / jar).resolve())
        if "://" not in jar and not os.path.exists(jar):
            raise SetupError(f"The jar {jar} (spark.jars in {conf_dir() / 'spark-defaults.conf'}) is missing.",
                             SETUP_HINT)
        jars.append(jar)
    return ",".join(jars)


def build_session(app_name: str, master: str | None = None) -> SparkSession:
    """A session for the `dqloop` command; reuses the active one (spark-submit, tests) when there is one."""
    return _session(app_name, master)[0]


def _session(app_name: str, master: str | None) -> tuple[SparkSession, bool]:
    """(session, whether this call created it)."""
    active = SparkSession.getActiveSession()
    created = active is None
    if active is not None or _under_spark_submit():
        if active is None:
            from pyspark import SparkConf, SparkContext
            SparkContext._ensure_initialized()  # the gateway spark-submit started, so SparkConf reads its settings
            check_master(SparkConf().get("spark.master", None))
        spark = active or SparkSession.builder.appName(app_name).getOrCreate()
    else:
        cdir = conf_dir()
        os.environ.setdefault("SPARK_CONF_DIR", str(cdir))
        builder = SparkSession.builder.appName(app_name)
        defaults = read_defaults(cdir / "spark-defaults.conf")
        # validate's pass runs Python workers (constraints.tally): this interpreter, unless configured
        os.environ.setdefault("PYSPARK_PYTHON", defaults.get("spark.pyspark.python", sys.executable))
        check_master(master or defaults.get("spark.master"))
        if "spark.jars" in defaults:
            builder = builder.config("spark.jars", _resolved_jars(defaults["spark.jars"], REPO_ROOT))
        if master:
            builder = builder.master(master)
        spark = builder.getOrCreate()
    require_deequ(spark)
    return spark, created


def check_master(master: str | None, timeout: float = 5.0) -> None:
    """Raise ClusterUnreachable unless a standalone master (spark://h:p, or h1:p1,h2:p2 with standby
    masters) accepts a connection: Spark itself would retry for a minute, then fail obscurely."""
    if not master or not master.startswith("spark://"):
        return  # local, yarn and k8s masters are found by Spark's own client
    failures = []
    for address in master[len("spark://"):].split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                return
        except (OSError, ValueError) as exc:
            failures.append(f"{address}: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}")
    raise ClusterUnreachable(f"The Spark master {master} is not reachable ({'; '.join(failures)}).",
                             "start the cluster (scripts/cluster start for a local one) or correct --master; "
                             "check that this machine may connect to the master's port")


def _under_spark_submit() -> bool:
    # spark-submit starts the Python driver with the gateway already listening.
    return "PYSPARK_GATEWAY_PORT" in os.environ


def launch(app_name: str, master: str | None = None) -> Future | None:
    """Start the command's session on a thread of its own and return at once: the JVM's start (about
    3 s, mostly the JVM's own CPU) then overlaps what the command does before it needs Spark, chiefly
    importing its modules (about a CPU second; bench/RESULTS.md, "validate's start"). `spark_session`
    takes the session (or the error) from the returned future. None where a session is active or
    spark-submit started the JVM: nothing to overlap. A daemon thread: a command that ends before it
    needs Spark (a usage error) does not wait for it, and the JVM ends with this process."""
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None or _under_spark_submit():
        return None
    started: Future = Future()

    def start() -> None:
        try:
            started.set_result(_session(app_name, master))
        except BaseException as exc:   # noqa: BLE001 -- raised again where the session is taken
            started.set_exception(exc)

    threading.Thread(target=start, name="dqloop-spark-start", daemon=True).start()
    return started


@contextlib.contextmanager
def spark_session(app_name: str, master: str | None = None, launched: Future | None = None
                  ) -> Iterator[SparkSession]:
    """A session for one command; stopped at the end (with PyDeequ's callback server) if this created it.
    `launched`: the session `launch` started for the same app and master."""
    if launched is not None:
        spark, created = launched.result()
        spark._jvm.SparkSession.setActiveSession(spark._jsparkSession)   # the JVM's active session is per thread
    else:
        spark, created = _session(app_name, master)
    try:
        yield spark
    finally:
        if created:
            shutdown_callback_server(spark)
            spark.stop()


@contextlib.contextmanager
def counting_jobs(spark: SparkSession, group: str) -> Iterator[list[int]]:
    """Count the Spark jobs run inside the block (SparkListener-backed status tracker); yields [count]."""
    sc = spark.sparkContext
    outer = sc.getLocalProperty("spark.jobGroup.id")
    group = f"{group}-{uuid.uuid4().hex[:12]}"  # the status tracker remembers earlier groups
    sc.setJobGroup(group, group)
    box = [0]
    try:
        yield box
    finally:
        box[0] = len(sc.statusTracker().getJobIdsForGroup(group))
        sc.setLocalProperty("spark.jobGroup.id", outer)
        sc.setLocalProperty("spark.job.description", outer)
