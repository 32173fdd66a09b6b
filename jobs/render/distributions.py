"""The baseline's and a partition's distributions on common bins, for drawing them together.

Numeric features: both KLL sketches evaluated on the baseline's 10 equal-width buckets plus an
under- and an overflow bin (the bins the drift measures PSI and Jensen-Shannon use). Categorical
features: shares of the most frequent categories of either side, the rest merged, with categories
unseen in the baseline flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from constraints.baseline import FeatureBaseline
from constraints.distance import Sketch, bin_shares
from jobs.render.html import fmt

MAX_CATEGORIES = 12


@dataclass(frozen=True)
class Bins:
    labels: tuple[str, ...]          # per bin: '< a', 'a-b' ..., '> z'
    baseline: tuple[float, ...]
    current: tuple[float, ...]
    edges: tuple[float, ...] = ()   # the bucket edges between the bins (len(labels) - 1 of them)


@dataclass(frozen=True)
class Categories:
    rows: tuple[tuple[str, float, float, bool], ...]   # value, baseline share, current share, new
    merged: int                                         # categories folded into "other"


def _sketch(stats: dict[str, Any]) -> Sketch | None:
    data = (((stats.get("numerical_statistics") or {}).get("distribution") or {}).get("kll") or {}) \
        .get("sketch", {}).get("data")
    if not data or not any(data):
        return None
    return Sketch.from_levels(data)


def numeric_bins(baseline: FeatureBaseline, stats: dict[str, Any]) -> Bins | None:
    """None when either side has no sketch (no values, or no KLL distribution in the baseline)."""
    current = _sketch(stats)
    if current is None or not baseline.kll_levels or not baseline.kll_edges or not any(baseline.kll_levels):
        return None
    edges = np.asarray(baseline.kll_edges, dtype=float)
    base = bin_shares(Sketch.from_levels(baseline.kll_levels), edges)
    cur = bin_shares(current, edges)
    labels = [f"< {fmt(edges[0], 3)}"] + [f"{fmt(lo, 3)}\u2013{fmt(hi, 3)}" for lo, hi in zip(edges[:-1], edges[1:])] \
        + [f"> {fmt(edges[-1], 3)}"]
    return Bins(tuple(labels), tuple(float(x) for x in base), tuple(float(x) for x in cur),
                tuple(float(e) for e in edges))


def category_shares(baseline: FeatureBaseline, stats: dict[str, Any], limit: int = MAX_CATEGORIES) -> Categories | None:
    buckets = (((stats.get("string_statistics") or {}).get("distribution") or {}).get("categorical") or {}) \
        .get("buckets")
    if not buckets or not baseline.categories:
        return None
    cur = {str(b["value"]): float(b["count"]) for b in buckets}
    base = {str(k): float(v) for k, v in baseline.categories.items()}
    cur_total, base_total = sum(cur.values()) or 1.0, sum(base.values()) or 1.0
    shares = {k: (base.get(k, 0.0) / base_total, cur.get(k, 0.0) / cur_total) for k in set(base) | set(cur)}
    # largest on either side first; unseen categories are always kept in view
    order = sorted(shares, key=lambda k: (k in base, -max(shares[k]), k))
    unseen = [k for k in order if k not in base]
    seen = sorted((k for k in order if k in base), key=lambda k: (-max(shares[k]), k))
    keep = (unseen[: limit // 2] + seen)[:limit]
    rows = [(k, shares[k][0], shares[k][1], k not in base) for k in sorted(keep, key=lambda k: (-max(shares[k]), k))]
    rest = [k for k in shares if k not in set(keep)]
    if rest:
        rows.append((f"other ({len(rest)})", sum(shares[k][0] for k in rest), sum(shares[k][1] for k in rest), False))
    return Categories(tuple(rows), len(rest))
