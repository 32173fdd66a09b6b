"""dqloop baseline: schema, statistics and a constraint suite from a model's training data.

    dqloop baseline --input PATH --output DIR [options]
    dqloop baseline --table NAME [--version N] [--partition SEL ...] --output DIR [options]
    spark-submit --properties-file spark-conf/spark-defaults.conf jobs/baseline.py --input PATH --output DIR

Writes DIR/statistics.json and DIR/constraints.json (SageMaker Model Monitor's formats),
DIR/suite.json (the richer, held-out-checked suite) and DIR/pandera_schema.yaml.
--table reads a catalog or Delta table (jobs.tables, docs/tables.md); a Delta table is read at one
version (--version, or its current one), recorded with the table's name in suite.json's meta.table.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script by spark-submit
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession

from constraints import (EmptyInput, UsageError, KllParameters, ProfileOptions, constraints_document, plan_columns,
                         projection, statistics_document)
from constraints.suggest import suggest   # not `from constraints import suggest`: once the submodule is imported,
                                          # the package's attribute `suggest` is the module, not the function
from constraints import direct
from constraints.deequ_profile import profile
from constraints.multivariate import EXTENDED_FILE
from constraints.profiling import profile_pass
from constraints.profile import Profile
from constraints.suite import Suite
from dqloop.options import BaselineOptions
from dqloop.results import BaselineResult
from jobs import console, domain_drift, model_reference, tables
from jobs.io import Table, as_table, json_text, source_name, unreadable, write_folder
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
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", metavar="PATH",
                        help="training data: Parquet or CSV file, folder or partitioned table; local path or Hadoop URI")
    tables.add_arguments(p, source, with_partition=True)
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
    domain_drift.add_baseline_arguments(p)


@dataclass(frozen=True, kw_only=True)
class Request(BaselineOptions):
    """One baseline run: the options, the training data (path or DataFrame) and the output folder (None: none
    written). The job body reads it by flag name, as it read argparse's Namespace."""
    input: Any
    output: str | None = None
    table: str | None = None                 # --table NAME (dqloop.Table): a catalog or Delta table instead of input
    version: int | None = None
    where: str | None = None
    partition: tuple[str, ...] = ()          # the table's partitions to profile (default: all)
    cli: argparse.Namespace | None = field(default=None, repr=False, compare=False)


def read_input(spark: SparkSession, args: Request) -> tuple[Table, dict | None]:
    """The training data (--input, or --table with its partitions and version) and, for a table, where it
    came from (recorded in suite.json)."""
    if getattr(args, "table", None):
        from jobs.validate import select
        return tables.baseline_input(spark, args, select)
    if getattr(args, "partition", None) or getattr(args, "version", None) is not None:
        raise UsageError("--partition and --version apply to --table.", "drop them, or read the data with --table")
    return as_table(spark, args.input, args.format), None


def compute(spark: SparkSession, args: Request) -> tuple[Profile, Suite, int]:
    """Read, profile, suggest: returns the profile, the suite and the number of Spark jobs it took."""
    if not 0.0 <= args.holdout_fraction < 1.0:
        raise UsageError(f"--holdout-fraction {args.holdout_fraction} is outside [0, 1).", "use e.g. 0.2")
    table, provenance = read_input(spark, args)
    source = getattr(args, "table", None)
    target = getattr(args, "target", None)
    exclude = [*args.exclude, *([target] if target in table.frame.columns else [])]   # the target is no model input
    columns, skipped = plan_columns(table.frame.schema, include=args.columns, exclude=exclude,
                                    predictions=args.predictions, ignore=table.partition_columns)
    for s in skipped:
        log.warning("column %r skipped: %s", s.name, s.reason)
    if not columns:
        raise EmptyInput(f"No column of {args.input} can be profiled.", "choose columns with --columns")
    data = table.frame.derived(lambda df: projection(df, columns, holdout_fraction=args.holdout_fraction,
                                                     seed=args.seed))   # made only if Spark computes (profile_pass)
    options = ProfileOptions(kll=KllParameters(), max_categories=args.max_categories)
    try:
        with counting_jobs(spark, "dqloop-baseline") as jobs:
            prof = profile_pass(data, columns, skipped, options, domain_drift.sample_rows(args),
                                direct.Holdout(args.holdout_fraction, args.seed)) \
                if args.engine == PASS \
                else profile(spark, data.df, columns, skipped, options)
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
        "input": source or source_name(args.input),
        "input_format": table.format,
        "rows": {"total": prof.rows, "train": prof.train_rows, "holdout": prof.holdout_rows},
        "holdout_fraction": args.holdout_fraction,
        "seed": args.seed,
        "engine": args.engine,
        "partition_columns": list(table.partition_columns),
        "excluded_columns": sorted(set(table.frame.columns) - {c.name for c in columns} - set(table.partition_columns)
                                   - {s.name for s in skipped}),
        **({"table": provenance} if provenance else {}),
    }
    return prof, suggest(prof, meta=meta), jobs[0]


def documents(prof: Profile, suite: Suite) -> dict[str, str]:
    from constraints.pandera_schema import pandera_yaml   # here: pandera (and pyspark.pandas) cost `dqloop validate` 0.5 s

    return {
        "statistics.json": json_text(statistics_document(prof)),
        "constraints.json": json_text(constraints_document(prof, suite)),
        "suite.json": suite.to_json(),
        "pandera_schema.yaml": pandera_yaml(suite),
        **({EXTENDED_FILE: json_text(prof.extended)} if prof.extended else {}),
    }


def run(spark: SparkSession, args: argparse.Namespace) -> int:
    execute(spark, Request.from_args(args))
    return 0


def execute(spark: SparkSession, args: Request) -> BaselineResult:
    """The baseline step (dqloop.baseline and the command line): profile, suggest, write the folder when
    `args.output` is set, print the summary."""
    model_reference.check_arguments(args)
    prof, suite, jobs = compute(spark, args)
    with counting_jobs(spark, "dqloop-baseline") as more:   # the model reference (and Deequ's domain sample): jobs too
        files = {**documents(prof, suite), **model_reference.files(spark, args)}
        files.update(domain_drift.baseline_files(spark, args, files, prof))
    jobs += more[0]
    prof = replace(prof, sample=None)   # written to domain_sample.json: the result does not keep the rows
    target = write_folder(args.output, files) if args.output is not None else None
    console.print_baseline(prof, suite, target, jobs, sorted(files))
    return BaselineResult(prof, suite, files, target, jobs)


def main(argv: list[str] | None = None) -> int:
    from jobs.cli import main as cli_main
    return cli_main(["baseline", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
