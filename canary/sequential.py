"""An always-valid confidence sequence for a difference in accuracy, and the labels needed to decide.

Checking a canary every hour with a fixed-sample interval inflates the error: with ten looks at 95%
the chance of a wrong "worse" somewhere is far above 5%. A confidence sequence is an interval that holds
at every look at once. This one is the normal-mixture (mixture SPRT) boundary of Robbins (1970), as used for
always-valid A/B testing by Johari, Pekelis and Walsh (2017, "Peeking at A/B tests") and Howard et al.
(2021, "Time-uniform, nonparametric, nonasymptotic confidence sequences"): with d_hat the estimated
difference and V its variance at this look (V = p_a (1 - p_a) / n_a + p_b (1 - p_b) / n_b unpaired,
Var(correct_b - correct_a) / n paired), the likelihood ratio of a N(theta, tau^2) mixture against the
value theta_0 is

    Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 (d_hat - theta_0)^2 / (2 V (V + tau^2))),

a nonnegative martingale under theta_0, so by Ville's inequality P(ever Lambda >= 1/alpha) <= alpha. The
values not rejected form the sequence d_hat +- h with

    h^2 = 2 V (V + tau^2) / tau^2 * (log(1 / alpha) + log((V + tau^2) / V) / 2).

It holds under continuous monitoring, so it holds a fortiori for any number of hourly looks; the price is
a wider interval than a fixed-sample one at the same n (the look history is kept only to show it). It rests
on the normal approximation of d_hat; bench/canary_study.py checks the error rate and the power by
simulation. tau (the mixture's spread) tunes where the boundary is tightest: dqloop uses the drop it is
meant to detect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True)
class Sequence:
    """candidate - control with an always-valid interval (level 1 - alpha, any number of looks)."""

    value: float
    lower: float
    upper: float
    alpha: float
    tau: float

    def as_dict(self) -> dict:
        def f(x):
            return None if not math.isfinite(x) else float(x)
        return {"value": f(self.value), "lower": f(self.lower), "upper": f(self.upper), "level": 1 - self.alpha,
                "method": "normal-mixture confidence sequence (always valid)", "mixture_sd": self.tau}


def half_width(variance: float, tau: float, alpha: float) -> float:
    """h of the normal-mixture boundary for an estimate with variance `variance` (see the module docstring)."""
    if not variance > 0:
        return 0.0 if variance == 0 else float("nan")
    v, t2 = variance, tau * tau
    return math.sqrt(2 * v * (v + t2) / t2 * (math.log(1 / alpha) + 0.5 * math.log((v + t2) / v)))


def sequence(value: float, variance: float, tau: float, alpha: float) -> Sequence:
    h = half_width(variance, tau, alpha)
    if math.isnan(value) or math.isnan(h):
        return Sequence(float("nan"), float("nan"), float("nan"), alpha, tau)
    return Sequence(value, max(-1.0, value - h), min(1.0, value + h), alpha, tau)


def unpaired_variance(p_control: float, n_control: float, p_candidate: float, n_candidate: float) -> float:
    if not (n_control > 0 and n_candidate > 0):
        return float("nan")
    # a proportion of 0 or 1 observed at small n still has a variance: shrink toward 1/2 by one pseudo-row each way
    pa = (p_control * n_control + 0.5) / (n_control + 1)
    pb = (p_candidate * n_candidate + 0.5) / (n_candidate + 1)
    return pa * (1 - pa) / n_control + pb * (1 - pb) / n_candidate


def labels_needed(per_label_variance: float, effect: float, tau: float, alpha: float, power: float,
                  limit: int = 10_000_000) -> int | None:
    """The fewest labels n such that an estimate centred `effect` away from the decision threshold crosses it
    with probability `power` at look n: effect >= z_power sqrt(V) + h(V), with V = per_label_variance / n.
    None when not reachable within `limit` (effect 0 or negative)."""
    if not (effect > 0 and per_label_variance > 0):
        return None
    z = stats.norm.ppf(power)

    def enough(n: int) -> bool:
        v = per_label_variance / n
        return z * math.sqrt(v) + half_width(v, tau, alpha) <= effect

    if not enough(limit):
        return None
    lo, hi = 1, limit
    while lo < hi:
        mid = (lo + hi) // 2
        if enough(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo
