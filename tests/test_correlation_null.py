"""Pearson's null variance at every partition size (constraints.correlation_null): the bootstrap against a
direct numpy simulation, and correlation drift's false-alarm rate on skewed data within a binomial bound."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from constraints.correlation import CoTally, fisher_variance, pearson
from constraints.correlation_null import NullVariance, bootstrap_variance
from constraints.multivariate import PEARSON, Correlations, correlation_checks
from constraints.thresholds import Thresholds

COV = np.array([[1, .6], [.6, 1]])


def _t(rng, rows, df=8):
    return rng.multivariate_normal([0, 0], COV, size=rows) / np.sqrt(rng.chisquare(df, size=(rows, 1)) / df)


def _direct(draw, m: int, times: int) -> float:
    """(m - 3) Var(atanh r) by plain simulation: `times` draws of m rows, numpy's corrcoef."""
    z = [math.atanh(np.corrcoef(draw(m).T)[0, 1]) for _ in range(times)]
    return (m - 3) * float(np.var(z, ddof=1))


def test_bootstrap_variance_equals_direct_resampling_of_the_sample_and_the_distributions_own():
    rng = np.random.default_rng(3)
    rows = _t(rng, 4000)
    null = bootstrap_variance(rows, sizes=(50, 400), replicates=1000, seed=5)
    assert null.values.shape == (2, 2, 2) and np.all(np.diagonal(null.values, axis1=1, axis2=2) == 1.0)
    # the same quantity, computed independently: m rows drawn with replacement from the sample
    for k, m in enumerate((50, 400)):
        direct = _direct(lambda n: rows[rng.integers(0, len(rows), n)], m, 2000)
        assert null.values[k, 0, 1] == pytest.approx(direct, rel=0.12), m
    # and the variance at that size of the distribution itself (t, 8 df: v about 1.5 at large sizes)
    sample = _t(rng, 16_384)
    null = bootstrap_variance(sample, sizes=(100, 1000), replicates=1000, seed=6)
    for k, m in enumerate((100, 1000)):
        truth = _direct(lambda n: _t(rng, n), m, 2000)
        assert null.values[k, 0, 1] == pytest.approx(truth, rel=0.2), m
    # normal data: 1 at every size (Fisher's (n - 3) Var(atanh r) = 1)
    normal = bootstrap_variance(rng.multivariate_normal([0, 0], COV, size=16_384), sizes=(30, 300, 3000),
                                replicates=1000, seed=7)
    assert np.allclose(normal.values[:, 0, 1], 1.0, atol=0.15)


def test_null_variance_interpolates_in_log_rows_and_round_trips():
    v = np.array([np.full((2, 2), 2.0), np.full((2, 2), 4.0)])
    null = NullVariance((100, 10_000), v, 50)
    assert null.at(1000)[0, 1] == pytest.approx(3.0)          # half way in log(rows)
    assert null.at(10)[0, 1] == 2.0 and null.at(1e6)[0, 1] == 4.0
    back = NullVariance.from_dict(null.to_dict())
    assert back.sizes == null.sizes and back.replicates == 50 and np.array_equal(back.values, v)


def _copula_sigma(p: int) -> np.ndarray:
    """bench/correlation_study.py's design: 0 ~ 1 at 0.6, 2..7 an AR(1) chain at 0.5."""
    s = np.eye(p)
    s[0, 1] = s[1, 0] = 0.6
    for i in range(2, p):
        for j in range(2, p):
            s[i, j] = 0.5 ** abs(i - j)
    return s


def _false_alarms(rng, partitions: int, rows: int, calibrated: bool) -> int:
    p, names = 8, tuple("abcdefgh")
    draw = lambda n: np.exp(rng.multivariate_normal(np.zeros(p), _copula_sigma(p), size=n))  # noqa: E731
    x = draw(50_000)
    sample = x[:16_384]
    t = CoTally.of(x)
    fourth = fisher_variance(sample)
    base = Correlations(names, pearson(t), t.n, None, None, fourth,
                        bootstrap_variance(sample, floor=fourth) if calibrated else None)
    alarms = 0
    for _ in range(partitions):
        y = draw(rows)
        tp = CoTally.of(y)
        part = Correlations(names, pearson(tp), tp.n, None, None, fisher_variance(y) if calibrated else None)
        alarms += any(r.failed for r in correlation_checks(base, part, Thresholds())
                      if r.details["method"] == PEARSON)
    return alarms


def test_pearson_false_alarms_on_lognormal_partitions_stay_within_the_family_alpha():
    """200 partitions of 1,000 lognormal rows (a Gaussian copula, 28 pairs): the number with any failed
    pair stays within the binomial 99.9% bound of the family alpha 0.05; the single fourth-moment variance
    (the previous check, kept for documents without null_variance) goes beyond it."""
    rng = np.random.default_rng(11)
    partitions, alpha = 200, Thresholds().family_alpha
    bound = stats.binom.ppf(0.999, partitions, alpha)
    calibrated = _false_alarms(rng, partitions, 1000, calibrated=True)
    assert calibrated <= bound, (calibrated, bound)
    single = _false_alarms(rng, partitions, 1000, calibrated=False)
    assert single > bound, (single, bound)


def test_fisher_variance_of_all_pairs_at_once_equals_the_pairwise_one():
    from constraints.correlation import _fisher_variance_pairwise

    rng = np.random.default_rng(4)
    x = np.exp(rng.multivariate_normal(np.zeros(4), np.eye(4) + 0.3, size=3000))
    x[:, 3] = 2.0                                                    # a constant column: 1
    assert np.allclose(fisher_variance(x), _fisher_variance_pairwise(x), rtol=1e-10)
    assert fisher_variance(x)[0, 1] > 1.5 and fisher_variance(x)[0, 3] == 1.0
    x[rng.random(x.shape) < 0.05] = np.nan                           # pairwise-complete rows
    assert np.allclose(fisher_variance(x), _fisher_variance_pairwise(x), rtol=1e-10)


def test_a_baseline_document_without_null_variance_still_validates_with_its_single_variance():
    rng = np.random.default_rng(9)
    x = np.exp(rng.multivariate_normal([0, 0], COV, size=20_000))
    t = CoTally.of(x)
    fourth = fisher_variance(x[:16_384])
    new = Correlations(("a", "b"), pearson(t), t.n, None, None, fourth, bootstrap_variance(x[:16_384], floor=fourth))
    doc = new.to_dict()
    assert set(doc["pearson"]) == {"r", "rows", "fisher_variance", "null_variance"}
    del doc["pearson"]["null_variance"]                      # what a baseline written before it holds
    old = Correlations.from_dict(doc)
    assert old.null is None
    y = np.exp(rng.multivariate_normal([0, 0], COV, size=1000))
    tp = CoTally.of(y)
    part = Correlations(("a", "b"), pearson(tp), tp.n, None, None, fisher_variance(y))
    (r,) = correlation_checks(old, part, Thresholds())
    assert r.details["baseline_fisher_variance"] == pytest.approx(fourth[0, 1], rel=1e-6)
    assert r.details["fisher_variance"] == pytest.approx(max(fourth[0, 1], fisher_variance(y)[0, 1]), rel=1e-6)
    (r,) = correlation_checks(Correlations.from_dict(new.to_dict()), part, Thresholds())
    assert r.details["baseline_fisher_variance"] == pytest.approx(new.null.at(20_000)[0, 1], rel=1e-5)
    assert r.details["fisher_variance"] == pytest.approx(max(new.null.at(1000)[0, 1], fisher_variance(y)[0, 1]),
                                                         rel=1e-5)
