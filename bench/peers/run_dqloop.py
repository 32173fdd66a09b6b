"""Runner for the tools of the project's own venv: the floor, dqloop baseline and validate, plain PyDeequ.

    .venv/bin/python bench/peers/run_dqloop.py --only TOOL --data D --warmup W --out R.json [--train T] [--baseline B]

TOOL is one of:
  make-baseline    dqloop baseline of --train written to --baseline (set-up for validate and the peers; timed too)
  floor            the floor alone
  baseline         jobs.baseline.compute on --data (CLI defaults, --predictions score,predicted_label)
  validate         constraints.validation.validate of --data as one partition against --baseline
  pydeequ-profile  ColumnProfilerRunner(spark).onData(df).run()
  pydeequ-suggest  ConstraintSuggestionRunner(spark).onData(df).addConstraintRule(DEFAULT()).run()
  pydeequ-verify   VerificationSuite with the checks ConstraintSuggestionRunner suggested on --train
                   (suggested untimed during set-up; their Scala code translated to PyDeequ calls)
Each runs once untimed on --warmup first; then the floor and the tool are timed on --data, in this order.
"""

from __future__ import annotations

import logging
import re
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, Timer, arguments, timed_floor, versions, write  # noqa: E402

sys.path.insert(0, str(REPO))
from constraints.deequ import ensure_callback_server, pydeequ_module, shutdown_callback_server  # noqa: E402
from jobs import baseline as baseline_job, validate as validate_job  # noqa: E402
from jobs.io import write_folder  # noqa: E402
from jobs.session import build_session  # noqa: E402


class PassLog(logging.Handler):
    """What validate's pass sent to the driver (constraints.scan logs it at debug level): partitions, bytes."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.last: dict = {}
        scan_log = logging.getLogger("dqloop.scan")
        scan_log.setLevel(logging.DEBUG)
        scan_log.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.last = {"pass_partitions": record.args[1], "to_driver_bytes": record.args[2]}


def baseline_args(path: str, out: str = "unused"):
    from jobs.baseline import Request

    return Request(input=path, output=out, predictions=("score", "predicted_label"))


def suggested_checks(spark, suggestions: dict) -> tuple[object, list[str], list[str]]:
    """One PyDeequ Check holding every suggestion whose Scala code translates; (check, added, failed)."""
    checks = pydeequ_module("checks")
    ensure_callback_server(spark)
    check = checks.Check(spark, checks.CheckLevel.Warning, "suggested")
    added, failed = [], []
    for s in suggestions["constraint_suggestions"]:
        code = s["code_for_constraint"]
        py = re.sub(r"Array\(([^)]*)\)", r"[\1]", code)
        py = re.sub(r"_ >= ([0-9.eE+-]+)", r"lambda x: x >= \1", py)
        py = py.replace("Some(", "(")
        try:
            check = eval("check" + py, {"check": check, "ConstrainableDataTypes": checks.ConstrainableDataTypes})
            added.append(code)
        except Exception as exc:  # noqa: BLE001 - recorded, not hidden
            failed.append(f"{code}: {exc}")
    return check, added, failed


def main() -> None:
    args = arguments()
    spark = build_session("bench-" + args.only, "local[2]")
    detail: dict = {}
    try:
        read = lambda p: spark.read.parquet(p)  # noqa: E731
        if args.only == "make-baseline":
            def work(path, out=args.baseline):
                prof, suite, _ = baseline_job.compute(spark, baseline_args(path, out))
                write_folder(out, baseline_job.documents(prof, suite))
                return {"constraints": len(suite.constraints)}
            data = args.train
        elif args.only == "floor":
            work, data = (lambda path: None), args.data
        elif args.only == "baseline":
            def work(path):
                prof, suite, jobs = baseline_job.compute(spark, baseline_args(path))
                return {"rows": prof.rows, "constraints": len(suite.constraints)}
            data = args.data
        elif args.only == "validate":
            from constraints.validation import validate
            base = validate_job.read_baseline(args.baseline)

            passes = PassLog()

            def work(path):
                report = validate(spark, read(path), base, "p")
                return {"rows": report.rows, "checks": len(report.results), "violations": len(report.violations),
                        "failed": sorted({f"{r.check}:{r.feature}" for r in report.violations}), **passes.last,
                        "python_peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
            data = args.data
        elif args.only == "pydeequ-profile":
            profiles = pydeequ_module("profiles")

            def work(path):
                result = profiles.ColumnProfilerRunner(spark).onData(read(path)).run()
                return {"columns": len(result.profiles)}
            data = args.data
        elif args.only == "pydeequ-suggest":
            suggestions = pydeequ_module("suggestions")

            def work(path):
                result = suggestions.ConstraintSuggestionRunner(spark).onData(read(path)) \
                    .addConstraintRule(suggestions.DEFAULT()).run()
                return {"suggestions": len(result["constraint_suggestions"])}
            data = args.data
        elif args.only == "pydeequ-verify":
            suggestions, verification = pydeequ_module("suggestions"), pydeequ_module("verification")
            suggested = suggestions.ConstraintSuggestionRunner(spark).onData(read(args.train)) \
                .addConstraintRule(suggestions.DEFAULT()).run()

            def work(path):
                check, added, failed = suggested_checks(spark, suggested)
                result = verification.VerificationSuite(spark).onData(read(path)).addCheck(check).run()
                rows = verification.VerificationResult.checkResultsAsJson(spark, result)
                return {"checks": len(added), "untranslated": failed,
                        "failed": [r["constraint"] for r in rows if r["constraint_status"] != "Success"]}
            data = args.data
        else:
            raise SystemExit(f"unknown --only {args.only}")
        work(args.warmup)  # untimed warm-up
        timed_floor(spark, args.warmup)
        runs = [{"name": "floor", **timed_floor(spark, data)}]
        if args.only != "floor":
            with Timer(spark) as t:
                detail = work(data) or {}
            runs.append({"name": args.only, **t.result, "detail": detail})
    finally:
        shutdown_callback_server(spark)
        spark.stop()
    write(args.out, runs, versions("dqloop", "pyspark", "pydeequ", "pandas", "pyarrow"))


if __name__ == "__main__":
    main()
