"""Model-assisted (difference) accuracy estimate against Hajek's: coverage and interval width by simulation.

    PYTHONPATH=. .venv/bin/python bench/model_assisted_study.py [--seeds 1000] [--n 300]

Scenarios (N = 5,000-row partitions, fixed; coverage is over the sampling design, 1,000 seeds each), the
calibration map fitted with labeling.calibration on a separate 20,000-row reference of the same model:
  binary       a binary model, calibrated-but-under-confident score (needs the isotonic map), threshold 0.5,
               85% easy rows and 15% hard ones
  multiclass   5 classes, probability columns (under-confident softmax), argmax prediction, 70% easy rows
  *+concept    the same with concept drift: in the drifted region (10% of rows, the `drift` strategy's target)
               the true class follows another rule, so the calibration is broken there
Strategies: dqloop's four (uniform, stratified, low-confidence, drift), as `label push` draws them.
Prints per scenario and strategy: true accuracy, coverage of both 95% intervals, mean widths, width ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labeling import calibration, estimation, quality, sampling  # noqa: E402

N = 5000


def binary(seed: int, n: int = N, concept: bool = False):
    rng = np.random.default_rng(seed)
    drift = rng.normal(0, 1, n) + (rng.random(n) < 0.1) * 3.0
    hard = rng.random(n) < 0.15
    logit = np.where(hard, rng.normal(0, 1.0, n), rng.choice([-7.0, 7.0], n) + rng.normal(0, 1, n)) + 0.5 * drift
    p = 1 / (1 + np.exp(-logit))                 # true P(y = 1 | x)
    score = 1 / (1 + np.exp(-0.6 * logit))       # the model's score: right order, under-confident
    if concept:
        p = np.where(drift > 2, 1 - p, p)
    y = (rng.random(n) < p).astype(int).astype(str)
    pred = (score >= 0.5).astype(int).astype(str)
    return score, pred, y, drift


def multiclass(seed: int, n: int = N, concept: bool = False, k: int = 5):
    rng = np.random.default_rng(seed)
    drift = rng.normal(0, 1, n) + (rng.random(n) < 0.1) * 3.0
    hard = rng.random(n) < 0.3
    logits = np.where(hard[:, None], rng.normal(0, 0.4, (n, k)), 0.0)
    top = rng.integers(0, k, n)
    logits[np.arange(n), top] += np.where(hard, 0.0, 6.0 + rng.normal(0, 1, n))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    scores = np.exp(0.6 * logits) / np.exp(0.6 * logits).sum(axis=1, keepdims=True)
    if concept:
        p = np.where((drift > 2)[:, None], np.roll(p, 1, axis=1), p)
    y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1).clip(0, k - 1).astype(str)
    pred = scores.argmax(axis=1).astype(str)
    return scores, pred, y, drift


def fit_map(kind: str) -> calibration.Calibration:
    if kind == "binary":
        s, _, y, _ = binary(10_000, 20_000)
        return calibration.fit(s, y, ["0", "1"], positive="1")
    s, _, y, _ = multiclass(10_000, 20_000)
    return calibration.fit(s, y, [str(c) for c in range(s.shape[1])])


def draw(strategy: str, scores: np.ndarray, pred: np.ndarray, drift: np.ndarray, n: int, seed: int) -> sampling.Sample:
    if strategy == "uniform":
        return sampling.uniform(len(pred), n, seed)
    if strategy == "stratified":
        return sampling.stratified(pred, n, seed)
    if strategy == "low-confidence":
        unsure = (sampling.uncertainty(probabilities=scores) if scores.ndim == 2
                  else sampling.uncertainty(score=scores))
        return sampling.low_confidence(unsure, n, seed)
    return sampling.drift_weighted(np.where(drift > 2, 20.0, 1.0), n, seed)


def study(kind: str, concept: bool, strategy: str, seeds: int, n: int, cal: calibration.Calibration) -> dict:
    scores, pred, y, drift = (binary if kind == "binary" else multiclass)(1, concept=concept)
    g = cal.expected_correct(scores, pred)
    right = (pred == y).astype(float)
    truth = float(right.mean())
    cover_h = cover_m = 0
    width_h, width_m, values_m = [], [], []
    for seed in range(seeds):
        s = draw(strategy, scores, pred, drift, n, seed)
        pos = s.positions
        h = quality.accuracy(y[pos], pred[pos], s.inclusion)
        m = estimation.difference(g, right[pos], g[pos], s.inclusion).estimate
        cover_h += h.lower <= truth <= h.upper
        cover_m += m.lower <= truth <= m.upper
        width_h.append(h.upper - h.lower)
        width_m.append(m.upper - m.lower)
        values_m.append(m.value)
    return {"scenario": kind + ("+concept" if concept else ""), "strategy": strategy, "truth": truth,
            "expected": float(g.mean()), "cover_hajek": cover_h / seeds, "cover_ma": cover_m / seeds,
            "width_hajek": float(np.mean(width_h)), "width_ma": float(np.mean(width_m)),
            "ratio": float(np.mean(width_m) / np.mean(width_h)),
            "bias_ma_se": float((np.mean(values_m) - truth) / (np.std(values_m, ddof=1) / np.sqrt(seeds)))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=1000)
    ap.add_argument("--n", type=int, default=300)
    args = ap.parse_args()
    t0 = time.perf_counter()
    print(f"n = {args.n} labels of N = {N} rows, {args.seeds} seeds; coverage of 95% intervals")
    print("| scenario | strategy | true acc | mean g | Hajek cover | MA cover | Hajek width | MA width | MA/Hajek | MA bias (SE) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for kind in ("binary", "multiclass"):
        cal = fit_map(kind)
        for concept in (False, True):
            for strategy in sampling.STRATEGIES:
                r = study(kind, concept, strategy, args.seeds, args.n, cal)
                print(f"| {r['scenario']} | {r['strategy']} | {r['truth']:.3f} | {r['expected']:.3f} | "
                      f"{r['cover_hajek']:.1%} | {r['cover_ma']:.1%} | {r['width_hajek']:.4f} | {r['width_ma']:.4f} | "
                      f"{r['ratio']:.2f} | {r['bias_ma_se']:+.1f} |", flush=True)
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
