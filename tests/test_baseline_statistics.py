"""statistics.json and constraints.json from a real Spark + Deequ run, checked against pandas."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers import check_constraints_schema, check_statistics_schema, run_baseline

N = 30_000
# KLL rank error: Apache DataSketches documents 1.65% (99% confidence) at k=200; the error scales
# as 1/k, so k=2048 (Deequ's size, and the baseline's) gives about 0.16% of n per rank query, and a
# bucket count is the difference of two rank queries.
KLL_BUCKET_TOLERANCE = 2 * 0.0165 * 200 / 2048


def _make_table(rng: np.random.Generator) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """Mixed types, nulls, NaN/Inf, non-ASCII values, awkward names; also returns raw arrays for pandas."""
    ints = rng.integers(-500, 500, N)
    int_null = rng.random(N) < 0.1
    doubles = rng.normal(3.0, 2.5, N)
    doubles[rng.random(N) < 0.02] = np.nan
    double_null = rng.random(N) < 0.05
    infs = rng.exponential(10.0, N)
    infs[:50] = np.inf
    infs[50:80] = -np.inf
    decimals = [Decimal(f"{v:.2f}") for v in rng.uniform(0, 1000, N)]
    words = np.array(["plain", "grüße", "βeta", "中文", "emoji 🙂", "a.b c"])
    strings = rng.choice(words, N)
    string_null = rng.random(N) < 0.03
    bools = rng.random(N) < 0.3
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 40, N)]
    stamps = [dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=int(s))
              for s in rng.integers(0, 10**7, N)]
    table = pa.table({
        "an int": pa.array(ints, mask=int_null),
        "x.dot": pa.array(doubles, mask=double_null),
        "with_inf": pa.array(infs),
        "amount": pa.array(decimals, type=pa.decimal128(10, 2)),
        "word": pa.array(strings, mask=string_null),
        "flag": pa.array(bools),
        "day": pa.array(days, type=pa.date32()),
        "stamp": pa.array(stamps, type=pa.timestamp("us", tz="UTC")),
        "small": pa.array(rng.integers(0, 5, N).astype("int32")),
        "nothing": pa.array([None] * N, type=pa.float64()),
        "nested": pa.array([{"a": 1, "b": "x"}] * N),
    })
    raw = {"an int": np.where(int_null, np.nan, ints.astype(float)),
           "x.dot": np.where(double_null, np.nan, doubles), "with_inf": infs,
           "amount": np.array([float(d) for d in decimals]), "small": table["small"].to_numpy().astype(float)}
    return table, raw


@pytest.fixture(scope="module")
def baseline(spark, tmp_path_factory):
    rng = np.random.default_rng(2024)
    table, raw = _make_table(rng)
    folder = tmp_path_factory.mktemp("mixed")
    pq.write_table(table, folder / "part-00000.parquet")
    docs = run_baseline(spark, folder, tmp_path_factory.mktemp("out") / "baseline", predictions=["small"])
    return docs, table, raw


def test_documents_have_sagemaker_shape(baseline):
    docs, _, _ = baseline
    check_statistics_schema(docs["statistics.json"])
    check_constraints_schema(docs["constraints.json"])
    assert docs["statistics.json"]["dataset"]["item_count"] == N


def test_inferred_types(baseline):
    docs, _, _ = baseline
    types = {f["name"]: f["inferred_type"] for f in docs["statistics.json"]["features"]}
    assert types == {"an int": "Integral", "x.dot": "Fractional", "with_inf": "Fractional", "amount": "Fractional",
                     "word": "String", "flag": "String", "day": "String", "stamp": "String", "small": "Integral",
                     "nothing": "Unknown"}
    # Model outputs come after the inputs.
    assert [f["name"] for f in docs["statistics.json"]["features"]][-1] == "small"


def test_nested_column_skipped_and_recorded(baseline):
    docs, _, _ = baseline
    skipped = docs["suite.json"]["skipped_columns"]
    assert [s["name"] for s in skipped] == ["nested"]
    assert "nested" in skipped[0]["reason"]


@pytest.mark.parametrize("name", ["an int", "x.dot", "with_inf", "amount", "small"])
def test_numeric_statistics_match_pandas(baseline, name):
    docs, _, raw = baseline
    feature = next(f for f in docs["statistics.json"]["features"] if f["name"] == name)
    s = feature["numerical_statistics"]
    values = pd.Series(raw[name])
    finite = values[np.isfinite(values)]  # NaN and +-Inf count as missing, like nulls
    assert s["common"] == {"num_present": len(finite), "num_missing": N - len(finite)}
    for key, expected in (("mean", finite.mean()), ("sum", finite.sum()), ("std_dev", finite.std(ddof=0)),
                          ("min", finite.min()), ("max", finite.max())):
        assert s[key] == pytest.approx(expected, rel=1e-9, abs=1e-9), key

    kll = s["distribution"]["kll"]
    assert kll["sketch"]["parameters"] == {"c": pytest.approx(2 / 3), "k": 2048}   # DataSketches' KLL, k = 2048
    edges = [b["lower_bound"] for b in kll["buckets"]] + [kll["buckets"][-1]["upper_bound"]]
    assert edges[0] == pytest.approx(finite.min()) and edges[-1] == pytest.approx(finite.max())
    assert np.allclose(np.diff(edges), (finite.max() - finite.min()) / 10)  # equal width
    exact, _ = np.histogram(finite, bins=10, range=(finite.min(), finite.max()))
    got = np.array([b["count"] for b in kll["buckets"]])
    assert np.all(np.abs(got - exact) <= KLL_BUCKET_TOLERANCE * len(finite) + 1), (got, exact)


def test_string_statistics_match_pandas(baseline):
    docs, table, _ = baseline
    features = {f["name"]: f for f in docs["statistics.json"]["features"]}
    for name, values in (("word", table["word"].to_pandas()),
                         ("flag", table["flag"].to_pandas().map({True: "true", False: "false"})),
                         ("day", table["day"].to_pandas().map(lambda d: d.isoformat()))):
        s = features[name]["string_statistics"]
        present = values.dropna()
        assert s["common"] == {"num_present": len(present), "num_missing": N - len(present)}
        assert s["distinct_count"] == present.nunique()
        buckets = {b["value"]: b["count"] for b in s["distribution"]["categorical"]["buckets"]}
        assert buckets == present.value_counts().to_dict()
    stamp = features["stamp"]["string_statistics"]
    assert stamp["common"]["num_present"] == N
    # High-cardinality: approximate distinct count (HyperLogLog), no categorical buckets.
    assert stamp["distinct_count"] == pytest.approx(pd.Series(table["stamp"].to_pandas()).nunique(), rel=0.1)
    assert stamp["distribution"]["categorical"]["buckets"] == []


def test_all_null_column_is_unknown_without_constraints(baseline):
    docs, _, _ = baseline
    f = next(f for f in docs["statistics.json"]["features"] if f["name"] == "nothing")
    assert f["string_statistics"]["common"] == {"num_present": 0, "num_missing": N}
    kinds = [c["kind"] for c in docs["suite.json"]["constraints"] if c["column"] == "nothing"]
    assert kinds == ["has_type"]


def test_constraints_json_values(baseline):
    docs, table, raw = baseline
    features = {f["name"]: f for f in docs["constraints.json"]["features"]}
    x = pd.Series(raw["x.dot"])
    assert features["x.dot"]["completeness"] == pytest.approx(np.isfinite(x).mean(), abs=1e-6)
    assert features["amount"]["num_constraints"] == {"is_non_negative": True}
    assert features["an int"]["num_constraints"] == {"is_non_negative": False}
    assert sorted(features["word"]["string_constraints"]["domains"]) == sorted(table["word"].to_pandas().dropna().unique())
    assert features["flag"]["string_constraints"]["domains"] == ["false", "true"]
    assert docs["constraints.json"]["monitoring_config"]["distribution_constraints"]["comparison_method"] == "Robust"


def test_no_bound_equals_an_observed_extreme(baseline):
    docs, table, raw = baseline
    for c in docs["suite.json"]["constraints"]:
        if c["kind"] == "is_in_range":
            values = pd.Series(raw[c["column"]])
            finite = values[np.isfinite(values)]
            # The lower bound of a non-negative column may rest on zero (the non-negativity rule), never
            # on an observed minimum above zero.
            assert c["lower"] < finite.min() or (c["lower"] == 0.0 and finite.min() >= 0)
            assert c["upper"] > finite.max()
        if c["kind"] == "has_length_between":
            lengths = pd.Series(table["word"].to_pandas()).dropna().str.len()
            assert c["column"] == "word"
            assert c["min_length"] < lengths.min() and c["max_length"] > lengths.max()
