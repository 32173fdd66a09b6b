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
