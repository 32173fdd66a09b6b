"""Where a whole `dqloop validate` / `dqloop baseline` spends its CPU, per phase and per lane of the pass.

    .venv/bin/python bench/pass_profile.py --shape ml --rows 2000000 [--what validate baseline] [--floor]

Runs the command in this process (jobs.cli.main, as `dqloop` does) on bench/shapes_bench.py's tables and
baselines, with timers around its Spark phases: the pass (scan.run_pass), the identifier jobs (hashed
multiplicities, integer bitmaps, grouping by value), the domain classifier's sample, the PCA fit. Each phase
is reported as wall seconds and CPU seconds of the whole process tree (driver, JVM, Python workers: /proc).
Inside the pass, each Python worker times its lanes' folds (thread CPU seconds) and Arrow's batch reads
and writes them to a scratch file; the sums over partitions are printed per lane kind, beside the workers'
process CPU over their partitions (helper threads included; Spark runs the workers with OMP_NUM_THREADS=1,
so OpenBLAS adds none).
`--floor` also times bench/floor_scan.py's aggregation in the same session first (warm JVM).
"""

from __future__ import annotations

import argparse
import collections
import functools
import glob
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "bench" / "peers"))

from peers_bench import _rss_and_cpu, _tree  # noqa: E402

DATA = REPO / "bench" / "_data" / "shapes"
OUT = REPO / "bench" / "_out" / "shapes"
TIMES = Path(tempfile.gettempdir()) / f"dqloop-pass-profile-{os.getpid()}"


SEEN: dict[int, float] = {}   # pid -> CPU seconds last seen: processes that ended still count
KIND: dict[int, str] = {}     # pid -> driver, JVM or Python worker


def _kind(pid: int) -> str:
    if pid == os.getpid():
        return "driver (Python)"
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "other"
    return "JVM" if comm == "java" else "Python workers" if comm.startswith("python") else comm


def tree_cpu() -> float:
    for p in _tree(os.getpid()):
        if got := _rss_and_cpu(p):
            SEEN[p] = got[1]
            if p not in KIND:
                KIND[p] = _kind(p)
    return sum(SEEN.values())


def _sampler() -> None:
    while True:
        tree_cpu()
        time.sleep(0.2)


PHASES: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0])


def timed(name: str, fn):
    @functools.wraps(fn)
    def wrapper(*a, **k):
        w, c = time.perf_counter(), tree_cpu()
        try:
            return fn(*a, **k)
        finally:
            p = PHASES[name]
            p[0] += time.perf_counter() - w
            p[1] += tree_cpu() - c
            p[2] += 1
    return wrapper


def patch(targets: dict[str, str]) -> None:
    """Wrap every module attribute that is one of the target functions (modules import them by name)."""
    import importlib
    originals = {}
    for dotted, label in targets.items():
        mod, name = dotted.rsplit(".", 1)
        try:
            originals[importlib.import_module(mod).__dict__[name]] = label
        except (ImportError, KeyError):
            print(f"(no {dotted})")
    for m in list(sys.modules.values()):
        if not getattr(m, "__name__", "").startswith(("constraints", "jobs", "labeling")):
            continue
        for attr, value in list(vars(m).items()):
            if callable(value) and value in originals:
                setattr(m, attr, timed(originals[value], value))


def worker_timing(directory: str):
    """A tally_partition that times each lane's folds (thread CPU) and the batch reads; by value to workers."""
    def tally_partition(batches, lanes):
        import pickle
        import time as t
        import pyarrow as pa
        from constraints import tally
        process0 = t.process_time()
        spent = {}
        rows, tallies = 0, {}
        it = iter(batches)
        while True:
            c0 = t.thread_time()
            batch = next(it, None)
            spent["(arrow read)"] = spent.get("(arrow read)", 0.0) + t.thread_time() - c0
            if batch is None:
                break
            rows += batch.num_rows
            holdout = tally.held_out(batch)
            for name, lane in lanes.items():   # the product's own step (tally.fold_lane), timed
                c0 = t.thread_time()
                tally.fold_lane(name, lane, batch, holdout, tallies)
                key = type(lane).__name__
                spent[key] = spent.get(key, 0.0) + t.thread_time() - c0
        c0 = t.thread_time()
        closed = {name: lanes[name].close(x) for name, x in tallies.items()}
        blob = pickle.dumps(closed)
        spent["(close+pickle)"] = t.thread_time() - c0
        spent["(worker process CPU)"] = t.process_time() - process0   # BLAS's own threads included
        with open(f"{directory}/{os.getpid()}-{t.time_ns()}.json", "w") as f:
            json.dump(spent, f)
        yield pa.RecordBatch.from_pydict({"rows": [rows], "tallies": [blob]}, schema=tally.SCHEMA)
    return tally_partition


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", required=True)
    p.add_argument("--rows", type=int, default=2_000_000)
    p.add_argument("--what", nargs="+", default=["validate", "baseline"], choices=["validate", "baseline"])
    p.add_argument("--floor", action="store_true")
    args = p.parse_args()
    from constraints import tally
    from jobs import cli
    table = str(DATA / f"{args.shape}-{args.rows}")
    TIMES.mkdir(exist_ok=True)
    import threading
    threading.Thread(target=_sampler, daemon=True).start()
    tally.tally_partition = worker_timing(str(TIMES))
    patch({"constraints.scan.run_pass": "pass (scan.run_pass)",
           "constraints.categories.hashed_multiplicity": "identifiers: hashed multiplicity job",
           "constraints.categories.distinct_integers": "identifiers: integer bitmaps job",
           "constraints.categories.count_categories": "identifiers: by value job",
           "constraints.scan._value_counts": "by value job (validate)",
           "jobs.domain_drift.draw": "domain classifier: sample job",
           "jobs.domain_drift.baseline_files": "domain classifier: baseline sample (all)",
           "jobs.domain_drift.attach": "domain classifier: sample + fit (all)",
           "constraints.reconstruction.fit": "PCA fit",
           "jobs.io.read_table": "read (schema)"})
    preds = [] if args.shape in ("numeric", "nulls") else ["--predictions", "score,label"]
    out = Path(tempfile.mkdtemp(prefix="pass-profile-"))
    print(f"load {os.getloadavg()[0]:.1f}")
    runs = []
    if args.floor:
        from common import floor
        from jobs.session import spark_session
        with spark_session("bench-floor") as spark:
            floor(spark, table)   # warm
            w, c = time.perf_counter(), tree_cpu()
            floor(spark, table)
            print(f"floor (warm session): {time.perf_counter() - w:.1f} s, {tree_cpu() - c:.1f} CPU s")
    for what in args.what:
        argv = ["validate", "--baseline", str(OUT / f"{args.shape}-baseline"), "--input", table,
                "--output", str(out / "validate")] if what == "validate" else \
            ["baseline", "--input", table, "--output", str(out / "baseline"), *preds]
        PHASES.clear()
        for f in glob.glob(f"{TIMES}/*.json"):
            os.unlink(f)
        w, c = time.perf_counter(), tree_cpu()
        before = dict(SEEN)
        try:
            rc = cli.main(argv)
        except SystemExit as e:
            rc = e.code
        wall, cpu = time.perf_counter() - w, tree_cpu() - c
        lanes = collections.Counter()
        for f in glob.glob(f"{TIMES}/*.json"):
            lanes.update(json.loads(Path(f).read_text()))
        runs.append((what, rc, wall, cpu, dict(PHASES), lanes))
        print(f"\n{what} {args.shape} {args.rows:,} rows: exit {rc}, {wall:.1f} s, {cpu:.1f} CPU s (tree), "
              f"load {os.getloadavg()[0]:.1f}")
        for name, (pw, pc, n) in sorted(PHASES.items(), key=lambda kv: -kv[1][1]):
            print(f"  {name:45s} {pw:6.1f} s {pc:6.1f} CPU s  x{n}")
        tree_cpu()
        by_kind = collections.Counter()
        for pid, cpu_s in SEEN.items():
            by_kind[KIND.get(pid, "other")] += cpu_s - before.get(pid, 0.0)
        print("  CPU s by process: " + ", ".join(f"{k} {v:.1f}" for k, v in by_kind.most_common()))
        print("  worker thread CPU s by lane kind (sum over partitions):")
        for name, s in lanes.most_common():
            print(f"    {name:25s} {s:6.2f}")


if __name__ == "__main__":
    main()
