"""Label-free estimates checked against known truth by simulation.

    PYTHONPATH=. .venv/bin/python bench/label_free_study.py [--partitions 300] [--rows 5000] [--only cbpe,...]

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
4. DLE for regression (labeling.loss_model): heteroscedastic errors (sd (0.5 + 0.8 |x1| x2) times 1, 1.5 or 2 by a
   categorical input `region`), LightGBM loss models on a 30,000-row reference (x1 ~ N(0, 1), regions 50/30/20);
   partitions with x1 ~ N(shift, 1) and a moved region mix, shift uniform in [-1, 1], [1, 1.5] and [1.5, 2];
   coverage of realized MAE and RMSE, among the partitions the support check trusts and those it flags.
5. Multiclass CBPE (labeling.multiclass): 4 classes, P(y | x) a softmax of a 2-d x, the model's probabilities an
   under-confident softmax of the same logits; isotonic maps per class on a 50,000-row reference; partitions of
   x ~ N(shift, I) with shift uniform on a disc of radius 1.5; coverage of accuracy, macro precision, recall, F1
   and one-vs-rest macro AUC (scikit-learn on the true labels).
6. Power: the estimated-performance alarm (binary, the band of labeling.performance.Band) on partitions whose
   realized accuracy drops by known amounts (x ~ N(0, sd), sd < 1 moves rows toward the decision boundary,
   P(y | x) unchanged), beside its false-alarm rate; the label-shift alarm (BBSE) on partitions whose class-1
   prior moves from 0.50 by known amounts.
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


def _score(est, truth: dict[str, float], metrics, hits: dict, err: dict, sds: dict) -> None:
    """One partition's estimates against the realized metrics: interval hit, error, reported sd."""
    for m in metrics:
        e = est.metrics[m]
        hits[m] += e.lower <= truth[m] <= e.upper
        err[m].append(e.value - truth[m])
        sds[m].append(e.standard_deviation)


def _coverage_table(title: str, metrics, partitions: int, hits: dict, err: dict, sds: dict) -> None:
    print(f"\n{title}")
    print("| metric | coverage of 95% interval | mean error | sd of error | mean reported sd |")
    print("|---|---|---|---|---|")
    for m in metrics:
        print(f"| {m} | {hits[m] / partitions:.1%} | {np.mean(err[m]):+.4f} | {np.std(err[m]):.4f} | "
              f"{np.mean(sds[m]):.4f} |", flush=True)


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
            _score(est, truth, performance.METRICS, hits, err, sds)
        _coverage_table(f"1. CBPE under covariate shift (x ~ N(shift, 1), shift uniform in [-1.5, 1.5]): {partitions} "
                        f"partitions of {rows} rows, {mode}", performance.METRICS, partitions, hits, err, sds)

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
    regions, scale = np.array(["north", "south", "west"]), np.array([1.0, 1.5, 2.0])

    def draw(n: int, shift: float, mix=(0.5, 0.3, 0.2)) -> pd.DataFrame:
        x1, x2 = rng.normal(shift, 1, n), rng.uniform(0, 1, n)
        r = rng.choice(3, n, p=mix)
        y = 2 * x1 + 3 * x2 + rng.normal(0, (0.5 + 0.8 * np.abs(x1) * x2) * scale[r], n)
        return pd.DataFrame({"x1": x1, "x2": x2, "region": regions[r], "y": y, "p": 2 * x1 + 3 * x2})

    model = loss_model.fit(draw(30_000, 0.0), ["x1", "x2", "region"], "p", "y", categorical=["region"])
    print(f"\n4. DLE (LightGBM loss models, `region` categorical) under covariate shift: {partitions} partitions of "
          f"{rows} rows per range; support check: share of rows outside the reference's central 99% ranges above "
          f"{model.support.limit:.3f} (reference's own share {model.support.share:.3f}) flags a partition")
    print("| shift range | flagged | metric | coverage, trusted | coverage, flagged | mean error, trusted "
          "| sd of error, trusted | mean reported sd |")
    print("|---|---|---|---|---|---|---|---|")
    for lo, hi in ((-1.0, 1.0), (1.0, 1.5), (1.5, 2.0)):
        hits = {(m, f): 0 for m in ("mae", "rmse") for f in (False, True)}
        err, sds = {"mae": [], "rmse": []}, {"mae": [], "rmse": []}
        flagged = 0
        for _ in range(partitions):
            mix = rng.dirichlet([5.0, 3.0, 2.0])
            d = draw(rows, rng.uniform(lo, hi), mix)
            t = loss_model.sums(d, model)
            est = loss_model.estimate(t)
            beyond = model.support.beyond(t.outside, t.n)
            flagged += beyond
            e = d["y"] - d["p"]
            truth = {"mae": float(np.mean(np.abs(e))), "rmse": float(np.sqrt(np.mean(e * e)))}
            for m in ("mae", "rmse"):
                hits[m, beyond] += est[m].lower <= truth[m] <= est[m].upper
                if not beyond:
                    err[m].append(est[m].value - truth[m])
                    sds[m].append(est[m].standard_deviation)
        trusted = partitions - flagged
        for m in ("mae", "rmse"):
            cov_t = f"{hits[m, False] / trusted:.1%} of {trusted}" if trusted else "-"
            cov_f = f"{hits[m, True] / flagged:.1%} of {flagged}" if flagged else "-"
            print(f"| [{lo}, {hi}] | {flagged / partitions:.0%} | {m} | {cov_t} | {cov_f} | "
                  f"{np.mean(err[m]) if err[m] else float('nan'):+.4f} | {np.std(err[m]) if err[m] else float('nan'):.4f} "
                  f"| {np.mean(sds[m]) if sds[m] else float('nan'):.4f} |", flush=True)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


W = np.array([[2.0, 0.0], [0.0, 2.0], [-2.0, 0.0], [0.0, -2.0]])
B = np.array([0.3, 0.0, -0.2, -0.4])


def multiclass_rows(rng: np.random.Generator, n: int, shift: np.ndarray):
    x = rng.normal(0.0, 1.0, (n, 2)) + shift
    logits = x @ W.T + B
    p = _softmax(logits)
    y = (rng.random((n, 1)) > p.cumsum(axis=1)).sum(axis=1).clip(0, 3)
    raw = _softmax(0.6 * logits)                           # under-confident: the same order, flatter
    return raw, raw.argmax(axis=1), y


def multiclass_cbpe(partitions: int, rows: int) -> None:
    from sklearn import metrics as skm

    from labeling import multiclass

    rng = np.random.default_rng(4)
    classes = ["a", "b", "c", "d"]
    for mode, per_reference in (("a fresh 50,000-row reference every 10 partitions", 10),
                                ("one fixed 50,000-row reference", partitions)):
        hits = {m: 0 for m in multiclass.METRICS}
        err = {m: [] for m in multiclass.METRICS}
        sds = {m: [] for m in multiclass.METRICS}
        for i in range(partitions):
            if i % per_reference == 0:
                raw, _, y = multiclass_rows(rng, 50_000, np.zeros(2))
                cal = calibration.fit(raw, np.array(classes)[y], classes)
            angle, radius = rng.uniform(0, 2 * np.pi), 1.5 * np.sqrt(rng.uniform())
            raw, pred, y = multiclass_rows(rng, rows, radius * np.array([np.cos(angle), np.sin(angle)]))
            est = multiclass.estimate(multiclass.sums(raw, pred, cal))
            truth = {"accuracy": skm.accuracy_score(y, pred)}
            for name, fn in (("macro_precision", skm.precision_score), ("macro_recall", skm.recall_score),
                             ("macro_f1", skm.f1_score)):
                truth[name] = fn(y, pred, labels=range(4), average="macro", zero_division=0.0)
            truth["macro_auc"] = skm.roc_auc_score(y, raw, multi_class="ovr", average="macro", labels=range(4))
            _score(est, truth, multiclass.METRICS, hits, err, sds)
        _coverage_table(f"5. Multiclass CBPE (4 classes) under covariate shift (x ~ N(shift, I), |shift| <= 1.5): "
                        f"{partitions} partitions of {rows} rows, {mode}", multiclass.METRICS, partitions, hits, err, sds)


def power(partitions: int, rows: int) -> None:
    rng = np.random.default_rng(5)
    ref = _reference(rng)
    cal, edges = ref.calibration, performance.bin_edges(ref.calibration)
    band = performance.Band()
    ref_acc = ref.metrics["accuracy"]["value"]
    print(f"\n6a. Power of the estimated-performance alarm (binary; reference accuracy {ref_acc:.4f}, 50,000 rows): "
          f"{partitions} partitions of {rows} rows per row of the table; x ~ N(0, sd), P(y | x) unchanged")
    print("| x sd | mean realized accuracy drop | sd of the drop | accuracy alarm | any-metric alarm |")
    print("|---|---|---|---|---|")
    for sd in (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4):
        drops, acc_alarm, any_alarm = [], 0, 0
        for i in range(partitions):
            x = rng.normal(0.0, sd, rows)
            hard = rng.random(rows) < 0.3
            logit = np.where(hard, 0.8 * x, 3.0 * x) - 0.5
            p = 1 / (1 + np.exp(-logit))
            s = 1 / (1 + np.exp(-0.6 * logit - 0.3))
            y = (rng.random(rows) < p).astype(int).astype(str)
            pr = (s >= 0.5).astype(int).astype(str)
            drops.append(ref_acc - float(np.mean(y == pr)))
            est = performance.estimate(performance.from_rows(s, pr, edges), cal, seed=i, maps=ref.map_replicates)
            alarms = {}
            for m in performance.METRICS:
                r = ref.metrics.get(m, {})
                if r.get("value") is None or r.get("standard_deviation") is None:
                    continue
                low, _ = band.threshold(r["value"], r["standard_deviation"], ref.rows, est.rows, len(performance.METRICS))
                alarms[m] = est.metrics[m].value < low
            acc_alarm += alarms.get("accuracy", False)
            any_alarm += any(alarms.values())
        print(f"| {sd} | {np.mean(drops):+.4f} | {np.std(drops):.4f} | {acc_alarm / partitions:.1%} | "
              f"{any_alarm / partitions:.1%} |", flush=True)



def power_shift(partitions: int, rows: int) -> None:
    rng = np.random.default_rng(6)

    def draw(n: int, prior1: float):
        y = (rng.random(n) < prior1).astype(int)
        x = rng.normal(np.where(y == 1, 1.0, -1.0), 1.0)
        return (x >= 0).astype(int)

    ry = (rng.random(20_000) < 0.5).astype(int)            # the reference: labels and predictions
    rp = (rng.normal(np.where(ry == 1, 1.0, -1.0), 1.0) >= 0).astype(int)
    conf = np.array([[np.sum((ry == t) & (rp == p)) for p in (0, 1)] for t in (0, 1)])
    print(f"\n6b. Power of the label-shift alarm (BBSE; reference 20,000 rows at 50/50): {partitions} partitions of "
          f"{rows} rows per row")
    print("| class-1 prior | alarm rate | coverage of 95% interval |")
    print("|---|---|---|")
    for prior1 in (0.50, 0.51, 0.52, 0.53, 0.55, 0.60, 0.70):
        alarms = cover = 0
        for i in range(partitions):
            pr = draw(rows, prior1)
            shift = label_shift.bbse(conf, np.bincount(pr, minlength=2), ["0", "1"], seed=i, replicates=400)
            alarms += bool(shift.moved.any())
            cover += shift.lower[1] <= prior1 <= shift.upper[1]
        print(f"| {prior1:.2f} | {alarms / partitions:.1%} | {cover / partitions:.1%} |", flush=True)


SECTIONS = ("cbpe", "labelshift", "dle", "multiclass", "power", "power_shift")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--partitions", type=int, default=300)
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"sections to run, from {','.join(SECTIONS)}")
    args = ap.parse_args()
    t0 = time.perf_counter()
    chosen = set(args.only.split(","))
    for name, fn in (("cbpe", cbpe), ("labelshift", labelshift), ("dle", dle), ("multiclass", multiclass_cbpe),
                     ("power", power), ("power_shift", power_shift)):
        if name in chosen:
            fn(args.partitions, args.rows)
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
