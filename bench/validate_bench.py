"""What validating a partition costs over the cheapest useful scan of it, and per-partition overhead.

    .venv/bin/python bench/validate_bench.py --rows 1000000 10000000 [--backfill 30] [--backfill-rows 20000]

In ONE local[2] Spark session (warm: a small baseline and validation run first, untimed):
  - a baseline is computed once from a 200,000-row training table (jobs.sample_data.make_frame);
  - for each size, on the generated 20-column table of baseline_bench.py (bench/_data/rows=N/):
    the floor (one aggregation: count(*), count and sum of every column) and `validate` of the table
    as one partition (constraints.validation.validate, i.e. the aggregation with the suite's rules, the
    grouping pass and the pure checks), alternately; wall time, Spark jobs, ratio to the floor;
  - a backfill of --backfill partitions of --backfill-rows rows each (jobs.validate.run over a
    partitioned table, reports written), against the floor scan of each partition: the per-partition
    overhead is (backfill time - sum of floor scans) / partitions.
The table is printed and replaces the section of bench/RESULTS.md it owns.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from baseline_bench import environment, floor, table_path, write_section  # noqa: E402

from constraints.deequ import shutdown_callback_server  # noqa: E402
from constraints.validation import validate  # noqa: E402
import dqloop  # noqa: E402
from jobs import baseline, validate as validate_job  # noqa: E402
from jobs.io import write_folder  # noqa: E402
from jobs.sample_data import make_frame  # noqa: E402
from jobs.session import build_session, counting_jobs  # noqa: E402

SECTION = "## Validate per partition vs. one plain scan (bench/validate_bench.py)"


def make_baseline(spark, data_dir: Path, out: Path):
    train = table_path(data_dir, 200_000)
    args = baseline.Request(input=str(train), output=str(out), predictions=("score", "predicted_label"))
    prof, suite, _ = baseline.compute(spark, args)
    write_folder(str(out), baseline.documents(prof, suite))
    return validate_job.read_baseline(str(out))


def timed(fn):
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value


def measure(spark, base, path: Path) -> dict:
    with counting_jobs(spark, "bench-floor") as fj:
        floor_s, rows = timed(lambda: floor(spark, path))
    with counting_jobs(spark, "bench-validate") as vj:
        validate_s, report = timed(lambda: validate(spark, spark.read.parquet(str(path)), base, "p"))
    assert report.rows == rows
    return {"floor": floor_s, "floor_jobs": fj[0], "validate": validate_s, "validate_jobs": vj[0],
            "ratio": validate_s / floor_s, "violations": len(report.violations)}


def backfill_table(data_dir: Path, partitions: int, rows: int) -> Path:
    root = data_dir / f"backfill={partitions}x{rows}"
    for i in range(partitions):
        part = root / f"day={i + 1:02d}"
        if not (part / "part-00000.parquet").exists():
            part.mkdir(parents=True, exist_ok=True)
            make_frame(rows, seed=5000 + i, start_id=10**9 + i * rows).to_parquet(part / ".tmp.parquet", index=False)
            (part / ".tmp.parquet").rename(part / "part-00000.parquet")
    return root


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--backfill", type=int, default=30)
    p.add_argument("--backfill-rows", type=int, default=20_000)
    p.add_argument("--data-dir", type=Path, default=REPO / "bench" / "_data")
    args = p.parse_args()
    start = time.perf_counter()
    env = environment()
    out = REPO / "bench" / "_out"
    spark = build_session("dqloop-bench", "local[2]")
    try:
        base = make_baseline(spark, args.data_dir, out / "validate-baseline")
        measure(spark, base, table_path(args.data_dir, 20_000))  # warm-up, untimed
        lines = ["| table | floor s | floor jobs | validate s | validate jobs | validate/floor | violations |",
                 "|---|---:|---:|---:|---:|---:|---:|"]
        for rows in args.rows:
            path = table_path(args.data_dir, rows)
            rs = [measure(spark, base, path) for _ in range(args.repeat)]
            med = lambda k: statistics.median(r[k] for r in rs)  # noqa: E731
            lines.append(f"| {rows:,} rows x 20 columns | {med('floor'):.1f} | {rs[-1]['floor_jobs']} "
                         f"| {med('validate'):.1f} | {rs[-1]['validate_jobs']} | {med('ratio'):.2f} "
                         f"| {rs[-1]['violations']} |")
            print(lines[-1], flush=True)
        root = backfill_table(args.data_dir, args.backfill, args.backfill_rows)
        floors = [timed(lambda d=d: floor(spark, d))[0] for d in sorted(root.iterdir())]
        backfill_s, _ = timed(lambda: dqloop.validate(str(root), str(out / "validate-baseline"),
                                                      dqloop.ValidateOptions(warn_only=True),
                                                      output=str(out / "backfill"), spark=spark))
        n = args.backfill
        lines.append(f"| backfill: {n} partitions x {args.backfill_rows:,} rows | {sum(floors):.1f} (sum) "
                     f"| - | {backfill_s:.1f} | - | {backfill_s / sum(floors):.2f} "
                     f"| per-partition overhead {(backfill_s - sum(floors)) / n:.2f} s |")
        print(lines[-1], flush=True)
    finally:
        shutdown_callback_server(spark)
        spark.stop()
    cmd = "`.venv/bin/python bench/validate_bench.py " + " ".join(sys.argv[1:]) + "`"
    section = "\n".join([SECTION, "", f"Command: {cmd}  ", f"Whole run {(time.perf_counter() - start) / 60:.1f} min "
                         "(data generation included); baseline from 200,000 rows; the generated tables are drawn "
                         "like the baseline, so violations are few", "", *env, "", *lines, ""])
    print("\n" + section)
    write_section(REPO / "bench" / "RESULTS.md", section)


if __name__ == "__main__":
    main()
