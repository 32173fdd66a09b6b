"""PCA reconstruction error: how far each row lies from the baseline's main directions of variation.

At baseline time scikit-learn's PCA is fitted on the baseline's row sample (constraints.rowsample, the
pass's one row sample, which the correlations use too) over the correlated numeric features: missing values imputed
with the baseline mean, each feature scaled by its baseline standard deviation (the same model NannyML's
DataReconstructionDriftCalculator uses, without its categorical encoding: numeric features only), and as
many components kept as explain `VARIANCE_SHARE` (65%) of the variance. The sample is split in two: half
fits the model, the other half measures its error as new rows see it (a model's error on the rows it was
fitted to is smaller), giving the error's mean, standard deviation and 99th percentile. All of this is
recorded in extended_statistics.json (`reconstruction`).

A row's error is the mean squared difference between its scaled values and their reconstruction from
the kept components. Validate's workers compute it for every row in the one pass (`Errors`, a joint lane)
and keep its count, sum and sum of squares, the rows above the baseline's 99th percentile, and the
`TOP` rows with the largest error (their values, as examples). Two checks, each one-sided (only a rise
matters) at the partition's alpha for a family of one (Thresholds.feature_alpha(1)):

  reconstruction_error_check  the mean error: z = (mean - baseline mean) / (sd sqrt(1/m + 1/h)) (h: the
                              held-out rows behind the baseline's mean), fails when z > z(alpha) and the
                              mean rose by at least MIN_RISE (10%) of the baseline mean
  anomaly_share_check         the share of rows above the baseline's 99th percentile of the error:
                              thresholds.share_rise_threshold at the held-out size and the partition's
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from constraints.tally import Joint

__all__ = ["VARIANCE_SHARE", "TOP", "fit", "Model", "Errors", "ErrorTally", "reconstruction_checks"]

VARIANCE_SHARE = 0.65
TOP = 5
MIN_RISE = 0.10
MAX_ERROR = 1e12        # a row's error counts at most this much (values near the float limits overflow)
QUANTILE = 0.99


@dataclass(frozen=True)
class Model:
    columns: tuple[str, ...]
    mean: np.ndarray        # imputation of missing values
    center: np.ndarray      # subtracted before scaling (the mean, plus PCA's own centring of the scaled rows)
    scale: np.ndarray
    components: np.ndarray  # k x p
    threshold: float        # the held-out rows' 99th percentile of the error

    def errors(self, x: np.ndarray) -> np.ndarray:
        """Each row's mean squared reconstruction error (NaN: imputed with the baseline mean)."""
        finite = np.isfinite(x)
        with np.errstate(over="ignore", invalid="ignore"):   # orthonormal components: |z|^2 - |projection|^2
            z = (x if finite.all() else np.where(finite, x, self.mean)) - self.center
            z /= self.scale
            kept = z @ self.components.T
            e = np.einsum("ij,ij->i", z, z)
            e -= np.einsum("ij,ij->i", kept, kept)
            e /= z.shape[1]
        return np.clip(np.nan_to_num(e, nan=MAX_ERROR, posinf=MAX_ERROR), 0.0, MAX_ERROR)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "Model":
        return cls(tuple(doc["columns"]), np.asarray(doc["impute_mean"], float), np.asarray(doc["center"], float),
                   np.asarray(doc["scale"], float),
                   np.asarray(doc["components"], float).reshape(-1, len(doc["columns"])),
                   float(doc["held_out"]["p99"]))


def fit(rows: np.ndarray, columns: tuple[str, ...], share: float = VARIANCE_SHARE, seed: int = 0) -> dict[str, Any] | None:
    """The model and its held-out error distribution, as extended_statistics.json records them (None when
    the sample is too small or its values overflow)."""
    x = np.asarray(rows, dtype=np.float64)
    if x.shape[0] < 40 or x.shape[1] < 2:
        return None
    try:
        with np.errstate(all="ignore"):
            doc = _fit(x, columns, share, seed)
    except (ValueError, np.linalg.LinAlgError):   # values sklearn refuses (overflowing): no model
        return None
    return doc if _all_finite(doc) else None


def _all_finite(x) -> bool:
    if isinstance(x, dict):
        return all(_all_finite(v) for v in x.values())
    if isinstance(x, list):
        return all(_all_finite(v) for v in x)
    return not isinstance(x, float) or math.isfinite(x)


def _fit(x: np.ndarray, columns: tuple[str, ...], share: float, seed: int) -> dict[str, Any]:
    from sklearn.decomposition import PCA

    mean = np.array([np.nanmean(c) if np.isfinite(c).any() else 0.0 for c in x.T])
    filled = np.where(np.isfinite(x), x, mean)
    scale = filled.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    order = np.random.default_rng(seed).permutation(len(x))
    fit_rows, held = order[: len(x) // 2], order[len(x) // 2:]
    pca = PCA(n_components=share, svd_solver="full").fit((filled[fit_rows] - mean) / scale)
    center = mean + pca.mean_ * scale
    model = Model(columns, mean, center, scale, pca.components_, 0.0)
    err = model.errors(x[held])
    return {"columns": list(columns), "impute_mean": mean.tolist(), "center": center.tolist(), "scale": scale.tolist(),
            "components": pca.components_.tolist(), "variance_share": share,
            "explained_variance_ratio": pca.explained_variance_ratio_.tolist(),
            "fit_rows": int(len(fit_rows)), "error": "mean squared error of the scaled values",
            "held_out": {"rows": int(len(held)), "mean": float(err.mean()), "sd": float(err.std(ddof=1)),
                         "p99": float(np.quantile(err, QUANTILE))}}


@dataclass
class ErrorTally:
    n: int = 0
    total: float = 0.0
    squares: float = 0.0
    above: int = 0
    top: list[tuple[float, tuple[float, ...]]] = field(default_factory=list)   # (error, the row's values)


@dataclass(frozen=True)
class Errors(Joint):
    """A joint lane: each row's reconstruction error, folded into an ErrorTally."""

    names: tuple[str, ...]
    model: Model = field(compare=False)

    def fold(self, batch: pa.RecordBatch) -> ErrorTally:
        cols = [np.asarray(batch.column(n).to_numpy(zero_copy_only=False), dtype=np.float64) for n in self.names]
        x = np.column_stack(cols)
        e = self.model.errors(x)
        k = min(TOP, len(e))
        at = np.argpartition(e, len(e) - k)[len(e) - k:] if k else np.array([], dtype=int)
        return ErrorTally(len(e), float(e.sum()), float(e @ e), int((e > self.model.threshold).sum()),
                          sorted(((float(e[i]), tuple(x[i].tolist())) for i in at), reverse=True))

    def merge(self, a: ErrorTally, b: ErrorTally) -> ErrorTally:
        return ErrorTally(a.n + b.n, a.total + b.total, a.squares + b.squares, a.above + b.above,
                          sorted(a.top + b.top, reverse=True)[:TOP])

    def close(self, t: ErrorTally) -> ErrorTally:
        return t


def reconstruction_checks(doc: dict[str, Any], t: ErrorTally, thresholds) -> list:
    """reconstruction_error_check and anomaly_share_check (module docstring)."""
    from scipy import stats

    from constraints.checks import FAILED, PASSED, CheckResult
    from constraints.thresholds import share_rise_threshold

    if not t.n:
        return []
    held = doc["held_out"]
    h, mu, sd = float(held["rows"]), float(held["mean"]), float(held["sd"])
    alpha = thresholds.feature_alpha(1)
    mean = t.total / t.n
    se = sd * math.sqrt(1.0 / t.n + 1.0 / h)
    z = (mean - mu) / se if se > 0 else 0.0
    critical = float(stats.norm.isf(alpha))
    bound = mu + max(critical * se, MIN_RISE * mu)
    failed = mean > bound
    names = doc["columns"]
    examples = tuple(f"error {e:.4g}: " + ", ".join(f"{n}={v:.4g}" for n, v in zip(names, row)) for e, row in t.top)
    text = (f"Mean PCA reconstruction error {mean:.4g} over {t.n} rows against the baseline's {mu:.4g} "
            f"(held-out rows {h:.0f}, sd {sd:.4g}): z {z:.2f} against {critical:.2f} (alpha {alpha:.3g}, one-sided) "
            f"and a rise of at least {100 * MIN_RISE:.0f}%; the limit is {bound:.4g}.")
    details = {"baseline_mean": mu, "baseline_sd": sd, "baseline_rows": h, "rows": t.n, "z": z,
               "critical_z": critical, "alpha": alpha, "components": len(doc["components"]),
               "columns": len(names), "sd": math.sqrt(max(0.0, t.squares / t.n - mean * mean))}
    out = [CheckResult("reconstruction_error_check", None, FAILED if failed else PASSED, mean, bound, text,
                       examples if failed else (), details)]
    share = t.above / t.n
    th = share_rise_threshold(1.0 - QUANTILE, h, t.n, alpha, thresholds, "anomalous-row")
    failed = share > th.value
    text = (f"{100 * share:.3g}% of rows ({t.above} of {t.n}) have a reconstruction error above the baseline's "
            f"99th percentile {float(held['p99']):.4g}; the limit is {100 * th.value:.3g}%: {th.derivation}.")
    out.append(CheckResult("anomaly_share_check", None, FAILED if failed else PASSED, share, th.value, text,
                           examples, {**th.to_details(), "threshold_error": float(held["p99"])}))
    return out
