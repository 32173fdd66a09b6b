"""Coverage of the weighted accuracy interval, by simulation (no server): for every sampling strategy, at
n = 50 and n = 500, the 95% interval must cover the whole partition's true accuracy in >= 90 of 100 seeds.

The partition is built so that the strategies are hard: the model is much less accurate on the rows each
non-uniform strategy favours (unsure rows, the rare predicted class, the drifted region), so an unweighted
sample mean would be badly biased and the weights must do the work.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labeling import quality, sampling

N = 5000


def partition(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = rng.beta(0.6, 1.6, N)                       # mostly confident "stay", a rare "churn" class
    drift = rng.normal(0, 1, N) + (rng.random(N) < 0.1) * 3.0
    pred = np.where(score >= 0.5, "churn", "stay")
    p_correct = 0.55 + 0.43 * np.abs(2 * score - 1) - 0.3 * (drift > 2)
    correct = rng.random(N) < np.clip(p_correct, 0.05, 0.99)
    other = np.where(pred == "churn", "stay", "churn")
    return pd.DataFrame({"score": score, "drift": drift, "pred": pred, "truth": np.where(correct, pred, other)})


def draw(frame: pd.DataFrame, strategy: str, n: int, seed: int) -> sampling.Sample:
    if strategy == "uniform":
        return sampling.uniform(len(frame), n, seed)
    if strategy == "stratified":
        return sampling.stratified(frame["pred"].to_numpy(), n, seed)
    if strategy == "low-confidence":
        return sampling.low_confidence(sampling.uncertainty(score=frame["score"].to_numpy()), n, seed)
    return sampling.drift_weighted(np.where(frame["drift"] > 2, 20.0, 1.0), n, seed)


@pytest.mark.parametrize("n", [50, 500])
@pytest.mark.parametrize("strategy", sampling.STRATEGIES)
def test_interval_covers_true_accuracy(strategy: str, n: int):
    frame = partition()
    truth = float(np.mean(frame["truth"] == frame["pred"]))
    covered, values = 0, []
    for seed in range(100):
        s = draw(frame, strategy, n, seed)
        assert s.size == n and len(np.unique(s.positions)) == n
        rows = frame.iloc[s.positions]
        est = quality.accuracy(rows["truth"].to_numpy(), rows["pred"].to_numpy(), s.inclusion)
        covered += est.lower <= truth <= est.upper
        values.append(est.value)
    assert covered >= 90, (strategy, n, covered, truth)
    # unbiased: the mean of 100 estimates is within 4 standard errors of the truth
    assert abs(np.mean(values) - truth) < 4 * np.std(values, ddof=1) / 10


@pytest.mark.parametrize("strategy", sampling.STRATEGIES)
def test_inclusion_probabilities_are_what_the_design_draws(strategy: str):
    """Empirical inclusion frequency over many draws matches the recorded pi (the estimator's premise)."""
    frame = partition().iloc[:400].reset_index(drop=True)
    hits = np.zeros(len(frame))
    recorded = np.full(len(frame), np.nan)
    reps = 2000
    for seed in range(reps):
        s = draw(frame, strategy, 40, seed)
        hits[s.positions] += 1
        recorded[s.positions] = s.inclusion
    seen = ~np.isnan(recorded)
    sd = np.sqrt(recorded[seen] * (1 - recorded[seen]) / reps)
    assert np.all(np.abs(hits[seen] / reps - recorded[seen]) <= 5 * sd + 1e-9)
    assert np.min(recorded[seen]) >= 0.5 * 40 / len(frame) - 1e-12   # the defensive floor


def test_same_seed_same_sample_and_naive_mean_is_biased():
    frame = partition()
    a = draw(frame, "low-confidence", 50, 3)
    b = draw(frame, "low-confidence", 50, 3)
    assert np.array_equal(a.positions, b.positions) and np.array_equal(a.inclusion, b.inclusion)
    truth = float(np.mean(frame["truth"] == frame["pred"]))
    naive = np.mean([np.mean((frame.iloc[draw(frame, "low-confidence", 500, s).positions]
                              .pipe(lambda r: r["truth"] == r["pred"]))) for s in range(20)])
    assert truth - naive > 0.05   # the strategy really favours rows the model gets wrong
