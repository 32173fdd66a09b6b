"""The `dqloop` command.

Exit status: 0 success; 1 violations found (validate), roll back (canary), an effect with --fail-on-effect
(impact); 2 usage error (bad arguments, missing input path, invalid baseline); 3 runtime error (unreadable or
empty data, missing set-up, Spark failure).
Messages go to stderr and name the fix.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from constraints.errors import EXIT_RUNTIME, DqloopError


SPARK_COMMANDS = ("baseline", "validate")


def _global_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--verbose", action="store_true", help="log dqloop's progress at INFO level")
    p.add_argument("--master", help="Spark master URL (default: spark.master in spark-conf/spark-defaults.conf)")
    p.add_argument("--kinds", action="append", default=[], metavar="MODULE",
                   help="import MODULE (a dotted name on PYTHONPATH) before the command, to make the constraint "
                        "kinds it declares known (docs/constraints.md); repeatable; also DQLOOP_KINDS=MOD1,MOD2")


def parser() -> argparse.ArgumentParser:
    from jobs import baseline, canary, impact, label, report, sample_data, validate

    p = argparse.ArgumentParser(prog="dqloop", description="Data-quality monitor for ML models: baseline, validate, label.")
    _global_options(p)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module, summary in (
            ("baseline", baseline, "infer statistics and a constraint suite from training data"),
            ("validate", validate, "check production partitions against a baseline"),
            ("report", report, "write an index over all validated partitions, from the metrics history"),
            ("label", label, "label a sample of predictions in Label Studio; model quality from the labels"),
            ("canary", canary, "is the candidate model worse? promote / keep watching / roll back (exit 1)"),
            ("impact", impact, "did a change move a metric? CausalImpact on the metrics history or a series"),
            ("sample-data", sample_data, "generate the sample data set (training data and production partitions)")):
        module.add_arguments(sub.add_parser(name, help=summary, description=module.__doc__,
                                            formatter_class=argparse.RawDescriptionHelpFormatter))
    return p


def _launch_spark(argv: list[str]):
    """The session of a Spark command, started before the job modules import (jobs.session.launch);
    None for other commands, for --help, or when the command line is not understood here (the full
    parser says why)."""
    if "-h" in argv or "--help" in argv:
        return None
    early = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    _global_options(early)
    early.add_argument("command", nargs="?")
    try:
        known, _ = early.parse_known_args(argv)
    except (argparse.ArgumentError, SystemExit):
        return None
    if known.command not in SPARK_COMMANDS:
        return None
    from jobs.session import launch
    return launch(f"dqloop-{known.command}", known.master)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    launched = _launch_spark(argv)
    args = parser().parse_args(argv)  # argparse exits with 2 on usage errors
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("py4j").setLevel(logging.ERROR)
    try:
        load_kinds(args.kinds + [m for m in os.environ.get("DQLOOP_KINDS", "").split(",") if m.strip()])
        if args.command in ("sample-data", "report", "label", "canary", "impact"):  # no Spark
            from jobs import canary, impact, label, report, sample_data
            return {"sample-data": sample_data, "report": report, "label": label, "canary": canary,
                    "impact": impact}[args.command].run(args)
        from jobs import baseline, validate
        from jobs.session import spark_session
        job = {"baseline": baseline, "validate": validate}[args.command]
        if job is validate:
            validate.preload(args)   # the domain classifier's imports, beside the JVM's start
        with spark_session(f"dqloop-{args.command}", args.master, launched) as spark:
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


def load_kinds(modules: list[str]) -> None:
    """Import the user's constraint-kind modules (each registers its kinds and backends on import)."""
    import importlib

    from constraints.errors import UsageError

    for name in dict.fromkeys(m.strip() for m in modules):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            raise UsageError(f"--kinds {name}: no module {exc.name!r} found (sys.path starts with "
                             f"{sys.path[:3]}).",
                             "put the module's folder on PYTHONPATH, or give its dotted name, e.g. "
                             "--kinds mypackage.kinds") from exc
        except Exception as exc:
            raise UsageError(f"--kinds {name}: importing it failed: {type(exc).__name__}: {exc}",
                             "fix the module (run `python -c 'import " + name + "'` to see the trace)") from exc


if __name__ == "__main__":
    sys.exit(main())
