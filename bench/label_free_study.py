"""Label-free estimates checked against known truth by simulation.

    PYTHONPATH=. .venv/bin/python bench/label_free_study.py [--partitions 300] [--rows 5000]

1. CBPE under covariate shift (labeling.performance): a binary model whose score is a monotone, under-confident
   function of the true P(y=1|x); the isotonic map is fitted on a 50,000-row reference (x ~ N(0, 1)); each
   partition draws x ~ N(shift, 1) with shift uniform in [-1.5, 1.5] (P(y|x) unchanged: covariate shift), and
   its estimated accuracy, precision, recall, F1 and ROC AUC (from the binned aggregate validate computes) are
   compared with the realized ones (scikit-learn on the partition's true labels). Coverage of the 95% intervals.
2. No-change false alarms of the estimated-performance band (labeling.performance.Band): partitions drawn like
   the reference (no shift); share of partitions with any alarm.
3. BBSE (labeling.label_shift): reference 50/50, partitions 30/70 with P(x|y) unchanged; coverage of the 95%
   interval for the positive class's prior (the generating 0.7), and the alarm rate; and 50/50 partitions (no
   shift) for the false-alarm rate.
4. DLE for regression (labeling.loss_model): heteroscedastic errors (sd 0.5 + 0.8 |x1| x2), LightGBM loss models on
   a 30,000-row reference (x1 ~ N(0, 1)); partitions with x1 ~ N(shift, 1), shift uniform in [-1, 1] (inside the
   reference's support) and in [1.5, 2] (mostly beyond it); coverage of realized MAE and RMSE.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labeling import calibration, label_shift, performance, reference  # noqa: E402


def covariate(rng: np.random.Generator, n: int, shift: float):
    x = rng.normal(shift, 1.0, n)
    hard = rng.random(n) < 0.3
    logit = np.where(hard, 0.8 * x, 3.0 * x) - 0.5
    p = 1 / (1 + np.exp(-logit))
    score = 1 / (1 + np.exp(-0.6 * logit - 0.3))        # monotone in P(y|x), miscalibrated
    y = (rng.random(n) < p).astype(int).astype(str)
    return score, (score >= 0.5).astype(int).astype(str), y


def realized(score, pred, y) -> dict[str, float]:
    from sklearn import metrics as skm
    t, p = y == "1", pred == "1"
    return {"accuracy": float(np.mean(t == p)), "precision": skm.precision_score(t, p, zero_division=0.0),
            "recall": skm.recall_score(t, p, zero_division=0.0), "f1": skm.f1_score(t, p, zero_division=0.0),
            "auc": skm.roc_auc_score(t, score)}


def _reference(rng: np.random.Generator):
    s, pr, y = covariate(rng, 50_000, 0.0)
    return reference.build(y, pr, s, ["0", "1"], prediction_column="p", target_column="y", score_column="s",
                           positive="1")


def cbpe(partitions: int, rows: int) -> None:
    rng = np.random.default_rng(0)
    for mode, per_reference in (("a fresh 50,000-row reference every 10 partitions", 10),
                                ("one fixed 50,000-row reference", partitions)):
        hits = {m: 0 for m in performance.METRICS}
        err = {m: [] for m in performance.METRICS}
        sds = {m: [] for m in performance.METRICS}
        for i in range(partitions):
            if i % per_reference == 0:
                ref = _reference(rng)
                cal, edges = ref.calibration, performance.bin_edges(ref.calibration)
            shift = rng.uniform(-1.5, 1.5)
            s, pr, y = covariate(rng, rows, shift)
            est = performance.estimate(performance.from_rows(s, pr, edges), cal, seed=i, maps=ref.map_replicates)
            truth = realized(s, pr, y)
            for m in performance.METRICS:
                e = est.metrics[m]
                hits[m] += e.lower <= truth[m] <= e.upper
                err[m].append(e.value - truth[m])
                sds[m].append(e.standard_deviation)
        print(f"\n1. CBPE under covariate shift (x ~ N(shift, 1), shift uniform in [-1.5, 1.5]): {partitions} partitions "
              f"of {rows} rows, {mode}")
        print("| metric | coverage of 95% interval | mean error | sd of error | mean reported sd |")
        print("|---|---|---|---|---|")
        for m in performance.METRICS:
            print(f"| {m} | {hits[m] / partitions:.1%} | {np.mean(err[m]):+.4f} | {np.std(err[m]):.4f} | "
                  f"{np.mean(sds[m]):.4f} |", flush=True)

    band = performance.Band()
    alarms = 0
    for i in range(partitions):
        s, pr, y = covariate(rng, rows, 0.0)
        est = performance.estimate(performance.from_rows(s, pr, edges), cal, seed=i, maps=ref.map_replicates)
        any_alarm = False
        for m in performance.METRICS:
            r = ref.metrics.get(m, {})
            if r.get("value") is None or r.get("standard_deviation") is None:
                continue
            low, _ = band.threshold(r["value"], r["standard_deviation"], ref.rows, est.rows, len(performance.METRICS))
            any_alarm |= est.metrics[m].value < low
        alarms += any_alarm
    print(f"\n2. Band false alarms (no shift, any of the metrics): {alarms}/{partitions} = {alarms / partitions:.1%} "
          f"(alpha {band.alpha} across the metrics)")


def labelshift(partitions: int, rows: int) -> None:
    rng = np.random.default_rng(1)

    def draw(n: int, prior1: float):
        y = (rng.random(n) < prior1).astype(int)
        x = rng.normal(np.where(y == 1, 1.0, -1.0), 1.0)
        return y.astype(str), (x >= 0).astype(int).astype(str)

    ry, rp = draw(20_000, 0.5)
    conf = np.array([[np.sum((ry == t) & (rp == p)) for p in ("0", "1")] for t in ("0", "1")])
    print(f"\n3. BBSE: reference 20,000 rows at 50/50, partitions of {rows} rows")
    print("| partition mix | coverage of 95% interval (prior of class 1) | mean estimate | alarm rate |")
    print("|---|---|---|---|")
    for prior1 in (0.7, 0.5):
        cover, alarms, values = 0, 0, []
        for i in range(partitions):
            y, pr = draw(rows, prior1)
            counts = np.array([np.sum(pr == "0"), np.sum(pr == "1")])
            shift = label_shift.bbse(conf, counts, ["0", "1"], seed=i, replicates=400)
            cover += shift.lower[1] <= prior1 <= shift.upper[1]
            alarms += bool(shift.moved.any())
            values.append(shift.estimate[1])
        print(f"| {1 - prior1:.0%}/{prior1:.0%} | {cover / partitions:.1%} | {np.mean(values):.4f} | "
              f"{alarms / partitions:.1%} |")


def dle(partitions: int, rows: int) -> None:
    import pandas as pd

    from labeling import loss_model

    rng = np.random.default_rng(2)

    def draw(n: int, shift: float) -> pd.DataFrame:
        x1, x2 = rng.normal(shift, 1, n), rng.uniform(0, 1, n)
        y = 2 * x1 + 3 * x2 + rng.normal(0, 0.5 + 0.8 * np.abs(x1) * x2, n)
        return pd.DataFrame({"x1": x1, "x2": x2, "y": y, "p": 2 * x1 + 3 * x2})

    model = loss_model.fit(draw(30_000, 0.0), ["x1", "x2"], "p", "y")
    print(f"\n4. DLE (LightGBM loss models) under covariate shift: {partitions} partitions of {rows} rows per range")
    print("| shift range | metric | coverage of 95% interval | mean error | sd of error | mean reported sd |")
    print("|---|---|---|---|---|---|")
    for lo, hi in ((-1.0, 1.0), (1.5, 2.0)):
        hits, err, sds = {"mae": 0, "rmse": 0}, {"mae": [], "rmse": []}, {"mae": [], "rmse": []}
        for _ in range(partitions):
            d = draw(rows, rng.uniform(lo, hi))
            est = loss_model.estimate(loss_model.sums(d, model))
            e = d["y"] - d["p"]
            truth = {"mae": float(np.mean(np.abs(e))), "rmse": float(np.sqrt(np.mean(e * e)))}
            for m in hits:
                hits[m] += est[m].lower <= truth[m] <= est[m].upper
                err[m].append(est[m].value - truth[m])
                sds[m].append(est[m].standard_deviation)
        for m in hits:
            print(f"| [{lo}, {hi}] | {m} | {hits[m] / partitions:.1%} | {np.mean(err[m]):+.4f} | {np.std(err[m]):.4f} | "
                  f"{np.mean(sds[m]):.4f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--partitions", type=int, default=300)
    ap.add_argument("--rows", type=int, default=5000)
    args = ap.parse_args()
    t0 = time.perf_counter()
    cbpe(args.partitions, args.rows)
    labelshift(args.partitions, args.rows)
    dle(args.partitions, args.rows)
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
