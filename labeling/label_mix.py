"""The labeled class mix of a partition (design-weighted) against the reference's class priors.

Each class's share of the partition is a Hajek ratio over the labeled rows (labeling.quality.ratio: weights
1/pi, Wilson interval on the design effective n), so it is unbiased whatever strategy chose the rows. A class
whose interval (at 1 - alpha / K, Bonferroni over the classes) excludes the reference prior, by at least a
minimum effect, has moved: label shift, seen with labels.
"""

from __future__ import annotations

import numpy as np

from labeling import quality


def label_mix(y_true: np.ndarray, pi: np.ndarray, priors: dict[str, float], alpha: float = 0.01,
              min_effect: float = 0.02) -> dict[str, dict]:
    y = np.asarray(y_true).astype(str)
    ones = np.ones(len(y))
    k = max(len(priors), 1)
    out = {}
    for c, p in priors.items():
        a = (y == c).astype(float)
        shown = quality.ratio(a, ones, pi)
        strict = quality.ratio(a, ones, pi, level=1 - alpha / k)
        moved = bool(np.isfinite(strict.lower) and (strict.lower > p or strict.upper < p)
                     and abs(shown.value - p) >= min_effect)
        out[c] = {"labeled_share": {"value": shown.value, "confidence_interval": {
            "lower": shown.lower, "upper": shown.upper, "level": shown.level}}, "reference_prior": p, "moved": moved}
    return out
