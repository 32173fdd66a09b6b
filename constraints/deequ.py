"""The one door to PyDeequ and the Deequ jar.

pydeequ reads SPARK_VERSION when it is imported and raises if it is unset; dqloop derives it
from the installed pyspark so users never set it. A session without the Deequ jar on its
classpath gets a SetupError naming the set-up command, never `'JavaPackage' object is not callable`.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pyspark
from pyspark.sql import SparkSession

from constraints.errors import SetupError

SETUP_HINT = "run scripts/setup (it fetches the jars named in spark-conf/spark-defaults.conf)"


def pydeequ_module(name: str) -> ModuleType:
    """Import `pydeequ.<name>` with SPARK_VERSION derived from the installed pyspark."""
    os.environ.setdefault("SPARK_VERSION", ".".join(pyspark.__version__.split(".")[:2]))
    return importlib.import_module(f"pydeequ.{name}")


def require_deequ(spark: SparkSession) -> None:
    """Raise SetupError unless the Deequ classes are loadable in this session's JVM."""
    try:
        spark._jvm.java.lang.Class.forName(
            "com.amazon.deequ.analyzers.Size", True, spark._jvm.Thread.currentThread().getContextClassLoader()
        )
    except Exception as exc:  # py4j wraps ClassNotFoundException
        raise SetupError("Deequ is not on this Spark session's classpath.", SETUP_HINT) from exc


def ensure_callback_server(spark: SparkSession) -> None:
    """Start the Py4J callback server Deequ checks with Python assertions need (PyDeequ would print when it does)."""
    gateway = spark.sparkContext._gateway
    server = gateway.get_callback_server()
    if server is None:
        gateway.start_callback_server()
    elif server.is_shutdown:
        server.close()
        gateway.restart_callback_server()


def shutdown_callback_server(spark: SparkSession) -> None:
    """Stop the Py4J callback server PyDeequ may have started, so the process can exit."""
    gateway = getattr(spark.sparkContext, "_gateway", None)
    if gateway is not None:
        gateway.shutdown_callback_server()
