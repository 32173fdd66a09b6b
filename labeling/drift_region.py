"""Sampling intensity toward the drifted region: for each feature a violation report names as drifted
(baseline_drift_check, categorical_values_check), the ratio of the partition's share to the baseline's
share of the bucket a row falls in (the baseline's KLL buckets plus an under- and an overflow bucket, or
its category counts); a row's intensity is its largest ratio. Rows in regions the partition has many
more of than the training data get sampled more; pure, from the two JSON documents and the rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

DRIFT_CHECKS = ("baseline_drift_check", "categorical_values_check")


def drifted_features(violations: dict[str, Any]) -> list[str]:
    names = [v.get("feature_name") for v in violations.get("violations", [])
             if v.get("constraint_check_type") in DRIFT_CHECKS]
    return sorted({n for n in names if n})


def _ratio(part_counts: np.ndarray, base_counts: np.ndarray) -> np.ndarray:
    k = len(base_counts)
    part = (part_counts + 0.5) / (part_counts.sum() + 0.5 * k)
    base = (base_counts + 0.5) / (base_counts.sum() + 0.5 * k)
    return part / base


def feature_ratio(values: pd.Series, feature: dict[str, Any]) -> np.ndarray:
    """Per row: partition share / baseline share of the row's bucket (1 for missing values)."""
    out = np.ones(len(values))
    if "numerical_statistics" in feature:
        buckets = feature["numerical_statistics"].get("distribution", {}).get("kll", {}).get("buckets", [])
        if not buckets:
            return out
        edges = np.array([buckets[0]["lower_bound"]] + [b["upper_bound"] for b in buckets], dtype=float)
        base = np.array([0.0] + [b["count"] for b in buckets] + [0.0])
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        present = np.isfinite(x)
        # bin 0: below the baseline's minimum, 1..K: its buckets (last one closed), K+1: above its maximum
        idx = np.searchsorted(edges, x[present], side="right")
        idx[x[present] == edges[-1]] = len(edges) - 1
        part = np.bincount(idx, minlength=len(base)).astype(float)
        out[present] = _ratio(part, base)[idx]
        return out
    buckets = feature.get("string_statistics", {}).get("distribution", {}).get("categorical", {}).get("buckets", [])
    known = {str(b["value"]): i for i, b in enumerate(buckets)}
    base = np.array([b["count"] for b in buckets] + [0.0], dtype=float)   # last: unseen values
    s = values.astype("string")
    present = s.notna().to_numpy()
    idx = np.array([known.get(v, len(buckets)) for v in s[present]], dtype=int)
    part = np.bincount(idx, minlength=len(base)).astype(float)
    out[present] = _ratio(part, base)[idx]
    return out


def intensity(frame: pd.DataFrame, violations: dict[str, Any], baseline_statistics: dict[str, Any]) -> tuple[np.ndarray, list[str]]:
    """(per-row intensity, the drifted features used); ValueError when there is nothing to weight by."""
    features = {f["name"]: f for f in baseline_statistics.get("features", [])}
    used = [n for n in drifted_features(violations) if n in features and n in frame.columns]
    if not used:
        raise ValueError(f"the violation report names no drifted feature that is both in the baseline statistics "
                         f"and in the partition (drifted: {drifted_features(violations) or 'none'})")
    ratios = np.column_stack([feature_ratio(frame[n], features[n]) for n in used])
    return ratios.max(axis=1), used
