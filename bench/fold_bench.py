"""The pass's folds replayed in one process: CPU per lane kind on one real task's batches, without Spark.

    .venv/bin/python bench/fold_bench.py capture --shape numeric --rows 2000000 --what validate
    .venv/bin/python bench/fold_bench.py replay --shape numeric --what validate [--repeat 3]

`capture` runs the command (jobs.cli.main, as bench/pass_profile.py does, on bench/shapes_bench.py's tables
and baselines) with a tally_partition that writes its first task's lanes and Arrow batches to a scratch file
(pickled) before folding them as usual. `replay` loads them with the code it imports (PYTHONPATH comes first:
another checkout's code replays the same capture), re-derives the lanes' cached fields, and folds every batch
through every lane as tally.tally_partition does, timing each lane kind's folds (process CPU seconds, best of
--repeat; the shared float block counts in the first joint lane that builds it). BLAS runs one thread, as in
Spark's Python workers (Spark starts them with OMP_NUM_THREADS=1 and OpenBLAS follows it; `--blas-threads 0`
lifts the limit). No JVM, little noise from the load.
"""

from __future__ import annotations

import argparse
import collections
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.append(str(REPO))   # after PYTHONPATH: another checkout's code replays the same capture

DATA = REPO / "bench" / "_data" / "shapes"
OUT = REPO / "bench" / "_out" / "shapes"
SCRATCH = Path(tempfile.gettempdir()) / "dqloop-fold-bench"


def _capturing(path: str, fold):
    def tally_partition(batches, lanes):
        import pickle as p
        batches = list(batches)
        try:
            with open(path, "xb") as f:   # the first task only
                p.dump((lanes, batches), f)
        except FileExistsError:
            pass
        yield from fold(iter(batches), lanes)
    return tally_partition


def capture(args) -> None:
    from constraints import tally
    from jobs import cli
    SCRATCH.mkdir(exist_ok=True)
    path = SCRATCH / f"{args.shape}-{args.what}.pkl"
    path.unlink(missing_ok=True)
    tally.tally_partition = _capturing(str(path), tally.tally_partition)
    out = Path(tempfile.mkdtemp(prefix="fold-bench-"))
    table = str(DATA / f"{args.shape}-{args.rows}")
    preds = [] if args.shape in ("numeric", "nulls") else ["--predictions", "score,label"]
    argv = ["validate", "--baseline", str(OUT / f"{args.shape}-baseline"), "--input", table,
            "--output", str(out / "validate")] if args.what == "validate" else \
        ["baseline", "--input", table, "--output", str(out / "baseline"), *preds]
    try:
        cli.main(argv)
    except SystemExit:
        pass
    print(f"captured {path}")


def replay(args) -> None:
    from constraints import tally
    with open(SCRATCH / f"{args.shape}-{args.what}.pkl", "rb") as f:
        lanes, batches = pickle.load(f)
    for lane in lanes.values():   # derived fields as this checkout's code derives them (not the pickled ones)
        for part in (getattr(lane, "model", None), lane):
            if hasattr(part, "__post_init__"):
                part.__post_init__()
    if args.blas_threads:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=args.blas_threads, user_api="blas")
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        spent = collections.Counter()
        tallies: dict = {}
        step = getattr(tally, "fold_lane", None) or _step_before_fold_lane   # the checkout's own step
        for batch in batches:
            holdout = None
            if tally.SPLIT in batch.schema.names:
                holdout = batch.column(tally.SPLIT).fill_null(False).to_numpy(zero_copy_only=False)
            for name, lane in lanes.items():
                c0 = time.process_time()
                step(name, lane, batch, holdout, tallies)
                spent[type(lane).__name__] += time.process_time() - c0
        c0 = time.process_time()
        closed = {name: lanes[name].close(t) for name, t in tallies.items()}
        pickle.dumps(closed)
        spent["(close+pickle)"] += time.process_time() - c0
        if hasattr(tally, "_BATCH"):
            tally._BATCH[:] = [None, {}]
        else:   # a checkout before tally.coded
            tally._LAST_BLOCK[:] = [None, (), None]
        for k, v in spent.items():
            best[k] = min(best.get(k, v), v)
    rows = sum(b.num_rows for b in batches)
    print(f"{args.shape} {args.what}: {rows:,} rows in {len(batches)} batches, {len(lanes)} lanes, "
          f"load {os.getloadavg()[0]:.1f}, code {Path(tally.__file__).parents[1]}, BLAS threads "
          f"{args.blas_threads or 'all'}; process CPU s per lane kind (best of {args.repeat}):")
    for k, v in sorted(best.items(), key=lambda kv: -kv[1]):
        print(f"  {k:25s} {v:6.3f}")
    print(f"  {'total':25s} {sum(best.values()):6.3f}")


def _step_before_fold_lane(name, lane, batch, holdout, tallies) -> None:
    """tally_partition's per-lane step as checkouts before tally.fold_lane had it inline (for A/B replays)."""
    from constraints import tally

    if isinstance(lane, tally.Joint) and lane.incremental:
        tallies[name] = lane.fold(batch, tallies.get(name))
        return
    if isinstance(lane, tally.Joint):
        t = lane.fold(batch)
    elif isinstance(lane, (tally.Described, tally.Strings)):
        t = lane.fold(batch.column(name), holdout, tallies.get(name))
    else:
        t = lane.fold(batch.column(name))
    tallies[name] = lane.merge(tallies[name], t) if name in tallies else t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["capture", "replay"])
    p.add_argument("--shape", required=True)
    p.add_argument("--rows", type=int, default=2_000_000)
    p.add_argument("--what", default="validate", choices=["validate", "baseline"])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--blas-threads", type=int, default=1, help="BLAS threads (1, as in Spark's workers; 0: no limit)")
    args = p.parse_args()
    capture(args) if args.action == "capture" else replay(args)


if __name__ == "__main__":
    main()
