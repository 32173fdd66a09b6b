"""SageMaker Model Monitor's statistics.json and constraints.json, written from a profile.

The shapes follow ../shared/reference/sagemaker-formats.md exactly: readers, dashboards and habits
built for SageMaker carry over. dqloop's own additions live in the richer suite, not here.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from constraints.columns import FRACTIONAL, INTEGRAL, STRING
from constraints.profile import ColumnProfile, Profile
from constraints.backends import SAGEMAKER
from constraints.suite import Constraint, Suite

MONITORING_CONFIG_DEFAULTS: dict[str, Any] = {
    "evaluate_constraints": "Enabled",
    "emit_metrics": "Enabled",
    "datatype_check_threshold": 0.1,
    "domain_content_threshold": 0.1,
    "distribution_constraints": {
        "perform_comparison": "Enabled",
        "comparison_threshold": 0.1,
        "comparison_method": "Robust",
        "categorical_comparison_threshold": 0.1,
        "categorical_drift_method": "LInfinity",
    },
}


def _number(x: float | None) -> float:
    """A number for SageMaker's JSON (no NaN or infinity in JSON): None and NaN as 0, an overflowed
    infinity as the largest double."""
    if x is None or math.isnan(x):
        return 0.0
    return max(-sys.float_info.max, min(sys.float_info.max, float(x)))


def _feature_statistics(p: ColumnProfile) -> dict[str, Any]:
    common = {"num_present": p.num_present, "num_missing": p.num_missing}
    feature: dict[str, Any] = {"name": p.column.name, "inferred_type": p.inferred_type}
    if p.inferred_type in (INTEGRAL, FRACTIONAL):
        stats: dict[str, Any] = {
            "common": common,
            "mean": _number(p.mean), "sum": _number(p.sum), "std_dev": _number(p.std_dev),
            "min": _number(p.minimum), "max": _number(p.maximum),
        }
        if p.kll is not None:
            stats["distribution"] = {"kll": {
                "buckets": [{"lower_bound": lo, "upper_bound": hi, "count": n} for lo, hi, n in p.kll.buckets],
                "sketch": {"parameters": {"c": p.kll.c, "k": p.kll.k}, "data": [list(level) for level in p.kll.data]},
            }}
        feature["numerical_statistics"] = stats
    else:
        feature["string_statistics"] = {
            "common": common,
            "distinct_count": p.distinct_count or 0,
            "distribution": {"categorical": {"buckets": [{"value": v, "count": n} for v, n in p.categories or ()]}},
        }
    return feature


def statistics_document(profile: Profile) -> dict[str, Any]:
    """statistics.json: item_count and per-feature statistics, inputs first, model outputs after."""
    return {"version": 0, "dataset": {"item_count": profile.rows},
            "features": [_feature_statistics(p) for p in profile.columns]}


def _section(kept: tuple[Constraint, ...], section: str) -> dict[str, Any]:
    """What the suite's constraints of one column say in one section of a constraints.json feature, as each
    kind expresses itself there (constraints.backends.SAGEMAKER; the first to set a key wins). Kinds that
    constraints.json cannot express are left out, as stated with their registration."""
    out: dict[str, Any] = {}
    for c in kept:
        if SAGEMAKER.expressible(c):
            for key, value in SAGEMAKER.express(c).get(section, {}).items():
                out.setdefault(key, value)
    return out


def constraints_document(profile: Profile, suite: Suite, monitoring_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """constraints.json: observed completeness, non-negativity and domains (from the held-out-checked suite)."""
    features = []
    for p in profile.columns:
        name = p.column.name
        feature: dict[str, Any] = {"name": name, "inferred_type": p.inferred_type,
                                   "completeness": round(p.num_present / profile.rows, 6) if profile.rows else 0.0}
        kept = suite.for_column(name)
        if p.inferred_type in (INTEGRAL, FRACTIONAL):
            feature["num_constraints"] = {"is_non_negative": False, **_section(kept, "num_constraints")}
        elif p.inferred_type == STRING and (strings := _section(kept, "string_constraints")):
            feature["string_constraints"] = strings
        feature["monitoringConfigOverrides"] = {}
        features.append(feature)
    return {"version": 0, "features": features,
            "monitoring_config": dict(monitoring_config or MONITORING_CONFIG_DEFAULTS)}
