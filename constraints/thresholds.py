"""Alarm thresholds calibrated to the data: how far a statistic moves by chance at the partition's size.

SageMaker's thresholds are fixed (a distance of 0.1 whatever the sizes): they miss clear shifts in
partitions of a few thousand rows, while a pure significance test flags negligible shifts in
partitions of millions. A calibrated threshold is the larger of two bounds:

  noise    the (1 - alpha) quantile of the statistic when nothing changed, at the baseline's size n and
           the partition's size m: for the L-infinity (two-sample KS) distance of numeric features,
           Kolmogorov's limit c(alpha) * sqrt((n + m) / (n m)); for categorical shares and the shares of
           missing, mistyped or unseen values, the normal quantile times the binomial standard deviation
           sqrt(p (1 - p) (1/n + 1/m)) (Bonferroni over a feature's categories, one-sided for shares);
  effect   a minimum effect (min_effect for distances, min_share_effect for shares) plus `effect_sigmas`
           standard deviations of the statistic at the point where it is largest, so that a change is
           flagged only when even its lower confidence bound is above the minimum worth waking anyone.

plus, for numeric features, the baseline KLL sketch's rank error (zero for a sketch that kept every value;
validate counts the partition exactly on the baseline's grid, constraints.grid).
alpha is per feature: the family of one check type across a partition's features is held at
`family_alpha` (Sidak), and no feature gets more than `max_feature_alpha`.

`Thresholds(mode="sagemaker")` keeps SageMaker's fixed thresholds instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from scipy import stats

CALIBRATED, SAGEMAKER = "calibrated", "sagemaker"
# Rank error per compactor level of Deequ's KLL sketch (sketch size 2048, shrinking factor 0.64): the largest
# |F_sketch - F_exact| measured by bench/kll_error.py was 0.0004 (2 levels, 5,000 rows), 0.0008 (5 levels,
# 50,000) and 0.0017 (10 levels, 1,000,000); 0.0002 per level bounds them all (bench/RESULTS.md).
KLL_RANK_ERROR_PER_LEVEL = 0.0002
# Apache DataSketches' KLL at k = 2048 (the one-pass baseline's sketch): normalized rank error 0.00138 at 99%
# confidence (kll_doubles_sketch.get_normalized_rank_error(2048, False)), whatever the number of levels. The
# largest |F_sketch - F_exact| measured over 999 quantiles of lognormal data, sketches merged per 100k-row
# batch as the pass merges them: 0.0004 (5,000 rows), 0.0009 (50,000), 0.0004 (1M), 0.0005 (5M).
KLL_RANK_ERROR_DATASKETCHES = 0.0014


@dataclass(frozen=True)
class Thresholds:
    """How alarms are set. mode: "calibrated" (the default) or "sagemaker" (the fixed thresholds of
    constraints.json's monitoring_config and per-feature monitoringConfigOverrides)."""

    mode: str = CALIBRATED
    family_alpha: float = 0.05       # false alarms of one check type across a partition's features
    max_feature_alpha: float = 0.005
    min_effect: float = 0.01         # L-infinity / KS distance below which a shift is not worth an alarm
    min_share_effect: float = 0.005  # rise in the share of missing, mistyped or unseen values likewise
    effect_sigmas: float = 2.0       # the minimum effect must hold at this lower confidence bound

    def __post_init__(self) -> None:
        if self.mode not in (CALIBRATED, SAGEMAKER):
            raise ValueError(f"thresholds mode must be {CALIBRATED} or {SAGEMAKER}, not {self.mode!r}")
        for name in ("family_alpha", "max_feature_alpha"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must be between 0 and 1, not {getattr(self, name)!r}")
        for name in ("min_effect", "min_share_effect", "effect_sigmas"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, not {getattr(self, name)!r}")

    @property
    def calibrated(self) -> bool:
        return self.mode == CALIBRATED

    def feature_alpha(self, tests: int) -> float:
        """Per-feature alpha keeping `tests` features at family_alpha (Sidak), capped at max_feature_alpha."""
        sidak = 1.0 - (1.0 - self.family_alpha) ** (1.0 / max(tests, 1))
        return min(sidak, self.max_feature_alpha)


@dataclass(frozen=True)
class Threshold:
    """A derived threshold and how it was derived (for the report)."""

    value: float
    noise: float                   # the chance bound
    effect: float                  # the minimum-effect bound
    alpha: float
    derivation: str                # one sentence
    details: dict[str, Any] = field(default_factory=dict)

    def to_details(self) -> dict[str, Any]:
        return {"threshold_mode": CALIBRATED, "alpha": self.alpha, "noise_bound": self.noise,
                "effect_bound": self.effect, "derivation": self.derivation, **self.details}


def _scale(n: float, m: float) -> float:
    return math.sqrt(1.0 / n + 1.0 / m)


def sketch_rank_error(levels: int) -> float:
    """Rank error of a KLL sketch with `levels` compactor levels: none when it kept every value; else the
    larger of Deequ's measured error per level and DataSketches' documented bound (either engine's sketch)."""
    return 0.0 if levels <= 1 else max(KLL_RANK_ERROR_PER_LEVEL * levels, KLL_RANK_ERROR_DATASKETCHES)


def ks_threshold(n: float, m: float, alpha: float, t: Thresholds, rank_error: float = 0.0) -> Threshold:
    """Threshold on the two-sample KS statistic (L-infinity between CDFs) for sizes n and m."""
    scale = _scale(n, m)
    c_alpha = float(stats.kstwobign.isf(alpha))
    noise = c_alpha * scale
    effect = t.min_effect + t.effect_sigmas * 0.5 * scale   # sd of F_n(x) - G_m(x) is at most 0.5 * scale
    value = max(noise, effect) + rank_error
    text = (f"max of the no-change KS quantile c({alpha:.3g}) = {c_alpha:.3f} x sqrt(1/{n:.0f} + 1/{m:.0f}) = "
            f"{noise:.4f} and the minimum effect {t.min_effect:g} + {t.effect_sigmas:g} sd = {effect:.4f}"
            + (f", plus the baseline sketch's rank error {rank_error:.4f}" if rank_error else ""))
    return Threshold(value, noise, effect, alpha, text, {"c_alpha": c_alpha, "rank_error": rank_error,
                                                         "baseline_rows": n, "rows": m})


def linf_shares_threshold(shares: list[float], n: float, m: float, alpha: float, t: Thresholds) -> Threshold:
    """Threshold on max |p_k - q_k| over categories with baseline shares `shares`, at sizes n and m:
    Bonferroni over the categories, with the largest binomial variance among them."""
    k = max(len(shares), 1)
    var = max((p * (1.0 - p) for p in shares), default=0.25)
    sd = math.sqrt(var) * _scale(n, m)
    z = float(stats.norm.isf(alpha / (2 * k)))
    noise = z * sd
    effect = t.min_effect + t.effect_sigmas * sd
    value = max(noise, effect)
    text = (f"max of the no-change bound z = {z:.3f} (alpha {alpha:.3g} over {k} categories, two-sided) x "
            f"sd {sd:.4f} = {noise:.4f} and the minimum effect {t.min_effect:g} + {t.effect_sigmas:g} sd = "
            f"{effect:.4f}; sd = sqrt(p(1-p)(1/{n:.0f} + 1/{m:.0f})) at the category share p nearest 1/2")
    return Threshold(value, noise, effect, alpha, text, {"z": z, "sd": sd, "categories": k,
                                                         "baseline_rows": n, "rows": m})


def share_rise_threshold(p0: float, n: float, m: float, alpha: float, t: Thresholds, what: str) -> Threshold:
    """Largest share of bad values (missing, mistyped, unseen) that chance explains, for a baseline share
    p0 over n rows and a partition of m rows (one-sided). The variance uses (p0 n + 1) / (n + 2), so a
    baseline without any bad value still allows for the share it may have by chance."""
    p = (p0 * n + 1.0) / (n + 2.0)
    sd = math.sqrt(p * (1.0 - p)) * _scale(n, m)
    z = float(stats.norm.isf(alpha))
    noise = z * sd
    effect = t.min_share_effect + t.effect_sigmas * sd
    allowance = max(noise, effect)
    text = (f"baseline {what} share {p0:.4g} plus the larger of z = {z:.3f} (alpha {alpha:.3g}, one-sided) x sd "
            f"{sd:.5f} = {noise:.5f} and the minimum effect {t.min_share_effect:g} + {t.effect_sigmas:g} sd = "
            f"{effect:.5f}; sd = sqrt(p(1-p)(1/{n:.0f} + 1/{m:.0f}))")
    return Threshold(p0 + allowance, noise, effect, alpha, text, {"z": z, "sd": sd, "baseline_share": p0,
                                                                  "baseline_rows": n, "rows": m})
