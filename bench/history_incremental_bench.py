"""The history checks' cost per partition against the length of the history, before and after the kept states.

    .venv/bin/python bench/history_incremental_bench.py --step [--lengths 0 1000 5000] [--partitions 40]
    .venv/bin/python bench/history_incremental_bench.py --backfill 250 1000 [--history 5000] [--code DIR]

--step: the history step of validate alone, in one process, for the code before (constraints/anomaly.py and
jobs/history.py as of commit BEFORE, read with `git show`) and now, alternating: a history of L partitions
written through MetricsRepository.save (the metric rows a real validate run records for the 20-column sample
table, bench/history_rows.json, jittered 1% per partition; plus an estimated-quality file per partition),
read once into the index; then --partitions new partitions after it, each checked as jobs.validate.with_history
checks it (index.before, index.at, history_checks with the default options and the sample table's outputs
and identifier) and recorded into the index (index.record). CPU seconds of this process per partition: the
first new partition (where the kept states are built: one full replay) and the median of the others. The
findings of the two codes are compared (status and description of every check).

--backfill N ...: the real command line on a table of N partitions x 20 rows of the sample table (partitions
chunk=05000, 05001, ...), `dqloop validate --output ... --metrics-repo ...`, history checks on, once with an
empty history and once (--history H) on a history of H earlier partitions (chunk=00000 ...) written from the
first run's own metric files, cycled (--history 0: the empty run only). The process tree's CPU seconds
(driver Python, JVM, Python workers, from /proc) are read at every summary line, giving CPU seconds per
partition over the backfill. --validate-args adds options to the command (the figures in bench/RESULTS.md:
--no-domain-classifier, a per-partition constant of ~1 CPU s that does not read the history, left out to
fit the shared machine). --history-only skips the empty run (its metric files must be there). --code DIR
runs the command with PYTHONPATH=DIR (an export of the code before: `git archive BEFORE | tar -x -C DIR`,
with .venv and .deps linked into it).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

BEFORE = "1e60cdc"     # the last commit with the full replay per partition
OUTPUTS, IDENTIFIERS = frozenset({"score", "predicted_label"}), frozenset({"id"})


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def _module_at(commit: str, path: str, name: str):
    """A module of this repository as of `commit` (its source from `git show`), imported under `name`."""
    source = subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:{path}"], check=True,
                            capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader(name, loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    exec(compile(source, f"{commit}:{path}", "exec"), module.__dict__)
    return module


def _write(repo: Path, partitions: int, template: list[dict], seed: int = 0) -> None:
    from jobs.history import ESTIMATED, MetricsRepository, ResultKey
    rng, store = np.random.default_rng(seed), MetricsRepository(repo)
    for i in range(partitions):
        name = f"day={i:05d}"
        rows = [{**m, "value": float(m["value"] * j)} for m, j in zip(template, 1 + rng.normal(0, 0.01, len(template)))]
        store.save(ResultKey(name), rows, "2026-12-01T10:00:00+00:00")
        store.save(ResultKey(name, ESTIMATED), [{"feature": "*", "metric": "estimated_accuracy", "value": 0.9}],
                   "2026-12-01T10:00:00+00:00")


def step_case(lengths: list[int], partitions: int, work: Path) -> list[dict]:
    from constraints import anomaly
    from jobs import history
    old_anomaly = _module_at(BEFORE, "constraints/anomaly.py", "anomaly_before")
    old_history = _module_at(BEFORE, "jobs/history.py", "history_before")
    template = json.loads((REPO / "bench" / "history_rows.json").read_text())
    codes = {"before (full replay)": (old_history.HistoryIndex, old_anomaly), "now (kept states)": (history.HistoryIndex, anomaly)}
    out = []
    for length in lengths:
        repo = work / f"history-{length}"
        shutil.rmtree(repo, ignore_errors=True)
        _write(repo, length, template)
        rng = np.random.default_rng(length + 1)
        news = [[{**m, "value": float(m["value"] * j)} for m, j in zip(template, 1 + rng.normal(0, 0.01, len(template)))]
                for _ in range(partitions)]
        findings, estimates = {}, {}
        for label, (index_class, rules) in codes.items():
            numbers = []
            load = _load()
            index = index_class.load(repo)
            cpus, found = [], []
            for i, rows in enumerate(news):
                partition = f"day={length + i:05d}"
                c0 = time.process_time()
                current = {(r["feature"], r["metric"]): float(r["value"]) for r in rows}
                for key, value in index.at(partition).items():
                    current.setdefault(key, value)
                results = rules.history_checks(current, index.before(partition), rules.HistoryOptions(), OUTPUTS,
                                               IDENTIFIERS)
                index.record(f"{partition}.json", partition, "2026-12-01T12:00:00+00:00", rows)
                cpus.append(time.process_time() - c0)
                found += [(r.check, r.feature, r.status, r.description) for r in results]
                numbers += [(r.details.get("mean"), r.details.get("sd")) for r in results]
            findings[label], estimates[label] = found, numbers
            row = {"length": length, "code": label, "first": cpus[0], "median": statistics.median(cpus[1:]),
                   "checks": len(found) // partitions, "failed": sum(s == "failed" for _, _, s, _ in found), "load": load}
            print(f"history {length:5d}  {label:22s}  first partition {row['first'] * 1e3:8.2f} ms  median of the next "
                  f"{partitions - 1} {row['median'] * 1e3:8.2f} ms CPU  ({row['checks']} checks per partition, "
                  f"{row['failed']} failed; load {load})", flush=True)
            out.append(row)
        same = findings["before (full replay)"] == findings["now (kept states)"]
        rel = max((abs(a - b) / max(abs(a), 1e-300) for pair in zip(*estimates.values())
                   for a, b in zip(*pair) if a is not None and b is not None and a != b), default=0.0)
        print(f"history {length:5d}: findings of the two codes {'identical' if same else 'DIFFER'} "
              f"({len(findings['now (kept states)'])} checks: status and sentence); largest relative difference "
              f"of a mean or sd {rel:.1e}", flush=True)
        if not same:
            diff = [(a, b) for a, b in zip(*findings.values()) if a != b]
            print("  first differences:", *diff[:3], sep="\n    ")
    return out


def _tree_cpu(pid: int) -> float:
    from watch_backfill import cpu_seconds, tree
    return sum(cpu_seconds(q) for q in tree(pid))


def backfill_run(base: Path, table: Path, output: Path, repo: Path, code: Path | None, extra: list[str]) -> dict:
    env = dict(os.environ, PYTHONPATH=str(code or REPO))
    shutil.rmtree(output, ignore_errors=True)
    cmd = [str(REPO / ".venv" / "bin" / "dqloop"), "validate", "--baseline", str(base), "--input", str(table),
           "--output", str(output), "--metrics-repo", str(repo), *extra]
    start, loads = time.perf_counter(), [_load()]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    marks = []                                    # (seconds, process tree CPU s) at each summary line
    for line in proc.stdout:
        if line.startswith("chunk="):
            marks.append((time.perf_counter() - start, _tree_cpu(proc.pid)))
            if len(marks) % 50 == 0:
                loads.append(_load())
                block = (marks[-1][1] - marks[-50][1]) / 49 if len(marks) >= 50 else float("nan")
                print(f"  {len(marks)} partitions: {marks[-1][0]:.0f} s, {marks[-1][1]:.0f} CPU s; CPU s per partition "
                      f"over the last 50: {block:.3f}; load {loads[-1]}", flush=True)
    proc.wait()
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}")
    per = np.diff([c for _, c in marks])          # CPU s per partition, from the 2nd on
    fifth = max(len(per) // 5, 1)
    slope = np.polyfit(np.arange(len(per)), per, 1)[0] if len(per) > 2 else float("nan")
    return {"partitions": len(marks), "wall": time.perf_counter() - start, "cpu": marks[-1][1] if marks else 0.0,
            "first": float(np.median(per[:fifth])), "last": float(np.median(per[-fifth:])), "slope_us": slope * 1e6,
            "exit": proc.returncode, "load": f"{min(loads)}-{max(loads)}"}


def backfill_case(sizes: list[int], history: int, work: Path, code: Path | None, extra: list[str],
                  history_only: bool = False) -> list[dict]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from jobs.sample_data import make_frame
    from stress_bench import baseline
    base = baseline(work, work / "baseline")
    out = []
    for n in sizes:
        table = work / f"backfill={n}x20"
        if not (table / "_SUCCESS").exists():
            frame = make_frame(n * 20, seed=9)
            frame["chunk"] = [f"{5000 + i:05d}" for i in np.repeat(np.arange(n), 20)]
            pq.write_to_dataset(pa.Table.from_pandas(frame, preserve_index=False), str(table), partition_cols=["chunk"],
                                max_partitions=n + 1)
            (table / "_SUCCESS").touch()
        cases = ([] if history_only else [("empty", 0)]) + ([("written", history)] if history else [])
        for label, length in cases:
            repo = work / f"repo-{n}-{label}{'-code' if code else ''}"
            shutil.rmtree(repo, ignore_errors=True)
            if length:                            # earlier partitions from the first run's own metric files
                files = sorted((work / f"repo-{n}-empty").glob("chunk=*.json"))
                docs = [json.loads(f.read_text()) for f in files if f.name.count(".") == 1]
                from jobs.history import MetricsRepository, ResultKey
                store = MetricsRepository(repo)
                for i in range(length):
                    doc = docs[i % len(docs)]
                    store.save(ResultKey(f"chunk={i:05d}"), doc["metrics"], doc["run_time"])
            r = backfill_run(base, table, work / f"out-{n}-{label}{'-code' if code else ''}", repo, code, extra)
            r.update(size=n, history=length, code=str(code or "this tree"))
            print(f"backfill {n} partitions on a history of {length}: {r['wall']:.0f} s wall, {r['cpu']:.0f} CPU s; "
                  f"CPU s per partition first fifth {r['first']:.3f}, last fifth {r['last']:.3f}, "
                  f"slope {r['slope_us']:+.1f} us per partition; exit {r['exit']}; load {r['load']}", flush=True)
            out.append(r)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--step", action="store_true")
    p.add_argument("--lengths", type=int, nargs="+", default=[0, 1000, 5000])
    p.add_argument("--partitions", type=int, default=40)
    p.add_argument("--backfill", type=int, nargs="*", default=[])
    p.add_argument("--history", type=int, default=5000)
    p.add_argument("--code", type=Path)
    p.add_argument("--history-only", action="store_true", help="only the run on the written history (after an empty run)")
    p.add_argument("--validate-args", default="", help="more arguments for dqloop validate, e.g. --no-domain-classifier")
    p.add_argument("--work", type=Path, default=REPO / "bench" / "_data" / "history_incremental")
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.step:
        step_case(args.lengths, args.partitions, args.work)
    if args.backfill:
        backfill_case(args.backfill, args.history, args.work, args.code, args.validate_args.split(), args.history_only)


if __name__ == "__main__":
    main()
