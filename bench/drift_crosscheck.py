"""Cross-check of bench/drift_study.py through the real Spark/Deequ validate path.

    .venv/bin/python bench/drift_crosscheck.py [--sizes 5000 50000] [--shifts 0 0.04] [--seeds 4]

A 50,000-row baseline (columns: normal, poisson, score, categorical, generated as in drift_study.py
but as raw values, not on a grid) is built by the baseline job; then one partitioned table with a
partition per (size, shift, seed) is validated by the validate job (calibrated thresholds, history
off). For each numeric feature and partition it prints the distance Deequ measured on the KLL sketches
against the exact two-sample KS statistic of the raw values (scipy), the calibrated threshold the job
used against the one drift_study.py uses for that size, and whether the decision of the job equals
the decision the study's rule takes on the exact statistic.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize, stats

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from drift_study import BASELINE, KLL_LEVELS, SHARES, categorical_shares  # noqa: E402

from constraints.deequ import shutdown_callback_server  # noqa: E402
from constraints.thresholds import Thresholds, ks_threshold, sketch_rank_error  # noqa: E402
import dqloop  # noqa: E402
from jobs.session import build_session  # noqa: E402

CATS = ["a", "b", "c", "d", "e"]


def frame(rows: int, d: float, rng: np.random.Generator) -> pd.DataFrame:
    shift = 2 * stats.norm.ppf((1 + d) / 2)
    k = np.arange(0, 121)
    lam = 30.0 if d == 0 else optimize.brentq(
        lambda lam: np.max(np.abs(stats.poisson.cdf(k, 30) - stats.poisson.cdf(k, lam))) - d, 30.0, 40.0)
    x = np.linspace(-6, 6, 20_001)
    s = 1.0 if d == 0 else optimize.brentq(
        lambda s: np.max(np.abs(stats.norm.cdf(x) - stats.norm.cdf(x / s))) - d, 1.0, 3.0)
    return pd.DataFrame({"normal": rng.normal(shift, 1, rows), "poisson": rng.poisson(lam, rows).astype("int64"),
                         "score": 1 / (1 + np.exp(-(-1 + s * rng.normal(0, 1, rows)))),
                         "categorical": rng.choice(CATS, rows, p=categorical_shares(d))})


def write(df: pd.DataFrame, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    df.to_parquet(folder / "part-00000.parquet", index=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[5_000, 50_000])
    ap.add_argument("--shifts", type=float, nargs="+", default=[0.0, 0.04])
    ap.add_argument("--seeds", type=int, default=4)
    args = ap.parse_args()
    assert np.allclose(SHARES.sum(), 1)
    start = time.time()
    (REPO / "bench" / "_out").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="drift-crosscheck-", dir=REPO / "bench" / "_out"))
    rng = np.random.default_rng(5)
    base = frame(BASELINE, 0.0, rng)
    write(base, work / "train")
    parts = {}
    for m in args.sizes:
        for d in args.shifts:
            for seed in range(args.seeds):
                name = f"case=m{m}_d{d:g}_s{seed}"
                parts[name] = (m, d, frame(m, d, np.random.default_rng(1000 + seed)))
                write(parts[name][2], work / "production" / name)
    spark = build_session("drift-crosscheck", "local[2]")
    try:
        dqloop.baseline(str(work / "train"), dqloop.BaselineOptions(predictions=("score",)),
                        output=str(work / "baseline"), spark=spark)
        dqloop.validate(str(work / "production"), str(work / "baseline"),
                        dqloop.ValidateOptions(warn_only=True, history=None), output=str(work / "out"), spark=spark)
    finally:
        shutdown_callback_server(spark)
        spark.stop()
    t = Thresholds()
    alpha = t.feature_alpha(4)     # the job's family here: four features with a drift check
    print(f"Command: `.venv/bin/python bench/drift_crosscheck.py --sizes {' '.join(map(str, args.sizes))} --shifts "
          f"{' '.join(f'{d:g}' for d in args.shifts)} --seeds {args.seeds}`; {time.time() - start:.0f} s\n")
    print("| partition | feature | Deequ L-inf (sketches) | exact KS (scipy) | difference | job threshold | "
          "study threshold (same alpha) | job flags | study rule flags (exact KS) |")
    print("|---|---|---:|---:|---:|---:|---:|---|---|")
    agree = total = 0
    worst = 0.0
    for name, (m, d, df) in parts.items():
        checks = json.loads((work / "out" / name / "checks.json").read_text())["checks"]
        for feature in ("normal", "poisson", "score", "categorical"):
            c = next(c for c in checks if c["check"] == "baseline_drift_check" and c["feature"] == feature)
            if feature == "categorical":
                p = base[feature].value_counts(normalize=True)
                q = df[feature].value_counts(normalize=True)
                exact = float(max(abs(p.get(k, 0) - q.get(k, 0)) for k in CATS))
                study_th = c["threshold"]   # same function, same shares
            else:
                exact = float(stats.ks_2samp(base[feature], df[feature]).statistic)
                rank = sketch_rank_error(KLL_LEVELS[BASELINE]) + sketch_rank_error(KLL_LEVELS.get(m, 10))
                study_th = ks_threshold(BASELINE, m, alpha, t, rank).value
            job_flag, study_flag = c["status"] == "failed", exact > study_th
            agree += job_flag == study_flag
            total += 1
            worst = max(worst, abs(c["measured"] - exact))
            print(f"| {name} | {feature} | {c['measured']:.5f} | {exact:.5f} | {c['measured'] - exact:+.5f} | "
                  f"{c['threshold']:.5f} | {study_th:.5f} | {job_flag} | {study_flag} |")
    print(f"\n- decisions equal in {agree} of {total}; largest |Deequ - exact| {worst:.5f}")
    print(f"- working folder (not committed): {work}")


if __name__ == "__main__":
    main()
