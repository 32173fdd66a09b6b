"""The domain classifier (constraints.domain): false alarms, power and cost.

    .venv/bin/python bench/domain_study.py study [--null 210] [--shifted 40] [--sizes 1000 5000 100000]
                                                 [--scenarios null flip x3_scale x5_mean segment_x6] [--seed 14]
                                                 [--baselines 4 | --fresh-baseline]
    .venv/bin/python bench/domain_study.py cost [--rows 1000000 3000000]

study: a training distribution of six numeric features (x1, x2 correlated 0.6; x3 lognormal; x4 Poisson
integers; x5, x6 normal) and a 5-valued `segment`. Four baselines each keep a 10,000-row sample (what
`dqloop baseline` keeps by default); partitions of 1,000 / 5,000 / 100,000 rows are drawn fresh from the
training distribution (null) or from a shifted one. The partition's sample is what `dqloop validate` draws:
min(10,000, rows) rows uniformly at random, i.e. (the rows being independent) that many fresh rows, so a
100,000-row partition costs the classifier what a 10,000-row one does. Each partition gets the check with
validate's defaults: 5 folds, 100 trees, alpha = Thresholds().feature_alpha(1) (one check per partition:
its own family; 0.005), minimum effect 2 AUROC - 1 = 0.02. Reported per cell: the alarm rate (with a
95% Clopper-Pearson interval), the rate at which the noise bound's p-value alone is below 0.05 and below
0.005 (how conservative is it?), the rate at which one fold's own exact Mann-Whitney p-value is below 0.05
(is the building block calibrated?; with --folds-detail also every fold's rate, the rate per baseline
sample, and a KS test of the first fold's p-values against uniform), and, beside it, the univariate checks' rate: any feature's
calibrated drift check (constraints.thresholds.ks_threshold on the exact two-sample KS statistic for numeric
features, linf_shares_threshold for the segment) against the full training set's 200,000 rows, at the
family-wise alpha validate uses (Sidak over the 7 features). --fresh-baseline draws a new 10,000-row
baseline sample for every partition instead of cycling over `--baselines` fixed ones. Contributions are not computed in the study
(they do not change the alarm); the cost mode computes them.

Shifts: `flip` (x1, x2 correlation 0.6 -> -0.6, every marginal unchanged), `x3_scale` (x3's log-sd 1 -> 1.1),
`x5_mean` (x5 + 0.1 sd), `segment_x6` (x6 + 0.5 sd within segment "e" only, 10% of rows: a joint change).

cost: one Spark session (local[2]); a partition of N rows written as Parquet by Spark, a baseline sample of
10,000 rows; then validate's step (jobs.domain_drift.attach: the Spark sample of the partition, the
classifier and its SHAP contributions on the driver) timed per size, with the driver's peak RSS.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from constraints.domain import CATEGORICAL, NUMERIC, DomainOptions, classify, domain_check  # noqa: E402
from constraints.thresholds import Thresholds, ks_threshold, linf_shares_threshold  # noqa: E402

PLAN = tuple((f"x{i}", NUMERIC) for i in range(1, 7)) + (("segment", CATEGORICAL),)
SEGMENTS, SHARES = np.array(list("abcde")), np.array([0.35, 0.25, 0.2, 0.1, 0.1])
SHIFTS = ("flip", "x3_scale", "x5_mean", "segment_x6")


def draw(n: int, rng: np.random.Generator, shift: str | None = None) -> pd.DataFrame:
    rho = -0.6 if shift == "flip" else 0.6
    z1, z2 = rng.standard_normal(n), rng.standard_normal(n)
    seg = SEGMENTS[rng.choice(5, n, p=SHARES)]
    x6 = rng.standard_normal(n) + (0.5 * (seg == "e") if shift == "segment_x6" else 0.0)
    return pd.DataFrame({
        "x1": z1, "x2": rho * z1 + math.sqrt(1 - rho * rho) * z2,
        "x3": np.exp(rng.standard_normal(n) * (1.1 if shift == "x3_scale" else 1.0)),
        "x4": rng.poisson(4.0, n).astype(float),
        "x5": rng.standard_normal(n) + (0.1 if shift == "x5_mean" else 0.0),
        "x6": x6, "segment": seg})


def univariate_alarm(train: pd.DataFrame, part: pd.DataFrame, t: Thresholds) -> bool:
    """Any feature's calibrated drift check (validate's thresholds) fires: exact KS for numbers, L-inf of shares."""
    alpha = t.feature_alpha(len(PLAN))
    n, m = len(train), len(part)
    for name, kind in PLAN:
        if kind == NUMERIC:
            d = stats.ks_2samp(train[name], part[name]).statistic
            if d > ks_threshold(n, m, alpha, t).value:
                return True
        else:
            p = train[name].value_counts(normalize=True).reindex(SEGMENTS, fill_value=0.0)
            q = part[name].value_counts(normalize=True).reindex(SEGMENTS, fill_value=0.0)
            if float((p - q).abs().max()) > linf_shares_threshold(list(p), n, m, alpha, t).value:
                return True
    return False


def clopper(k: int, n: int) -> tuple[float, float]:
    lo = stats.beta.ppf(0.025, k, n - k + 1) if k else 0.0
    hi = stats.beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
    return float(lo), float(hi)


def study(args: argparse.Namespace) -> None:
    t, options = Thresholds(), DomainOptions()
    alpha = t.feature_alpha(1)
    rng = np.random.default_rng(args.seed)
    train = draw(200_000, rng)
    baselines = [draw(10_000, rng) for _ in range(args.baselines)]
    print(f"# domain classifier study: {platform.python_version()}, lightgbm, 2 cores; load {os.getloadavg()[0]:.1f}; "
          f"alpha {alpha:g}, min effect {options.min_effect}", flush=True)
    print("| scenario | rows | partitions | alarms | rate [95% CI] | p < 0.05 | p < 0.005 | one fold's p < 0.05 | "
          "mean AUROC | univariate alarms | CPU s per partition |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for scenario in [None if x == "null" else x for x in args.scenarios]:
        count = args.null if scenario is None else args.shifted
        for size in args.sizes:
            alarms = p05 = p005 = fold05 = uni = 0
            aucs, started = [], time.process_time()
            fold_p, first_p, per_base = [], [], {}
            for i in range(count):
                part = draw(size, rng, scenario)
                sample = part if size <= options.partition_rows else part.iloc[:options.partition_rows]
                base = draw(10_000, rng) if args.fresh_baseline else baselines[i % len(baselines)]
                r = classify(base, sample, PLAN, options, explain=False)
                ps = [n.p_value(a) for n, a in zip(r.fold_nulls, r.fold_aurocs)]
                fold_p += ps
                first_p.append(ps[0])
                per_base.setdefault("fresh" if args.fresh_baseline else i % len(baselines), []).append(ps[0] < 0.05)
                check = domain_check(r, alpha, t, options)
                p = r.null.p_value(r.auroc)
                alarms += check.failed
                p05 += p < 0.05
                p005 += p < 0.005
                fold05 += r.fold_nulls[0].p_value(r.fold_aurocs[0]) < 0.05   # one fold alone: the exact null
                aucs.append(r.auroc)
                uni += univariate_alarm(train, part, t)
            lo, hi = clopper(alarms, count)
            cpu = (time.process_time() - started) / count
            print(f"| {scenario or 'null'} | {size:,} | {count} | {alarms} | {alarms / count:.3f} [{lo:.3f}, {hi:.3f}] | "
                  f"{p05 / count:.3f} | {p005 / count:.3f} | {fold05 / count:.3f} | {np.mean(aucs):.4f} | "
                  f"{uni / count:.3f} | {cpu:.2f} |",
                  flush=True)
            if args.folds_detail:
                k, n = sum(p < 0.05 for p in fold_p), len(fold_p)
                lo, hi = clopper(k, n)
                print(f"  every fold: p < 0.05 in {k} of {n} ({k / n:.3f} [{lo:.3f}, {hi:.3f}]); first fold's "
                      f"p-values against uniform: KS p = {stats.kstest(first_p, 'uniform').pvalue:.3f}; first fold "
                      f"p < 0.05 per baseline sample: "
                      + ", ".join(f"{b}: {sum(v)}/{len(v)}" for b, v in per_base.items()), flush=True)
    print(f"load at the end: {os.getloadavg()[0]:.1f}")


def cost(args: argparse.Namespace) -> None:
    import tracemalloc

    from jobs.domain_drift import BaselineSample, attach
    from jobs.domain_drift import draw as spark_draw
    from jobs.session import spark_session
    from jobs.validate import Outcome
    from constraints.validation import ValidationReport

    rng = np.random.default_rng(args.seed)
    base = BaselineSample(PLAN, draw(10_000, rng), 200_000)
    work = Path(args.work)
    with spark_session("domain-cost", "local[2]") as spark:
        from pyspark.sql import functions as F
        print(f"# domain classifier cost: Spark {spark.version}, local[2], 2 cores", flush=True)
        print("| rows | sample draw (s) | classifier + SHAP (s) | its CPU (s) | total (s) | driver peak RSS (MiB) | "
              "Python peak in the step (MiB) | load |")
        print("|---|---|---|---|---|---|---|---|")
        for rows in args.rows:
            path = work / f"part_{rows}"
            if not path.exists():
                r = F.rand
                spark.range(rows, numPartitions=8).select(
                    F.randn(1).alias("x1"), (0.6 * F.randn(1) + 0.8 * F.randn(2)).alias("x2"), F.exp(F.randn(3)).alias("x3"),
                    F.floor(r(4) * 8).cast("double").alias("x4"), F.randn(5).alias("x5"), F.randn(6).alias("x6"),
                    F.element_at(F.array(*[F.lit(s) for s in SEGMENTS]), (F.floor(r(7) * 5) + 1).cast("int")).alias("segment"),
                ).write.mode("overwrite").parquet(str(path))
            df = spark.read.parquet(str(path))
            report = ValidationReport("p", rows, ())
            outcome = Outcome("p", report, data=df)
            for repeat in range(args.repeats):
                tracemalloc.start()
                t0 = time.perf_counter()
                # the two halves, timed apart: the Spark sample, then the driver's classifier
                frame = spark_draw(df, PLAN, rows, 10_000, 42)
                t1, c1 = time.perf_counter(), time.process_time()
                classify(base.frame, frame, PLAN, DomainOptions())
                t2, c2 = time.perf_counter(), time.process_time()
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(f"| {rows:,} | {t1 - t0:.2f} | {t2 - t1:.2f} | {c2 - c1:.2f} | {t2 - t0:.2f} | {rss:.0f} | "
                      f"{peak / 2**20:.0f} | "
                      f"{os.getloadavg()[0]:.1f} |", flush=True)
            t0 = time.perf_counter()
            done = attach(base, outcome, DomainOptions())
            print(f"attach() end to end at {rows:,} rows: {time.perf_counter() - t0:.2f} s, "
                  f"AUROC {done.report.results[-1].measured:.4f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("study")
    s.add_argument("--null", type=int, default=210)
    s.add_argument("--shifted", type=int, default=40)
    s.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 100_000])
    s.add_argument("--scenarios", nargs="+", default=["null", *SHIFTS], choices=["null", *SHIFTS])
    s.add_argument("--seed", type=int, default=14)
    s.add_argument("--baselines", type=int, default=4, help="fixed baseline samples the partitions cycle over")
    s.add_argument("--fresh-baseline", action="store_true", help="a new baseline sample for every partition")
    s.add_argument("--folds-detail", action="store_true", help="every fold's rate, per baseline, KS of p-values")
    c = sub.add_parser("cost")
    c.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 3_000_000])
    c.add_argument("--repeats", type=int, default=2)
    c.add_argument("--work", default="/tmp/dqloop_domain_cost")
    c.add_argument("--seed", type=int, default=14)
    args = ap.parse_args()
    study(args) if args.mode == "study" else cost(args)


if __name__ == "__main__":
    main()
