"""Validate when the data is at its worst: wall time and peak driver memory of `dqloop validate`.

    .venv/bin/python bench/stress_bench.py --rows 2000000 [20000000] [--repeat 2]
        [--partitions 1000 5000 --partition-rows 20] [--columns 1000 2000 --column-rows 10000]

Each case runs the real command line (`.venv/bin/dqloop validate ...`) in its own process, as a scheduler
would, and polls its process tree every 0.1 s: the driver's Python peak resident memory (VmHWM of the
dqloop process) and the JVM's (the java child). Cases:
  - exploding: the 20-column table of jobs.sample_data (bench/_data/stress/), against a baseline of 200,000
    rows, once as generated ("normal") and once with its 5-category `region` column holding one id per row
    ("exploding": every value unseen, all distinct) -- the upstream bug of issue 19; normal and exploding
    alternate, --repeat times each;
  - --partitions: tables of that many small partitions, each validated in one backfill (with the metrics
    history and its checks, as a user runs it);
  - --columns: a table that wide (half numeric, half 5-category strings), baseline and validate.
The table is printed and replaces the section of bench/RESULTS.md it owns.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from baseline_bench import environment, write_section  # noqa: E402

from jobs.sample_data import make_frame  # noqa: E402

SECTION = "## Stress: exploding categories, many partitions, wide tables (bench/stress_bench.py)"
DQLOOP = str(REPO / ".venv" / "bin" / "dqloop")
CHUNK = 1_000_000
TRACE_EVERY = 250   # summary lines between samples of the driver's memory in a backfill


def _children(pid: int) -> list[int]:
    out = []
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(status.parent.name))
    return out


def _rss(pid: int) -> int:
    """Current resident KiB of a process; 0 once gone."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except OSError:
        return 0


def _hwm(pid: int) -> tuple[str, int]:
    """(command name, peak resident KiB) of a process; ('', 0) once gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "", 0
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return fields.get("Name", "").strip(), int(fields.get("VmHWM", "0 kB").split()[0])


def run_measured(args: list[str]) -> dict:
    """Run `dqloop *args`; wall time, exit status, peak KiB of the driver Python and of the JVM, and when each
    stdout line (one per partition) arrived, in seconds from the start."""
    peaks = {"python": 0, "jvm": 0}
    start = time.perf_counter()
    proc = subprocess.Popen([DQLOOP, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    lines: list[tuple[float, str]] = []
    err: list[str] = []

    def poll() -> None:
        while proc.poll() is None:
            peaks["python"] = max(peaks["python"], _hwm(proc.pid)[1])
            for child in _children(proc.pid):
                name, kib = _hwm(child)
                if name == "java":
                    peaks["jvm"] = max(peaks["jvm"], kib)
            time.sleep(0.1)

    trace: list[tuple[int, float, float, float]] = []   # (lines so far, seconds, driver Python RSS MiB, JVM RSS MiB)

    def read_out() -> None:
        for line in proc.stdout:
            lines.append((time.perf_counter() - start, line))
            if args[0] == "validate" and len(lines) % TRACE_EVERY == 0:
                jvm = sum(_rss(c) for c in _children(proc.pid) if _hwm(c)[0] == "java")
                trace.append((len(lines), lines[-1][0], _rss(proc.pid) / 1024, jvm / 1024))
                print(f"  {len(lines)} partitions: {lines[-1][0]:.0f} s, driver Python RSS {trace[-1][2]:.0f} MiB, "
                      f"JVM RSS {trace[-1][3]:.0f} MiB, load {_load()}", flush=True)

    threads = [threading.Thread(target=poll, daemon=True), threading.Thread(target=read_out, daemon=True),
               threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)]
    for t in threads:
        t.start()
    proc.wait()
    wall = time.perf_counter() - start
    for t in threads:
        t.join()
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"dqloop {' '.join(args)} exited {proc.returncode}:\n{''.join(err)[-3000:]}")
    return {"wall": wall, "status": proc.returncode, "python_mib": peaks["python"] / 1024, "jvm_mib": peaks["jvm"] / 1024,
            "stdout": "".join(line for _, line in lines), "stderr": "".join(err), "times": [t for t, _ in lines], "trace": trace}


def pace(times: list[float], share: float = 0.2) -> tuple[float, float]:
    """Seconds per partition over the first and the last `share` of a backfill's summary lines."""
    n = max(2, int(len(times) * share))
    first, last = times[:n], times[-n:]
    return (first[-1] - first[0]) / (n - 1), (last[-1] - last[0]) / (n - 1)


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def write_table(rows: int, folder: Path, exploding: bool) -> Path:
    """`rows` rows of the sample table as Parquet files of CHUNK rows; exploding: `region` is an id per row."""
    if (folder / "_SUCCESS").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for i, start in enumerate(range(0, rows, CHUNK)):
        n = min(CHUNK, rows - start)
        frame = make_frame(n, seed=100 + i, start_id=start)
        if exploding:
            frame["region"] = pd.Series(np.char.add("r-", np.arange(start, start + n).astype(str)), dtype=object)
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), folder / f"part-{i:05d}.parquet")
    (folder / "_SUCCESS").touch()
    return folder


def baseline(data: Path, out: Path, frame: pd.DataFrame | None = None, predictions: str = "score,predicted_label") -> Path:
    if (out / "suite.json").exists():
        return out
    train = data / f"train-{out.name}"
    train.mkdir(parents=True, exist_ok=True)
    (frame if frame is not None else make_frame(200_000, seed=1)).to_parquet(train / "part-0.parquet", index=False)
    args = ["baseline", "--input", str(train), "--output", str(out)] + (["--predictions", predictions] if predictions else [])
    r = run_measured(args)
    print(f"baseline {out.name}: {r['wall']:.1f} s", flush=True)
    return out


def exploding_case(rows: int, repeat: int, data: Path, outputs: Path) -> list[dict]:
    base = baseline(data, data / "baseline")
    tables = {kind: write_table(rows, data / f"rows={rows}-{kind}", kind == "exploding") for kind in ("normal", "exploding")}
    results = []
    for rep in range(repeat):
        for kind, table in tables.items():
            r = run_measured(["validate", "--baseline", str(base), "--input", str(table),
                              "--output", str(outputs / f"{kind}-{rows}-{rep}")])
            r.update(case=f"{rows:,} rows, {kind} `region`", kind=kind, rows=rows)
            line = r["stdout"].strip().splitlines()[-1] if r["stdout"].strip() else ""
            print(f"{kind} {rows}: {r['wall']:.1f} s, python {r['python_mib']:.0f} MiB, jvm {r['jvm_mib']:.0f} MiB  "
                  f"{line}", flush=True)
            results.append(r)
    return results


def partitions_case(partitions: int, rows: int, data: Path, outputs: Path, more: tuple[str, ...] = ()) -> dict:
    table = data / f"partitions={partitions}x{rows}"
    if not (table / "_SUCCESS").exists():
        frame = make_frame(partitions * rows, seed=9)
        frame["chunk"] = np.repeat(np.arange(partitions), rows)
        frame["chunk"] = frame["chunk"].map(lambda i: f"{i:05d}")
        pq.write_to_dataset(pa.Table.from_pandas(frame, preserve_index=False), str(table), partition_cols=["chunk"],
                            max_partitions=partitions + 1)
        (table / "_SUCCESS").touch()
    base = baseline(data, data / "baseline")
    r = run_measured(["validate", "--baseline", str(base), "--input", str(table), "--output",
                      str(outputs / f"partitions-{partitions}"), *more])
    first, last = pace(r["times"])
    r.update(case=f"{partitions:,} partitions x {rows} rows, one backfill (history checks on"
                  f"{'; ' + ' '.join(more) if more else ''})", kind="backfill",
             rows=partitions * rows, pace=(first, last))
    print(f"backfill {partitions}: {r['wall']:.1f} s, python {r['python_mib']:.0f} MiB, jvm {r['jvm_mib']:.0f} MiB; "
          f"s per partition: first fifth {first:.3f}, last fifth {last:.3f}; load {_load()}", flush=True)
    return r


def wide_frame(columns: int, rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    half = columns // 2
    data = {f"x{i}": rng.normal(i, 1.0, rows) for i in range(half)}
    cats = np.array(["a", "b", "c", "d", "e"], dtype=object)
    data |= {f"s{i}": cats[rng.integers(0, 5, rows)] for i in range(columns - half)}
    return pd.DataFrame(data)


def wide_case(columns: int, rows: int, data: Path, outputs: Path) -> list[dict]:
    table = data / f"columns={columns}x{rows}"
    if not (table / "_SUCCESS").exists():
        table.mkdir(parents=True, exist_ok=True)
        wide_frame(columns, rows, 2).to_parquet(table / "part-0.parquet", index=False)
        (table / "_SUCCESS").touch()
    out = data / f"baseline-wide-{columns}"
    start = time.perf_counter()
    baseline(data, out, wide_frame(columns, rows, 1), predictions="")
    base_s = time.perf_counter() - start
    r = run_measured(["validate", "--baseline", str(out), "--input", str(table), "--output",
                      str(outputs / f"wide-{columns}")])
    r.update(case=f"{columns:,} columns x {rows:,} rows (baseline {base_s:.0f} s)", kind="wide", rows=rows)
    print(f"wide {columns}: {r['wall']:.1f} s, python {r['python_mib']:.0f} MiB, jvm {r['jvm_mib']:.0f} MiB; "
          f"load {_load()}", flush=True)
    return [r]


def report(results: list[dict], env: list[str], total: float) -> str:
    lines = ["| case | runs | wall s (each) | exit | driver Python peak MiB | JVM peak MiB |", "|---|---:|---|---:|---:|---:|"]
    by_case: dict[str, list[dict]] = {}
    for r in results:
        by_case.setdefault(r["case"], []).append(r)
    for case, rs in by_case.items():
        lines.append(f"| {case} | {len(rs)} | {statistics.median(r['wall'] for r in rs):.1f} "
                     f"({', '.join(format(r['wall'], '.1f') for r in rs)}) | {rs[0]['status']} "
                     f"| {max(r['python_mib'] for r in rs):.0f} | {max(r['jvm_mib'] for r in rs):.0f} |")
    for r in results:
        if "pace" in r:
            lines.append("")
            lines.append(f"- {r['case']}: {r['pace'][0]:.3f} s per partition over the first fifth, "
                         f"{r['pace'][1]:.3f} s over the last fifth; driver Python RSS after "
                         + ", ".join(f"{n:,}: {py:.0f} MiB" for n, _, py, _ in r["trace"]))
    ratios = []
    for rows in sorted({r["rows"] for r in results if r["kind"] in ("normal", "exploding")}):
        med = {k: statistics.median(r["wall"] for r in results if r["rows"] == rows and r["kind"] == k)
               for k in ("normal", "exploding")}
        ratios.append(f"{rows:,} rows: exploding / normal = {med['exploding'] / med['normal']:.2f}")
    cmd = "`.venv/bin/python bench/stress_bench.py " + " ".join(sys.argv[1:]) + "`"
    return "\n".join([SECTION, "", f"Command: {cmd} (total {total / 60:.1f} min).", *env, "", *lines, "",
                      *(f"- {r}" for r in ratios), ""])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, nargs="*", default=[2_000_000])
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--partitions", type=int, nargs="*", default=[])
    p.add_argument("--partition-rows", type=int, default=20)
    p.add_argument("--columns", type=int, nargs="*", default=[])
    p.add_argument("--column-rows", type=int, default=10_000)
    p.add_argument("--data-dir", type=Path, default=REPO / "bench" / "_data" / "stress")
    p.add_argument("--no-write", action="store_true", help="print the table, leave RESULTS.md alone")
    p.add_argument("--validate-args", default="", help="more options for the backfill's dqloop validate, e.g. "
                   "--no-domain-classifier (a per-partition constant that does not read the history)")
    args = p.parse_args()
    start = time.perf_counter()
    env = environment()
    outputs = REPO / "bench" / "_out" / "stress"
    results: list[dict] = []
    for rows in args.rows:
        results += exploding_case(rows, args.repeat, args.data_dir, outputs)
    for partitions in args.partitions:
        results.append(partitions_case(partitions, args.partition_rows, args.data_dir, outputs,
                                       tuple(args.validate_args.split())))
    for columns in args.columns:
        results += wide_case(columns, args.column_rows, args.data_dir, outputs)
    section = report(results, env, time.perf_counter() - start)
    print(section)
    if not args.no_write:
        write_section(REPO / "bench" / "RESULTS.md", section)


if __name__ == "__main__":
    main()
