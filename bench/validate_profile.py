"""Where dqloop validate's time goes, and what a within-2x-the-floor validate could cost.

    .venv/bin/python bench/validate_profile.py [--rows 1000000] [--baseline bench/_out/peers/baseline-columns=20]

In ONE warm local[2] session, on the 20-column table of baseline_bench.py (bench/_data/rows=N/), against
the baseline bench/peers_bench.py makes (a 200,000-row training table; made here if missing):

1. validate as it is (constraints.validation.validate), split by Spark SQL execution (Spark's own SQL
   status store: the description, duration and aggregate functions of each execution); the rest is
   driver-side (Python, Py4J, planning outside executions). Also at --small rows, for the fixed cost.
2. its pieces alone, each a separate run on the same projection: the Deequ analyzers validate asks for
   (without KLL and ApproxCountDistinct), ApproxCountDistinct alone, KLLSketch alone, the suite's Deequ
   checks alone, Size alone (Deequ's fixed cost), the grouping pass alone, and the pure checks (Python:
   SageMaker's checks and the suite's results from the measured profile; the suite outcomes of Deequ's
   run are taken as not evaluated, which costs the same).
3. candidates for a faster validate, measured, not assumed:
   - plain-agg: one Spark aggregation with what validate's checks and statistics.json need from the
     fused pass (count, sum, sum of squares, min, max per numeric column; non-finite count; min/max length;
     the suite's range/domain/length/sign rules as count_if), without and with approx_count_distinct;
   - grouping + buckets: the grouping pass with each numeric column's values replaced by their bucket on
     a grid of baseline quantiles (Bucketizer, --grid edges), i.e. numeric drift from counts on the
     baseline's grid instead of a KLL pass.
The tables are printed and replace the section of bench/RESULTS.md this script owns (measured figures
only; the plan drawn from them is hand-written in the section after it).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "bench" / "peers"))

import run_dqloop  # noqa: E402,F401  (applies its py4j/GC work-around to profile._from_jvm)

import numpy as np  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from baseline_bench import environment, floor, jvm_cpu, table_path, write_section  # noqa: E402
from constraints.categories import count_categories  # noqa: E402
from constraints.checks import feature_checks, suite_checks  # noqa: E402
from constraints.columns import FRACTIONAL, projection  # noqa: E402
from constraints.deequ import pydeequ_module, shutdown_callback_server  # noqa: E402
from constraints.distance import Sketch  # noqa: E402
from constraints.profile import KllParameters  # noqa: E402
from constraints.scan import offending  # noqa: E402
from constraints.validation import _columns, validate  # noqa: E402
from constraints.verification import plan_checks  # noqa: E402
from jobs import validate as validate_job  # noqa: E402
from jobs.session import build_session, counting_jobs  # noqa: E402

SECTION = "## validate: where the time goes, measured (bench/validate_profile.py)"


def executions(spark) -> list[dict]:
    """Spark SQL executions so far: id, description, seconds, number of aggregate functions in the plan."""
    store = spark._jsparkSession.sharedState().statusStore()
    seq = store.executionsList()
    out = []
    for i in range(seq.size()):
        e = seq.apply(i)
        done = e.completionTime()
        if done.isEmpty():
            continue
        plan = e.physicalPlanDescription() or ""
        physical = plan.split("== Physical Plan ==")[-1]
        first_agg = next((line for line in physical.splitlines() if "HashAggregate" in line
                          or "ObjectHashAggregate" in line or "SortAggregate" in line), "")
        out.append({"id": e.executionId(), "desc": (e.description() or "").splitlines()[0][:80],
                    "s": (done.get().getTime() - e.submissionTime()) / 1000.0,
                    "aggs": len(re.findall(r"\b(?:partial_)?[a-z_]+\(", first_agg.split("functions=[", 1)[-1]))
                    if "functions=[" in first_agg else 0,
                    "shape": _shape(physical)})
    return out


def _shape(physical: str) -> str:
    ops = re.findall(r"\((\d+)\) (\w+)", physical)
    names = [name for _, name in ops] if ops else re.findall(r"[+:-]*\s*(\w+)\s", physical)[:8]
    return " > ".join(dict.fromkeys(names))[:120]


def timed(spark, fn, label: str, reps: int = 1) -> dict:
    """Median wall and JVM CPU over `reps` runs, Spark jobs of the last, the executions it ran."""
    walls, cpus = [], []
    for _ in range(reps):
        before = {e["id"] for e in executions(spark)}
        c0, t0 = jvm_cpu(spark), time.perf_counter()
        with counting_jobs(spark, "profile") as jobs:
            try:
                value = fn()
            except Exception as exc:  # noqa: BLE001 - a failed piece is reported, the others still run
                value, label = None, f"{label} **failed**: {str(exc).splitlines()[0][:200]}"
        walls.append(time.perf_counter() - t0)
        cpus.append(jvm_cpu(spark) - c0)
    execs = [e for e in executions(spark) if e["id"] not in before]
    r = {"label": label, "wall": statistics.median(walls), "cpu": statistics.median(cpus), "jobs": jobs[0],
         "execs": execs, "value": value, "walls": walls}
    print(f"{label}: {r['wall']:.2f}s (CPU {r['cpu']:.1f}s), {r['jobs']} jobs, executions "
          + ", ".join(f"{e['s']:.2f}s/{e['aggs']}aggs" for e in execs), flush=True)
    return r


def deequ_pieces(spark, data, columns, kll: KllParameters):
    """Analyzer groups as validate plans them (deequ_profile._run_analyzers with splits=False)."""
    a = pydeequ_module("analyzers")
    plain, acd, klls = [a.Size()], [], []
    params = a.KLLParameters(spark, kll.sketch_size, kll.shrinking_factor, kll.buckets)
    for c in columns:
        col = c.alias
        plain.append(a.Completeness(col))
        if c.is_numeric:
            plain += [a.Mean(col), a.Sum(col), a.StandardDeviation(col), a.Minimum(col), a.Maximum(col)]
            klls.append(a.KLLSketch(col, params))
        else:
            plain += [a.MinLength(col), a.MaxLength(col)]
        if c.inferred_type != FRACTIONAL:
            acd.append(a.ApproxCountDistinct(col))
        else:
            plain.append(a.Compliance(c.nonfinite_alias, f"`{c.nonfinite_alias}`"))
    return plain, acd, klls


def run_analyzers(spark, data, analyzers):
    a = pydeequ_module("analyzers")
    runner = a.AnalysisRunner(spark).onData(data)
    for x in analyzers:
        runner.addAnalyzer(x)
    return runner.run()


def run_checks(spark, data, checks):
    v = pydeequ_module("verification")
    builder = v.VerificationSuite(spark).onData(data)
    for check in checks.values():
        builder = builder.addCheck(check)
    return builder.run()


def plain_agg(data, columns, suite, with_distinct: bool):
    """What validate needs from its fused pass, as one plain Spark aggregation."""
    aggs = [F.count(F.lit(1))]
    by_alias = {c.name: c for c in columns}
    for c in columns:
        x = F.col(c.alias)
        aggs.append(F.count(x))
        if c.is_numeric:
            aggs += [F.sum(x), F.sum(x * x), F.min(x), F.max(x)]
            if c.inferred_type == FRACTIONAL:
                aggs.append(F.count_if(F.col(c.nonfinite_alias)))
        else:
            aggs += [F.min(F.length(x)), F.max(F.length(x))]
        if with_distinct and c.inferred_type != FRACTIONAL:
            aggs.append(F.approx_count_distinct(x))
    for s in suite.constraints:
        c, col = s.constraint, by_alias.get(s.constraint.column)
        if col is None:
            continue
        where = offending(c, col)   # the kind's row-level test (constraints.backends.PASS)
        if where is not None:
            aggs.append(F.count_if(where))
    return data.agg(*aggs).collect(), len(aggs)


def grouping_with_buckets(spark, data, categorical, unique, numeric, base, grid: int):
    """The grouping pass, plus every numeric column as its bucket on `grid` baseline quantiles."""
    from pyspark.ml.feature import Bucketizer

    splits, outs = [], []
    for c in numeric:
        sk = Sketch.from_levels(base.feature(c.name).kll_levels)
        qs = np.unique(np.interp(np.linspace(0, 1, grid + 1)[1:-1], sk.cumulative / sk.n, sk.values))
        splits.append([-float("inf"), *map(float, qs), float("inf")])
        outs.append(f"{c.alias}__bucket")
    bucketed = Bucketizer(splitsArray=splits, inputCols=[c.alias for c in numeric], outputCols=outs,
                          handleInvalid="keep").transform(data.select("*", *[F.col(c.alias).cast("double").alias(
                              f"{c.alias}__d") for c in numeric]).drop(*[c.alias for c in numeric])
                                                          .withColumnsRenamed({f"{c.alias}__d": c.alias
                                                                               for c in numeric}))
    from dataclasses import replace
    as_cat = [replace(c, alias=o) for c, o in zip(numeric, outs)]
    return count_categories(bucketed, list(categorical) + as_cat, list(unique))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--small", type=int, default=20_000)
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--grid", type=int, default=100, help="baseline quantile buckets per numeric column")
    p.add_argument("--baseline", type=Path, default=REPO / "bench" / "_out" / "peers" / "baseline-columns=20")
    p.add_argument("--data-dir", type=Path, default=REPO / "bench" / "_data")
    args = p.parse_args()
    start = time.perf_counter()
    started = datetime.now(timezone.utc)
    env = environment()
    if not (args.baseline / "suite.json").exists():
        subprocess.run([sys.executable, str(REPO / "bench" / "peers" / "run_dqloop.py"), "--only", "make-baseline",
                        "--data", "-", "--warmup", str(table_path(args.data_dir, 20_000)),
                        "--train", str(table_path(args.data_dir, 200_000)), "--baseline", str(args.baseline),
                        "--out", str(REPO / "bench" / "_out" / "make-baseline.json")], check=True)
    base = validate_job.read_baseline(str(args.baseline))
    spark = build_session("bench-validate-profile", "local[2]")
    results = []
    try:
        path, small = table_path(args.data_dir, args.rows), table_path(args.data_dir, args.small)
        df = spark.read.parquet(str(path))
        columns, _ = _columns(base, df.schema)
        data = projection(df, columns)
        plan = plan_checks(spark, base.suite, {f.name: f.dataType.simpleString() for f in df.schema.fields},
                           {c.name: c for c in columns})
        categorical = [c for c in columns if c.name in {f.name for f in base.features if not f.is_numeric
                                                        and (f.categories or f.domains)}]
        unique = [c for c in columns if c.name in plan.unique_columns and c not in categorical]
        numeric = [c for c in columns if c.is_numeric and c.name not in plan.unique_columns]
        plain, acd, klls = deequ_pieces(spark, data, columns, KllParameters())

        # warm-up: every piece once on the small table
        validate(spark, spark.read.parquet(str(small)), base, "warm")
        floor(spark, small)

        results.append(timed(spark, lambda: floor(spark, path), "floor", args.reps))
        v = timed(spark, lambda: validate(spark, spark.read.parquet(str(path)), base, "p"), "validate", args.reps)
        results.append(v)
        vs = timed(spark, lambda: validate(spark, spark.read.parquet(str(small)), base, "p"),
                   f"validate at {args.small:,} rows", args.reps)
        results.append(vs)
        results.append(timed(spark, lambda: floor(spark, small), f"floor at {args.small:,} rows", args.reps))
        results.append(timed(spark, lambda: run_analyzers(spark, data, [plain[0]]), "Deequ Size alone"))
        results.append(timed(spark, lambda: run_analyzers(spark, data, plain),
                             f"Deequ plain analyzers ({len(plain)}: Size, Completeness, Mean, Sum, StdDev, Min, Max, "
                             "Min/MaxLength, non-finite Compliance)"))
        results.append(timed(spark, lambda: run_analyzers(spark, data, acd),
                             f"Deequ ApproxCountDistinct alone ({len(acd)})"))
        results.append(timed(spark, lambda: run_analyzers(spark, data, klls), f"Deequ KLLSketch alone ({len(klls)})"))
        results.append(timed(spark, lambda: run_checks(spark, data, plan.checks),
                             f"Deequ suite checks alone ({len(plan.checks)} checks)"))
        report = v["value"]
        prof = report.profile
        outcomes = {}  # suite outcomes of the Deequ run are inside validate; the pure suite checks need them
        results.append(timed(spark, lambda: count_categories(data, categorical, unique),
                             f"grouping pass alone ({len(categorical)} categorical + {len(unique)} unique columns)"))

        def pure():
            out = feature_checks(base, prof, plan.unique_columns)
            return out + suite_checks(plan.results(outcomes, prof))
        results.append(timed(spark, pure, "pure checks (Python: drift on sketches, categories, suite)"))
        n0 = plain_agg(data, columns, base.suite, False)[1]
        results.append(timed(spark, lambda: plain_agg(data, columns, base.suite, False),
                             f"candidate: plain Spark aggregation of what validate needs ({n0} aggregates)"))
        results.append(timed(spark, lambda: plain_agg(data, columns, base.suite, True),
                             "candidate: the same + approx_count_distinct of the non-fractional columns"))
        results.append(timed(spark, lambda: grouping_with_buckets(spark, data, categorical, unique, numeric, base,
                                                                  args.grid),
                             f"candidate: grouping pass + {len(numeric)} numeric columns bucketed on {args.grid} "
                             "baseline quantiles"))
    finally:
        shutdown_callback_server(spark)
        spark.stop()

    fl = results[0]
    lines = ["| piece | wall s | JVM CPU s | Spark jobs | / floor (wall) | SQL executions: s (aggregate functions) |",
             "|---|---:|---:|---:|---:|---|"]
    for r in results:
        ex = "; ".join(f"{e['s']:.2f} ({e['aggs']})" for e in r["execs"] if e["s"] >= 0.05)
        lines.append(f"| {r['label']} | {r['wall']:.2f} | {r['cpu']:.1f} | {r['jobs']} | {r['wall'] / fl['wall']:.1f} "
                     f"| {ex} |")
    split = ["", f"validate at {args.rows:,} rows, by SQL execution (last repetition; the rest of the wall time is outside SQL executions: Deequ's KLL pass, an RDD job, and the driver):",
             "", "| execution | s | aggregate functions in its first aggregation | plan |", "|---|---:|---:|---|"]
    for r in (v, vs):
        for e in r["execs"]:
            split.append(f"| {r['label']}: {e['desc']} | {e['s']:.2f} | {e['aggs']} | {e['shape']} |")
        split.append(f"| {r['label']}: outside SQL executions: Deequ KLL pass (an RDD job) + driver (wall {r['walls'][-1]:.2f} s - executions) "
                     f"| {r['walls'][-1] - sum(e['s'] for e in r['execs']):.2f} | | |")
    cmd = "`.venv/bin/python bench/validate_profile.py " + " ".join(sys.argv[1:]) + "`"
    section = "\n".join([SECTION, "", f"Command: {cmd}  ",
                         f"Date: {started:%Y-%m-%d %H:%M} UTC; whole run {(time.perf_counter() - start) / 60:.1f} min; "
                         f"{args.rows:,} rows x 20 columns, baseline `{args.baseline.relative_to(REPO)}`; "
                         f"medians of {args.reps} for floor and validate, single runs for the pieces", "", *env, "",
                         *lines, *split, ""])
    print("\n" + section)
    write_section(REPO / "bench" / "RESULTS.md", section)


if __name__ == "__main__":
    main()
