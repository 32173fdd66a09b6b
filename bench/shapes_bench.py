"""validate and baseline against one plain aggregation scan, on the table shapes users have (bench/shapes.py).

    .venv/bin/python bench/shapes_bench.py --rows 10000000 [--wide-rows 1000000] [--shapes ml mixed40 ...] [--write]

Per shape: a training table of 200,000 rows (seed 1; its baseline is made untimed), the measured table of
--rows rows (seed 2: no drift) and nothing else. Then whole processes, one after another, as a user runs them:

  session    `python bench/floor_scan.py --session-only`: interpreter, imports, Spark session start and stop
  floor      `python bench/floor_scan.py TABLE`: the same, plus one aggregation (count(*), count and sum of
             every column; sum of lengths for strings) over the table
  validate   `dqloop validate --baseline B --input TABLE --output O`
  baseline   `dqloop baseline --input TABLE --output O --predictions score,label` (the pass engine)

Each is timed from outside (wall), with the peak resident memory of its process tree (Python driver + JVM +
Python workers) and the tree's CPU seconds, sampled every 0.2 s. The ratios are of the work after session
start: (process - session) / (floor - session); the whole-process ratio is printed beside it. The table
replaces the section of bench/RESULTS.md this script owns (with --write). --spark-read also times validate
and baseline with Spark reading the files (constraints/direct.py turned off), in the same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from peers_bench import watch  # noqa: E402
from shapes import SHAPES, write_shape  # noqa: E402

PYTHON = str(REPO / ".venv" / "bin" / "python")
DQLOOP = str(REPO / ".venv" / "bin" / "dqloop")
DATA = REPO / "bench" / "_data" / "shapes"
OUT = REPO / "bench" / "_out" / "shapes"
SECTION = "## Table shapes: validate and baseline vs. one plain scan (bench/shapes_bench.py)"
TRAIN_ROWS = 200_000


def measure(argv: list[str], env: dict | None = None) -> dict:
    """Run a whole process; wall seconds, peak tree RSS, tree CPU seconds, exit status, last stderr line."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:   # pipes could fill and block
        proc = subprocess.Popen(argv, cwd=REPO, stdout=out, stderr=err, text=True, env={**os.environ, **(env or {})})
        peak, cpu, _ = watch(proc)
        wall = time.perf_counter() - t0
        out.seek(0), err.seek(0)
        out, err = out.read(), err.read()
    return {"wall": wall, "peak": peak, "cpu": cpu, "rc": proc.returncode,
            "stdout": out.strip().splitlines()[-1:] if out.strip() else [],
            "stderr": err.strip().splitlines()[-1:] if err.strip() else []}


def prepare(shapes: list[str], rows: int) -> None:
    """Tables and training baselines, made once (a complete folder is reused)."""
    from jobs.session import build_session

    spark = build_session("bench-shapes-data", "local[2]")
    try:
        for shape in shapes:
            write_shape(spark, shape, TRAIN_ROWS, 1, DATA / f"{shape}-train")
            write_shape(spark, shape, rows, 2, DATA / f"{shape}-{rows}")
    finally:
        spark.stop()
    for shape in shapes:
        base = OUT / f"{shape}-baseline"
        stamp = base / ".dqloop-commit"
        if not (base / "suite.json").exists() or not stamp.exists() or stamp.read_text() != _commit():
            # a baseline made by other code lacks what validate now reads (extended statistics, domain sample)
            shutil.rmtree(base, ignore_errors=True)
            r = measure([DQLOOP, "baseline", "--input", str(DATA / f"{shape}-train"), "--output", str(base),
                         *_predictions(shape)])
            if r["rc"] != 0:
                raise SystemExit(f"baseline of {shape}-train failed: {r['stderr']}")
            stamp.write_text(_commit())


def _commit() -> str:
    """The checkout's commit and whether its tree has changes: the code a baseline was made by."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True,
                           text=True).stdout.strip()
    return head + ("+changes" if dirty else "")


def _predictions(shape: str) -> list[str]:
    return ["--predictions", "score,label"] if shape not in ("numeric", "nulls") else []


def run_shape(shape: str, rows: int, spark_read: bool = False) -> dict:
    table = str(DATA / f"{shape}-{rows}")
    out = OUT / f"{shape}-{rows}"
    shutil.rmtree(out, ignore_errors=True)
    validate = [DQLOOP, "validate", "--baseline", str(OUT / f"{shape}-baseline"), "--input", table,
                "--output", str(out / "validate")]
    baseline = [DQLOOP, "baseline", "--input", table, "--output", str(out / "baseline"), *_predictions(shape)]
    runs = {
        "session": measure([PYTHON, "bench/floor_scan.py", "--session-only"]),
        "floor": measure([PYTHON, "bench/floor_scan.py", table]),
        "validate": measure(validate),
        "baseline": measure(baseline),
    }
    if spark_read:   # the same commands with Spark reading the files (constraints/direct.py turned off)
        env = {"DQLOOP_SPARK_CONF_DIR": str(_spark_read_conf())}
        runs["validate (Spark reads)"] = measure([*validate[:-1], str(out / "validate-spark")], env)
        runs["baseline (Spark reads)"] = measure([*baseline[:5], str(out / "baseline-spark"), *baseline[6:]], env)
    for name, r in runs.items():
        if r["rc"] not in (0, 1):   # validate: 1 is "violations found", still a complete run
            raise SystemExit(f"{shape} {name} failed ({r['rc']}): {r['stderr']}")
    return runs


def _spark_read_conf() -> Path:
    """spark-conf/ with spark.dqloop.pass.readParquet false."""
    conf = OUT / "spark-conf-spark-reads"
    shutil.rmtree(conf, ignore_errors=True)
    shutil.copytree(REPO / "spark-conf", conf)
    defaults = conf / "spark-defaults.conf"
    defaults.write_text("".join(line for line in defaults.read_text().splitlines(keepends=True)
                                if not line.startswith("spark.dqloop.pass.readParquet"))
                        + "spark.dqloop.pass.readParquet false\n")
    return conf


def ratios(runs: dict) -> dict[str, float]:
    s, f = runs["session"]["wall"], runs["floor"]["wall"]
    return {k: (runs[k]["wall"] - s) / (f - s) for k in runs if k not in ("session", "floor", "load")}


def columns_of(shape: str) -> int:
    from shapes import columns
    return len(columns(shape, 1))


def table(results: list[tuple[str, int, dict]]) -> list[str]:
    spark_read = any("validate (Spark reads)" in runs for _, _, runs in results)
    lines = ["| shape | columns | rows | session s | floor s | validate s | baseline s | validate / floor "
             "(after session; whole) | baseline / floor (after session; whole) | "
             + ("validate / baseline with Spark reading (after session) | " if spark_read else "")
             + "CPU s floor / validate / baseline | peak GiB floor / validate / baseline | load |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---|" if spark_read else "") + "---|---|---:|"]
    for shape, rows, runs in results:
        r = ratios(runs)
        w = {k: runs[k]["wall"] for k in ("session", "floor", "validate", "baseline")}
        gib = " / ".join(f"{runs[k]['peak'] / 2**30:.2f}" for k in ("floor", "validate", "baseline"))
        cpu = " / ".join(f"{runs[k]['cpu']:.1f}" for k in ("floor", "validate", "baseline"))
        spark = (f"{r['validate (Spark reads)']:.2f}x / {r['baseline (Spark reads)']:.2f}x | "
                 if "validate (Spark reads)" in runs else ("- | " if spark_read else ""))
        lines.append(f"| {shape} | {columns_of(shape)} | {rows:,} | {w['session']:.1f} | {w['floor']:.1f} | "
                     f"{w['validate']:.1f} | {w['baseline']:.1f} | **{r['validate']:.2f}x**; "
                     f"{w['validate'] / w['floor']:.2f}x | **{r['baseline']:.2f}x**; {w['baseline'] / w['floor']:.2f}x "
                     f"| {spark}{cpu} | {gib} | {runs['load']:.1f} |")
    return lines


def write_section(lines: list[str]) -> None:
    path = REPO / "bench" / "RESULTS.md"
    text = path.read_text()
    start = text.find(SECTION)
    block = "\n".join([SECTION, "", *lines, ""]) + "\n"
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + block
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + block + (text[end + 1:] if end >= 0 else "")
    path.write_text(text)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=SHAPES)
    p.add_argument("--wide-rows", type=int, default=1_000_000, help="rows of the wide200 shape (default: 1M)")
    p.add_argument("--repeat", type=int, default=1, help="runs per shape; the one with the median validate ratio is kept")
    p.add_argument("--spark-read", action="store_true",
                   help="also time validate and baseline with Spark reading the files (spark.dqloop.pass.readParquet "
                        "false) in the same run")
    p.add_argument("--write", action="store_true", help="replace this script's section of bench/RESULTS.md")
    args = p.parse_args()
    started = datetime.now(timezone.utc)
    sizes = {shape: args.wide_rows if shape == "wide200" else args.rows for shape in args.shapes}
    for rows in set(sizes.values()):
        prepare([s for s in args.shapes if sizes[s] == rows], rows)
    results = []
    for shape in args.shapes:
        tries = []
        for _ in range(args.repeat):
            runs = run_shape(shape, sizes[shape], args.spark_read)
            runs["load"] = os.getloadavg()[0]
            tries.append(runs)
            r = ratios(runs)
            print(f"{shape} {sizes[shape]:,}: " + ", ".join(f"{k} {v['wall']:.1f}s" for k, v in runs.items() if k != "load")
                  + f"; validate {r['validate']:.2f}x, baseline {r['baseline']:.2f}x the floor (after session start); "
                  f"load {runs['load']:.1f}", flush=True)
        tries.sort(key=lambda t: ratios(t)["validate"])
        results.append((shape, sizes[shape], tries[len(tries) // 2]))
    lines = table(results)
    lines += ["", f"Command: `.venv/bin/python bench/shapes_bench.py --rows {args.rows} --shapes {' '.join(args.shapes)}"
              f" --wide-rows {args.wide_rows} --repeat {args.repeat}{' --spark-read' if args.spark_read else ''}"
              f"{' --write' if args.write else ''}`, {started:%Y-%m-%d %H:%M}-{datetime.now(timezone.utc):%H:%M} UTC; "
              f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, local[2]; pyspark "
              f"{version('pyspark')}, datasketches {version('datasketches')}, pyarrow {version('pyarrow')}. "
              "Load: the 1-minute load average at the end of the shape's runs (the machine may be shared)."]
    print("\n".join(lines))
    if args.write:
        write_section(lines)


if __name__ == "__main__":
    main()
