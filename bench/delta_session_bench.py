"""What Delta Lake on every session costs: session start (and stop) with spark-conf/ as it is (Deequ and
Delta jars, Delta's SQL extension and catalog) against the same configuration without Delta, alternating,
each in a fresh Python process. Reports the process's wall seconds and the JVM's CPU seconds up to the
session's first job (/proc/PID/stat), which the machine's load does not inflate.

    .venv/bin/python bench/delta_session_bench.py [--runs 4]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
START = """
import os
from jobs.session import build_session
s = build_session("bench")
s.range(1).count()
pid = s.sparkContext._gateway.jvm.java.lang.ProcessHandle.current().pid()
fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
print((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))   # utime + stime of the JVM
s.stop()
"""


def without_delta(target: Path) -> Path:
    shutil.copytree(REPO / "spark-conf", target)
    conf = target / "spark-defaults.conf"
    lines = []
    for line in conf.read_text().splitlines():
        if line.startswith(("spark.sql.extensions", "spark.sql.catalog.spark_catalog", "spark.databricks.delta")):
            continue
        if line.startswith("spark.jars"):
            line = re.sub(r",[^,\s]*delta[^,\s]*", "", line)
        lines.append(line)
    conf.write_text("\n".join(lines) + "\n")
    return target


def one(conf: Path) -> tuple[float, float]:
    t0 = time.perf_counter()
    env = {**os.environ, "DQLOOP_SPARK_CONF_DIR": str(conf), "SPARK_CONF_DIR": str(conf), "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", START], check=True, capture_output=True, text=True, cwd=REPO, env=env)
    return time.perf_counter() - t0, float(out.stdout.split()[-1])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=4)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plain = without_delta(Path(tmp) / "conf")
        results: dict[str, list[tuple[float, float]]] = {"with Delta": [], "without Delta": []}
        for _ in range(args.runs):
            results["with Delta"].append(one(REPO / "spark-conf"))
            results["without Delta"].append(one(plain))
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    for name, runs in results.items():
        walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
        print(f"{name:14s} wall median {statistics.median(walls):.2f} s  CPU median {statistics.median(cpus):.2f} s (JVM)  "
              f"(runs: {', '.join(f'{w:.1f}/{c:.1f}' for w, c in runs)})")


if __name__ == "__main__":
    main()
