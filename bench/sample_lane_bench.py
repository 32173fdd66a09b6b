"""Whole-process CPU seconds of `dqloop baseline` and `dqloop validate`, before and after a change, alternating.

    .venv/bin/python bench/sample_lane_bench.py --before /tmp/tree-before [--shapes ml numeric] [--rows 2000000]
        [--data bench/_data/shapes] [--repeat 2]

--before is a source tree of the commit to compare with (e.g. `git archive BASE | tar -x -C DIR`); the
"after" tree is this checkout. Each run is a fresh process with PYTHONPATH at its tree (the shared
virtualenv's `dqloop`), timed from outside: wall seconds, the process tree's CPU seconds and peak memory
(bench/peers_bench.watch), the 1-minute load average, and the Spark jobs the baseline prints. Per shape
and repeat: baseline of the table (bench/shapes.py's `SHAPE-ROWS`, written by bench/shapes_bench.py), then
validate of the same table against that baseline, for before and after in turn (the order alternates
between repeats). The CPU seconds are the figure to read on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from peers_bench import watch  # noqa: E402

DQLOOP = str(REPO / ".venv" / "bin" / "dqloop")


def run(tree: Path, argv: list[str]) -> dict:
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(tree)}
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([DQLOOP, *argv], cwd=tree, stdout=out, stderr=err, text=True, env=env)
        peak, cpu, load = watch(proc)
        wall = time.perf_counter() - t0
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{tree}: {' '.join(argv[:1])} failed ({proc.returncode}): {stderr[-2000:]}")
    jobs = re.search(r"(\d+) Spark jobs", stdout)
    return {"wall": wall, "cpu": cpu, "peak": peak, "load": load, "jobs": int(jobs.group(1)) if jobs else None}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", type=Path, required=True)
    p.add_argument("--shapes", nargs="+", default=["ml", "numeric"])
    p.add_argument("--rows", type=int, default=2_000_000)
    p.add_argument("--data", type=Path, default=REPO / "bench" / "_data" / "shapes")
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args()
    trees = {"before": args.before.resolve(), "after": REPO}
    started = datetime.now(timezone.utc)
    out = Path(tempfile.mkdtemp(prefix="sample-lane-bench-"))
    results: dict = {}
    try:
        for shape in args.shapes:
            table = str(args.data / f"{shape}-{args.rows}")
            predictions = ["--predictions", "score,label"] if shape not in ("numeric", "nulls") else []
            for i in range(args.repeat):
                for name in (("before", "after") if i % 2 == 0 else ("after", "before")):
                    base = out / f"{shape}-{name}-base"
                    shutil.rmtree(base, ignore_errors=True)
                    b = run(trees[name], ["baseline", "--input", table, "--output", str(base), *predictions])
                    v = run(trees[name], ["validate", "--baseline", str(base), "--input", table, "--output",
                                          str(out / f"{shape}-{name}-val"), "--no-history"])
                    shutil.rmtree(out / f"{shape}-{name}-val", ignore_errors=True)
                    results.setdefault((shape, name), []).append((b, v))
                    print(f"{shape} {name}: baseline {b['cpu']:.1f} CPU s ({b['wall']:.1f} s wall, {b['jobs']} jobs), "
                          f"validate {v['cpu']:.1f} CPU s ({v['wall']:.1f} s wall); load {v['load']:.1f}", flush=True)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print("\n| shape | rows | command | before CPU s | after CPU s | after / before | before wall s | after wall s "
          "| baseline jobs before / after | peak GiB before / after | load |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---|---|---|")
    for shape in args.shapes:
        for k, command in enumerate(("baseline", "validate")):
            got = {n: [r[k] for r in results[(shape, n)]] for n in ("before", "after")}
            cpu = {n: statistics.median(r["cpu"] for r in got[n]) for n in got}
            wall = {n: statistics.median(r["wall"] for r in got[n]) for n in got}
            peak = {n: max(r["peak"] for r in got[n]) / 2 ** 30 for n in got}
            loads = [r["load"] for n in got for r in got[n]]
            jobs = f"{got['before'][0]['jobs']} / {got['after'][0]['jobs']}" if command == "baseline" else ""
            print(f"| {shape} | {args.rows:,} | {command} | {cpu['before']:.1f} | {cpu['after']:.1f} | "
                  f"{cpu['after'] / cpu['before']:.3f} | {wall['before']:.1f} | {wall['after']:.1f} | {jobs} | "
                  f"{peak['before']:.2f} / {peak['after']:.2f} | {min(loads):.1f}-{max(loads):.1f} |")
    print(f"\n{started:%Y-%m-%d %H:%M}-{datetime.now(timezone.utc):%H:%M} UTC, medians of {args.repeat} runs each")


if __name__ == "__main__":
    main()
