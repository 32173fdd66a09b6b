"""Drift alarms on generated data with known shifts: calibrated thresholds vs. SageMaker's fixed ones.

    .venv/bin/python bench/drift_study.py [--null-seeds 4000] [--seeds 500] [--features 20]

Baseline 50,000 rows; partitions of 1,000, 5,000, 50,000 and 1,000,000 rows; four features:
  normal      N(0, 1) shifted in location so that the population KS distance is d
  poisson     Poisson(30) integers (ties), rate changed so that the population KS distance is d
  score       a model score sigmoid(N(-1, 1)) whose spread changes so that the population KS distance is d
  categorical five categories (shares .35 .25 .2 .12 .08), mass d moved from the second to the fourth (L-inf = d)
For each (feature, size, d) and seed, a baseline and a partition are drawn, the distance is measured
and both decisions are taken by dqloop's own code: calibrated (constraints.thresholds.ks_threshold /
linf_shares_threshold with the per-feature alpha of a table of --features features, and the KLL rank
error of the sketches Deequ builds at those sizes) and SageMaker's (numeric: Robust, KS less
1.8 sqrt((n+m)/(nm)), above 0.1; categorical: L-inf above 0.1).

How samples are drawn (so that a million rows cost no more than a thousand): numeric values live on a
grid of 24,000 cells over [-6, 6] (normal, score's logit) or on the integers (poisson); the baseline's
and the partition's cell counts are multinomial draws with the exact cell probabilities, and the KS
statistic is computed from the cumulative counts, i.e. on data rounded to the grid (resolution
0.0005 sd; at most 0.0002 of CDF mass per cell). The real validate path measures the distance on KLL
sketches instead: bench/kll_error.py measures their error and the threshold adds it; --spark
cross-checks a few configurations through the real Spark/Deequ path (see bench/RESULTS.md).

Prints a Markdown table (flag rate in % per cell; d = 0 is the false-alarm rate).
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy import optimize, stats

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from constraints.distance import robust_allowance  # noqa: E402
from constraints.thresholds import Thresholds, ks_threshold, linf_shares_threshold, sketch_rank_error  # noqa: E402

BASELINE = 50_000
SIZES = (1_000, 5_000, 50_000, 1_000_000)
SHIFTS = (0.0, 0.005, 0.008, 0.02, 0.04, 0.06, 0.1)
KLL_LEVELS = {1_000: 1, 5_000: 2, 50_000: 5, 1_000_000: 10}   # levels of Deequ's sketch at these sizes (kll_error.py)
SAGEMAKER_THRESHOLD = 0.1
GRID = np.linspace(-6.0, 6.0, 24_001)
SHARES = np.array([0.35, 0.25, 0.20, 0.12, 0.08])
POISSON = np.arange(0, 121)


def _cells(cdf: np.ndarray) -> np.ndarray:
    p = np.diff(np.concatenate([[0.0], cdf, [1.0]]))
    p = np.maximum(p, 0.0)
    return p / p.sum()


def normal_cells(d: float) -> np.ndarray:
    shift = 2 * stats.norm.ppf((1 + d) / 2)          # KS(N(0,1), N(s,1)) = 2 Phi(s/2) - 1
    return _cells(stats.norm.cdf(GRID - shift))


def score_cells(d: float) -> np.ndarray:
    if d == 0:
        return _cells(stats.norm.cdf(GRID))
    x = np.linspace(-6, 6, 20_001)

    def ks(s: float) -> float:
        return float(np.max(np.abs(stats.norm.cdf(x) - stats.norm.cdf(x / s))))
    s = optimize.brentq(lambda s: ks(s) - d, 1.0, 3.0)   # spread of the logit widens: KS = d
    return _cells(stats.norm.cdf(GRID / s))              # the score sigmoid(-1 + z) is monotone: same KS


def poisson_cells(d: float) -> np.ndarray:
    def ks(lam: float) -> float:
        return float(np.max(np.abs(stats.poisson.cdf(POISSON, 30) - stats.poisson.cdf(POISSON, lam))))
    lam = 30.0 if d == 0 else optimize.brentq(lambda lam: ks(lam) - d, 30.0, 40.0)
    return _cells(stats.poisson.cdf(POISSON[:-1], lam))


def categorical_shares(d: float) -> np.ndarray:
    s = SHARES.copy()
    s[1] -= d
    s[3] += d
    return s


def ks_from_counts(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.cumsum(a) / a.sum() - np.cumsum(b) / b.sum())))


def run(null_seeds: int, seeds: int, features: int, sizes=SIZES, shifts=SHIFTS, family_alpha: float | None = None
        ) -> list[dict]:
    t = Thresholds() if family_alpha is None else Thresholds(family_alpha=family_alpha)
    alpha = t.feature_alpha(features)
    kinds = {"normal": normal_cells, "poisson": poisson_cells, "score": score_cells}
    rows = []
    base_cells = {k: f(0.0) for k, f in kinds.items()}
    for kind in ("normal", "poisson", "score", "categorical"):
        for m in sizes:
            for d in shifts:
                rng = np.random.default_rng(hash((kind, m, d)) % 2**32)
                reps = null_seeds if d == 0 else seeds
                cal = sm = 0
                distances = []
                if kind == "categorical":
                    cur_p = categorical_shares(d)
                else:
                    cur_p = kinds[kind](d)
                    rank = sketch_rank_error(KLL_LEVELS[BASELINE]) + sketch_rank_error(KLL_LEVELS[m])
                    th = ks_threshold(BASELINE, m, alpha, t, rank).value
                    sm_th = SAGEMAKER_THRESHOLD + robust_allowance(BASELINE, m)
                for _ in range(reps):
                    if kind == "categorical":
                        a, b = rng.multinomial(BASELINE, SHARES), rng.multinomial(m, cur_p)
                        dist = float(np.max(np.abs(a / a.sum() - b / b.sum())))
                        th = linf_shares_threshold(list(a / a.sum()), BASELINE, m, alpha, t).value
                        sm_th = SAGEMAKER_THRESHOLD
                    else:
                        a, b = rng.multinomial(BASELINE, base_cells[kind]), rng.multinomial(m, cur_p)
                        dist = ks_from_counts(a, b)
                    distances.append(dist)
                    cal += dist > th
                    sm += dist > sm_th
                rows.append({"feature": kind, "rows": m, "d": d, "seeds": reps, "calibrated": cal / reps,
                             "sagemaker": sm / reps, "threshold": th, "sagemaker_threshold": sm_th,
                             "median_distance": float(np.median(distances))})
    return rows


def wilson_upper(k: int, n: int, z: float = 1.96) -> float:
    p = k / n
    return (p + z * z / (2 * n) + z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)


def table(rows: list[dict]) -> str:
    sizes = sorted({r["rows"] for r in rows})
    out = ["| feature | d (KS / L-inf) | seeds | " + " | ".join(f"{m:,} rows: calibrated / SageMaker" for m in sizes)
           + " |", "|---|---:|---:|" + "---:|" * len(sizes)]
    for kind in ("normal", "poisson", "score", "categorical"):
        for d in sorted({r["d"] for r in rows}):
            cells = {r["rows"]: r for r in rows if r["feature"] == kind and r["d"] == d}
            if not cells:
                continue
            seeds = next(iter(cells.values()))["seeds"]
            out.append(f"| {kind} | {d:g} | {seeds} | " + " | ".join(
                f"{100 * cells[m]['calibrated']:.1f} / {100 * cells[m]['sagemaker']:.1f}" for m in sizes) + " |")
    out.append("")
    out.append("| feature | " + " | ".join(f"threshold at {m:,} rows: calibrated / SageMaker" for m in sizes) + " |")
    out.append("|---|" + "---:|" * len(sizes))
    for kind in ("normal", "poisson", "score", "categorical"):
        cells = {r["rows"]: r for r in rows if r["feature"] == kind and r["d"] == 0}
        out.append(f"| {kind} | " + " | ".join(f"{cells[m]['threshold']:.4f} / {cells[m]['sagemaker_threshold']:.4f}"
                                               for m in sizes) + " |")
    return "\n".join(out)


def summary(rows: list[dict]) -> str:
    null = [r for r in rows if r["d"] == 0]
    worst = max(null, key=lambda r: r["calibrated"])
    k = round(worst["calibrated"] * worst["seeds"])
    at5k = [r for r in rows if r["rows"] == 5_000 and r["d"] >= 0.04]
    at1m = [r for r in rows if r["rows"] == 1_000_000 and 0 < r["d"] < 0.01] or [{"calibrated": float("nan")}]
    return "\n".join([
        f"- false alarms (d = 0), calibrated: worst cell {100 * worst['calibrated']:.2f}% ({worst['feature']}, "
        f"{worst['rows']:,} rows; {k}/{worst['seeds']}, 95% upper bound {100 * wilson_upper(k, worst['seeds']):.2f}%); "
        "all cells: " + ", ".join(f"{100 * r['calibrated']:.2f}" for r in null) + "%",
        f"- 5,000 rows, d >= 0.04, calibrated: lowest detection {100 * min(r['calibrated'] for r in at5k):.1f}% "
        f"(SageMaker: lowest {100 * min(r['sagemaker'] for r in at5k):.1f}%, highest "
        f"{100 * max(r['sagemaker'] for r in at5k):.1f}%)",
        f"- 1,000,000 rows, 0 < d < 0.01, calibrated: highest flag rate {100 * max(r['calibrated'] for r in at1m):.2f}%",
    ])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--null-seeds", type=int, default=4000)
    ap.add_argument("--seeds", type=int, default=500)
    ap.add_argument("--features", type=int, default=20, help="features per table (the false-alarm family)")
    ap.add_argument("--family-alpha", type=float, default=Thresholds().family_alpha)
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = ap.parse_args()
    start = time.time()
    rows = run(args.null_seeds, args.seeds, args.features, tuple(args.sizes), family_alpha=args.family_alpha)
    print(f"Command: `.venv/bin/python bench/drift_study.py --null-seeds {args.null_seeds} --seeds {args.seeds} "
          f"--features {args.features} --family-alpha {args.family_alpha:g} --sizes {' '.join(map(str, args.sizes))}`; "
          f"{time.time() - start:.0f} s; python {platform.python_version()}, numpy {np.__version__}, scipy "
          f"{__import__('scipy').__version__}; per-feature alpha "
          f"{Thresholds(family_alpha=args.family_alpha).feature_alpha(args.features):.5f}\n")
    print(table(rows))
    print()
    print(summary(rows))


if __name__ == "__main__":
    main()
