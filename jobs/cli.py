"""The `dqloop` command.

Exit status: 0 success; 1 violations found (validate); 2 usage error (bad arguments, missing input
path, invalid baseline); 3 runtime error (unreadable or empty data, missing set-up, Spark failure).
Messages go to stderr and name the fix.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from constraints.errors import DqloopError

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE, EXIT_RUNTIME = 0, 1, 2, 3  # DqloopError.exit_code uses 2 and 3


def parser() -> argparse.ArgumentParser:
    from jobs import baseline, label, report, sample_data, validate

    p = argparse.ArgumentParser(prog="dqloop", description="Data-quality monitor for ML models: baseline, validate, label.")
    p.add_argument("-v", "--verbose", action="store_true", help="log dqloop's progress at INFO level")
    p.add_argument("--master", help="Spark master URL (default: spark.master in spark-conf/spark-defaults.conf)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    b = sub.add_parser("baseline", help="infer statistics and a constraint suite from training data",
                       description=baseline.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    baseline.add_arguments(b)
    v = sub.add_parser("validate", help="check production partitions against a baseline",
                       description=validate.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    validate.add_arguments(v)
    s = sub.add_parser("sample-data", help="generate the sample data set (training data and production partitions)",
                       description=sample_data.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sample_data.add_arguments(s)
    r = sub.add_parser("report", help="write an index over all validated partitions, from the metrics history",
                       description=report.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    report.add_arguments(r)
    lab = sub.add_parser("label", help="label a sample of predictions in Label Studio; model quality from the labels",
                         description=label.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    label.add_arguments(lab)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)  # argparse exits with 2 on usage errors
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("py4j").setLevel(logging.ERROR)
    try:
        if args.command == "sample-data":
            from jobs import sample_data
            return sample_data.run(args)
        if args.command == "report":  # no Spark: the history is small JSON files
            from jobs import report
            return report.run(args)
        if args.command == "label":
            from jobs import label
            return label.run(args)
        from jobs import baseline, validate
        from jobs.session import spark_session
        job = {"baseline": baseline, "validate": validate}[args.command]
        with spark_session(f"dqloop-{args.command}", args.master) as spark:
            return job.run(spark, args)
    except DqloopError as exc:
        print(f"dqloop {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"dqloop {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a Spark or JVM failure: one line, not a Py4J dump
        if os.environ.get("DQLOOP_DEBUG"):
            raise
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        print(f"dqloop {args.command}: error: {type(exc).__name__}: {first}\n  fix: rerun with DQLOOP_DEBUG=1 for the "
              f"full trace", file=sys.stderr)
        return EXIT_RUNTIME


if __name__ == "__main__":
    sys.exit(main())
