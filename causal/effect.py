"""CausalImpact: what the series would have done without the intervention, and the effect.

The model is Google's CausalImpact (Brodersen et al. 2015): a Bayesian structural time series (local level,
plus a spike-and-slab regression on the control series when there are any) fitted to the pre-intervention
points by a Gibbs sampler; its posterior predictive over the post-intervention points is the counterfactual,
and the effect is observed minus counterfactual, per point, averaged and summed. dqloop does not implement
the sampler: it calls bsts-causalimpact (PyPI, MIT; its Gibbs sampler in Rust reproduces R's bsts: the same
priors, standardisation, prior.level.sd = 0.01, spike-and-slab defaults; its CI compares it with R
CausalImpact 1.4.1 on committed reference data). See docs/impact.md for the library choice and the
departures from R's defaults (more draws by default: niter 5000 with 500 burn-in, against R's 1000 with a
suggested burn-in of about 10%).

Pure: a frame (response first, controls after) and the position of the first post point in, an Impact out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd

MIN_PRE = 3
LIBRARY = "bsts-causalimpact"


@dataclass(frozen=True)
class Settings:
    alpha: float = 0.05
    niter: int = 5000
    nwarmup: int = 500
    seed: int = 1
    nseasons: int | None = None
    prior_level_sd: float = 0.01

    def model_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"niter": self.niter, "nwarmup": self.nwarmup, "seed": self.seed,
                                "prior_level_sd": self.prior_level_sd}
        if self.nseasons:
            args["nseasons"] = self.nseasons
        return args


@dataclass(frozen=True)
class Impact:
    document: dict[str, Any]
    pointwise: pd.DataFrame       # every point: actual, predicted (+ interval), point and cumulative effect (+ interval)

    @property
    def detected(self) -> bool:
        return bool(self.document["effect_detected"])


def _f(x: Any) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def estimate(frame: pd.DataFrame, post: int, settings: Settings = Settings()) -> Impact:
    """Run CausalImpact with the pre-period frame[:post] and the post-period frame[post:]."""
    from causal_impact import CausalImpact

    n = len(frame)
    if post < MIN_PRE:
        raise ValueError(f"only {post} point(s) before the intervention; CausalImpact needs at least {MIN_PRE} "
                         "(and works best with several times more than after it)")
    if post >= n:
        raise ValueError("no point after the intervention")
    y = frame.iloc[:, 0].to_numpy(dtype=float)
    if np.nanstd(y[:post]) == 0:
        raise ValueError("the series is constant before the intervention; there is nothing to model")
    data = pd.DataFrame(frame.to_numpy(dtype=float), columns=[str(c) for c in frame.columns])
    ci = CausalImpact(data, [0, post - 1], [post, n - 1], model_args=settings.model_args(), alpha=settings.alpha)
    r = ci._results   # causal_impact.analysis.CausalImpactResults: every summary figure with its interval
    m = n - post
    level = 1 - settings.alpha
    average = {
        "actual": _f(np.mean(r.actual)), "predicted": _f(np.mean(r.predictions_mean)),
        "predicted_sd": _f(r.average_prediction_sd), "predicted_lower": _f(r.average_prediction_lower),
        "predicted_upper": _f(r.average_prediction_upper),
        "absolute_effect": _f(r.point_effect_mean), "absolute_effect_sd": _f(r.average_effect_sd),
        "absolute_effect_lower": _f(r.ci_lower), "absolute_effect_upper": _f(r.ci_upper),
        "relative_effect": _f(r.relative_effect_mean), "relative_effect_sd": _f(r.relative_effect_sd),
        "relative_effect_lower": _f(r.relative_effect_lower), "relative_effect_upper": _f(r.relative_effect_upper),
    }
    cumulative = {
        "actual": _f(np.sum(r.actual)), "predicted": _f(np.sum(r.predictions_mean)),
        "predicted_sd": _f(r.cumulative_prediction_sd), "predicted_lower": _f(r.cumulative_prediction_lower),
        "predicted_upper": _f(r.cumulative_prediction_upper),
        "absolute_effect": _f(r.cumulative_effect_total), "absolute_effect_sd": _f(r.cumulative_effect_sd),
        "absolute_effect_lower": _f(r.cumulative_effect_lower[-1]),
        "absolute_effect_upper": _f(r.cumulative_effect_upper[-1]),
        # R reports the same relative effect for both (the cumulative ratio equals the average ratio)
        "relative_effect": average["relative_effect"], "relative_effect_sd": average["relative_effect_sd"],
        "relative_effect_lower": average["relative_effect_lower"],
        "relative_effect_upper": average["relative_effect_upper"],
    }
    detected = bool(r.ci_lower > 0 or r.ci_upper < 0)
    p = float(r.p_value)
    labels = [str(x) for x in frame.index]
    nan = np.full(post, np.nan)
    pointwise = pd.DataFrame({
        "time": labels, "actual": y, "post": [False] * post + [True] * m,
        "predicted": np.concatenate([nan, r.predictions_mean]),
        "predicted_lower": np.concatenate([nan, r.predictions_lower]),
        "predicted_upper": np.concatenate([nan, r.predictions_upper]),
        "point_effect": np.concatenate([nan, r.point_effects]),
        "point_effect_lower": np.concatenate([nan, r.point_effect_lower]),
        "point_effect_upper": np.concatenate([nan, r.point_effect_upper]),
        "cumulative_effect": np.concatenate([nan, r.cumulative_effect]),
        "cumulative_effect_lower": np.concatenate([nan, r.cumulative_effect_lower]),
        "cumulative_effect_upper": np.concatenate([nan, r.cumulative_effect_upper]),
    })
    direction = "increase" if average["absolute_effect"] > 0 else "decrease"
    if detected:
        conclusion = (f"the {direction} is beyond what the series would have done anyway: average effect "
                      f"{average['absolute_effect']:.4g} ({level:.0%} interval {r.ci_lower:.4g} to {r.ci_upper:.4g}), "
                      f"posterior tail-area probability {p:.3g}")
    else:
        conclusion = (f"no effect beyond chance: average effect {average['absolute_effect']:.4g} with a {level:.0%} "
                      f"interval {r.ci_lower:.4g} to {r.ci_upper:.4g} that includes 0 (posterior tail-area "
                      f"probability {p:.3g})")
    warnings = []
    if frame.shape[1] == 1:
        warnings.append("no control series: the counterfactual is the series' own level carried forward, which is "
                        "trustworthy only if the series was stable before the change; on a series that wanders, "
                        "false effects are common (bench/RESULTS.md, Impact). Add a control series the change did "
                        "not touch (--control-metric / --control-columns)")
    if post < 2 * m:
        warnings.append(f"{post} points before the change and {m} after: CausalImpact wants at least twice as many before "
                        "than after")
    doc = {
        "version": 1,
        "response": str(frame.columns[0]), "controls": [str(c) for c in frame.columns[1:]],
        "intervention": {"first_post_point": labels[post], "last_pre_point": labels[post - 1],
                         "pre_points": post, "post_points": m},
        "alpha": settings.alpha,
        "average": average, "cumulative": cumulative,
        "posterior_tail_probability": p, "posterior_probability_of_effect": 1 - p,
        "effect_detected": detected, "conclusion": conclusion, "warnings": warnings,
        "model": {"library": LIBRARY, "version": metadata.version(LIBRARY), **settings.model_args(),
                  "state": "local level" + (f" + {settings.nseasons}-season component" if settings.nseasons else "")
                           + (" + spike-and-slab regression on the controls" if frame.shape[1] > 1 else ""),
                  "standardize_data": True},
        "pointwise": [{k: (_f(v) if isinstance(v, (float, np.floating)) else (bool(v) if isinstance(v, (bool, np.bool_))
                                                                                else v))
                       for k, v in row.items()} for row in pointwise.to_dict("records")],
    }
    return Impact(doc, pointwise)
