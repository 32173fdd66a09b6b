"""PCA reconstruction error: how far each row lies from the baseline's main directions of variation.

At baseline time scikit-learn's PCA is fitted on the baseline's row sample (constraints.rowsample, the
pass's one row sample, which the correlations use too) over the correlated numeric features and the
first `MAX_CATEGORICAL` categorical ones, encoded as NannyML's DataReconstructionDriftCalculator does in
spirit (impute, encode, scale, PCA keeping `VARIANCE_SHARE`, 65%, of the variance, at most
`MAX_COMPONENTS`, 16: one-hot indicators are nearly independent, so 65% of 178 encoded dimensions took 102
components, and each categorical column costs every row a gather of that many numbers -- 1.25 CPU s per
million rows on bench's categorical shape, 0.34 with 16; the error is measured against the same model's
held-out error, so the cap changes its power, not its calibration):

  numeric      missing values imputed with the baseline mean, scaled by the baseline standard deviation
  categorical  one-hot: one indicator per level, a level being a value (null included, as a level of its
               own) holding at least `MIN_SHARE` (1%) of the sample's rows, the `MAX_LEVELS` (20) most
               frequent; every other value (rarer ones, and values the baseline never saw) has all its
               indicators 0, as scikit-learn's OneHotEncoder(handle_unknown="ignore") gives. Each
               indicator is then standard-scaled like a numeric feature (its share p centred, divided by
               sqrt(p (1 - p))), as StandardScaler after OneHotEncoder does.

NannyML encodes a categorical by its frequency (CountEncoder): one number per column, so two categories
of the same frequency that swap their relation with a numeric are the same number. One-hot keeps each
level's own relation with the numerics (the issue's "segment mix changes jointly"), at one dimension per
level.

The sample is split in two: half fits the model, the other half measures its error as new rows see it
(a model's error on the rows it was fitted to is smaller), giving the error's mean, standard deviation
and 99th percentile. All of this is recorded in extended_statistics.json (`reconstruction`: the numeric
`columns` with `impute_mean`; `categorical`, each column's `levels`; `center`, `scale` and the
`components` over the encoded dimensions, numeric first, then each categorical's levels in order). An
entry without `categorical` (written before the encoding) is the numeric-only model it always was.

A row's error is the mean squared difference between its encoded, scaled values and their
reconstruction from the kept components, over all encoded dimensions (numeric and indicators): with
orthonormal components, (|z|^2 - |z C'|^2) / dimensions. Validate's workers compute it for every row in
the one pass (`Errors`, a joint lane) without building the one-hot matrix: per categorical column a row's
level is looked up among the recorded levels (constraints.tally.coded: the column dictionary-encoded
once per batch for every lane that looks it up) and two precomputed per-level values are gathered, its
scaled one-hot vector's projection on the components (k numbers) and its squared norm; the numeric part
is the matrix product it always was. The lane keeps the error's count, sum and sum of squares, the rows
above the baseline's 99th percentile, and the `TOP` rows with the largest error (their values, as
examples). Two checks, each one-sided (only a rise matters) at the partition's alpha for a family of one
(Thresholds.feature_alpha(1)):

  reconstruction_error_check  the mean error: z = (mean - baseline mean) / (sd sqrt(1/m + 1/h)) (h: the
                              held-out rows behind the baseline's mean), fails when z > z(alpha) and the
                              mean rose by at least MIN_RISE (10%) of the baseline mean
  anomaly_share_check         the share of rows above the baseline's 99th percentile of the error:
                              thresholds.share_rise_threshold at the held-out size and the partition's
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

import numpy as np
import pyarrow as pa

from constraints.tally import Coded, Joint, coded, float_block

__all__ = ["VARIANCE_SHARE", "TOP", "MAX_CATEGORICAL", "MAX_LEVELS", "MIN_SHARE", "SAMPLED_STRINGS", "fit",
           "levels_of", "Model", "Errors", "ErrorTally", "reconstruction_checks"]

VARIANCE_SHARE = 0.65
TOP = 5
MIN_RISE = 0.10
MAX_ERROR = 1e12        # a row's error counts at most this much (values near the float limits overflow)
QUANTILE = 0.99
MAX_CATEGORICAL = 16    # categorical columns encoded: the first ones
SAMPLED_STRINGS = 32    # string columns the baseline's row sample keeps for them (which are categorical: after the pass)
MAX_LEVELS = 20         # indicators per categorical column: its most frequent values
MIN_SHARE = 0.01        # a value is a level when it holds at least this share of the sample's rows
MAX_COMPONENTS = 16     # components kept at most: a row's cost grows with them (one gather of k per categorical)
ENCODING = ("one-hot of each categorical's levels (null a level of its own; other values: every indicator 0), "
            "standard-scaled like the numeric features")


def levels_of(values: Sequence[str | None]) -> list[str | None]:
    """A categorical column's levels: its values (None: null) holding at least MIN_SHARE of the rows, the
    MAX_LEVELS most frequent (ties by value), none if one value holds every row (no variation)."""
    n = len(values)
    counts = Counter(values)
    if not n or len(counts) < 2:
        return []
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] is None, str(kv[0])))
    return [v for v, c in ranked if c >= MIN_SHARE * n][:MAX_LEVELS]


def _value_set(levels: Sequence[str | None]) -> pa.Array:
    return pa.array(list(levels), pa.string())


def level_codes(values: pa.Array | Coded, value_set: pa.Array) -> np.ndarray:
    """Each row's level: its position among the levels (null matches a null level), len(levels) for any
    other value. `values`: the column, or its Coded form shared with the batch's other lanes."""
    c = values if isinstance(values, Coded) else Coded.of(values)
    levels = value_set.to_pylist()
    return c.positions(value_set, other=len(levels), null=levels.index(None) if None in levels else len(levels))


@dataclass(frozen=True)
class Model:
    columns: tuple[str, ...]
    mean: np.ndarray        # imputation of missing values (numeric)
    center: np.ndarray      # per encoded dimension: subtracted before scaling (the mean, plus PCA's own centring)
    scale: np.ndarray
    components: np.ndarray  # k x dimensions
    threshold: float        # the held-out rows' 99th percentile of the error
    categorical: tuple[tuple[str, tuple[str | None, ...]], ...] = ()   # (column, its levels), after the numeric
    tables: tuple[tuple[np.ndarray, np.ndarray], ...] = field(init=False, repr=False, compare=False)
    numeric: tuple[np.ndarray, np.ndarray, np.ndarray] = field(init=False, repr=False, compare=False)  # center, scale, C'

    CHUNK: ClassVar[int] = 8192   # rows per step of `errors`: its temporaries stay in the core's cache

    def __post_init__(self):
        p, out, at = len(self.columns), [], len(self.columns)
        for _, levels in self.categorical:   # per level (and, last, any other value): projection and |u|^2
            span = slice(at, at + len(levels))
            u = (np.eye(len(levels) + 1)[:, :len(levels)] - self.center[span]) / self.scale[span]
            out.append((u @ self.components[:, span].T, np.einsum("ij,ij->i", u, u)))
            at += len(levels)
        object.__setattr__(self, "tables", tuple(out))
        object.__setattr__(self, "numeric", (self.center[:p, None], self.scale[:p, None], np.ascontiguousarray(
            self.components[:, :p].T)))

    @property
    def dimensions(self) -> int:
        return self.center.shape[0]

    def errors(self, x: np.ndarray, codes: Sequence[np.ndarray] = ()) -> np.ndarray:
        """Each row's mean squared reconstruction error: `x` the numeric values (NaN: imputed with the
        baseline mean), `codes` per categorical column each row's level (level_codes). Computed on `x.T`
        (features x rows: contiguous rows for tally.float_block's column-major block), `CHUNK` rows at a
        time into buffers reused from step to step, so they stay in cache (twice as fast as whole
        100,000-row batches)."""
        center, scale, kept_t = self.numeric
        xt, n = x.T, x.shape[0]
        e = np.empty(n)
        step = max(1, min(n, self.CHUNK))
        scaled, projected_rows = np.empty((xt.shape[0], step)), np.empty((step, kept_t.shape[1]))   # reused
        with np.errstate(over="ignore", invalid="ignore"):   # orthonormal components: |z|^2 - |projection|^2
            for a in range(0, n, step):
                rows = xt[:, a:a + step]
                z, kept = scaled[:, :rows.shape[1]], projected_rows[:rows.shape[1]]
                np.subtract(rows, center, out=z)
                if not np.isfinite(z.sum()):   # a value absent (or huge): the baseline mean for the absent ones
                    np.subtract(np.where(np.isfinite(rows), rows, self.mean[:, None]), center, out=z)
                np.divide(z, scale, out=z)
                np.matmul(z.T, kept_t, out=kept)                           # rows x components
                part = np.einsum("ij,ij->j", z, z)
                for (projected, norms), c in zip(self.tables, codes):   # a gather per column, no one-hot matrix
                    at = c[a:a + step]
                    kept += projected.take(at, axis=0)                  # (take: 4x faster than fancy indexing)
                    part += norms.take(at)
                part -= np.einsum("ij,ij->i", kept, kept)
                e[a:a + step] = part
            e /= self.dimensions
        return np.clip(np.nan_to_num(e, nan=MAX_ERROR, posinf=MAX_ERROR), 0.0, MAX_ERROR)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "Model":
        """From extended_statistics.json's `reconstruction` entry (one without `categorical`: numeric only)."""
        categorical = tuple((c["column"], tuple(c["levels"])) for c in doc.get("categorical") or ())
        dims = len(doc["columns"]) + sum(len(levels) for _, levels in categorical)
        center, scale = np.asarray(doc["center"], float), np.asarray(doc["scale"], float)
        components = np.asarray(doc["components"], float)
        if center.shape != (dims,) or scale.shape != (dims,) or components.ndim != 2 or components.shape[1] != dims:
            from constraints.baseline import BaselineError
            raise BaselineError(f"Baseline file extended_statistics.json is not valid at reconstruction: "
                                f"{len(doc['columns'])} numeric columns and {dims - len(doc['columns'])} "
                                f"categorical levels make {dims} dimensions, but center, scale and the components "
                                f"have {center.shape}, {scale.shape} and {components.shape}.",
                                "regenerate it with `dqloop baseline`, or fix the hand edit")
        return cls(tuple(doc["columns"]), np.asarray(doc["impute_mean"], float), center, scale, components,
                   float(doc["held_out"]["p99"]), categorical)


def fit(rows: np.ndarray | None, columns: tuple[str, ...],
        categorical: Sequence[tuple[str, Sequence[str | None]]] = (), share: float = VARIANCE_SHARE,
        seed: int = 0) -> dict[str, Any] | None:
    """The model and its held-out error distribution, as extended_statistics.json records them, from the
    sample's numeric `rows` (over `columns`) and its categorical columns' values (None: null) in the same
    row order (None when the sample is too small, has fewer than 2 encoded dimensions, or its values
    overflow)."""
    n = len(rows) if rows is not None else len(categorical[0][1]) if categorical else 0
    x = np.asarray(rows, dtype=np.float64).reshape(n, len(columns)) if rows is not None else np.empty((n, 0))
    encoded = [(name, levels_of(list(values)), values) for name, values in categorical]
    encoded = [(name, levels, values) for name, levels, values in encoded if levels]
    if n < 40 or x.shape[1] + sum(len(levels) for _, levels, _ in encoded) < 2:
        return None
    codes = [level_codes(pa.array(list(values), pa.string()), _value_set(levels)) for _, levels, values in encoded]
    try:
        with np.errstate(all="ignore"):
            doc = _fit(x, columns, [(name, levels) for name, levels, _ in encoded], codes, share, seed)
    except (ValueError, np.linalg.LinAlgError):   # values sklearn refuses (overflowing): no model
        return None
    return doc if _all_finite(doc) else None


def _all_finite(x) -> bool:
    if isinstance(x, dict):
        return all(_all_finite(v) for v in x.values())
    if isinstance(x, list):
        return all(_all_finite(v) for v in x)
    return not isinstance(x, float) or math.isfinite(x)


def one_hot(codes: Sequence[np.ndarray], categorical: Sequence[tuple[str, Sequence]], rows: int) -> np.ndarray:
    """The indicator columns of the levels (a level code past the levels: every indicator 0)."""
    blocks = [np.eye(len(levels) + 1)[c][:, :len(levels)] for c, (_, levels) in zip(codes, categorical)]
    return np.hstack(blocks) if blocks else np.empty((rows, 0))


def _fit(x: np.ndarray, columns: tuple[str, ...], categorical: list[tuple[str, list]], codes: list[np.ndarray],
         share: float, seed: int) -> dict[str, Any]:
    from sklearn.decomposition import PCA

    mean = np.array([np.nanmean(c) if np.isfinite(c).any() else 0.0 for c in x.T])
    filled = np.hstack([np.where(np.isfinite(x), x, mean), one_hot(codes, categorical, len(x))])
    location = filled.mean(axis=0)
    scale = filled.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    order = np.random.default_rng(seed).permutation(len(x))
    fit_rows, held = order[: len(x) // 2], order[len(x) // 2:]
    pca = PCA(n_components=share, svd_solver="full").fit((filled[fit_rows] - location) / scale)
    kept = pca.components_[:MAX_COMPONENTS]   # the leading ones: what a refit keeping that many would give
    center = location + pca.mean_ * scale
    model = Model(columns, mean, center, scale, kept, 0.0, tuple((n, tuple(v)) for n, v in categorical))
    err = model.errors(x[held], [c[held] for c in codes])
    return {"columns": list(columns), "impute_mean": mean.tolist(),
            "categorical": [{"column": name, "levels": list(levels)} for name, levels in categorical],
            "encoding": ENCODING, "center": center.tolist(), "scale": scale.tolist(),
            "components": kept.tolist(), "variance_share": share, "max_components": MAX_COMPONENTS,
            "explained_variance_ratio": pca.explained_variance_ratio_[:MAX_COMPONENTS].tolist(),
            "fit_rows": int(len(fit_rows)), "error": "mean squared error of the scaled values",
            "held_out": {"rows": int(len(held)), "mean": float(err.mean()), "sd": float(err.std(ddof=1)),
                         "p99": float(np.quantile(err, QUANTILE))}}


@dataclass
class ErrorTally:
    n: int = 0
    total: float = 0.0
    squares: float = 0.0
    above: int = 0
    top: list[tuple[float, tuple]] = field(default_factory=list)   # (error, the row's values: numeric, categorical)


@dataclass(frozen=True)
class Errors(Joint):
    """A joint lane: each row's reconstruction error, folded into an ErrorTally. `names`: the numeric
    lanes of the model's columns; `categorical`: the lanes of its categorical columns (their values)."""

    names: tuple[str, ...]
    model: Model = field(compare=False)
    categorical: tuple[str, ...] = ()
    value_sets: tuple[pa.Array, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "value_sets", tuple(_value_set(levels) for _, levels in self.model.categorical))

    def fold(self, batch: pa.RecordBatch) -> ErrorTally:
        x = float_block(batch, self.names)
        codes = [level_codes(coded(batch, n), s) for n, s in zip(self.categorical, self.value_sets)]
        e = self.model.errors(x, codes)
        k = min(TOP, len(e))
        at = np.argpartition(e, len(e) - k)[len(e) - k:] if k else np.array([], dtype=int)
        return ErrorTally(len(e), float(e.sum()), float(e @ e), int((e > self.model.threshold).sum()),
                          sorted(((float(e[i]), (*x[i].tolist(), *(batch.column(n)[int(i)].as_py()
                                                                    for n in self.categorical)))
                                  for i in at), key=lambda t: t[0], reverse=True))

    def merge(self, a: ErrorTally, b: ErrorTally) -> ErrorTally:
        return ErrorTally(a.n + b.n, a.total + b.total, a.squares + b.squares, a.above + b.above,
                          sorted(a.top + b.top, key=lambda t: t[0], reverse=True)[:TOP])

    def close(self, t: ErrorTally) -> ErrorTally:
        return t


def _shown(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else "null" if v is None else str(v)


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
    categorical = [c["column"] for c in doc.get("categorical") or ()]
    names = [*doc["columns"], *categorical]
    examples = tuple(f"error {e:.4g}: " + ", ".join(f"{n}={_shown(v)}" for n, v in zip(names, row)) for e, row in t.top)
    text = (f"Mean PCA reconstruction error {mean:.4g} over {t.n} rows against the baseline's {mu:.4g} "
            f"(held-out rows {h:.0f}, sd {sd:.4g}): z {z:.2f} against {critical:.2f} (alpha {alpha:.3g}, one-sided) "
            f"and a rise of at least {100 * MIN_RISE:.0f}%; the limit is {bound:.4g}.")
    details = {"baseline_mean": mu, "baseline_sd": sd, "baseline_rows": h, "rows": t.n, "z": z,
               "critical_z": critical, "alpha": alpha, "components": len(doc["components"]),
               "columns": len(names), "categorical_columns": len(categorical), "dimensions": len(doc["center"]),
               "sd": math.sqrt(max(0.0, t.squares / t.n - mean * mean))}
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
