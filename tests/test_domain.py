"""The domain classifier (constraints.domain, jobs.domain_drift) and the KL divergence beside PSI and JS.

The alarm math against scipy / scikit-learn / a Monte Carlo of the permutation on small data; end to end with
real Spark: a partition whose marginals all stay while the correlation of two features flips (univariate
checks quiet, the classifier fires and names exactly those two), a partition where one feature shifts (it is
named first), and a null partition; the documents, the history, metrics.prom and report.html in Chromium.
bench/domain_study.py measures the false-alarm rate and power over hundreds of partitions."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from constraints.distance import categorical_drift, kl_divergence
from constraints.domain import (CATEGORICAL, CHECK, NUMERIC, DomainOptions, auroc, auc_threshold, classify,
                                drift_coefficient, null_auc)
from constraints.thresholds import Thresholds
from conftest import Watched

PLAN = (("x1", NUMERIC), ("x2", NUMERIC), ("x3", NUMERIC), ("x4", NUMERIC), ("segment", CATEGORICAL))


def _rows(n: int, seed: int, rho: float = 0.8, shift: float = 0.0) -> pd.DataFrame:
    """x1, x2 standard normal with correlation rho (each marginal N(0, 1) whatever rho), x3 ~ N(shift, 1),
    x4 ~ N(0, 1), a 4-valued segment, an id and a model score of x4 (unmoved by the flip and the shift)."""
    rng = np.random.default_rng(seed)
    z1, z2 = rng.standard_normal(n), rng.standard_normal(n)
    x1, x2 = z1, rho * z1 + math.sqrt(1 - rho * rho) * z2
    x3, x4 = rng.standard_normal(n) + shift, rng.standard_normal(n)
    return pd.DataFrame({"id": np.arange(seed * 10**7, seed * 10**7 + n), "x1": x1, "x2": x2, "x3": x3, "x4": x4,
                         "segment": rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1]),
                         "score": 1 / (1 + np.exp(-x4))})


# ---- the math, against independent computations ----

def test_auroc_is_scikit_learns_with_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500)
    scores = np.round(rng.random(500) + 0.2 * y, 1)    # many ties
    assert auroc(scores, y) == pytest.approx(roc_auc_score(y, scores), abs=1e-12)


def test_null_auc_of_one_fold_is_the_mann_whitney_null():
    """One fold: the permutation null of the rank sum is Mann-Whitney's, tie correction included."""
    rng = np.random.default_rng(2)
    y = np.r_[np.zeros(300, int), np.ones(200, int)]
    scores = np.round(rng.standard_normal(500) + 0.15 * y, 1)
    null = null_auc(scores, y, np.zeros(500, int))
    auc = auroc(scores, y)
    mw = stats.mannwhitneyu(scores[y == 1], scores[y == 0], alternative="greater", method="asymptotic",
                            use_continuity=False)
    assert mw.statistic / (300 * 200) == pytest.approx(auc)
    assert null.mean == pytest.approx(0.5)
    assert null.p_value(auc) == pytest.approx(mw.pvalue, rel=1e-9)


def test_null_auc_matches_a_monte_carlo_of_permutations_within_folds():
    """Scores whose level differs by fold (each fold has its own model) and an uneven split: the exact
    moments against 20,000 permutations of the labels within folds, and the normal quantile against theirs."""
    rng = np.random.default_rng(3)
    folds = np.repeat(np.arange(5), 240)
    y = np.concatenate([rng.permutation(np.r_[np.zeros(200, int), np.ones(40, int)]) for _ in range(5)])
    scores = rng.standard_normal(1200) * 0.3 + folds * 0.2
    null = null_auc(scores, y, folds)
    ranks = stats.rankdata(scores)
    n1, n0 = int(y.sum()), int((1 - y).sum())
    sims = np.empty(20_000)
    by_fold = [(ranks[folds == k], int(y[folds == k].sum())) for k in range(5)]
    for b in range(len(sims)):
        total = sum(rng.choice(r, m, replace=False).sum() for r, m in by_fold)
        sims[b] = (total - n1 * (n1 + 1) / 2) / (n0 * n1)
    assert null.mean == pytest.approx(sims.mean(), abs=3 * sims.std() / math.sqrt(len(sims)))
    assert null.sd == pytest.approx(sims.std(), rel=0.03)
    assert null.quantile(0.01) == pytest.approx(np.quantile(sims, 0.99), abs=0.1 * null.sd)
    # stratification matters here: the unstratified Mann-Whitney sd is larger (fold levels differ)
    assert null.sd < 0.9 * math.sqrt((n0 + n1 + 1) / (12 * n0 * n1))


def test_drift_coefficient_is_the_matthews_correlation_at_the_prior():
    y = np.r_[np.zeros(60, int), np.ones(40, int)]
    scores = np.r_[np.linspace(0, 0.5, 60), np.linspace(0.3, 1, 40)]
    called = scores > 0.4
    tp, tn = int((called & (y == 1)).sum()), int((~called & (y == 0)).sum())
    fp, fn = int((called & (y == 0)).sum()), int((~called & (y == 1)).sum())
    mcc = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    got_mcc, coefficient = drift_coefficient(scores, y)
    assert got_mcc == pytest.approx(mcc) and coefficient == pytest.approx(100 * mcc)
    assert drift_coefficient(1 - scores, y)[1] == 0.0      # worse than chance shows as no drift, as Azure showed it


def test_threshold_is_the_larger_of_noise_and_minimum_effect():
    null = null_auc(np.random.default_rng(4).random(2000), np.r_[np.zeros(1000, int), np.ones(1000, int)],
                    np.arange(2000) % 5)
    t = Thresholds()
    quiet = auc_threshold(null, 0.005, t, 0.0)
    assert quiet.noise == pytest.approx(null.mean + stats.norm.isf(0.005) * null.sd)
    strict = auc_threshold(null, 0.005, t, 0.02)
    assert strict.value == pytest.approx(max(strict.noise, 0.51 + 2 * null.sd))


def test_contributions_add_up_and_name_the_shifted_feature():
    r = classify(_rows(3000, 5), _rows(3000, 6, shift=0.5), PLAN, DomainOptions(trees=50))
    assert r.contributions[0][0] == "x3"
    assert sum(s for _, s in r.contributions) == pytest.approx(1.0)
    # detected, and not beyond the best any classifier can do: Phi(0.5 / sqrt 2) for a 0.5-sd shift of one feature
    assert auc_threshold(r.null, 0.005, Thresholds(), 0.02).value < r.auroc < stats.norm.cdf(0.5 / math.sqrt(2)) + 0.02
    assert r.drift_coefficient > 5



def test_contributions_are_shaps_tree_explainer_values():
    """The SHAP values come from LightGBM's TreeSHAP directly; shap's TreeExplainer (the reference
    implementation) gives the same values for the same model, categorical splits and missing values included."""
    import warnings

    import lightgbm as lgb
    import shap

    from constraints.domain import _shap, design

    base, part = _rows(1500, 9), _rows(1500, 10, shift=0.4)
    part.loc[::9, "x2"] = np.nan
    part.loc[::3, "segment"] = "d"
    X, y = design(base, part, PLAN)
    model = lgb.train({"objective": "binary", "verbose": -1, "seed": 1, "num_threads": 1},
                      lgb.Dataset(X, label=y, categorical_feature="auto"), num_boost_round=40)
    assert any(t.get("decision_type") == "==" for t in _splits(model.dump_model()))   # a categorical split is explained
    ours = _shap(model, X.iloc[:400])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # shap's note on LightGBM's binary output shape
        theirs = np.asarray(shap.TreeExplainer(model).shap_values(X.iloc[:400]))
    theirs = theirs[-1] if theirs.ndim == 3 and theirs.shape[0] == 2 else theirs
    assert ours.shape == theirs.shape == (400, len(PLAN))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def _splits(tree_dump: dict):
    def walk(node):
        if "split_index" in node:
            yield node
            yield from walk(node["left_child"])
            yield from walk(node["right_child"])
    for t in tree_dump["tree_info"]:
        yield from walk(t["tree_structure"])

def test_folds_trained_at_once_give_the_result_of_folds_trained_one_by_one():
    """The folds run on threads (parallel_folds): the scores, AUROCs, nulls and SHAP shares do not depend on it."""
    base, part = _rows(1500, 7), _rows(1500, 8, rho=-0.8)
    one, *others = (classify(base, part, PLAN, DomainOptions(trees=30, parallel_folds=n, shap_rows=300))
                    for n in (1, 2, 5))
    assert one.auroc > 0.6   # a flipped correlation: the folds differ from each other and from chance
    for r in others:
        assert r == one


def test_options_refuse_nonsense():
    for bad in ({"folds": 1}, {"partition_rows": 5}, {"min_effect": 1.5}, {"trees": 0}, {"parallel_folds": 0}):
        with pytest.raises(ValueError):
            DomainOptions(**bad)


# ---- KL divergence ----

def test_kl_divergence_is_scipys_entropy_with_the_stated_floor():
    p = np.array([0.5, 0.3, 0.2, 0.0])
    q = np.array([0.4, 0.3, 0.2, 0.1])
    eps = 1e-4
    assert kl_divergence(p, q) == pytest.approx(stats.entropy(np.maximum(q, eps), np.maximum(p, eps)), rel=1e-12)
    assert kl_divergence(p, p) == pytest.approx(0.0, abs=1e-15)
    drift = categorical_drift({"a": 50, "b": 30, "c": 20}, {"a": 40, "b": 30, "c": 20, "new": 10})
    assert drift.kl == pytest.approx(stats.entropy([0.4, 0.3, 0.2, 0.1], [0.5, 0.3, 0.2, eps]), rel=1e-9)


# ---- end to end, real Spark ----

@pytest.fixture(scope="module")
def run(spark, tmp_path_factory):
    from jobs import baseline, validate
    from jobs.cli import parser

    tmp = tmp_path_factory.mktemp("domain")
    _rows(20_000, 1).to_parquet(tmp / "train.parquet", index=False)
    base = tmp / "baseline"
    assert baseline.run(spark, parser().parse_args([
        "baseline", "--input", str(tmp / "train.parquet"), "--output", str(base), "--predictions", "score",
        "--domain-sample-rows", "5000"])) == 0
    parts = {"chunk=01": _rows(6000, 2), "chunk=02": _rows(6000, 3, rho=-0.8), "chunk=03": _rows(6000, 4, shift=0.3)}
    table = tmp / "table"
    for name, frame in parts.items():
        (table / name).mkdir(parents=True)
        frame.to_parquet(table / name / "part-0.parquet", index=False)
    out = tmp / "out"
    code = validate.run(spark, parser().parse_args([
        "validate", "--baseline", str(base), "--input", str(table), "--output", str(out), "--no-history",
        "--domain-sample-rows", "4000"]))
    checks = {n: json.loads((out / n / "checks.json").read_text()) for n in parts}
    return {"code": code, "base": base, "out": out, "checks": checks, "parts": parts}


def _domain(doc: dict) -> dict:
    (c,) = [c for c in doc["checks"] if c["check"] == CHECK]
    return c


def test_baseline_keeps_a_bounded_sample_of_the_inputs(run):
    doc = json.loads((run["base"] / "domain_sample.json").read_text())
    assert doc["rows"] == 5000 and doc["source_rows"] == 20_000
    # inputs only: the id is unique (an identifier), the score a model output
    assert [(f["name"], f["kind"]) for f in doc["features"]] == list(PLAN)
    assert all(len(v) == 5000 for v in doc["columns"].values())
    train = _rows(20_000, 1)
    assert set(doc["columns"]["segment"]) <= set(train["segment"])
    assert np.isin(np.asarray(doc["columns"]["x3"]), train["x3"].to_numpy()).all()   # real rows, not made up
    # SageMaker's documents stay as they were: no new key in statistics.json
    stats_doc = json.loads((run["base"] / "statistics.json").read_text())
    assert set(stats_doc) == {"version", "dataset", "features"}


def test_correlation_flip_fires_the_classifier_only_and_names_the_pair(run):
    doc = run["checks"]["chunk=02"]
    univariate = [c for c in doc["checks"] if c["check"] == "baseline_drift_check" and c["feature"] != "id"]
    assert len(univariate) == 6 and all(c["status"] == "passed" for c in univariate)
    failed = [c for c in doc["checks"] if c["status"] == "failed"]
    # only the checks across features fire: the classifier, and correlation drift naming the same pair
    assert {c["check"] for c in failed} <= {CHECK, "correlation_drift_check", "reconstruction_error_check",
                                            "anomaly_share_check", "association_drift_check"}, [c["check"] for c in failed]
    assert CHECK in {c["check"] for c in failed}
    pairs = {c["feature"] for c in failed if c["check"] == "correlation_drift_check"}
    assert pairs and all(set(p.split(" ~ ")) == {"x1", "x2"} for p in pairs), pairs
    d = _domain(doc)
    assert d["status"] == "failed" and d["measured"] > d["threshold"]
    top = [c["feature"] for c in d["details"]["contributions"]]
    assert set(top[:2]) == {"x1", "x2"}
    assert sum(c["contribution"] for c in d["details"]["contributions"]) == pytest.approx(
        d["details"]["drift_coefficient"])
    assert d["details"]["partition_sample_rows"] == 4000 and d["details"]["baseline_sample_rows"] == 5000
    violations = json.loads((run["out"] / "chunk=02" / "constraint_violations.json").read_text())["violations"]
    assert {"feature_name": "", "constraint_check_type": CHECK, "description": d["description"]} in violations


def test_one_shifted_feature_comes_first(run):
    d = _domain(run["checks"]["chunk=03"])
    assert d["status"] == "failed"
    assert d["details"]["contributions"][0]["feature"] == "x3"


def test_null_partition_is_quiet(run):
    d = _domain(run["checks"]["chunk=01"])
    assert d["status"] == "passed" and d["measured"] < d["threshold"]
    assert 0 <= d["details"]["p_value"] <= 1


def test_history_and_prometheus_carry_the_classifier(run, spark, tmp_path):
    from constraints.domain import metric_rows

    d = _domain(run["checks"]["chunk=02"])
    prom = (run["out"] / "chunk=02" / "metrics.prom").read_text()
    assert f'dqloop_domain_auroc{{partition="chunk=02"}} {d["measured"]!r}' in prom
    assert 'dqloop_feature_domain_contribution{partition="chunk=02",feature="x1"}' in prom
    assert 'dqloop_feature_kl_divergence{partition="chunk=02",feature="x3"}' in prom
    from constraints.checks import CheckResult
    rows = metric_rows(CheckResult(CHECK, None, d["status"], d["measured"], d["threshold"], "", (), d["details"]))
    assert {"feature": "*", "metric": "domain_drift_coefficient", "value": d["details"]["drift_coefficient"]} in rows
    from constraints.anomaly import HistoryOptions
    HistoryOptions(metrics=("row_count", "domain_auroc"))   # n-sigma rules may cover it


def test_kl_in_drift_details_is_scipys_on_the_baseline_buckets(run):
    doc = run["checks"]["chunk=02"]
    (seg,) = [c for c in doc["checks"] if c["check"] == "baseline_drift_check" and c["feature"] == "segment"]
    base = json.loads((run["base"] / "statistics.json").read_text())
    (feat,) = [f for f in base["features"] if f["name"] == "segment"]
    counts = {b["value"]: b["count"] for b in feat["string_statistics"]["distribution"]["categorical"]["buckets"]}
    part = run["parts"]["chunk=02"]["segment"].value_counts()
    keys = sorted(counts)
    p = np.array([counts[k] for k in keys], float)
    q = np.array([part.get(k, 0) for k in keys], float)
    assert seg["details"]["kl_divergence"] == pytest.approx(stats.entropy(q / q.sum(), p / p.sum()), rel=1e-9)


def test_report_section_in_chromium(run, browser):
    report = run["out"] / "chunk=02" / "report.html"
    d = _domain(run["checks"]["chunk=02"])
    w = Watched(browser)
    page = w.page
    page.goto(report.as_uri())
    section = page.locator("#domain")
    assert section.count() == 1 and "failed" in section.inner_text()
    assert page.locator("#domain-coefficient").inner_text() == f"{d['details']['drift_coefficient']:.3g} / 100"
    bars = page.locator("#domain svg.contributions rect.contribution")
    assert bars.count() == len(PLAN)
    first_two = {bars.nth(i).get_attribute("data-feature") for i in range(2)}
    assert first_two == {"x1", "x2"}
    widths = [bars.nth(i).bounding_box()["width"] for i in range(bars.count())]
    assert widths == sorted(widths, reverse=True) and widths[0] > 100
    w.quiet({report.as_uri()})
    w.close()


def test_spark_sample_is_bounded_and_uniform(spark):
    from jobs.domain_drift import draw

    df = spark.range(50_000, numPartitions=4).selectExpr("cast(id as double) as x", "cast(id % 3 as string) as s")
    plan = (("x", NUMERIC), ("s", CATEGORICAL))
    frame = draw(df, plan, 50_000, 2_000, 7)
    assert len(frame) == 2_000 and frame["x"].is_unique
    assert set(frame["s"]) == {"0", "1", "2"}
    # uniform over the rows, whatever Spark partition they sit in: the ids' mean and a chi-squared over quarters
    assert abs(frame["x"].mean() - 24_999.5) < 4 * (50_000 / math.sqrt(12)) / math.sqrt(2_000)
    quarters = np.histogram(frame["x"], bins=4, range=(0, 50_000))[0]
    assert stats.chisquare(quarters).pvalue > 0.001
    assert len(draw(df.limit(300), plan, 300, 2_000, 7)) == 300     # a small partition: every row


def test_too_few_rows_is_a_skipped_check_not_a_crash():
    from jobs.render.domain import domain_section

    with pytest.raises(ValueError, match="at least 20 rows"):
        classify(_rows(500, 1), _rows(5, 2), PLAN)
    from constraints.domain import skipped
    c = skipped("the domain classifier needs at least 20 rows on each side <b>").to_dict()
    html = domain_section([c])
    assert "skipped" in html and "&lt;b&gt;" in html and "<b>" not in html.split("</h2>")[1]
    assert domain_section([{"check": "row_count_check", "status": "passed"}]) == ""
