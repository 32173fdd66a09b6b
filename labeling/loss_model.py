"""A regression model's error without labels: direct loss estimation (DLE, as in NannyML).

On reference rows (target known, model not trained on them) two LightGBM regressors learn, from the model's
inputs and its prediction, the expected absolute error E|e| and the expected squared error E e^2 of each row.
Applied to a partition's rows, their means estimate the partition's MAE and MSE (RMSE = sqrt(MSE)) with no
labels. Like the calibration map for a classifier, this holds under covariate shift (the error given the inputs
is unchanged) and not under concept drift.

Sampling error. Given the inputs, the realized errors are independent: Var|e_i| = E e_i^2 - (E|e_i|)^2, and
Var e_i^2 = 2 (E e_i^2)^2 for normal errors, so sd(MAE) = sqrt(sum (s_i - a_i^2)) / n and sd(MSE) =
sqrt(2 sum s_i^2) / n (a_i, s_i the two models' predictions); RMSE by the delta method. The loss models' own
error is not in the interval (bench/RESULTS.md measures coverage). Per partition the sufficient statistic is
(n, sum a, sum s, sum a^2, sum s^2). LightGBM because it is the well-kept gradient-boosting library NannyML's
DLE itself uses; the models are kept as LightGBM's own text format inside model_reference.json (no pickle).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from labeling.quality import LEVEL, Estimate

TASK = "regression"
VERSION = 1
PARAMS = {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 50, "verbose": -1,
          "n_jobs": 1, "deterministic": True, "seed": 0}


@dataclass(frozen=True)
class LossModel:
    features: tuple[str, ...]               # model inputs used, then the prediction column
    prediction_column: str
    target_column: str
    abs_model: str                          # LightGBM text model of E|e|
    sq_model: str                           # LightGBM text model of E e^2
    rows: int
    metrics: dict[str, dict[str, float]]    # the reference's mae, mse, rmse with standard deviations
    source: str | None = None
    warnings: tuple[str, ...] = ()

    task = TASK

    def to_dict(self) -> dict[str, Any]:
        return {"version": VERSION, "task": TASK, "source": self.source, "rows": self.rows,
                "target_column": self.target_column, "prediction_column": self.prediction_column,
                "features": list(self.features), "metrics": self.metrics, "warnings": list(self.warnings),
                "loss_model": {"library": "lightgbm", "method": "direct loss estimation",
                               "absolute_error": self.abs_model, "squared_error": self.sq_model}}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "LossModel":
        if d.get("version") != VERSION or d.get("task") != TASK:
            raise ValueError("not a regression model reference of version 1")
        lm = d["loss_model"]
        return LossModel(tuple(d["features"]), d["prediction_column"], d["target_column"], lm["absolute_error"],
                         lm["squared_error"], int(d["rows"]), d.get("metrics", {}), d.get("source"),
                         tuple(d.get("warnings", ())))


def frame(data: pd.DataFrame, features: tuple[str, ...]) -> pd.DataFrame:
    """The model's input table: the features as floats (booleans as 0/1)."""
    return pd.DataFrame({f: pd.to_numeric(data[f], errors="coerce").astype("float64") for f in features})


def fit(data: pd.DataFrame, features: list[str], prediction_column: str, target_column: str,
        source: str | None = None) -> LossModel:
    import lightgbm as lgb

    y = pd.to_numeric(data[target_column], errors="coerce").to_numpy(dtype="float64")
    p = pd.to_numeric(data[prediction_column], errors="coerce").to_numpy(dtype="float64")
    keep = np.isfinite(y) & np.isfinite(p)
    if keep.sum() < 100:
        raise ValueError(f"the reference has {int(keep.sum())} rows with a target and a prediction; the loss model "
                         "needs at least 100")
    cols = tuple(dict.fromkeys([*features, prediction_column]))
    x = frame(data.loc[keep], cols)
    e = y[keep] - p[keep]
    a = lgb.LGBMRegressor(**PARAMS).fit(x, np.abs(e)).booster_.model_to_string()
    s = lgb.LGBMRegressor(**PARAMS).fit(x, e * e).booster_.model_to_string()
    n = int(keep.sum())
    mae, mse = float(np.mean(np.abs(e))), float(np.mean(e * e))
    metrics = {"mae": {"value": mae, "standard_deviation": float(np.std(np.abs(e), ddof=1) / np.sqrt(n))},
               "mse": {"value": mse, "standard_deviation": float(np.std(e * e, ddof=1) / np.sqrt(n))}}
    rmse = float(np.sqrt(mse))
    metrics["rmse"] = {"value": rmse, "standard_deviation": metrics["mse"]["standard_deviation"] / (2 * rmse)
                       if rmse > 0 else 0.0}
    return LossModel(cols, prediction_column, target_column, a, s, n, metrics, source)


@dataclass(frozen=True)
class LossSums:
    """A partition's sufficient statistic: rows, sum a, sum s, sum a^2, sum s^2 (a, s: the two models' outputs)."""

    n: float = 0.0
    a: float = 0.0
    s: float = 0.0
    a2: float = 0.0
    s2: float = 0.0

    def __add__(self, o: "LossSums") -> "LossSums":
        return LossSums(self.n + o.n, self.a + o.a, self.s + o.s, self.a2 + o.a2, self.s2 + o.s2)


_BOOSTERS: dict[int, Any] = {}


def _booster(text: str):
    import lightgbm as lgb

    key = hash(text)
    if key not in _BOOSTERS:   # one parse per Python worker
        _BOOSTERS[key] = lgb.Booster(model_str=text)
    return _BOOSTERS[key]


def sums(data: pd.DataFrame, model: LossModel) -> LossSums:
    """LossSums of rows with a prediction (features may be missing: LightGBM routes them)."""
    x = frame(data, model.features)
    x = x[np.isfinite(x[model.prediction_column].to_numpy())]
    if x.empty:
        return LossSums()
    a = np.clip(_booster(model.abs_model).predict(x), 0.0, None)
    s = np.maximum(np.clip(_booster(model.sq_model).predict(x), 0.0, None), a * a)   # E e^2 >= (E|e|)^2
    return LossSums(float(len(x)), float(a.sum()), float(s.sum()), float((a * a).sum()), float((s * s).sum()))


def estimate(t: LossSums, level: float = LEVEL) -> dict[str, Estimate]:
    z = float(stats.norm.ppf(1 - (1 - level) / 2))
    nan = Estimate(float("nan"), float("nan"), float("nan"), float("nan"), level)
    if t.n <= 0:
        return {"mae": nan, "mse": nan, "rmse": nan}
    mae, mse = t.a / t.n, t.s / t.n
    sd_mae = float(np.sqrt(max(t.s - t.a2, 0.0)) / t.n)
    sd_mse = float(np.sqrt(2.0 * t.s2) / t.n)
    rmse = float(np.sqrt(mse))
    sd_rmse = sd_mse / (2 * rmse) if rmse > 0 else 0.0
    iv = lambda v, sd: Estimate(v, sd, max(0.0, v - z * sd), v + z * sd, level)  # noqa: E731
    return {"mae": iv(mae, sd_mae), "mse": iv(mse, sd_mse), "rmse": iv(rmse, sd_rmse)}
