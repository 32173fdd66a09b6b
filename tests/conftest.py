"""One local Spark session for the whole test run: local[2], UI off, 127.0.0.1, real Deequ jar.

The session comes from jobs.session.build_session, so tests go through the same spark-conf/
and jar resolution as the `dqloop` command.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


@pytest.fixture(scope="session")
def spark():
    from constraints.deequ import shutdown_callback_server
    from jobs.session import build_session

    session = build_session("dqloop-tests", "local[2]")
    session.conf.set("spark.sql.shuffle.partitions", "4")
    yield session
    shutdown_callback_server(session)
    session.stop()


def run_dqloop(*args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run the real `dqloop` command in a fresh process (its own JVM)."""
    return subprocess.run([str(REPO / ".venv" / "bin" / "dqloop"), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env={**os.environ, **(env or {})})
