"""Correlations and quantiles from the one pass: the co-moment tallies and their merge against pandas,
Spearman's rho against scipy, Fisher's z test against its formula, and on real Spark a sign flip that
every univariate check misses."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from constraints.correlation import CoTally, mid_cdf, pearson, spearman_of_sample
from constraints.rowsample import RowSample
from constraints.grid import GridCounts
from constraints.multivariate import (CORRELATION_CHECK, EXTENDED_FILE, Correlations, correlation_checks,
                                      fisher_test)
from constraints.quantiles import LABELS, QUANTILES, grid_quantiles
from constraints.thresholds import KLL_RANK_ERROR_DATASKETCHES, Thresholds
from helpers import baseline_args, write_parquet


def test_comoments_merged_in_any_blocks_equal_pandas_pairwise_correlations():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3000, 4)) * [1, 1e3, 1, 1e-3] + [0, 1e9, -7, 0]   # a large mean: no cancellation
    x[:, 1] += 400 * x[:, 0]
    x[:, 3] -= 2e-3 * x[:, 2]
    x[rng.random(x.shape) < 0.15] = np.nan                                   # pairwise-complete rows
    whole = CoTally.of(x)
    t = CoTally.of(x[:1])
    for lo in range(1, 3000, 211):
        t = t.merge(CoTally.of(x[lo:lo + 211]))
    expected = pd.DataFrame(x).corr().to_numpy()
    assert np.allclose(pearson(t), expected, atol=1e-9)
    assert np.allclose(pearson(whole), expected, atol=1e-9)
    present = ~np.isnan(x)
    assert (t.n == present.T.astype(int) @ present.astype(int)).all()


def test_spearman_on_the_baseline_ranks_equals_scipy_when_the_sketch_kept_every_value():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(800, 3))
    x[:, 1] = np.exp(x[:, 0]) + 0.3 * rng.normal(size=800)
    x[:, 2] = np.round(x[:, 2], 1)                                            # ties: mid-ranks
    sketches = [(np.unique(c), np.cumsum(np.unique(c, return_counts=True)[1]) / len(c)) for c in x.T]
    rho, rows = spearman_of_sample(x, sketches)
    assert np.allclose(rho, stats.spearmanr(x).statistic, atol=1e-12)
    assert (rows == 800).all()


def test_mid_cdf_gives_mid_ranks():
    values, cum = np.array([1.0, 2.0, 5.0]), np.array([0.25, 0.75, 1.0])
    assert mid_cdf(values, cum, np.array([0.0, 1.0, 2.0, 3.0, 5.0, 9.0, np.nan])).tolist()[:6] == \
        [0.0, 0.125, 0.5, 0.625, 0.875, 1.0]   # between items: interpolated


def test_row_sample_keeps_k_rows_uniformly():
    import pyarrow as pa

    lane = RowSample(("a",), k=100)
    t = lane.fold(pa.RecordBatch.from_pydict({"a": np.arange(1000.0)}))
    for lo in range(1000, 10_000, 1000):
        t = lane.merge(t, lane.fold(pa.RecordBatch.from_pydict({"a": np.arange(lo, lo + 1000.0)})))
    assert t.numbers.shape == (100, 1)
    assert len(np.unique(t.numbers)) == 100
    assert 2000 < t.numbers.mean() < 8000   # uniform over 0..9999: mean 5000, sd of the mean about 290


def test_fisher_test_matches_its_formula_and_the_check_names_the_pair():
    z, p = fisher_test(0.5, 1000, 0.3, 400)
    expected = (math.atanh(0.3) - math.atanh(0.5)) / math.sqrt(1 / 997 + 1 / 397)
    assert z == pytest.approx(expected) and p == pytest.approx(2 * stats.norm.sf(abs(expected)))
    cols = ("a", "b", "c")
    base = Correlations(cols, np.array([[1, .8, 0], [.8, 1, 0], [0, 0, 1.]]), np.full((3, 3), 5000.0))
    part = Correlations(cols, np.array([[1, -.8, .02], [-.8, 1, 0], [.02, 0, 1.]]), np.full((3, 3), 2000.0))
    results = correlation_checks(base, part, Thresholds())
    failed = [r.feature for r in results if r.failed]
    assert failed == ["a ~ b"]
    small = [r for r in results if r.feature == "a ~ c"][0]
    assert small.details["alpha"] == pytest.approx(min(1 - 0.95 ** (1 / 3), 0.005))   # Sidak over 3 pairs, capped
    assert small.details["critical_z"] == pytest.approx(stats.norm.isf(small.details["alpha"] / 2))


def test_a_significant_change_below_the_minimum_effect_passes():
    cols = ("a", "b")
    base = Correlations(cols, np.array([[1, .50], [.50, 1.]]), np.full((2, 2), 1e7))
    part = Correlations(cols, np.array([[1, .45], [.45, 1.]]), np.full((2, 2), 1e7))
    (r,) = correlation_checks(base, part, Thresholds())
    assert abs(r.details["z"]) > r.details["critical_z"] and not r.failed


def test_quantiles_from_the_grid_are_within_a_cell_of_numpy():
    from constraints.grid import grid_points

    rng = np.random.default_rng(3)
    base = rng.lognormal(size=200_000)
    from datasketches import kll_doubles_sketch
    from constraints.profiling import _kll
    from constraints.profile import KllParameters
    from constraints.tally import DescribedTally

    sk = kll_doubles_sketch(2048)
    sk.update(base)
    kll = _kll(DescribedTally(count=len(base), sketch=sk), KllParameters(), float(base.min()), float(base.max()))
    points = grid_points(kll.data, [b[0] for b in kll.buckets] + [kll.buckets[-1][1]])
    part = rng.lognormal(mean=0.1, size=50_000)
    below = np.searchsorted(np.sort(part), points, side="left")
    grid = GridCounts(tuple(points), tuple(np.diff(below, prepend=0, append=len(part))))
    q = grid_quantiles(grid, float(part.min()), float(part.max()))
    exact = np.quantile(part, QUANTILES)
    ecdf = np.sort(part)
    for label, p, e in zip(LABELS, QUANTILES, exact):
        rank = np.searchsorted(ecdf, q[label]) / len(part)
        assert abs(rank - p) <= 1 / 128, (label, q[label], e)   # within the grid's cell share (about 1/256)


def _frame(rho: float, rows: int, seed: int) -> pd.DataFrame:
    """x, y standard normal whatever rho (their correlation), z and k independent, c and d categorical."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    y = rho * x + math.sqrt(1 - rho * rho) * rng.normal(size=rows)
    c = rng.choice(["a", "b", "c"], rows)
    d = np.where(rng.random(rows) < (0.8 if rho > 0 else 0.0), c, rng.choice(["a", "b", "c"], rows))
    return pd.DataFrame({"x": x, "y": y, "z": rng.normal(size=rows), "k": rng.integers(0, 20, rows), "c": c,
                         "d": d, "id": np.arange(rows) + seed * 10**6})   # ids: new values in every partition   # d follows c in the baseline (Cramér's V about 0.8), not in the flipped partition


@pytest.fixture(scope="module")
def flip(spark, tmp_path_factory):
    """A baseline where x and y correlate at +0.8, and a partition where they correlate at -0.8, every
    marginal the same distribution."""
    from constraints.baseline import load_baseline
    from constraints.validation import validate
    from jobs import baseline as baseline_job
    from jobs.io import read_folder
    from jobs.session import counting_jobs
    from jobs.validate import BASELINE_FILES

    tmp = tmp_path_factory.mktemp("flip")
    baseline_job.execute(spark, baseline_args(write_parquet(_frame(0.8, 20_000, 1), tmp / "train"), tmp / "b"))
    base = load_baseline(read_folder(str(tmp / "b"), BASELINE_FILES))
    flipped = spark.read.parquet(str(write_parquet(_frame(-0.8, 5_000, 2), tmp / "p")))
    with counting_jobs(spark, "validate-corr") as jobs:
        report = validate(spark, flipped, base, "p")
    same = spark.read.parquet(str(write_parquet(_frame(0.8, 5_000, 3), tmp / "q")))
    return {"dir": tmp, "baseline": base, "report": report, "jobs": jobs[0],
            "same": validate(spark, same, base, "q")}


def test_extended_statistics_document_beside_an_untouched_statistics_json(flip):
    extended = json.loads((flip["dir"] / "b" / EXTENDED_FILE).read_text())
    assert set(extended) == {"version", "quantiles", "correlations", "reconstruction", "associations"}
    (pair,) = extended["associations"]["pairs"]
    train_frame = _frame(0.8, 20_000, 1)
    crosstab = pd.crosstab(train_frame["c"], train_frame["d"])
    assert pair["columns"] == ["c", "d"] and pair["counts"] == crosstab.loc[pair["categories"][0],
                                                                             pair["categories"][1]].to_numpy().tolist()
    from scipy.stats.contingency import association
    assert pair["cramers_v"] == pytest.approx(association(crosstab.to_numpy()))
    model = extended["reconstruction"]
    assert model["columns"] == ["x", "y", "z", "k"] and [c["column"] for c in model["categorical"]] == ["c", "d"]
    assert [sorted(c["levels"]) for c in model["categorical"]] == [["a", "b", "c"]] * 2
    # 4 numeric + 2 x 3 indicators; 65% of 10: 2.7 + 2.7 (c and d's indicators together) + 1.8 (x, y)
    assert len(model["center"]) == 10 and len(model["components"]) == 3
    assert set(model["held_out"]) == {"rows", "mean", "sd", "p99"} and model["held_out"]["rows"] == 8192
    corr = extended["correlations"]
    assert corr["columns"] == ["x", "y", "z", "k"] and corr["left_out"] == [] and corr["identifiers"] == ["id"]
    assert set(corr) == {"columns", "pearson", "spearman", "left_out", "identifiers"}
    assert set(corr["pearson"]) == {"r", "rows", "fisher_variance", "null_variance"} and set(corr["spearman"]) == {"rho", "rows", "ranks", "sample_rows"}
    assert set(extended["quantiles"]["x"]) == set(LABELS)
    train = _frame(0.8, 20_000, 1)[["x", "y", "z", "k"]]
    assert np.allclose(corr["pearson"]["r"], train.corr().to_numpy(), atol=1e-9)
    assert corr["pearson"]["rows"] == [[20_000] * 4] * 4
    # Spearman on a 16,384-row sample ranked by the sketch: within a few sampling sd of scipy's
    assert np.allclose(corr["spearman"]["rho"], stats.spearmanr(train).statistic, atol=0.06)
    # each quantile's rank among the training values is within the KLL sketch's documented rank error
    # (a randomized sketch: its values near p99 move by more than any fixed tolerance in x would allow)
    x = np.sort(train["x"].to_numpy())
    ranks = [np.searchsorted(x, extended["quantiles"]["x"][k], side="right") / len(x) for k in LABELS]
    assert np.allclose(ranks, QUANTILES, atol=KLL_RANK_ERROR_DATASKETCHES + 1 / len(x)), ranks
    statistics = json.loads((flip["dir"] / "b" / "statistics.json").read_text())
    assert set(statistics) == {"version", "dataset", "features"}           # SageMaker's shape, untouched


def test_a_correlation_flip_with_unchanged_marginals_fires_only_the_correlation_check(flip):
    report = flip["report"]
    assert flip["jobs"] == 1                                                # still the one pass
    failed = {(r.check, r.feature, r.details.get("method")) for r in report.violations}
    assert failed == {(CORRELATION_CHECK, "x ~ y", "pearson"), (CORRELATION_CHECK, "x ~ y", "spearman"),
                      ("reconstruction_error_check", None, None), ("anomaly_share_check", None, None),
                      ("association_drift_check", "c ~ d", "cramers_v")}
    v = next(r for r in report.results if r.feature == "c ~ d")
    from scipy.stats.contingency import association
    assert v.details["partition"] == pytest.approx(association(pd.crosstab(_frame(-0.8, 5_000, 2)["c"],
                                                                           _frame(-0.8, 5_000, 2)["d"]).to_numpy()))
    anomalies = next(r for r in report.results if r.check == "anomaly_share_check")
    assert len(anomalies.examples) == 5 and all("x=" in e and "y=" in e for e in anomalies.examples)
    pair = next(r for r in report.results if r.feature == "x ~ y" and r.details["method"] == "pearson")
    part = _frame(-0.8, 5_000, 2)
    assert pair.details["partition"] == pytest.approx(part[["x", "y"]].corr().iloc[0, 1], abs=1e-9)
    rho = next(r for r in report.results if r.feature == "x ~ y" and r.details["method"] == "spearman")
    assert rho.details["partition"] == pytest.approx(stats.spearmanr(part["x"], part["y"]).statistic, abs=0.01)
    drift = next(r for r in report.results if r.check == "baseline_drift_check" and r.feature == "x")
    assert drift.status == "passed" and set(drift.details["quantiles"]) == set(LABELS)
    exact = np.quantile(part["x"], QUANTILES)
    got = [drift.details["quantiles"][k]["partition"] for k in LABELS]
    assert np.allclose(got, exact, atol=0.05)                               # a grid cell (1/256 of the rows)
    metrics = {(m["feature"], m["metric"]) for m in report.metric_rows()}
    assert ("x ~ y", "pearson") in metrics and ("x", "median") in metrics
    assert flip["same"].verdict == "ok"


def test_correlation_heat_map_and_quartiles_in_chromium(flip, browser, tmp_path):
    from conftest import Watched
    from jobs.render import partition_report

    report = flip["report"]
    page_file = tmp_path / "report.html"
    page_file.write_text(partition_report(report.checks_document(), report.statistics_document(), flip["baseline"]))
    w = Watched(browser)
    page = w.page
    page.goto(page_file.as_uri())
    assert "x ~ y" in page.locator("#correlation-summary").inner_text()
    for method in ("pearson", "spearman"):
        svg = page.locator(f"#heatmap-{method} svg.heatmap")
        box = svg.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100
        assert svg.locator("rect.cell").count() == 6                         # 4 columns: 6 pairs
        bad = svg.locator("rect.cell.failed")
        assert bad.count() == 1 and bad.get_attribute("data-pair") == "x ~ y"
        assert float(bad.get_attribute("data-change")) < -1.4
        assert bad.get_attribute("fill").startswith("#") and bad.bounding_box()["width"] > 10
    assert page.locator("#heatmap-cramers_v svg.heatmap rect.cell.failed").get_attribute("data-pair") == "c ~ d"
    assert page.locator("h2", has_text="Columns not in the baseline").count() == 0
    table = page.locator("#inputs .card[data-feature='x'] table.quantiles")
    assert table.locator("th").all_inner_texts()[1:6] == list(LABELS)
    assert table.locator("tr").count() == 4
    page.screenshot(path=str(tmp_path / "heatmap.png"), full_page=True)
    w.quiet({page_file.as_uri()})
    w.close()


def test_fisher_variance_is_one_for_normal_data_and_matches_theory_and_simulation_for_heavy_tails():
    """Multivariate t with 8 degrees of freedom: elliptical, so n Var(atanh r) -> 1 + 2 / (df - 4) = 1.5."""
    from constraints.correlation import fisher_variance

    rng = np.random.default_rng(5)
    cov = np.array([[1, .6], [.6, 1]])

    def t8(rows):
        return rng.multivariate_normal([0, 0], cov, size=rows) / np.sqrt(rng.chisquare(8, size=(rows, 1)) / 8)

    assert fisher_variance(rng.multivariate_normal([0, 0], cov, size=200_000))[0, 1] == pytest.approx(1.0, abs=0.03)
    estimate = fisher_variance(t8(200_000))[0, 1]
    assert estimate == pytest.approx(1.5, rel=0.15)
    simulated = np.var([math.atanh(np.corrcoef(t8(2000).T)[0, 1]) for _ in range(1500)]) * 2000
    assert simulated == pytest.approx(1.5, rel=0.15) and estimate == pytest.approx(simulated, rel=0.2)


def test_reconstruction_error_equals_scikit_learns_and_the_alarms_follow_their_formulas():
    from sklearn.decomposition import PCA

    from constraints.reconstruction import Errors, Model, fit, reconstruction_checks

    rng = np.random.default_rng(7)
    x = rng.multivariate_normal(np.zeros(4), [[1, .8, 0, 0], [.8, 1, 0, 0], [0, 0, 1, .3], [0, 0, .3, 1]], size=4096)
    x[rng.random(x.shape) < 0.02] = np.nan
    doc = fit(x, ("a", "b", "c", "d"))
    model = Model.from_dict(doc)
    # independently: impute, scale, scikit-learn's PCA at 65% on the same half, its inverse_transform
    mean = np.nanmean(x, axis=0)
    filled = np.where(np.isnan(x), mean, x)
    z = (filled - mean) / filled.std(axis=0)
    order = np.random.default_rng(0).permutation(len(x))
    pca = PCA(n_components=0.65, svd_solver="full").fit(z[order[:2048]])
    expected = np.mean((z - pca.inverse_transform(pca.transform(z))) ** 2, axis=1)
    assert np.allclose(model.errors(x), expected, atol=1e-10)
    assert len(doc["components"]) == pca.n_components_ and sum(doc["explained_variance_ratio"]) >= 0.65
    held = expected[order[2048:]]
    assert doc["held_out"]["p99"] == pytest.approx(np.quantile(held, 0.99))
    assert doc["held_out"]["mean"] == pytest.approx(held.mean())

    import pyarrow as pa
    lane = Errors(("a", "b", "c", "d"), model)
    part = rng.multivariate_normal(np.zeros(4), [[1, -.8, 0, 0], [-.8, 1, 0, 0], [0, 0, 1, .3], [0, 0, .3, 1]],
                                   size=3000)
    batches = [pa.RecordBatch.from_pydict({k: part[lo:lo + 700, i] for i, k in enumerate("abcd")})
               for lo in range(0, 3000, 700)]
    t = lane.fold(batches[0])
    for b in batches[1:]:
        t = lane.merge(t, lane.fold(b))
    errors = model.errors(part)
    assert t.n == 3000 and t.total == pytest.approx(errors.sum()) and t.above == int((errors > model.threshold).sum())
    assert [e for e, _ in t.top] == pytest.approx(sorted(errors)[-5:][::-1])
    mean_check, share_check = reconstruction_checks(doc, t, Thresholds())
    se = doc["held_out"]["sd"] * math.sqrt(1 / 3000 + 1 / doc["held_out"]["rows"])
    assert mean_check.details["z"] == pytest.approx((errors.mean() - doc["held_out"]["mean"]) / se)
    assert mean_check.details["critical_z"] == pytest.approx(stats.norm.isf(0.005))
    assert mean_check.failed and share_check.failed and len(share_check.examples) == 5


def test_cramers_v_equals_scipys_and_the_bootstrap_stack_equals_it_table_by_table():
    from scipy.stats.contingency import association as scipy_association

    from constraints.association import _stacked_v, cramers_v

    rng = np.random.default_rng(8)
    tables = rng.integers(0, 40, size=(30, 4, 5))
    tables[3, 1, :] = 0                                   # an empty row and column are left out
    tables[4, :, 2] = 0
    for t in tables:
        kept = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
        assert cramers_v(t) == pytest.approx(scipy_association(kept, method="cramer"))
    assert np.allclose(_stacked_v(tables), [cramers_v(t) for t in tables])


def test_association_bootstrap_is_drawn_only_where_the_change_reaches_the_minimum_effect():
    """A pair whose Cramér's V moved less than the minimum effect passes without its bootstrap (z None);
    one that moved more is tested: its z against V's bootstrap sd, recomputed here from multinomial draws."""
    from constraints.association import association_checks, cramers_v

    rng = np.random.default_rng(3)
    pa_, pb = np.array([.5, .3, .2]), np.array([.4, .35, .25])
    independent = np.outer(pa_, pb)
    base = rng.multinomial(200_000, (0.5 * independent + 0.5 * np.diag(pa_) @ np.eye(3)).ravel()).reshape(3, 3)
    same = rng.multinomial(50_000, base.ravel() / base.sum()).reshape(3, 3)                # V unchanged
    weaker = rng.multinomial(50_000, (0.8 * independent + 0.2 * np.diag(pa_) @ np.eye(3)).ravel()).reshape(3, 3)
    pair = {"columns": ["a", "b"], "counts": base.tolist(), "cramers_v": cramers_v(base)}
    quiet, moved = association_checks([(pair, same), (pair, weaker)], Thresholds())
    assert quiet.details["z"] is None and not quiet.failed and "no test needed" in quiet.description
    assert abs(moved.details["change"]) >= 0.1 and moved.failed
    draws = [cramers_v(rng.multinomial(size, base.ravel() / base.sum()).reshape(3, 3))
             for size in (50_000, int(base.sum())) for _ in range(400)]
    sd = math.sqrt(np.var(draws[:400], ddof=1) + np.var(draws[400:], ddof=1))
    assert moved.details["z"] == pytest.approx((moved.details["partition"] - np.mean(draws[:400])) / sd, rel=0.15)


@pytest.mark.parametrize("n", [7, 3000])
def test_row_sample_dictionary_grows_in_first_seen_order_up_to_its_cap_either_way_it_is_looked_up(n):
    """rowsample._extend looks few values up in a dict and many with Arrow: both give each value's
    position + 1 (-1 past the cap) and grow the dictionary alike (a per-value reference here)."""
    import pyarrow as pa

    from constraints.rowsample import _extend

    rng = np.random.default_rng(n)
    dictionary = [f"v{i}" for i in rng.choice(50, 20, replace=False)]
    values = list(dict.fromkeys(f"v{i}" for i in rng.integers(0, 5 * n, 2 * n)))   # distinct, first-seen order
    expected_dictionary, expected = list(dictionary), []
    for v in values:
        if v not in expected_dictionary and len(expected_dictionary) < 40:
            expected_dictionary.append(v)
        expected.append(expected_dictionary.index(v) + 1 if v in expected_dictionary else -1)
    for given in (values, pa.array(values)):
        grown = list(dictionary)
        assert _extend(grown, given, 40).tolist() == expected and grown == expected_dictionary


def test_row_sample_told_the_rows_gathers_fewer_and_keeps_the_very_same_sample():
    """With the pass's rows known beforehand (rowsample's prior bound), tasks gather about rows * k / N
    rows instead of k (1 + ln(n / k)), and the merged sample is the same one, row for row."""
    import dataclasses

    import pyarrow as pa

    rng = np.random.default_rng(4)
    tasks = [[pa.RecordBatch.from_pydict({"a": rng.normal(size=2_000), "c": rng.choice(["x", "y"], 2_000)})
              for _ in range(10)] for _ in range(4)]   # 4 tasks of 20,000 rows
    plain = RowSample(("a",), ("c",), k=500, features=("a", "c"))
    told = dataclasses.replace(plain, expected=80_000)
    gathered = {}
    for name, lane in (("plain", plain), ("told", told)):
        partials = []
        for batches in tasks:
            t = None
            for b in batches:
                t = lane.fold(b, t)
            gathered[name] = gathered.get(name, 0) + len(t.keys) + sum(len(p[0]) for p in t.pending)
            partials.append(lane.close(t))
        merged = partials[0]
        for p in partials[1:]:
            merged = lane.merge(merged, p)
        gathered[name + " sample"] = merged
    a, b = gathered["plain sample"], gathered["told sample"]
    assert len(a.keys) == len(b.keys) == 500
    assert np.array_equal(a.keys, b.keys) and np.array_equal(a.numbers, b.numbers)
    assert [a.values[0][c - 1] for c in a.codes[:, 0]] == [b.values[0][c - 1] for c in b.codes[:, 0]]
    assert gathered["told"] < 1_000 < gathered["plain"] / 2   # about 500 + 8 sqrt(500) + 16, not 4 x 2,000+
