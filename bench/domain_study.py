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

cost: one Spark session (local[2]); a baseline of 200,000 rows (`dqloop baseline`'s job, untimed) and a
partition of N rows, written as Parquet by Spark; then validate's step per partition with and without the
classifier, alternating: the pass (its row sample carries the classifier's features only with it:
constraints.rowsample) and jobs.domain_drift.attach (the classifier and its SHAP contributions on the
driver); CPU seconds of the process tree (driver, JVM, Python workers), the driver's peak RSS.
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
sys.path.insert(0, str(REPO / "bench"))

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


def through_lane(rows: pd.DataFrame, k: int, keep: int, salt: int, task_rows: int = 40_000) -> pd.DataFrame:
    """The first `keep` rows of the pass's row sample (constraints.rowsample, k rows) of `rows`: Arrow
    batches of 10,000 rows folded by tasks of `task_rows` rows as Spark's workers fold them, merged."""
    import pyarrow as pa

    from constraints.rowsample import RowSample, frame
    from constraints.tally import merge_partitions, tally_partition

    lane = RowSample(tuple(n for n, kind in PLAN if kind == NUMERIC), ("segment",), k, salt=salt,
                     features=tuple(n for n, _ in PLAN))
    table = pa.Table.from_pandas(rows[[n for n, _ in PLAN]], preserve_index=False)
    tasks = []
    for lo in range(0, len(rows), task_rows):
        (row,) = tally_partition(iter(table.slice(lo, task_rows).to_batches(10_000)), {"s": lane})
        tasks.append((row.column("rows")[0].as_py(), row.column("tallies")[0].as_py()))
    _, merged = merge_partitions(tasks, {"s": lane})
    return frame(merged["s"], lane, keep)


def study(args: argparse.Namespace) -> None:
    t, options = Thresholds(), DomainOptions()
    alpha = t.feature_alpha(1)
    rng = np.random.default_rng(args.seed)
    train = draw(200_000, rng)
    if args.lane:   # the baselines' samples as `dqloop baseline` keeps them: its pass's 16,384, the first 10,000
        baselines = [through_lane(draw(200_000, rng), 16_384, 10_000, 1 + i) for i in range(args.baselines)]
    else:
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
                if args.lane:   # the partition's sample as validate's pass keeps it
                    sample = through_lane(part, options.partition_rows, options.partition_rows, 100 + i)
                else:
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


def _tree_cpu() -> float:
    """CPU seconds of this process and its descendants alive now (the JVM, Spark's Python workers)."""
    from peers_bench import _rss_and_cpu, _tree

    return sum(got[1] for p in _tree(os.getpid()) if (got := _rss_and_cpu(p)))


def cost(args: argparse.Namespace) -> None:
    """validate's step per partition with and without the classifier, alternating, in one session: the
    pass (whose row sample carries the classifier's features only with it) and jobs.domain_drift.attach
    (the classifier and SHAP on the driver); CPU seconds of the process tree, the driver's peak RSS."""
    import tracemalloc

    from constraints.rowsample import RowSample, task_bytes
    from jobs import baseline as baseline_job
    from jobs import domain_drift
    from jobs.cli import parser
    from jobs.session import spark_session
    from jobs.validate import read_baseline, validate_one

    work = Path(args.work)

    def write(spark, rows: int, path: Path, seed: int) -> None:
        from pyspark.sql import functions as F
        if path.exists():
            return
        r = F.rand
        spark.range(rows, numPartitions=8).select(
            F.randn(seed).alias("x1"), (0.6 * F.randn(seed) + 0.8 * F.randn(seed + 1)).alias("x2"),
            F.exp(F.randn(seed + 2)).alias("x3"), F.floor(r(seed + 3) * 8).cast("double").alias("x4"),
            F.randn(seed + 4).alias("x5"), F.randn(seed + 5).alias("x6"),
            F.element_at(F.array(*[F.lit(s) for s in SEGMENTS]), (F.floor(r(seed + 6) * 5) + 1).cast("int")).alias("segment"),
        ).write.mode("overwrite").parquet(str(path))

    with spark_session("domain-cost", "local[2]") as spark:
        write(spark, 200_000, work / "train", 1)
        if not (work / "base" / "domain_sample.json").exists():
            baseline_job.execute(spark, baseline_job.Request.from_args(parser().parse_args(
                ["baseline", "--input", str(work / "train"), "--output", str(work / "base")])))
        base = read_baseline(str(work / "base"))
        sample = domain_drift.load_sample(str(work / "base"))
        on, off = domain_drift.DomainOptions(), domain_drift.DomainOptions(enabled=False)
        request = domain_drift.sample_request(sample, on)
        lane = RowSample(("v",) * len(request.numeric), ("k",) * len(request.categorical), request.rows)
        print(f"# domain classifier cost: Spark {spark.version}, local[2], {os.cpu_count()} cores; the sample lane "
              f"holds at most {task_bytes(lane) / 2**20:.1f} MiB per task for these {len(sample.plan)} features "
              f"({request.rows:,} rows)", flush=True)
        print("| rows | pass CPU s without | pass CPU s with | classifier + SHAP CPU s | added CPU s | "
              "added wall s | driver peak RSS MiB | Python peak in attach MiB | load |")
        print("|---|---|---|---|---|---|---|---|---|")
        for rows in args.rows:
            path = work / f"part_{rows}"
            write(spark, rows, path, 11)
            validate_one(spark, base, str(path), "p", "parquet")   # warm: imports, file listing, JIT
            for repeat in range(args.repeats):
                got = {}
                for with_it in ((False, True) if repeat % 2 == 0 else (True, False)):
                    c0, t0 = _tree_cpu(), time.perf_counter()
                    o = validate_one(spark, base, str(path), "p", "parquet", sample=request if with_it else None)
                    c1 = _tree_cpu()
                    tracemalloc.start()
                    o = domain_drift.attach(sample, o, on if with_it else off)
                    _, peak = tracemalloc.get_traced_memory()
                    tracemalloc.stop()
                    c2, t2 = _tree_cpu(), time.perf_counter()
                    got[with_it] = (c1 - c0, c2 - c1, t2 - t0, peak)
                    if with_it:
                        assert o.report.results[-1].check == "domain_classifier_check", o.report.results[-1]
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                added_cpu = sum(got[True][:2]) - sum(got[False][:2])
                print(f"| {rows:,} | {got[False][0]:.2f} | {got[True][0]:.2f} | {got[True][1]:.2f} | {added_cpu:.2f} | "
                      f"{got[True][2] - got[False][2]:.2f} | {rss:.0f} | {got[True][3] / 2**20:.0f} | "
                      f"{os.getloadavg()[0]:.1f} |", flush=True)


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
    s.add_argument("--lane", action="store_true",
                   help="draw both samples through the pass's row-sample lane (constraints.rowsample)")
    c = sub.add_parser("cost")
    c.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 3_000_000])
    c.add_argument("--repeats", type=int, default=2)
    c.add_argument("--work", default="/tmp/dqloop_domain_cost")
    c.add_argument("--seed", type=int, default=14)
    args = ap.parse_args()
    study(args) if args.mode == "study" else cost(args)


if __name__ == "__main__":
    main()
