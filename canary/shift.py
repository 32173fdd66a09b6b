"""Label-free differences between the two models' outputs: predicted-class shares and scores.

Traffic split (different rows): predicted-class shares compared by the chi-square test of homogeneity,
scores by the two-sample Kolmogorov-Smirnov test. Shadow (same rows): the flip rate (share of rows on which
the two predictions differ, with a Wilson interval) and, for scores, the mean |delta p| with Wilcoxon's
signed-rank test. As in validate's calibrated drift checks, a difference is flagged only when it is both
beyond chance (p below alpha) and at least a minimum effect worth a look (a share moved by `min_share`, a KS
distance or mean |delta p| of `min_distance`), so large canaries do not flag negligible shifts. These are
per-look tests, reported as signals; the verdict rests on the labeled comparison (canary.judge).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from labeling.quality import wilson


@dataclass(frozen=True)
class Shift:
    """One label-free comparison: what, its size, the test's p-value, and whether it is flagged."""

    name: str
    statistic: str
    value: float
    p_value: float | None
    flagged: bool
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"name": self.name, "statistic": self.statistic, "value": _f(self.value),
                "p_value": _f(self.p_value), "flagged": self.flagged, **self.details}


def _f(x):
    return None if x is None or not np.isfinite(x) else float(x)


def _counts(values: np.ndarray, classes: list[str]) -> np.ndarray:
    """How often each class occurs (hash-based counting: fast on millions of rows)."""
    seen = pd.Series(values).astype(str).value_counts()
    return np.array([int(seen.get(c, 0)) for c in classes])


def class_shares(control: np.ndarray, candidate: np.ndarray, classes: list[str], alpha: float,
                 min_share: float) -> Shift:
    """Unpaired: chi-square test of homogeneity of the predicted classes; size = largest share difference."""
    table = np.array([_counts(control, classes), _counts(candidate, classes)])
    sa, sb = (list(map(float, row / max(row.sum(), 1))) for row in table)
    biggest = max((abs(x - y) for x, y in zip(sa, sb)), default=0.0)
    table = table[:, table.sum(axis=0) > 0]
    p = float(stats.chi2_contingency(table, correction=False).pvalue) if table.shape[1] > 1 and min(
        len(control), len(candidate)) > 0 else 1.0
    return Shift("predicted class shares", "largest share difference", biggest, p,
                 bool(p < alpha and biggest >= min_share),
                 {"classes": classes, "control_shares": sa, "candidate_shares": sb, "test": "chi-square"})


def scores_unpaired(control: np.ndarray, candidate: np.ndarray, alpha: float, min_distance: float) -> Shift:
    a = np.asarray(control, dtype=float)
    b = np.asarray(candidate, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) == 0 or len(b) == 0:
        return Shift("score distribution", "KS distance", float("nan"), None, False)
    res = stats.ks_2samp(a, b)
    return Shift("score distribution", "KS distance", float(res.statistic), float(res.pvalue),
                 bool(res.pvalue < alpha and res.statistic >= min_distance),
                 {"control_mean": float(a.mean()), "candidate_mean": float(b.mean()), "test": "two-sample KS"})


def flip_rate(control: np.ndarray, candidate: np.ndarray, level: float) -> Shift:
    """Paired: the share of rows whose predicted class differs between the two models (never flagged alone)."""
    a, b = np.asarray(control).astype(str), np.asarray(candidate).astype(str)
    n = len(a)
    rate = float(np.mean(a != b)) if n else float("nan")
    lo, hi = wilson(rate, n, level) if n else (float("nan"), float("nan"))
    return Shift("flip rate", "share of rows predicted differently", rate, None, False,
                 {"rows": n, "lower": lo, "upper": hi, "level": level})


def scores_paired(control: np.ndarray, candidate: np.ndarray, alpha: float, min_distance: float) -> Shift:
    a, b = np.asarray(control, dtype=float), np.asarray(candidate, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    d = b[keep] - a[keep]
    if len(d) == 0:
        return Shift("score difference", "mean |delta p|", float("nan"), None, False)
    mean_abs = float(np.mean(np.abs(d)))
    p = float(stats.wilcoxon(d).pvalue) if np.any(d != 0) else 1.0
    return Shift("score difference", "mean |delta p|", mean_abs, p, bool(p < alpha and mean_abs >= min_distance),
                 {"mean_delta": float(d.mean()), "test": "Wilcoxon signed-rank"})
