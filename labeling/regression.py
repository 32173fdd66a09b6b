"""A regression model's quality for the whole partition from a weighted sample of labeled rows, in SageMaker's
`regression_metrics` shape (mae, mse, rmse, r2, each {"value", "standard_deviation"} plus dqloop's
"confidence_interval").

Each labeled row carries its inclusion probability pi_i (labeling.sampling), w_i = 1 / pi_i. MAE and MSE are
means over the partition, estimated by Hajek's ratio sum w x / sum w (x = |error|, error^2) with the linearised
variance of labeling.quality (Hajek's approximation for fixed-size designs) and a t interval on n - 1 degrees
of freedom (MAE: lower bound at 0; MSE: on the log scale, as squared errors are right-skewed). Heavy-tailed
errors concentrated in a few rows make any such interval too narrow at small n (bench/RESULTS.md). RMSE = sqrt(MSE), its interval the square roots of MSE's bounds and its standard
deviation by the delta method. R^2 = 1 - MSE / (weighted variance of the true values), a ratio of two
estimated totals: point estimate from the weights, interval by the bootstrap over the weighted sample
(rows resampled with replacement, weights kept, percentile interval). With every row labeled (pi = 1) the
figures are scikit-learn's mean_absolute_error, mean_squared_error, root_mean_squared_error and r2_score.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from labeling.quality import BOOTSTRAP, LEVEL, Estimate

METRICS = ("mae", "mse", "rmse", "r2")


def _mean(x: np.ndarray, pi: np.ndarray, level: float) -> Estimate:
    w = 1.0 / pi
    n = len(x)
    m = float(np.sum(w * x) / np.sum(w))
    if n < 2:
        return Estimate(m, float("nan"), float("nan"), float("nan"), level)
    v = float(n / (n - 1) * np.sum((1 - pi) * (w * (x - m)) ** 2) / np.sum(w) ** 2)
    sd = float(np.sqrt(v))
    half = float(stats.t.ppf(1 - (1 - level) / 2, n - 1)) * sd
    return Estimate(m, sd, max(0.0, m - half), m + half, level)


def _r2(y: np.ndarray, e2: np.ndarray, w: np.ndarray) -> np.ndarray:
    """R^2 for each weight row (B x n)."""
    sw = w.sum(axis=-1)
    ybar = (w * y).sum(axis=-1) / sw
    sst = (w * (y - ybar[..., None]) ** 2).sum(axis=-1) / sw
    sse = (w * e2).sum(axis=-1) / sw
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sst > 0, 1.0 - sse / sst, np.nan)


def metrics(y_true: np.ndarray, y_pred: np.ndarray, pi: np.ndarray, level: float = LEVEL, seed: int = 0,
            replicates: int = BOOTSTRAP) -> dict[str, Estimate]:
    y, p = np.asarray(y_true, dtype="float64"), np.asarray(y_pred, dtype="float64")
    pi = np.asarray(pi, dtype="float64")
    nan = Estimate(float("nan"), float("nan"), float("nan"), float("nan"), level)
    if len(y) == 0:
        return {m: nan for m in METRICS}
    e = y - p
    mae, mse = _mean(np.abs(e), pi, level), _mean(e * e, pi, level)
    if len(y) > 1 and mse.value > 0 and np.isfinite(mse.standard_deviation):   # squared errors are right-skewed:
        t = float(stats.t.ppf(1 - (1 - level) / 2, len(y) - 1))             # the interval on the log scale
        r = mse.standard_deviation / mse.value
        mse = Estimate(mse.value, mse.standard_deviation, mse.value * float(np.exp(-t * r)),
                       mse.value * float(np.exp(t * r)), level)
    rmse_value = float(np.sqrt(mse.value))
    rmse = Estimate(rmse_value, mse.standard_deviation / (2 * rmse_value) if rmse_value > 0 else 0.0,
                    float(np.sqrt(max(mse.lower, 0.0))) if np.isfinite(mse.lower) else float("nan"),
                    float(np.sqrt(mse.upper)) if np.isfinite(mse.upper) else float("nan"), level)
    w = 1.0 / pi
    r2_value = float(_r2(y, e * e, w))
    exact = bool(np.all(pi >= 1.0))
    if exact:   # every row labeled: the figures are exact
        mae, mse = (Estimate(x.value, 0.0, x.value, x.value, level) for x in (mae, mse))
        rmse = Estimate(rmse_value, 0.0, rmse_value, rmse_value, level)
        r2 = Estimate(r2_value, 0.0, r2_value, r2_value, level)
    else:
        rng = np.random.default_rng(seed)
        n = len(y)
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=replicates).astype(float)
        boot = _r2(y, e * e, counts * w)
        boot = boot[np.isfinite(boot)]
        tail = (1 - level) / 2
        lo, hi = np.quantile(boot, [tail, 1 - tail]) if len(boot) else (np.nan, np.nan)
        r2 = Estimate(r2_value, float(np.std(boot, ddof=1)) if len(boot) > 1 else float("nan"), float(lo), float(hi),
                      level)
    return {"mae": mae, "mse": mse, "rmse": rmse, "r2": r2}


def _metric(e: Estimate) -> dict:
    f = lambda x: float(x) if x is not None and np.isfinite(x) else None  # noqa: E731
    return {"value": f(e.value), "standard_deviation": f(e.standard_deviation),
            "confidence_interval": {"lower": f(e.lower), "upper": f(e.upper), "level": e.level}}


def document(est: dict[str, Estimate], labeled: int, population: int, strategy: str | None) -> dict:
    """model_quality.json for a regression model (SageMaker's `regression_metrics`)."""
    return {"regression_metrics": {m: _metric(est[m]) for m in METRICS},
            "dqloop": {"labeled_rows": int(labeled), "partition_rows": int(population), "sampling_strategy": strategy,
                       "estimator": "Hajek means of |error| and error^2 (weights 1/inclusion probability), t interval "
                                    "on the linearised variance; rmse = sqrt(mse); r2 with a weighted bootstrap "
                                    "percentile interval"}}


def summary(est: dict[str, Estimate], labeled: int, population: int, strategy: str | None) -> str:
    g = lambda e: f"{e.value:.4g} (95% interval {e.lower:.4g} to {e.upper:.4g})"  # noqa: E731
    lines = [f"MAE {g(est['mae'])}, RMSE {g(est['rmse'])}, R2 {g(est['r2'])} from {labeled} labeled rows of "
             f"{population}", f"sample: {strategy or 'unknown design'}"]
    if labeled < 30:
        lines.append("note: fewer than 30 labeled rows; the intervals are wide")
    return "\n".join(lines) + "\n"
