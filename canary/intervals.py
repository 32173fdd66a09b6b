"""Fixed-sample intervals for the difference of two accuracies.

Unpaired (traffic split, the arms see different rows): Newcombe's hybrid score interval (Newcombe 1998,
method 10) for p_b - p_a, built from each arm's Wilson interval: with (l_a, u_a), (l_b, u_b) the arms'
Wilson limits,

    lower = d - sqrt((p_b - l_b)^2 + (u_a - p_a)^2),   upper = d + sqrt((u_b - p_b)^2 + (p_a - l_a)^2).

It keeps its coverage near 0 and 1 and at small n, where the Wald interval does not. A weighted arm
(labels drawn with unequal inclusion probabilities) enters with its Hajek proportion and Kish's effective
size (sum w)^2 / sum w^2 (= n for equal weights, so unweighted labels give exactly Newcombe's interval).

Paired (shadow mode, both models on the same rows) is labeling.quality.mcnemar: McNemar's exact test and
the weighted mean of the per-row difference with its interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from labeling.quality import wilson


@dataclass(frozen=True)
class Difference:
    """candidate - control, with a two-sided interval at `level`."""

    value: float
    lower: float
    upper: float
    level: float
    method: str

    def as_dict(self) -> dict:
        return {"value": _f(self.value), "lower": _f(self.lower), "upper": _f(self.upper), "level": self.level,
                "method": self.method}


def _f(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


NAN = float("nan")


def newcombe(p_control: float, n_control: float, p_candidate: float, n_candidate: float,
             level: float = 0.95) -> Difference:
    """Newcombe's hybrid score interval for p_candidate - p_control (n may be an effective size)."""
    if not (n_control > 0 and n_candidate > 0) or math.isnan(p_control) or math.isnan(p_candidate):
        return Difference(NAN, NAN, NAN, level, "newcombe")
    la, ua = wilson(p_control, n_control, level)
    lb, ub = wilson(p_candidate, n_candidate, level)
    d = p_candidate - p_control
    lower = d - math.sqrt((p_candidate - lb) ** 2 + (ua - p_control) ** 2)
    upper = d + math.sqrt((ub - p_candidate) ** 2 + (p_control - la) ** 2)
    return Difference(d, max(-1.0, lower), min(1.0, upper), level, "newcombe")
