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
(n, sum a, sum s, sum a^2, sum s^2, rows outside the reference's support).

Categorical inputs (string columns) go to LightGBM as categorical features: coded by their position among the
reference's values (at most MAX_CATEGORIES, the most frequent), other values missing.

Beyond the reference's range trees extrapolate flat, and the interval does not hold there (bench/RESULTS.md:
33-53% coverage 1.5-2 sd out). `Support` keeps each numeric input's central 99% range on the reference and the
reference's own share of rows with some input outside (or a categorical value it never saw); a partition whose
share exceeds `limit` (that share plus a margin) is flagged: its estimate is reported, not trusted. LightGBM because it is the well-kept gradient-boosting library NannyML's
DLE itself uses; the models are kept as LightGBM's own text format inside model_reference.json (no pickle).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from labeling.quality import LEVEL, Estimate

TASK = "regression"
VERSION = 1
PARAMS = {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 50, "verbose": -1,
          "n_jobs": 1, "deterministic": True, "seed": 0}


MAX_CATEGORIES = 200
TAIL = 0.005          # Support: each numeric input's range is its [0.5%, 99.5%] quantiles on the reference


@dataclass(frozen=True)
class Support:
    """Where the reference has rows: per numeric input its central range, per categorical one its values
    (LossModel.categories); `share` of the reference's own rows outside, `limit` the share past which a
    partition's estimate is not trusted."""

    ranges: dict[str, tuple[float, float]]
    share: float
    limit: float

    def outside(self, x: pd.DataFrame, categories: dict[str, list[str]]) -> np.ndarray:
        """Rows with an input outside the range (missing values are not outside), or an unseen category."""
        out = np.zeros(len(x), dtype=bool)
        for f, (lo, hi) in self.ranges.items():
            v = x[f].to_numpy(dtype="float64")
            with np.errstate(invalid="ignore"):
                out |= (v < lo) | (v > hi)
        for f in categories:
            out |= x[f].isna().to_numpy() & x[f + RAW_SUFFIX].notna().to_numpy()
        return out

    def beyond(self, outside: float, rows: float) -> bool:
        return rows > 0 and outside / rows > self.limit

    def to_dict(self) -> dict[str, Any]:
        return {"ranges": {f: list(r) for f, r in self.ranges.items()}, "reference_share_outside": self.share,
                "limit": self.limit, "quantiles": [TAIL, 1 - TAIL]}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "Support":
        return Support({f: (float(r[0]), float(r[1])) for f, r in d["ranges"].items()},
                       float(d["reference_share_outside"]), float(d["limit"]))


RAW_SUFFIX = "\x00raw"   # frame(): a categorical input's raw value, beside its code


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
    categories: dict[str, list[str]] = field(default_factory=dict)   # categorical inputs: reference values
    support: Support | None = None

    task = TASK

    def to_dict(self) -> dict[str, Any]:
        return {"version": VERSION, "task": TASK, "source": self.source, "rows": self.rows,
                "target_column": self.target_column, "prediction_column": self.prediction_column,
                "features": list(self.features), "metrics": self.metrics, "warnings": list(self.warnings),
                "categorical_features": self.categories,
                "support": self.support.to_dict() if self.support else None,
                "loss_model": {"library": "lightgbm", "method": "direct loss estimation",
                               "absolute_error": self.abs_model, "squared_error": self.sq_model}}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "LossModel":
        if d.get("version") != VERSION or d.get("task") != TASK:
            raise ValueError("not a regression model reference of version 1")
        lm = d["loss_model"]
        return LossModel(tuple(d["features"]), d["prediction_column"], d["target_column"], lm["absolute_error"],
                         lm["squared_error"], int(d["rows"]), d.get("metrics", {}), d.get("source"),
                         tuple(d.get("warnings", ())), {f: [str(v) for v in vs] for f, vs in
                                                         (d.get("categorical_features") or {}).items()},
                         Support.from_dict(d["support"]) if d.get("support") else None)


def frame(data: pd.DataFrame, features: tuple[str, ...], categories: dict[str, list[str]] | None = None,
          raw: bool = False) -> pd.DataFrame:
    """The model's input table: numeric features as floats (booleans as 0/1), categorical ones as the position of
    their value among `categories[f]` (other values missing); `raw` adds each categorical's value (RAW_SUFFIX)."""
    categories = categories or {}
    cols = {}
    for f in features:
        if f in categories:
            values = data[f].astype("string")
            cols[f] = values.map({v: float(i) for i, v in enumerate(categories[f])}).astype("float64")
            if raw:
                cols[f + RAW_SUFFIX] = values
        else:
            cols[f] = pd.to_numeric(data[f], errors="coerce").astype("float64")
    return pd.DataFrame(cols, index=data.index)


def _categories(values: pd.Series) -> list[str]:
    counts = values.dropna().astype(str).value_counts()
    return sorted(counts.index[:MAX_CATEGORIES].tolist())


def _support(x: pd.DataFrame, categories: dict[str, list[str]]) -> Support:
    ranges = {f: (float(np.nanquantile(x[f], TAIL)), float(np.nanquantile(x[f], 1 - TAIL)))
              for f in x.columns if f not in categories and not f.endswith(RAW_SUFFIX) and x[f].notna().any()}
    probe = Support(ranges, 0.0, 1.0)
    share = float(probe.outside(x, categories).mean())
    return Support(ranges, share, share + max(share, 0.02))


def fit(data: pd.DataFrame, features: list[str], prediction_column: str, target_column: str,
        source: str | None = None, categorical: list[str] | tuple[str, ...] = ()) -> LossModel:
    """The two loss models; `categorical`: features taken as categories (strings), the others as numbers."""
    import lightgbm as lgb

    y = pd.to_numeric(data[target_column], errors="coerce").to_numpy(dtype="float64")
    p = pd.to_numeric(data[prediction_column], errors="coerce").to_numpy(dtype="float64")
    keep = np.isfinite(y) & np.isfinite(p)
    if keep.sum() < 100:
        raise ValueError(f"the reference has {int(keep.sum())} rows with a target and a prediction; the loss model "
                         "needs at least 100")
    cols = tuple(dict.fromkeys([*features, prediction_column]))
    categories = {f: _categories(data.loc[keep, f]) for f in cols if f in set(categorical)}
    x = frame(data.loc[keep], cols, categories, raw=True)
    support = _support(x, categories)
    x = x[list(cols)]
    e = y[keep] - p[keep]
    cats = list(categories) or "auto"
    a = lgb.LGBMRegressor(**PARAMS).fit(x, np.abs(e), categorical_feature=cats).booster_.model_to_string()
    s = lgb.LGBMRegressor(**PARAMS).fit(x, e * e, categorical_feature=cats).booster_.model_to_string()
    n = int(keep.sum())
    mae, mse = float(np.mean(np.abs(e))), float(np.mean(e * e))
    metrics = {"mae": {"value": mae, "standard_deviation": float(np.std(np.abs(e), ddof=1) / np.sqrt(n))},
               "mse": {"value": mse, "standard_deviation": float(np.std(e * e, ddof=1) / np.sqrt(n))}}
    rmse = float(np.sqrt(mse))
    metrics["rmse"] = {"value": rmse, "standard_deviation": metrics["mse"]["standard_deviation"] / (2 * rmse)
                       if rmse > 0 else 0.0}
    return LossModel(cols, prediction_column, target_column, a, s, n, metrics, source, (), categories, support)


@dataclass(frozen=True)
class LossSums:
    """A partition's sufficient statistic: rows, sum a, sum s, sum a^2, sum s^2 (a, s: the two models' outputs)."""

    n: float = 0.0
    a: float = 0.0
    s: float = 0.0
    a2: float = 0.0
    s2: float = 0.0
    outside: float = 0.0     # rows with an input beyond the reference's support (LossModel.support)

    def __add__(self, o: "LossSums") -> "LossSums":
        return LossSums(self.n + o.n, self.a + o.a, self.s + o.s, self.a2 + o.a2, self.s2 + o.s2,
                        self.outside + o.outside)


_BOOSTERS: dict[int, Any] = {}


def _booster(text: str):
    import lightgbm as lgb

    key = hash(text)
    if key not in _BOOSTERS:   # one parse per Python worker
        _BOOSTERS[key] = lgb.Booster(model_str=text)
    return _BOOSTERS[key]


def sums(data: pd.DataFrame, model: LossModel) -> LossSums:
    """LossSums of rows with a prediction (features may be missing: LightGBM routes them)."""
    x = frame(data, model.features, model.categories, raw=True)
    x = x[np.isfinite(x[model.prediction_column].to_numpy())]
    if x.empty:
        return LossSums()
    outside = float(model.support.outside(x, model.categories).sum()) if model.support else 0.0
    x = x[list(model.features)]
    a = np.clip(_booster(model.abs_model).predict(x), 0.0, None)
    s = np.maximum(np.clip(_booster(model.sq_model).predict(x), 0.0, None), a * a)   # E e^2 >= (E|e|)^2
    return LossSums(float(len(x)), float(a.sum()), float(s.sum()), float((a * a).sum()), float((s * s).sum()), outside)


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
