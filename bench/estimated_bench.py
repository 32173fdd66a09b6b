"""What label-free quality estimation (jobs/estimated.py) adds to validating a partition.

    .venv/bin/python bench/estimated_bench.py --rows 1000000 10000000 [--repeat 3]

In ONE local[2] Spark session: a baseline from the 200,000-row training table of baseline_bench.py, with a
model reference (200,000 rows of jobs.sample_data.make_frame with a target drawn from its score, so the score
is calibrated); then, per table size, alternately: `validate` of the table as one partition
(constraints.validation.validate) and the estimation step alone (jobs.estimated.attach: the binned aggregation
over the two prediction columns, CBPE, BBSE). Median wall times, Spark jobs, and estimation / validate.
Writes its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from baseline_bench import environment, table_path, write_section  # noqa: E402

from constraints.deequ import shutdown_callback_server  # noqa: E402
from constraints.validation import validate  # noqa: E402
from jobs import baseline, estimated, model_reference, validate as validate_job  # noqa: E402
from jobs.io import write_folder  # noqa: E402
from jobs.sample_data import make_frame  # noqa: E402
from jobs.session import build_session, counting_jobs  # noqa: E402

SECTION = "## Label-free quality estimation: added cost in validate (bench/estimated_bench.py)"


def make_baseline(spark, data_dir: Path, out: Path):
    ref_path = data_dir / "reference-200000.parquet"
    if not ref_path.exists():
        ref = make_frame(200_000, seed=77)
        ref["churned"] = np.where(np.random.default_rng(78).random(len(ref)) < ref["score"], "churn", "stay")
        ref.to_parquet(ref_path, index=False)
    args = baseline.Request(input=str(table_path(data_dir, 200_000)), output=str(out),
                            predictions=("score", "predicted_label"), target="churned", reference=str(ref_path),
                            prediction_column="predicted_label", score_column="score", positive_label="churn")
    prof, suite, _ = baseline.compute(spark, args)
    write_folder(str(out), {**baseline.documents(prof, suite), **model_reference.files(spark, args)})
    return validate_job.read_baseline(str(out)), estimated.load_reference(str(out))


def timed(fn):
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value


def measure(spark, base, ref, path: Path) -> dict:
    with counting_jobs(spark, "bench-validate") as vj:
        df = spark.read.parquet(str(path))
        validate_s, report = timed(lambda: validate(spark, df, base, "p"))
    outcome = validate_job.Outcome("p", report, data=df)
    with counting_jobs(spark, "bench-estimated") as ej:
        est_s, (o, files, _) = timed(lambda: estimated.attach(ref, df, outcome))
    assert files, "no estimate was made"
    return {"validate": validate_s, "validate_jobs": vj[0], "estimated": est_s, "estimated_jobs": ej[0],
            "ratio": est_s / validate_s}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--data-dir", type=Path, default=REPO / "bench" / "_data")
    args = p.parse_args()
    start = time.perf_counter()
    env = environment()
    spark = build_session("dqloop-bench", "local[2]")
    try:
        base, ref = make_baseline(spark, args.data_dir, REPO / "bench" / "_out" / "estimated-baseline")
        measure(spark, base, ref, table_path(args.data_dir, 20_000))  # warm-up, untimed
        lines = ["| table | validate s | validate jobs | estimation s | estimation jobs | estimation / validate |",
                 "|---|---:|---:|---:|---:|---:|"]
        for rows in args.rows:
            path = table_path(args.data_dir, rows)
            rs = [measure(spark, base, ref, path) for _ in range(args.repeat)]
            med = lambda k: statistics.median(r[k] for r in rs)  # noqa: E731
            lines.append(f"| {rows:,} rows x 20 columns | {med('validate'):.2f} | {rs[-1]['validate_jobs']} "
                         f"| {med('estimated'):.2f} | {rs[-1]['estimated_jobs']} | {med('ratio'):.1%} |")
            print(lines[-1], flush=True)
    finally:
        shutdown_callback_server(spark)
        spark.stop()
    cmd = "`.venv/bin/python bench/estimated_bench.py " + " ".join(sys.argv[1:]) + "`"
    section = "\n".join([SECTION, "", f"Command: {cmd}  ", f"Whole run {(time.perf_counter() - start) / 60:.1f} min "
                         f"(data generation included); medians of {args.repeat} alternating runs; model reference "
                         "200,000 rows; the machine is shared with other engineers' jobs, so figures are noisy", "",
                         *env, "", *lines, ""])
    print("\n" + section)
    write_section(REPO / "bench" / "RESULTS.md", section)


if __name__ == "__main__":
    main()
