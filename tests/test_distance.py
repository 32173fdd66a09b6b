"""Drift arithmetic shared by numeric and categorical features, against scipy (numeric KS: tests/test_grid.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from constraints.distance import (Sketch, categorical_drift, chi_squared_p_value, js_distance, psi,
                                  robust_allowance)


def test_robust_allowance_is_sagemakers():
    assert robust_allowance(1500, 1200) == pytest.approx(1.8 * np.sqrt((1500 + 1200) / (1500 * 1200)), rel=1e-12)
    assert robust_allowance(0, 1200) == float("inf")


def test_weighted_levels_count_twice_per_level():
    s = Sketch.from_levels([[1.0, 3.0], [2.0]])     # 2.0 stands for two values
    assert s.n == 4
    assert list(s.cdf(np.array([0.5, 1.0, 2.0, 3.0]))) == [0.0, 0.25, 0.75, 1.0]


def test_psi_and_js_formulas():
    p = np.array([0.1, 0.2, 0.3, 0.4])
    q = np.array([0.25, 0.25, 0.25, 0.25])
    assert psi(p, q) == pytest.approx(sum((q - p) * np.log(q / p)))
    assert js_distance(p, q) == pytest.approx(jensenshannon(p, q, base=2))


def test_chi_squared_matches_scipy_when_no_merge_is_needed():
    base = {"a": 500.0, "b": 300.0, "c": 200.0}
    cur = {"a": 230.0, "b": 160.0, "c": 110.0}
    expected = stats.chisquare([230, 160, 110], [250, 150, 100]).pvalue
    assert chi_squared_p_value(base, cur) == pytest.approx(expected, rel=1e-9)


def test_chi_squared_merges_small_and_unseen_categories():
    base = {"a": 900.0, "b": 98.0, "c": 2.0}
    cur = {"a": 90.0, "b": 8.0, "c": 1.0, "new": 1.0}
    # expected counts at m=100: a 90, b 9.8, c 0.2, new 0 -> new and c merge into b (9.8 + 0.2 = 10)
    expected = stats.chisquare([90, 10], [90, 10]).pvalue
    assert chi_squared_p_value(base, cur) == pytest.approx(expected, rel=1e-9)


def test_categorical_linf_over_the_union_of_categories():
    drift = categorical_drift({"a": 50.0, "b": 50.0}, {"a": 40.0, "b": 40.0, "c": 20.0})
    assert drift.linf == pytest.approx(0.2)


def _chi_squared_by_resorting(baseline: dict[str, float], current: dict[str, float]) -> float | None:
    """The obvious merge (the former implementation): re-sort every cell after each merge."""
    m, base_total = sum(current.values()), sum(baseline.values())
    if m == 0 or base_total == 0:
        return None
    cells = sorted((baseline.get(k, 0.0) / base_total * m, current.get(k, 0.0)) for k in set(baseline) | set(current))
    while len(cells) > 1 and cells[0][0] < 5.0:
        (e0, o0), (e1, o1) = cells[0], cells[1]
        cells = sorted([(e0 + e1, o0 + o1)] + cells[2:])
    if len(cells) < 2:
        return None
    return float(stats.chisquare([o for _, o in cells], [e for e, _ in cells], sum_check=False).pvalue)


@pytest.mark.parametrize("seed", range(40))
def test_chi_squared_heap_merge_equals_resorting_merge(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 30))
    base = {f"b{i}": float(rng.integers(0, 200) if rng.random() < 0.9 else rng.integers(1, 3)) for i in range(k)}
    cur = {key: float(rng.integers(0, 60)) for key in base if rng.random() < 0.9}
    cur.update({f"new{i}": float(rng.integers(0, 4)) for i in range(int(rng.integers(0, 15)))})
    want = _chi_squared_by_resorting(base, cur)
    got = chi_squared_p_value(base, cur)
    assert (got is None) == (want is None)
    if want is not None:
        assert got == pytest.approx(want, rel=1e-9, abs=1e-300)


def test_unlisted_unseen_values_count_as_one_cell():
    """Values outside the baseline given in total only (`other`) give the same test as listing each."""
    base = {"a": 500.0, "b": 300.0, "c": 200.0}
    listed = {"a": 230.0, "b": 160.0, "c": 110.0, "x": 7.0}
    every = {**listed, **{f"id{i}": 1.0 for i in range(40)}}
    assert chi_squared_p_value(base, listed, other=40.0) == pytest.approx(chi_squared_p_value(base, every), rel=1e-12)
    drift = categorical_drift(base, listed, other=40.0)
    assert drift.linf == pytest.approx(categorical_drift(base, every).linf, rel=1e-12)


def test_chi_squared_on_two_million_categories_completes():
    """The path an id written into a category column takes: 2M categories outside a 5-category baseline.
    Not timed (bench/stress_bench.py measures); the former merge re-sorted 2M cells per merge."""
    base = {c: 1000.0 for c in "abcde"}
    cur = {c: 10.0 for c in "abcde"} | {f"id-{i}": 1.0 for i in range(2_000_000)}
    # all 2M unseen values merge into one cell, then into the smallest category: 5 cells remain
    e_small = 2_000_050 / 5
    want = stats.chisquare([2_000_010, 10, 10, 10, 10], [e_small] * 5).pvalue
    assert chi_squared_p_value(base, cur) == pytest.approx(want, abs=1e-12)
