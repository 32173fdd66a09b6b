"""How much the dqloop baseline costs over the cheapest useful scan of the same table.

    .venv/bin/python bench/baseline_bench.py --rows 1000000 10000000 [--repeat N] [--data-dir DIR]

For each size, a generated 20-column table (jobs.sample_data.make_frame; Parquet files of at most
1M rows, row groups of 125k, under DIR/rows=N/; made once and reused, delete DIR to regenerate) is
measured in ONE local[2] Spark session:
  floor     spark.read.parquet + one aggregation: count(*), and count(c) and sum(c) of every column
            (for non-numeric columns the sum is sum(length(cast(c as string))));
  baseline  jobs.baseline.compute (read, Deequ profile, categories, held-out suggestions), as the CLI
            runs it with --predictions score,predicted_label; then writing its documents.
Both run once untimed on a small table first, then alternately N times per size (default: 3 up to
1M rows, 1 above, since a 10M baseline takes ~7 min on 2 cores). Reported: median wall time and
Spark-JVM CPU time, Spark jobs, the median of the per-repetition ratios baseline/floor, and the peak
load average (the machine may be shared). The table is printed and replaces the section of
bench/RESULTS.md it owns.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pyspark.sql import functions as F, types as T  # noqa: E402

from constraints.deequ import shutdown_callback_server  # noqa: E402
from jobs import baseline  # noqa: E402
from jobs.io import write_folder  # noqa: E402
from jobs.sample_data import make_frame  # noqa: E402
from jobs.session import build_session, conf_dir, counting_jobs, read_defaults  # noqa: E402

CHUNK = 1_000_000
ROW_GROUP = 125_000  # pyarrow's default (one row group per 1M-row file) would leave a 1M table to one task
WARMUP_ROWS = 20_000
SECTION = "## Baseline vs. one plain scan (bench/baseline_bench.py)"


def table_path(data_dir: Path, rows: int) -> Path:
    """DIR/rows=N/part-0000i.parquet, generated once; each part is written under a hidden name, then renamed."""
    folder = data_dir / f"rows={rows}"
    folder.mkdir(parents=True, exist_ok=True)
    for i, start in enumerate(range(0, rows, CHUNK)):
        part = folder / f"part-{i:05d}.parquet"
        if not part.exists():
            tmp = folder / f".{part.name}.tmp"
            frame = make_frame(min(CHUNK, rows - start), seed=1000 + i, start_id=start)
            frame.to_parquet(tmp, index=False, row_group_size=ROW_GROUP)
            tmp.rename(part)
    return folder


def floor(spark, path: Path) -> int:
    """One aggregation scan; returns count(*) (the result is collected, so the scan really runs)."""
    df = spark.read.parquet(str(path))
    aggs = [F.count(F.lit(1)).alias("rows")]
    for f in df.schema.fields:
        c = F.col(f"`{f.name}`")
        numeric = isinstance(f.dataType, T.NumericType)
        aggs += [F.count(c), F.sum(c if numeric else F.length(c.cast("string")))]
    return df.agg(*aggs).collect()[0]["rows"]


def ungrouped_jobs(spark) -> set[int]:
    return set(spark.sparkContext.statusTracker().getJobIdsForGroup(None))


def jvm_cpu(spark) -> float:
    """CPU seconds used so far by the Spark JVM (in local mode the driver and the executors)."""
    stat = Path(f"/proc/{spark._jvm.ProcessHandle.current().pid()}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def peak_load(stop: threading.Event, box: list[float]) -> None:
    """Keep the highest 1-min load average, sampled every 5 s until `stop` (this run alone makes ~2)."""
    while not stop.wait(5):
        box[0] = max(box[0], os.getloadavg()[0])


def measure(spark, path: Path, out: Path) -> dict:
    stop, load = threading.Event(), [os.getloadavg()[0]]
    threading.Thread(target=peak_load, args=(stop, load), daemon=True).start()
    c0, t0 = jvm_cpu(spark), time.perf_counter()
    with counting_jobs(spark, "bench-floor") as floor_jobs:
        rows = floor(spark, path)
    c1, t1 = jvm_cpu(spark), time.perf_counter()
    args = baseline.Request(input=str(path), output=str(out), predictions=("score", "predicted_label"))
    before = ungrouped_jobs(spark)
    prof, suite, profile_jobs = baseline.compute(spark, args)  # profile_jobs: the jobs of profile() only
    c2, t2 = jvm_cpu(spark), time.perf_counter()
    write_folder(str(out), baseline.documents(prof, suite))
    t3 = time.perf_counter()
    stop.set()
    assert prof.rows == rows, (prof.rows, rows)
    return {"floor": t1 - t0, "floor_cpu": c1 - c0, "floor_jobs": floor_jobs[0], "baseline": t2 - t1,
            "baseline_cpu": c2 - c1, "profile_jobs": profile_jobs, "other_jobs": len(ungrouped_jobs(spark) - before),
            "docs": t3 - t2, "ratio": (t2 - t1) / (t1 - t0), "cpu_ratio": (c2 - c1) / (c1 - c0), "load": load[0]}


def environment() -> list[str]:
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.strip().splitlines()
    mem = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)
    jars = [Path(j).name for j in read_defaults(conf_dir() / "spark-defaults.conf").get("spark.jars", "").split(",")]
    jar = next((j for j in jars if j.startswith("deequ")), "?")   # spark.jars also lists Delta's
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return [f"- python {platform.python_version()}, pyspark {version('pyspark')}, pydeequ {version('pydeequ')}, "
            f"Deequ jar `{jar}`, pandas {version('pandas')}, pyarrow {version('pyarrow')}",
            f"- java: {' / '.join(java)}",
            f"- machine: {len(os.sched_getaffinity(0))} cores (nproc), {int(mem) / 2**20:.1f} GiB memory, {cpu}; "
            f"load average at start {os.getloadavg()[0]:.2f}; Spark master local[2]"]


def report(results: dict[int, list[dict]], env: list[str], total: float) -> str:
    med = lambda rs, k: statistics.median(r[k] for r in rs)  # noqa: E731
    lines = ["| rows | reps | floor s (CPU s) | floor jobs | baseline s (CPU s) | baseline jobs (profile + read) "
             "| baseline/floor wall (CPU) | documents s | baseline s per rep | peak load |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for rows, rs in results.items():
        lines.append(f"| {rows:,} | {len(rs)} | {med(rs, 'floor'):.1f} ({med(rs, 'floor_cpu'):.1f}) "
                     f"| {rs[-1]['floor_jobs']} | {med(rs, 'baseline'):.1f} ({med(rs, 'baseline_cpu'):.1f}) "
                     f"| {rs[-1]['profile_jobs']} + {rs[-1]['other_jobs']} "
                     f"| {med(rs, 'ratio'):.1f} ({med(rs, 'cpu_ratio'):.1f}) | {med(rs, 'docs'):.2f} "
                     f"| {', '.join(format(r['baseline'], '.1f') for r in rs)} | {max(r['load'] for r in rs):.1f} |")
    cmd = "`.venv/bin/python bench/baseline_bench.py " + " ".join(sys.argv[1:]) + "`"
    notes = ["- floor: `spark.read.parquet` + one `agg`: `count(*)`, and `count(c)`, `sum(c)` of each of the 20 "
             "columns; for non-numeric columns (strings, date, boolean) `sum(length(cast(c as string)))`.",
             "- baseline: `jobs.baseline.compute` (read, Deequ profile, category pass, suggestions), CLI defaults with "
             "`--predictions score,predicted_label`; documents: `baseline.documents` + `write_folder`.",
             "- jobs: the baseline's own count (profile) + jobs outside it (the Parquet schema read); the floor's "
             "count includes its read. Seconds are medians; baseline/floor is the median of per-repetition ratios.",
             "- CPU s: CPU time of the Spark JVM (utime + stime), which another process on the shared machine "
             "inflates far less than wall time; at most 2 CPU s per wall s here.",
             "- peak load: the highest 1-min load average sampled every 5 s during the repetitions; this run alone "
             "makes about 2, more means another process competed for the 2 cores."]
    return "\n".join([SECTION, "", f"Command: {cmd}  ", f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; "
                      f"whole run {total / 60:.1f} min (data generation included)", "", *env, "", *lines, "",
                      *notes, ""])


def write_section(path: Path, section: str) -> None:
    """Replace the `## ...` section of RESULTS.md titled like `section`'s first line, or append it."""
    title = section.splitlines()[0]
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    start = text.find(title)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(title))
        text = text[:start] + section.rstrip("\n") + ("\n\n" + text[end + 1:] if end >= 0 else "")
    path.write_text(text.rstrip("\n") + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    p.add_argument("--repeat", type=int, help="repetitions per size (default: 3 up to 1M rows, 1 above)")
    p.add_argument("--data-dir", type=Path, default=REPO / "bench" / "_data")
    args = p.parse_args()
    start = time.perf_counter()
    env = environment()
    spark = build_session("dqloop-bench", "local[2]")
    try:
        out = REPO / "bench" / "_out"
        measure(spark, table_path(args.data_dir, WARMUP_ROWS), out / "warmup")  # untimed warm-up
        results: dict[int, list[dict]] = {}
        for rows in args.rows:
            t = time.perf_counter()
            path = table_path(args.data_dir, rows)
            print(f"rows={rows:,}: data ready in {time.perf_counter() - t:.0f}s", flush=True)
            results[rows] = []
            for i in range(args.repeat or (3 if rows <= 1_000_000 else 1)):
                r = measure(spark, path, out / f"rows={rows}")
                print(f"  rep {i + 1}: floor {r['floor']:.1f}s ({r['floor_jobs']} jobs), baseline {r['baseline']:.1f}s "
                      f"({r['profile_jobs']}+{r['other_jobs']} jobs), documents {r['docs']:.2f}s", flush=True)
                results[rows].append(r)
    finally:
        shutdown_callback_server(spark)
        spark.stop()
    section = report(results, env, time.perf_counter() - start)
    print("\n" + section)
    write_section(REPO / "bench" / "RESULTS.md", section)


if __name__ == "__main__":
    main()
