"""dqloop baseline: schema, statistics and a constraint suite from a model's training data.

    dqloop baseline --input PATH --output DIR [options]
    spark-submit --properties-file spark-conf/spark-defaults.conf jobs/baseline.py --input PATH --output DIR

Writes DIR/statistics.json and DIR/constraints.json (SageMaker Model Monitor's formats),
DIR/suite.json (the richer, held-out-checked suite) and DIR/pandera_schema.yaml.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

if __package__ in (None, ""):  # run as a script by spark-submit
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession

from constraints import (EmptyInput, UsageError, KllParameters, ProfileOptions, constraints_document, plan_columns,
                         projection, statistics_document, suggest)
from constraints.deequ_profile import profile
from constraints.multivariate import EXTENDED_FILE
from constraints.pandera_schema import pandera_yaml
from constraints.profiling import profile_pass
from constraints.profile import Profile
from constraints.suite import Suite
from jobs import console, model_reference
from jobs.io import json_text, read_table, unreadable, write_folder
from jobs.session import counting_jobs

PASS, DEEQU = "pass", "deequ"   # --engine: validate's one pass (constraints.profiling) or Deequ's analyzers

log = logging.getLogger("dqloop.baseline")


def _version() -> str:
    try:
        return version("dqloop")
    except PackageNotFoundError:  # run from a source tree that was not installed
        return "unknown"


def _names(value: str) -> list[str]:
    return [v for v in (s.strip() for s in value.split(",")) if v]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", required=True, metavar="PATH",
                   help="training data: Parquet or CSV file, folder or partitioned table; local path or Hadoop URI")
    p.add_argument("--output", required=True, metavar="DIR", help="folder for the baseline (replaced when complete)")
    p.add_argument("--format", default="auto", choices=["auto", "parquet", "csv"], help="input format (default: auto)")
    p.add_argument("--columns", type=_names, metavar="A,B", help="profile only these columns (default: all)")
    p.add_argument("--exclude", type=_names, default=[], metavar="A,B", help="columns to leave out")
    p.add_argument("--predictions", type=_names, default=[], metavar="A,B",
                   help="model output columns (score, predicted label): profiled like inputs, shown apart")
    p.add_argument("--holdout-fraction", type=float, default=0.2, metavar="F",
                   help="share of rows held out to check suggested constraints (default: 0.2)")
    p.add_argument("--seed", type=int, default=42, help="seed of the held-out split (default: 42)")
    p.add_argument("--max-categories", type=int, default=100, metavar="N",
                   help="a string column with at most N distinct values is categorical (default: 100)")
    p.add_argument("--engine", choices=[PASS, DEEQU], default=PASS,
                   help="how the statistics are measured: one pass over the rows, validate's engine (default), or "
                        "Deequ's analyzers (about 10x the time on large tables; the reference the pass is tested "
                        "against)")
    model_reference.add_arguments(p)


def compute(spark: SparkSession, args: argparse.Namespace) -> tuple[Profile, Suite, int]:
    """Read, profile, suggest: returns the profile, the suite and the number of Spark jobs it took."""
    if not 0.0 <= args.holdout_fraction < 1.0:
        raise UsageError(f"--holdout-fraction {args.holdout_fraction} is outside [0, 1).", "use e.g. 0.2")
    table = read_table(spark, args.input, args.format)
    target = getattr(args, "target", None)
    exclude = [*args.exclude, *([target] if target in table.df.columns else [])]   # the target is no model input
    columns, skipped = plan_columns(table.df.schema, include=args.columns, exclude=exclude,
                                    predictions=args.predictions, ignore=table.partition_columns)
    for s in skipped:
        log.warning("column %r skipped: %s", s.name, s.reason)
    if not columns:
        raise EmptyInput(f"No column of {args.input} can be profiled.", "choose columns with --columns")
    data = projection(table.df, columns, holdout_fraction=args.holdout_fraction, seed=args.seed)
    options = ProfileOptions(kll=KllParameters(), max_categories=args.max_categories)
    try:
        with counting_jobs(spark, "dqloop-baseline") as jobs:
            prof = profile_pass(data, columns, skipped, options) if args.engine == PASS \
                else profile(spark, data, columns, skipped, options)
    except Py4JJavaError as exc:
        raise unreadable(args.input, exc) from None
    if prof.rows == 0:
        raise EmptyInput(f"Input {args.input} has no rows.", "point --input at the training data")
    for p in prof.columns:
        if p.num_present == 0:
            log.warning("column %r has no non-null value: inferred_type Unknown, no constraints", p.column.name)
        if p.nonfinite:
            log.warning("column %r has %d NaN/Inf values, counted as missing", p.column.name, p.nonfinite)
    meta = {
        "dqloop_version": _version(),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "input": args.input,
        "input_format": table.format,
        "rows": {"total": prof.rows, "train": prof.train_rows, "holdout": prof.holdout_rows},
        "holdout_fraction": args.holdout_fraction,
        "seed": args.seed,
        "engine": args.engine,
        "partition_columns": list(table.partition_columns),
        "excluded_columns": sorted(set(table.df.columns) - {c.name for c in columns} - set(table.partition_columns)
                                   - {s.name for s in skipped}),
    }
    return prof, suggest(prof, meta=meta), jobs[0]


def documents(prof: Profile, suite: Suite) -> dict[str, str]:
    return {
        "statistics.json": json_text(statistics_document(prof)),
        "constraints.json": json_text(constraints_document(prof, suite)),
        "suite.json": suite.to_json(),
        "pandera_schema.yaml": pandera_yaml(suite),
        **({EXTENDED_FILE: json_text(prof.extended)} if prof.extended else {}),
    }


def run(spark: SparkSession, args: argparse.Namespace) -> int:
    model_reference.check_arguments(args)
    prof, suite, jobs = compute(spark, args)
    target = write_folder(args.output, {**documents(prof, suite), **model_reference.files(spark, args)})
    console.print_baseline(prof, suite, target, jobs)
    return 0


def main(argv: list[str] | None = None) -> int:
    from jobs.cli import main as cli_main
    return cli_main(["baseline", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
