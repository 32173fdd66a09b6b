"""dqloop against the tools users would pick instead, on the same table and machine, in one run.

    bench/peers/setup                                  # once: the peers' own venvs under bench/_envs/
    .venv/bin/python bench/peers_bench.py --rows 1000000 [10000000] [--tools floor validate gx ...]
    .venv/bin/python bench/peers_bench.py --scaling --scaling-rows 1000000 5000000 --scaling-columns 10 50

Data: the 20-column table of baseline_bench.py (jobs.sample_data.make_frame, 125k-row row groups,
bench/_data/rows=N/); a 200,000-row training table (the baseline validate checks against, the
reference for drift and for PyDeequ's suggestions) and a 20,000-row table for warm-ups.

Each tool runs as a subprocess in its own venv (bench/peers/run_*.py): set-up and a warm-up on the
small table untimed, then the work timed INSIDE the process (wall, CPU of the process and its JVM,
Spark jobs via a job group and the status tracker). Outside, this script times the whole subprocess
(interpreter start, imports, session, warm-up included) and samples every 0.2 s the resident memory
of the process tree (Python + JVM: in local mode driver and executors are one JVM), keeping the
peak of the sum, and the 1-min load average. Each Spark runner also times the floor in its own
session; ratios are to the floor tool's figure and, in brackets, to the runner's own floor.

--scaling: dqloop validate only, against rows (20 columns) and against columns (at the first
--scaling-rows size); each width gets its own training table and baseline (the input columns of
make_frame, then copies of them drawn with other seeds; score and predicted_label always last).
The tables are printed and replace the sections of bench/RESULTS.md this script owns.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from baseline_bench import CHUNK, ROW_GROUP, environment, table_path, write_section  # noqa: E402

SECTION = "## dqloop vs. peers (bench/peers_bench.py)"
SCALING = "## validate scaling (bench/peers_bench.py --scaling)"
ENVS = REPO / "bench" / "_envs"
PROJECT = REPO / ".venv" / "bin" / "python"
RUNNERS = REPO / "bench" / "peers"
TRAIN_ROWS, WARMUP_ROWS = 200_000, 20_000
PANDAS_MAX_ROWS = 1_000_000  # Evidently and whylogs hold the table in pandas; above this they are skipped

# tool -> (python, runner, --only, what it is)
TOOLS = {
    "floor": (PROJECT, "run_dqloop.py", "floor", "one aggregation: count(*), count and sum of every column"),
    "dqloop-baseline": (PROJECT, "run_dqloop.py", "baseline", "jobs.baseline.compute (profile, categories, suggestions)"),
    "dqloop-validate": (PROJECT, "run_dqloop.py", "validate", "constraints.validation.validate, one partition"),
    "pydeequ-profile": (PROJECT, "run_dqloop.py", "pydeequ-profile", "ColumnProfilerRunner"),
    "pydeequ-suggest": (PROJECT, "run_dqloop.py", "pydeequ-suggest", "ConstraintSuggestionRunner, DEFAULT rules"),
    "pydeequ-verify": (PROJECT, "run_dqloop.py", "pydeequ-verify", "VerificationSuite, the checks suggested on the training table"),
    "gx": (ENVS / "gx" / "bin" / "python", "run_gx.py", "gx", "Great Expectations, Spark data source, dqloop's suite as expectations"),
    "pandera": (ENVS / "pandera" / "bin" / "python", "run_pandera.py", "pandera", "pandera pyspark backend, dqloop's suite as checks"),
    "evidently": (ENVS / "evidently" / "bin" / "python", "run_pandas_tools.py", "evidently", "Evidently DataDriftPreset vs. the training table (pandas)"),
    "whylogs": (ENVS / "whylogs" / "bin" / "python", "run_pandas_tools.py", "whylogs", "whylogs profile (pandas)"),
}
PANDAS_TOOLS = {"evidently", "whylogs"}


# ----------------------------------------------------------------------------------------------- processes

def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:   # a process (or thread) may end between the listing and the read
            for task in Path(f"/proc/{p}/task").glob("*"):
                try:
                    todo += [int(c) for c in (task / "children").read_text().split()]
                except OSError:
                    pass
        except OSError:
            pass
    return pids


def _rss_and_cpu(pid: int) -> tuple[int, float] | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    rss = next((int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return rss, (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def watch(proc: subprocess.Popen) -> tuple[int, float, float]:
    """Sample a running process every 0.2 s until it ends: the peak resident memory of its process tree (the sum
    over the tree), the tree's CPU seconds, and the peak 1-minute load average."""
    peak, cpu, load = 0, {}, os.getloadavg()[0]
    while proc.poll() is None:
        total = 0
        for p in _tree(proc.pid):
            got = _rss_and_cpu(p)
            if got:
                total += got[0]
                cpu[p] = got[1]
        peak = max(peak, total)
        load = max(load, os.getloadavg()[0])
        time.sleep(0.2)
    return peak, sum(cpu.values()), load


def run_tool(name: str, argv: list[str], log: Path) -> dict:
    """Run one runner; returns its JSON plus outside wall, peak tree RSS, tree CPU and peak load."""
    out = log.with_suffix(".json")
    out.unlink(missing_ok=True)
    t0 = time.perf_counter()
    with open(log, "w") as logf:
        proc = subprocess.Popen([*argv, "--out", str(out)], cwd=REPO, stdout=logf, stderr=subprocess.STDOUT,
                                env={**os.environ, "SPARK_CONF_DIR": str(REPO / "spark-conf")})
        peak, cpu, load = watch(proc)
    outside = time.perf_counter() - t0
    result = {"tool": name, "at": f"{datetime.now(timezone.utc):%H:%M}", "rc": proc.returncode, "outside": outside, "peak_rss": peak,
              "tree_cpu": cpu, "load": load, "log": str(log.relative_to(REPO))}
    if proc.returncode == 0 and out.exists():
        result.update(json.loads(out.read_text()))
    else:
        result["error"] = " | ".join(log.read_text().strip().splitlines()[-3:])[-600:]
    print(f"  {name}: rc {proc.returncode}, outside {outside:.1f}s, peak {peak[0] / 2**30:.2f} GiB"
          + (f", inside {result['runs'][-1]['wall']:.1f}s" if "runs" in result else f", {result.get('error')}"),
          flush=True)
    return result


def runner(tool: str, data: Path, warmup: Path, train: Path, base: Path, out_dir: Path) -> dict:
    python, script, only, _ = TOOLS[tool]
    if not Path(python).exists():
        return {"tool": tool, "rc": None, "error": f"{python} missing: run bench/peers/setup"}
    argv = [str(python), str(RUNNERS / script), "--only", only, "--data", str(data), "--warmup", str(warmup),
            "--train", str(train), "--baseline", str(base), "--suite", str(base / "suite.json")]
    return run_tool(tool, argv, out_dir / f"{tool}-{data.name}.log")


# ----------------------------------------------------------------------------------------------- data

def wide_table(data_dir: Path, rows: int, columns: int) -> Path:
    """`columns` columns: make_frame's inputs (then copies of them drawn with other seeds), score, predicted_label."""
    if columns == 20:
        return table_path(data_dir, rows)
    from jobs.sample_data import make_frame
    import pandas as pd

    folder = data_dir / f"rows={rows},columns={columns}"
    folder.mkdir(parents=True, exist_ok=True)
    for i, start in enumerate(range(0, rows, CHUNK)):
        part = folder / f"part-{i:05d}.parquet"
        if part.exists():
            continue
        n = min(CHUNK, rows - start)
        first = make_frame(n, seed=1000 + i, start_id=start)
        inputs = [c for c in first.columns if c not in ("score", "predicted_label")]
        frames, k = [first[inputs[:columns - 2]]], 1
        while sum(f.shape[1] for f in frames) < columns - 2:
            extra = make_frame(n, seed=1000 + i + 7919 * k).drop(columns=["id", "score", "predicted_label"])
            need = columns - 2 - sum(f.shape[1] for f in frames)
            frames.append(extra.iloc[:, :need].add_suffix(f"_{k}"))
            k += 1
        frame = pd.concat(frames + [first[["score", "predicted_label"]]], axis=1)
        tmp = folder / f".{part.name}.tmp"
        frame.to_parquet(tmp, index=False, row_group_size=ROW_GROUP)
        tmp.rename(part)
    return folder


def make_baseline(data_dir: Path, columns: int, out_dir: Path) -> tuple[Path, dict]:
    train, warmup = wide_table(data_dir, TRAIN_ROWS, columns), wide_table(data_dir, WARMUP_ROWS, columns)
    base = REPO / "bench" / "_out" / "peers" / f"baseline-columns={columns}"
    argv = [str(PROJECT), str(RUNNERS / "run_dqloop.py"), "--only", "make-baseline", "--data", str(train),
            "--warmup", str(warmup), "--train", str(train), "--baseline", str(base)]
    return base, run_tool(f"make-baseline ({columns} columns)", argv, out_dir / f"make-baseline-{columns}.log")


# ----------------------------------------------------------------------------------------------- report

def _gib(b) -> str:
    return f"{b / 2**30:.2f}" if b else "-"


def _load(x) -> str:
    return f"{x:.1f}" if x is not None else "-"


def peers_table(results: list[dict], floors: dict[int, dict]) -> list[str]:
    lines = ["| rows | tool | at | wall s | CPU s | Spark jobs | wall / floor (own floor) | CPU / floor "
             "| peak RSS GiB (tree) | outside s | peak load | what / outcome |",
             "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        rows = r["rows"]
        what = TOOLS[r["tool"]][3]
        if "runs" not in r:
            error = " ".join(str(r.get("error")).split()).replace("|", "/")[-300:]
            lines.append(f"| {rows:,} | {r['tool']} | {r.get('at', '')} | - | - | - | - | - | {_gib(r.get('peak_rss'))} "
                         f"| {r.get('outside', 0):.0f} | - | {what}; **did not run**: `{error}` |")
            continue
        work = r["runs"][-1]
        own = next((x for x in r["runs"] if x["name"] == "floor"), None)
        f = floors.get(rows)
        ratio = f"{work['wall'] / f['wall']:.1f}" if f else "-"
        if own and r["tool"] != "floor":
            ratio += f" ({work['wall'] / own['wall']:.1f})"
        cpu_ratio = f"{work['cpu'] / f['cpu']:.1f}" if f else "-"
        detail = work.get("detail") or {}
        outcome = "; ".join(f"{k}: {len(v) if isinstance(v, list) else v}" for k, v in detail.items()
                            if v not in ([], None, ""))
        outcome = " ".join(outcome.split()).replace("|", "/")[:240]
        lines.append(f"| {rows:,} | {r['tool']} | {r.get('at', '')} | {work['wall']:.1f} | {work['cpu']:.1f} "
                     f"| {work['jobs'] if work['jobs'] is not None else '-'} | {ratio} | {cpu_ratio} "
                     f"| {_gib(r['peak_rss'])} | {r['outside']:.0f} | {_load(r.get('load'))} | {what}"
                     + (f"; {outcome}" if outcome else "") + " |")
    return lines


def versions_lines(results: list[dict]) -> list[str]:
    seen: dict[str, str] = {}
    for r in results:
        for k, v in (r.get("versions") or {}).items():
            seen.setdefault(f"{k} {v}", r["tool"])
    by_venv: dict[str, list[str]] = {}
    for r in results:
        if r.get("versions"):
            venv = str(Path(TOOLS[r["tool"]][0]).parents[1].relative_to(REPO))
            by_venv.setdefault(venv, [])
            for k, v in r["versions"].items():
                if f"{k} {v}" not in by_venv[venv]:
                    by_venv[venv].append(f"{k} {v}")
    return [f"- `{venv}`: {', '.join(v)}" for venv, v in by_venv.items()]


# ----------------------------------------------------------------------------------------------- main

def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    p.add_argument("--tools", nargs="+", default=list(TOOLS), choices=list(TOOLS))
    p.add_argument("--spark-only-rows", type=int, nargs="*", default=[],
                   help="further sizes run with the Spark tools only")
    p.add_argument("--scaling", action="store_true", help="validate vs. rows and columns instead of the peers")
    p.add_argument("--scaling-rows", type=int, nargs="+", default=[1_000_000, 5_000_000, 10_000_000, 30_000_000])
    p.add_argument("--scaling-columns", type=int, nargs="+", default=[10, 50, 200])
    p.add_argument("--data-dir", type=Path, default=REPO / "bench" / "_data")
    p.add_argument("--merge", action="store_true",
                   help="keep the other tools' rows of the last run (bench/_out/peers/results.json), replace these")
    args = p.parse_args()
    start, started = time.perf_counter(), datetime.now(timezone.utc)
    env = environment()
    out_dir = REPO / "bench" / "_out" / "peers"
    out_dir.mkdir(parents=True, exist_ok=True)
    warmup = table_path(args.data_dir, WARMUP_ROWS)
    train = table_path(args.data_dir, TRAIN_ROWS)
    cmd = "`.venv/bin/python bench/peers_bench.py " + " ".join(sys.argv[1:]) + "`"
    head = [f"Command: {cmd}  ", f"Date: {started:%Y-%m-%d %H:%M} UTC; whole run "]

    if args.scaling:
        lines = ["| rows | columns | validate s | CPU s | Spark jobs | floor s (same session) | validate / floor "
                 "| peak RSS GiB | driver Python peak MiB | pass partitions | to driver KiB | peak load | violations |",
                 "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        cases = [(r, 20) for r in args.scaling_rows] + [(args.scaling_rows[0], c) for c in args.scaling_columns
                                                         if c != 20]
        bases: dict[int, Path] = {}
        for rows, columns in cases:
            if columns not in bases:
                bases[columns], made = make_baseline(args.data_dir, columns, out_dir)
                if made.get("rc") != 0:
                    lines.append(f"| - | {columns} | baseline failed: `{made.get('error')}` |")
                    continue
            t = time.perf_counter()
            data = wide_table(args.data_dir, rows, columns)
            print(f"rows={rows:,} columns={columns}: data ready in {time.perf_counter() - t:.0f}s", flush=True)
            r = runner("dqloop-validate", data, wide_table(args.data_dir, WARMUP_ROWS, columns),
                       wide_table(args.data_dir, TRAIN_ROWS, columns), bases[columns], out_dir)
            if "runs" not in r:
                lines.append(f"| {rows:,} | {columns} | did not run: `{r.get('error')}` |")
                continue
            fl, v = r["runs"][0], r["runs"][-1]
            d = v["detail"]
            lines.append(f"| {rows:,} | {columns} | {v['wall']:.1f} | {v['cpu']:.1f} | {v['jobs']} | {fl['wall']:.1f} "
                         f"| {v['wall'] / fl['wall']:.1f} | {_gib(r['peak_rss'])} | {d.get('python_peak_mib', 0):.0f} "
                         f"| {d.get('pass_partitions', '-')} | {d.get('to_driver_bytes', 0) / 1024:.0f} | {r['load']:.1f} "
                         f"| {d.get('violations')} |")
            print(lines[-1], flush=True)
        head[1] += f"{(time.perf_counter() - start) / 60:.1f} min (data generation included)"
        section = "\n".join([SCALING, "", *head, "", *env, "", *lines, "",
                             "- validate: `constraints.validation.validate` of the whole table as one partition, in a "
                             "warm session (a validate of the 20,000-row table first), against a baseline of 200,000 "
                             "rows of the same width; the floor is timed in the same session just before.",
                             "- peak RSS: the process tree (Python + the Spark JVM + PySpark's Python workers), warm-up included; "
                             "the JVM heap grows freely up to spark.driver.memory (4g), so this is not what the driver needs.",
                             "- driver Python peak: the runner's own resident peak (ru_maxrss: the PySpark driver, where "
                             "the tallies are merged and the report built), warm-up included. pass partitions, to driver: "
                             "the Spark partitions of validate's one pass and the bytes of tallies they send to the "
                             "driver (one row each; constraints.scan logs both at debug level): a partition's tallies are "
                             "bounded whatever its rows, so what the driver holds grows with partitions and columns.", ""])
        print("\n" + section)
        write_section(REPO / "bench" / "RESULTS.md", section)
        return

    base = REPO / "bench" / "_out" / "peers" / "baseline-columns=20"
    made = {"rc": 0} if args.merge and (base / "suite.json").exists() else make_baseline(args.data_dir, 20, out_dir)[1]
    if made.get("rc") != 0:
        raise SystemExit(f"the dqloop baseline for validate and the peers failed: {made.get('error')}")
    results: list[dict] = []
    floors: dict[int, dict] = {}
    sizes = [(r, False) for r in args.rows] + [(r, True) for r in args.spark_only_rows]
    for rows, spark_only in sizes:
        t = time.perf_counter()
        data = table_path(args.data_dir, rows)
        print(f"rows={rows:,}: data ready in {time.perf_counter() - t:.0f}s", flush=True)
        for tool in args.tools:
            if tool in PANDAS_TOOLS and (spark_only or rows > PANDAS_MAX_ROWS):
                continue
            r = {**runner(tool, data, warmup, train, base, out_dir), "rows": rows}
            if tool == "floor" and "runs" in r:
                floors[rows] = r["runs"][-1]
            results.append(r)
    head[1] += f"{(time.perf_counter() - start) / 60:.1f} min (data generation included)"
    previous = out_dir / "results.json"
    if args.merge and previous.exists():
        fresh = {(r["tool"], r["rows"]): r for r in results}
        old = json.loads(previous.read_text())
        merged = [fresh.pop((r["tool"], r["rows"]), r) for r in old]
        results = merged + list(fresh.values())
        floors = {r["rows"]: r["runs"][-1] for r in results if r["tool"] == "floor" and "runs" in r}
        head.append("Merged (`--merge`) with the rows of earlier runs of this script; column `at` says when each "
                    "tool ran (UTC).  ")
    notes = [
        "- wall s, CPU s, Spark jobs: measured INSIDE each tool's process around the work only (reading the table "
        "included; interpreter start, imports, Spark session, set-up and a warm-up run on a 20,000-row table "
        "excluded). CPU s: the process and all it started (its Spark JVM, PySpark's Python workers; utime + stime; at most 2 "
        "per wall second on 2 cores), "
        "less inflated by other load than wall time. outside s: the whole subprocess from outside (start-up, "
        "set-up and warm-up included).",
        "- floor: its own process; `wall / floor` and `CPU / floor` divide by it; (own floor): by the floor timed in "
        "the tool's own session just before its work (Spark tools), which follows the machine's load more closely.",
        "- peak RSS: highest sum of resident memory over the tool's process tree (Python + JVM + Python workers; in Spark local mode "
        "the driver and the executors are that one JVM, spark.driver.memory 4g), sampled every 0.2 s over the "
        "whole subprocess, warm-up and set-up included.",
        f"- dqloop validate, Great Expectations and pandera check the same suite: the dqloop baseline of the "
        f"{TRAIN_ROWS:,}-row training table (`bench/_out/peers/baseline-columns=20/suite.json`); validate also runs "
        "SageMaker's checks (types, completeness, numeric drift against the baseline's KLL sketch on exact counts "
        "of the partition, categorical drift and unseen values) and computes the partition's statistics "
        "(statistics.json), which the other two do not. PyDeequ's VerificationSuite checks what "
        "ConstraintSuggestionRunner suggested on the training table. Evidently compares with the training table "
        "(reference); whylogs profiles the table alone.",
        f"- Evidently and whylogs (pandas) run only up to {PANDAS_MAX_ROWS:,} rows.",
    ]
    section = "\n".join([SECTION, "", *head, "", *env, *versions_lines(results), "", *peers_table(results, floors),
                         "", *notes, ""])
    print("\n" + section)
    write_section(REPO / "bench" / "RESULTS.md", section)
    (out_dir / "results.json").write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
