"""The same validate on local[2] and on the two-worker standalone cluster of this machine, in one run.

    .venv/bin/python bench/cluster_bench.py [--rows 200000] [--reps 2]

A baseline is computed once (untimed) from a training table drawn by jobs.sample_data.make_frame;
then one production partition of --rows rows is validated, alternately, by
  - local:   `dqloop --master local[2] validate ...` (its own JVM, as a user runs it), and
  - cluster: spark-submit to `scripts/cluster start` (a master and two workers, 1 core and 1 GB
             each, on 127.0.0.1) with what scripts/package builds (dist/conf/standalone, the Deequ
             jar, the packed environment shipped with spark.archives, the driver in it);
wall time of each whole command (JVM start, executor launch and environment unpacking included).
Both use the same 2 cores, so the cluster cannot be faster here: the ratio is the cost of
distribution (executor processes, shuffles over the network stack, shipping the environment).
The table replaces the section of bench/RESULTS.md it owns.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from baseline_bench import environment, write_section  # noqa: E402

from jobs.sample_data import make_frame  # noqa: E402

SECTION = "## Validate on local[2] vs. the two-worker standalone cluster (bench/cluster_bench.py)"
SPARK_HOME = next((REPO / ".venv" / "lib").glob("python3*/site-packages/pyspark"))


def timed(command: list[str], **kwargs) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if out.returncode not in (0, 1):
        raise SystemExit(f"{command[0]} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--reps", type=int, default=2)
    args = p.parse_args()
    start = time.perf_counter()
    env_lines = environment()
    subprocess.run([str(REPO / "scripts" / "package")], check=True, stdout=subprocess.DEVNULL)
    work = Path(tempfile.mkdtemp(prefix="dqloop-cluster-bench-"))
    make_frame(50_000, seed=1).to_parquet(work / "train.parquet", index=False)
    (work / "table" / "ds=1").mkdir(parents=True)
    make_frame(args.rows, seed=2, start_id=10**7).to_parquet(work / "table" / "ds=1" / "part-0.parquet", index=False)
    dqloop = str(REPO / ".venv" / "bin" / "dqloop")
    subprocess.run([dqloop, "baseline", "--input", str(work / "train.parquet"), "--output", str(work / "baseline")],
                   check=True, capture_output=True)
    with tarfile.open(REPO / "dist" / "dqloop-env.tar.gz") as archive:
        archive.extractall(work / "driver-env", filter="fully_trusted")
    cluster = [str(REPO / "scripts" / "cluster")]
    url = subprocess.run([*cluster, "start", "--dir", str(work / "cluster")], check=True, capture_output=True,
                         text=True).stdout.strip()
    validate = ["validate", "--baseline", str(work / "baseline"), "--input", str(work / "table")]
    submit_env = {**{k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")},
                  "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1",
                  "SPARK_CONF_DIR": str(REPO / "dist" / "conf" / "standalone")}
    times: dict[str, list[float]] = {"local": [], "cluster": []}
    loads = []
    try:
        for rep in range(args.reps):
            loads.append(os.getloadavg()[0])
            times["local"].append(timed([dqloop, "--master", "local[2]", *validate, "--output",
                                         str(work / f"local-{rep}")]))
            times["cluster"].append(timed([str(SPARK_HOME / "bin" / "spark-submit"), "--master", url,
                                           "--conf", "spark.driver.host=127.0.0.1",
                                           "--conf", "spark.driver.bindAddress=127.0.0.1",
                                           "--conf", f"spark.pyspark.driver.python={work / 'driver-env/bin/python'}",
                                           str(REPO / "dist" / "dqloop_main.py"), *validate,
                                           "--output", str(work / f"cluster-{rep}")], cwd=work, env=submit_env))
    finally:
        subprocess.run([*cluster, "stop", "--dir", str(work / "cluster")], capture_output=True)
    local, remote = statistics.median(times["local"]), statistics.median(times["cluster"])
    cmd = "`.venv/bin/python bench/cluster_bench.py " + " ".join(sys.argv[1:]) + "`"
    section = "\n".join([
        SECTION, "", f"Command: {cmd}  ",
        f"Whole run {(time.perf_counter() - start) / 60:.1f} min; one partition of {args.rows:,} rows x 20 columns, "
        f"baseline from 50,000 rows; {args.reps} alternating repetitions", "",
        *env_lines,
        f"- cluster: scripts/cluster, master + 2 workers x 1 core x 1 GB on 127.0.0.1, the same 2 cores as local[2]; "
        f"load average before each repetition: {', '.join(f'{x:.1f}' for x in loads)}", "",
        "| run | wall s (median) | each repetition s | ratio to local |", "|---|---:|---|---:|",
        f"| local[2] (`dqloop --master local[2] validate`) | {local:.1f} | "
        f"{', '.join(f'{t:.1f}' for t in times['local'])} | 1.00 |",
        f"| standalone cluster (spark-submit, packed environment) | {remote:.1f} | "
        f"{', '.join(f'{t:.1f}' for t in times['cluster'])} | {remote / local:.2f} |", ""])
    print(section)
    write_section(REPO / "bench" / "RESULTS.md", section)


if __name__ == "__main__":
    main()
