"""correlation_drift_check and the partition quantiles, checked by simulation (issue 14).

    .venv/bin/python bench/correlation_study.py [--partitions 300] [--shifted 100] [--kinds normal lognormal t4]
                                                [--sizes 1000 5000 100000] [--real 20] [--fisher-one]

Simulated tallies (the same code the pass runs: constraints.correlation's CoTally, mid-CDF ranks from a
DataSketches KLL sketch of the baseline, the baseline's 16,384-row sample for Spearman's rho, the PCA and
Pearson's null variance (constraints.correlation_null), a partition's 4,096-row sample for Spearman's rho
and its own fourth moments, and constraints.multivariate.correlation_checks), for a baseline of 100,000
rows of 8 features: features 0 and 1 correlated at 0.6, features 2..7 an AR(1) chain at 0.5, independent
of 0 and 1. Marginals: normal, lognormal (a Gaussian copula: skewed data), or t4 (multivariate t with 4
degrees of freedom: heavy tails, infinite fourth moments).

  false alarms  partitions from the training distribution at 1,000 / 5,000 / 100,000 rows: the share with
                any failed pair (per coefficient) against the family alpha 0.05
  power         the correlation of features 0 and 1 moved to 0.45, 0.3, 0 and -0.6 (every marginal the
                same): the share of partitions where pair 0 ~ 1 fails, beside the univariate KS checks'
                (calibrated thresholds, constraints.thresholds) share of partitions with any drifted feature
  quantiles     the grid-interpolated p01..p99 (constraints.quantiles) against numpy's exact ones: the
                largest rank error over the partitions, and the cost of counting on the grid vs a KLL sketch

--real K: K partitions of 5,000 rows from the training distribution through the real pass (`dqloop
baseline`, `dqloop validate` over a partitioned table in one process), counting failed checks by type.

--categorical: the reconstruction error with categorical features instead (constraints.reconstruction's
one-hot encoding). The same 8 numeric features plus two categoricals: `segment` (A, B, C at 35/30/35%)
cut from a latent normal correlated at RHO_SEGMENT (0.6) with f0 (A low f0, C high), and `region`
(5 levels at 40/25/20/7/4.5%, 3% null, 0.5% a rare value below the 1% level share, independent of all).
The baseline's PCA is fitted on its 16,384-row sample with both encoded; each partition's errors come
from the validate pass's own lane (constraints.reconstruction.Errors over Arrow batches of 10,000 rows).

  false alarms  reconstruction_error_check and anomaly_share_check on partitions from the training
                distribution (per cell --partitions)
  power         segment's relation with f0 changed, every marginal unchanged: the latent's correlation
                0.6 -> 0.3, 0 and -0.6 (reversed: A now goes with high f0); per cell --shifted (30 at
                100,000 rows), beside a numeric-only model fitted on the same sample (before the encoding)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from constraints.correlation import (BASELINE_SAMPLE_ROWS, SAMPLE_ROWS, CoTally, fisher_variance,  # noqa: E402
                                     pearson, spearman_of_sample)
from constraints.correlation_null import bootstrap_variance  # noqa: E402
from constraints.grid import GridCounts, grid_points  # noqa: E402
from constraints.multivariate import Correlations, _sketch, correlation_checks  # noqa: E402
from constraints.profile import KllParameters  # noqa: E402
from constraints.profiling import _kll  # noqa: E402
from constraints.quantiles import LABELS, QUANTILES, grid_quantiles  # noqa: E402
from constraints.reconstruction import Errors, ErrorTally, Model, fit, reconstruction_checks  # noqa: E402
from constraints.tally import DescribedTally  # noqa: E402
from constraints.thresholds import Thresholds, ks_threshold, sketch_rank_error  # noqa: E402

P, BASE_ROWS, SAMPLE = 8, 100_000, SAMPLE_ROWS
rng_sample = np.random.default_rng(99)
FISHER_FROM_SAMPLE = True   # --fisher-one: Fisher's v = 1 for Pearson (the textbook test), for comparison
KINDS = ("normal", "lognormal", "t4")


def sigma(r01: float) -> np.ndarray:
    s = np.eye(P)
    s[0, 1] = s[1, 0] = r01
    for i in range(2, P):
        for j in range(2, P):
            s[i, j] = 0.5 ** abs(i - j)
    return s


def draw(rng, rows: int, r01: float, kind: str) -> np.ndarray:
    z = rng.multivariate_normal(np.zeros(P), sigma(r01), size=rows, method="cholesky")
    if kind == "t4":   # multivariate t, 4 df: the same correlations, heavy tails
        return z / np.sqrt(rng.chisquare(4, size=(rows, 1)) / 4)
    return np.exp(z) if kind == "lognormal" else z


class Baseline:
    def __init__(self, x: np.ndarray, rng):
        self.x = x
        self.sorted = np.sort(x, axis=0)
        self.klls, self.sketches, self.grids = [], [], []
        from datasketches import kll_doubles_sketch
        for i in range(P):
            sk = kll_doubles_sketch(2048)
            sk.update(x[:, i])
            kll = _kll(DescribedTally(count=len(x), sketch=sk), KllParameters(), float(x[:, i].min()),
                       float(x[:, i].max()))
            self.klls.append(kll)
            self.sketches.append(_sketch(kll.data))
            self.grids.append(grid_points(kll.data, [b[0] for b in kll.buckets] + [kll.buckets[-1][1]]))
        t = CoTally.of(x)
        sample = x[rng.choice(len(x), BASELINE_SAMPLE_ROWS, replace=False)].astype(np.float32).astype(np.float64)
        rho, rho_n = spearman_of_sample(sample, self.sketches)
        variance = fisher_variance(sample) if FISHER_FROM_SAMPLE else None
        t0 = time.process_time()
        null = bootstrap_variance(sample, floor=variance) if FISHER_FROM_SAMPLE else None
        self.null_cpu = time.process_time() - t0
        self.model_doc = fit(sample, tuple(map(str, range(P))))
        self.model = Model.from_dict(self.model_doc)
        self.corr = Correlations(tuple(map(str, range(P))), pearson(t), t.n, rho, rho_n, variance, null)
        self.rank_error = sketch_rank_error(len(self.klls[0].data))


def partition_checks(b: Baseline, x: np.ndarray, t: Thresholds) -> dict[str, object]:
    tv = CoTally.of(x)   # Pearson on every row; Spearman on a 4,096-row sample, as validate's pass does
    sample = x[rng_sample.choice(len(x), min(SAMPLE, len(x)), replace=False)]
    rho, rho_n = spearman_of_sample(sample, b.sketches)
    part = Correlations(b.corr.columns, pearson(tv), tv.n, rho, rho_n,
                        fisher_variance(sample) if FISHER_FROM_SAMPLE else None)
    results = correlation_checks(b.corr, part, t)
    failed = {(r.details["method"], r.feature) for r in results if r.failed}
    e = b.model.errors(x)
    tally = ErrorTally(len(e), float(e.sum()), float(e @ e), int((e > b.model.threshold).sum()), [])
    for r in reconstruction_checks(b.model_doc, tally, t):
        if r.failed:
            failed.add((r.check, None))
    # univariate: the calibrated KS check per feature on the baseline's grid (exact partition CDF at the points)
    alpha = t.feature_alpha(P)
    drifted = 0
    for i in range(P):
        cdf_b = np.searchsorted(b.sorted[:, i], b.grids[i], side="left") / len(b.x)
        cdf_p = np.searchsorted(np.sort(x[:, i]), b.grids[i], side="left") / len(x)
        th = ks_threshold(len(b.x), len(x), alpha, t, b.rank_error)
        drifted += float(np.max(np.abs(cdf_b - cdf_p))) > th.value
    return {"failed": failed, "univariate": drifted}


def quantile_errors(b: Baseline, x: np.ndarray) -> float:
    """The largest |rank - q| of the grid-interpolated quantiles, over the features."""
    worst = 0.0
    for i in range(P):
        v = np.sort(x[:, i])
        below = np.searchsorted(v, b.grids[i], side="left")
        grid = GridCounts(tuple(b.grids[i]), tuple(np.diff(below, prepend=0, append=len(v))))
        q = grid_quantiles(grid, float(v[0]), float(v[-1]))
        for label, p in zip(LABELS, QUANTILES):
            lo, hi = np.searchsorted(v, q[label], side="left"), np.searchsorted(v, q[label], side="right")
            # the estimate's rank interval [lo, hi] / n; its distance from q (0 if inside)
            worst = max(worst, max(0.0, lo / len(v) - p, p - hi / len(v)))
    return worst


def study(partitions: int, sizes: list[int], kinds=KINDS, shifted: int = 100) -> dict:
    rng = np.random.default_rng(14)
    t = Thresholds()
    out = {}
    for kind in kinds:
        b = Baseline(draw(rng, BASE_ROWS, 0.6, kind), rng)
        if b.corr.null is not None:
            print(f"{kind}: bootstrap null variance {b.null_cpu:.2f} CPU s; v(f0 ~ f1) at sizes "
                  f"{b.corr.null.sizes}: {[round(float(v[0, 1]), 2) for v in b.corr.null.values]}; "
                  f"fourth moments {float(b.corr.variance[0, 1]):.2f}", flush=True)
        for m in sizes:
            reps = partitions if m < 100_000 else min(partitions, 200)
            for r01 in (0.6, 0.45, 0.3, 0.0, -0.6):
                counts = {"pearson_any": 0, "spearman_any": 0, "pearson_pair": 0, "spearman_pair": 0,
                          "univariate_any": 0, "reconstruction_error": 0, "anomaly_share": 0}
                qerr = 0.0
                n = reps if r01 == 0.6 else (shifted if m < 100_000 else min(30, shifted))
                for _ in range(n):
                    x = draw(rng, m, r01, kind)
                    got = partition_checks(b, x, t)
                    for method in ("pearson", "spearman"):
                        counts[f"{method}_any"] += any(f[0] == method for f in got["failed"])
                        counts[f"{method}_pair"] += (method, "0 ~ 1") in got["failed"]
                    counts["univariate_any"] += got["univariate"] > 0
                    counts["reconstruction_error"] += ("reconstruction_error_check", None) in got["failed"]
                    counts["anomaly_share"] += ("anomaly_share_check", None) in got["failed"]
                    if r01 == 0.6 and kind == "normal":
                        qerr = max(qerr, quantile_errors(b, x))
                key = f"{kind} m={m} r01={r01}"
                out[key] = {"partitions": n, **{k: v / n for k, v in counts.items()}}
                if r01 == 0.6 and kind == "normal":
                    out[key]["quantile_rank_error_max"] = qerr
                print(key, out[key], flush=True)
    return out


def quantile_cost(rows: int = 1_000_000) -> dict:
    """Seconds per million values: counting on a 270-point grid (what the pass does) vs a KLL update."""
    from datasketches import kll_doubles_sketch

    rng = np.random.default_rng(1)
    x = rng.normal(size=rows)
    points = np.sort(rng.normal(size=270))
    t0 = time.process_time()
    for lo in range(0, rows, 10_000):   # per Arrow batch of 10,000 rows
        v = np.sort(x[lo:lo + 10_000])
        np.diff(np.searchsorted(v, points, side="left"), prepend=0, append=len(v))
    grid = time.process_time() - t0
    t0 = time.process_time()
    sk = kll_doubles_sketch(2048)
    for lo in range(0, rows, 10_000):
        sk.update(x[lo:lo + 10_000])
    kll = time.process_time() - t0
    return {"grid_s_per_million": grid * 1e6 / rows, "kll_s_per_million": kll * 1e6 / rows}


def real(k: int, rows: int = 5_000) -> dict:
    """K partitions through `dqloop validate` (one process) against a `dqloop baseline` of 100,000 rows."""
    import pandas as pd

    rng = np.random.default_rng(141)
    dqloop = str(REPO / ".venv" / "bin" / "dqloop")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cols = [f"f{i}" for i in range(P)]
        (tmp / "train").mkdir()
        pd.DataFrame(draw(rng, BASE_ROWS, 0.6, "normal"), columns=cols).to_parquet(tmp / "train" / "part-0.parquet")
        for i in range(k):
            (tmp / "table" / f"chunk={i:03d}").mkdir(parents=True)
            pd.DataFrame(draw(rng, rows, 0.6, "normal"), columns=cols).to_parquet(
                tmp / "table" / f"chunk={i:03d}" / "part-0.parquet")
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        subprocess.run([dqloop, "baseline", "--input", str(tmp / "train"), "--output", str(tmp / "b")], check=True,
                       env=env, capture_output=True)
        t0 = time.perf_counter()
        done = subprocess.run([dqloop, "validate", "--baseline", str(tmp / "b"), "--input", str(tmp / "table"),
                               "--output", str(tmp / "out"), "--no-history"], env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        failed: dict[str, int] = {}
        partitions_with: dict[str, int] = {}
        pairs = 0
        for i in range(k):
            doc = json.loads((tmp / "out" / f"chunk={i:03d}" / "checks.json").read_text())
            kinds = set()
            for c in doc["checks"]:
                key = c["check"] + (f"/{c['details']['method']}" if c["check"] == "correlation_drift_check" else "")
                pairs += c["check"] == "correlation_drift_check"
                if c["status"] == "failed":
                    failed[key] = failed.get(key, 0) + 1
                    kinds.add(key)
            for key in kinds:
                partitions_with[key] = partitions_with.get(key, 0) + 1
        return {"partitions": k, "rows": rows, "exit": done.returncode, "wall_s": round(wall, 1),
                "correlation_checks_per_partition": pairs / k, "failed_checks": failed,
                "partitions_with_failure": partitions_with}


RHO_SEGMENT = 0.6
SEGMENT_CUTS = (-0.385320466, 0.385320466)       # normal quantiles 0.35 and 0.65: A 35%, B 30%, C 35%
REGION = np.array(["north", "south", "east", "west", "centre", "islands", None], dtype=object)
REGION_SHARES = (0.40, 0.25, 0.20, 0.07, 0.045, 0.005, 0.03)   # islands: rarer than a level (MIN_SHARE 1%)


def draw_mixed(rng, rows: int, kind: str, rho_segment: float = RHO_SEGMENT):
    """The 8 numeric features (f0 ~ f1 at 0.6, as draw()) and the categoricals segment and region."""
    z = rng.multivariate_normal(np.zeros(P), sigma(0.6), size=rows, method="cholesky")
    latent = rho_segment * z[:, 0] + np.sqrt(1 - rho_segment ** 2) * rng.normal(size=rows)
    segment = np.array(["A", "B", "C"], dtype=object)[np.searchsorted(SEGMENT_CUTS, latent)]
    region = REGION[rng.choice(len(REGION), rows, p=REGION_SHARES)]
    if kind == "t4":
        x = z / np.sqrt(rng.chisquare(4, size=(rows, 1)) / 4)
    else:
        x = np.exp(z) if kind == "lognormal" else z
    return x, segment, region


def _errors(lane: Errors, x: np.ndarray, segment, region) -> ErrorTally:
    """The pass's lane over Arrow batches of 10,000 rows, merged as the driver merges partitions."""
    import pyarrow as pa

    names = [*lane.names, *lane.categorical]
    t = None
    for lo in range(0, len(x), 10_000):
        cols = [*(x[lo:lo + 10_000, i] for i in range(x.shape[1])),
                pa.array(segment[lo:lo + 10_000], pa.string()), pa.array(region[lo:lo + 10_000], pa.string())]
        u = lane.fold(pa.RecordBatch.from_arrays(cols, names=names))
        t = u if t is None else lane.merge(t, u)
    return t


def categorical_study(partitions: int, sizes: list[int], kinds=KINDS, shifted: int = 100) -> dict:
    import pyarrow as pa

    rng = np.random.default_rng(1414)
    t = Thresholds()
    cols = tuple(f"f{i}" for i in range(P))
    out = {}
    for kind in kinds:
        x, segment, region = draw_mixed(rng, BASE_ROWS, kind)
        at = rng.choice(BASE_ROWS, BASELINE_SAMPLE_ROWS, replace=False)
        sample = x[at].astype(np.float32).astype(np.float64)   # the row sample's float32, as in Baseline
        t0 = time.process_time()
        doc = fit(sample, cols, [("segment", segment[at].tolist()), ("region", region[at].tolist())])
        fit_cpu = time.process_time() - t0
        numeric_doc = fit(sample, cols)
        lane = Errors(cols, Model.from_dict(doc), ("segment", "region"))
        numeric_lane = Errors(cols, Model.from_dict(numeric_doc))
        print(f"{kind}: {len(doc['center'])} dimensions ({[c['levels'] for c in doc['categorical']]}), "
              f"{len(doc['components'])} components (numeric-only {len(numeric_doc['components'])}), "
              f"fit {fit_cpu:.2f} CPU s, held-out mean {doc['held_out']['mean']:.4f} sd {doc['held_out']['sd']:.4f}",
              flush=True)
        for m in sizes:
            for rho in (RHO_SEGMENT, 0.3, 0.0, -RHO_SEGMENT):
                n = partitions if rho == RHO_SEGMENT else (shifted if m < 100_000 else min(30, shifted))
                counts = dict.fromkeys(("reconstruction_error", "anomaly_share", "numeric_only_error",
                                        "numeric_only_share"), 0)
                cpu = 0.0
                for _ in range(n):
                    xp, sp, rp = draw_mixed(rng, m, kind, rho)
                    t0 = time.process_time()
                    tally = _errors(lane, xp, sp, rp)
                    cpu += time.process_time() - t0
                    for r in reconstruction_checks(doc, tally, t):
                        counts[r.check.replace("_check", "")] += r.failed
                    numeric = numeric_lane.fold(pa.RecordBatch.from_arrays(list(xp.T), names=list(cols)))
                    for r in reconstruction_checks(numeric_doc, numeric, t):
                        key = "numeric_only_error" if r.check == "reconstruction_error_check" else "numeric_only_share"
                        counts[key] += r.failed
                key = f"{kind} m={m} segment~f0 latent rho={rho}"
                out[key] = {"partitions": n, **{k: v / n for k, v in counts.items()},
                            "lane_cpu_ms_per_partition": round(1000 * cpu / n, 2)}
                print(key, out[key], flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--partitions", type=int, default=300)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 5_000, 100_000])
    ap.add_argument("--shifted", type=int, default=100, help="partitions per shifted correlation (30 at most "
                    "at 100,000 rows)")
    ap.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    ap.add_argument("--no-quantile-cost", action="store_true")
    ap.add_argument("--real", type=int, default=0)
    ap.add_argument("--fisher-one", action="store_true", help="Pearson's test with v = 1 (no fourth moments)")
    ap.add_argument("--categorical", action="store_true", help="the reconstruction error with categorical "
                    "features (false alarms and power on a changed joint relation), instead of the correlations")
    args = ap.parse_args()
    if args.categorical:
        print("load", os.getloadavg())
        categorical_study(args.partitions, args.sizes, args.kinds, args.shifted)
        print("load", os.getloadavg())
        return
    global FISHER_FROM_SAMPLE
    FISHER_FROM_SAMPLE = not args.fisher_one
    print("load", os.getloadavg())
    if args.real:
        print("real pass:", json.dumps(real(args.real)), flush=True)
    if not args.no_quantile_cost:
        print("quantile cost:", quantile_cost(), flush=True)
    study(args.partitions, args.sizes, args.kinds, args.shifted)
    print("load", os.getloadavg())


if __name__ == "__main__":
    main()
