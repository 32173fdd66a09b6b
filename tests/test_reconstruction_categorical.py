"""The PCA reconstruction error with categorical features (issue 14, scope 2's encoding): the Errors lane's
per-row error against an independent scikit-learn pipeline (SimpleImputer, OneHotEncoder, StandardScaler,
PCA's inverse_transform) built from the recorded encoding; on real Spark a partition where only a
categorical's relation with a numeric changes; and an older numeric-only document that still validates."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from constraints.reconstruction import MIN_SHARE, Errors, Model, fit, reconstruction_checks
from constraints.thresholds import Thresholds
from helpers import baseline_args, write_parquet

NULL = "<null>"   # the test's own spelling of a null for scikit-learn's encoder


def _mixed(rows: int, seed: int) -> pd.DataFrame:
    """a, b numeric; c categorical (A, B, C, a rare R, nulls) whose level moves a; d categorical, nulls rare."""
    rng = np.random.default_rng(seed)
    c = rng.choice(np.array(["A", "B", "C", "R", None], dtype=object), rows, p=[.45, .3, .17, .005, .075])
    shift = {"A": 2.0, "B": -1.0, "C": 0.0, "R": 5.0, None: -3.0}
    a = np.array([shift[v] for v in c]) + rng.normal(size=rows)
    b = 0.7 * a + rng.normal(size=rows)
    a[rng.random(rows) < 0.03] = np.nan
    d = rng.choice(np.array(["u", "v", None], dtype=object), rows, p=[.6, .395, .005])
    return pd.DataFrame({"a": a, "b": b, "c": c, "d": d})


def _sklearn_errors(doc: dict, train: pd.DataFrame, part: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's errors of `part` and of the held-out half of `train`, from the recorded levels only."""
    from sklearn.compose import ColumnTransformer
    from sklearn.decomposition import PCA
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    levels = [[NULL if v is None else v for v in c["levels"]] for c in doc["categorical"]]
    names = [c["column"] for c in doc["categorical"]]
    encode = ColumnTransformer([("numeric", SimpleImputer(strategy="mean"), doc["columns"]),
                                ("categorical", OneHotEncoder(categories=levels, handle_unknown="ignore",
                                                              sparse_output=False), names)])
    scale = make_pipeline(encode, StandardScaler())

    def spelled(frame):
        return frame.assign(**{n: frame[n].map(lambda v: NULL if v is None else v) for n in names})

    z = scale.fit_transform(spelled(train))
    order = np.random.default_rng(0).permutation(len(train))
    pca = PCA(n_components=0.65, svd_solver="full").fit(z[order[:len(train) // 2]])

    def errors(zz):
        return np.mean((zz - pca.inverse_transform(pca.transform(zz))) ** 2, axis=1)

    return errors(scale.transform(spelled(part))), errors(z[order[len(train) // 2:]])


def test_errors_lane_equals_scikit_learns_one_hot_pipeline_with_nulls_rare_and_unseen_values():
    train = _mixed(6000, 1)
    doc = fit(train[["a", "b"]].to_numpy(), ("a", "b"),
              [("c", train["c"].tolist()), ("d", train["d"].tolist())])
    # the levels: values (null included) holding MIN_SHARE of the rows, most frequent first
    shares = train["c"].value_counts(dropna=False, normalize=True)
    assert doc["categorical"][0]["levels"] == [None if pd.isna(v) else v for v, s in shares.items() if s >= MIN_SHARE]
    assert doc["categorical"][0]["levels"] == ["A", "B", "C", None]        # R (0.5%) is not a level
    assert doc["categorical"][1]["levels"] == ["u", "v"]                    # nor d's nulls (0.5%)
    assert len(doc["center"]) == len(doc["scale"]) == len(doc["components"][0]) == 2 + 4 + 2

    part = _mixed(2500, 2)
    part.loc[::7, "c"] = "never seen"
    part.loc[::11, "d"] = None
    part.loc[::13, "a"] = np.nan
    expected, held = _sklearn_errors(doc, train, part)
    assert doc["held_out"]["mean"] == pytest.approx(held.mean(), rel=1e-9)
    assert doc["held_out"]["p99"] == pytest.approx(np.quantile(held, 0.99), rel=1e-9)

    model = Model.from_dict(json.loads(json.dumps(doc)))                    # through JSON, as validate reads it
    lane = Errors(("a", "b"), model, ("c", "d"))
    batches = [pa.RecordBatch.from_pandas(part.iloc[lo:lo + 600], preserve_index=False) for lo in range(0, 2500, 600)]
    t = lane.fold(batches[0])
    for b in batches[1:]:
        t = lane.merge(t, lane.fold(b))
    assert t.n == 2500 and t.total == pytest.approx(expected.sum(), rel=1e-9)
    assert t.squares == pytest.approx(expected @ expected, rel=1e-9)
    assert t.above == int((expected > doc["held_out"]["p99"]).sum())
    worst = np.argsort(expected)[-5:][::-1]
    assert [e for e, _ in t.top] == pytest.approx(expected[worst].tolist(), rel=1e-9)
    assert [row[2:] for _, row in t.top] == [tuple(None if v is None else v for v in part.iloc[i][["c", "d"]])
                                            for i in worst]
    mean_check, share_check = reconstruction_checks(doc, t, Thresholds())
    assert mean_check.details["dimensions"] == 8 and mean_check.details["categorical_columns"] == 2
    assert all("c=" in e and "d=" in e for e in share_check.examples)


def test_a_categorical_column_alone_is_encoded_and_a_constant_one_is_not():
    rng = np.random.default_rng(3)
    c = rng.choice(["x", "y", "z"], 500).tolist()
    doc = fit(None, (), [("c", c), ("same", ["k"] * 500)])
    assert [e["column"] for e in doc["categorical"]] == ["c"] and doc["columns"] == []
    model = Model.from_dict(doc)
    lane = Errors((), model, ("c",))
    t = lane.fold(pa.RecordBatch.from_pydict({"c": pa.array(["x", "y", None, "w"])}))
    assert t.n == 4 and all(e >= 0 for e, _ in t.top)


def test_a_document_whose_shapes_disagree_is_a_baseline_error_naming_the_fix():
    from constraints.baseline import BaselineError

    doc = fit(_mixed(500, 4)[["a", "b"]].to_numpy(), ("a", "b"), [("c", _mixed(500, 4)["c"].tolist())])
    doc["categorical"][0]["levels"].pop()
    with pytest.raises(BaselineError, match="regenerate it with `dqloop baseline`"):
        Model.from_dict(doc)


def _joint(rows: int, seed: int, swapped: bool) -> pd.DataFrame:
    """x high with segment A and low with B (the other way round when `swapped`): x's and the segment's
    marginals the same either way; y, z independent noise; region an unrelated categorical."""
    rng = np.random.default_rng(seed)
    segment = rng.choice(["A", "B"], rows)
    high = (segment == "A") != swapped
    return pd.DataFrame({"x": np.where(high, 1.5, -1.5) + 0.5 * rng.normal(size=rows), "y": rng.normal(size=rows),
                         "z": rng.normal(size=rows), "segment": segment,
                         "region": rng.choice(["n", "s", "e", "w"], rows, p=[.4, .3, .2, .1])})


@pytest.fixture(scope="module")
def joint(spark, tmp_path_factory):
    from constraints.baseline import load_baseline
    from constraints.validation import validate
    from jobs import baseline as baseline_job
    from jobs.io import read_folder
    from jobs.validate import BASELINE_FILES

    tmp = tmp_path_factory.mktemp("joint")
    baseline_job.execute(spark, baseline_args(write_parquet(_joint(20_000, 1, False), tmp / "train"), tmp / "b"))
    base = load_baseline(read_folder(str(tmp / "b"), BASELINE_FILES))
    frames = {"swapped": _joint(5_000, 2, True), "same": _joint(5_000, 3, False)}
    reports = {k: validate(spark, spark.read.parquet(str(write_parquet(f, tmp / k))), base, k)
               for k, f in frames.items()}
    return {"dir": tmp, "baseline": base, "frames": frames, "reports": reports, "validate": validate}


def _check(report, name):
    return next(r for r in report.results if r.check == name)


def test_a_changed_joint_relation_of_a_categorical_and_a_numeric_fires_the_reconstruction_error(joint):
    model = joint["baseline"].extended["reconstruction"]
    assert model["columns"] == ["x", "y", "z"]
    assert [(c["column"], sorted(c["levels"])) for c in model["categorical"]] == [("segment", ["A", "B"]),
                                                                                ("region", ["e", "n", "s", "w"])]
    swapped, same = joint["reports"]["swapped"], joint["reports"]["same"]
    for check in ("reconstruction_error_check", "anomaly_share_check"):
        assert _check(swapped, check).failed and not _check(same, check).failed
    # the marginals did not move: no univariate drift on x or segment
    drift = {r.feature: r for r in swapped.results if r.check == "baseline_drift_check"}
    assert not drift["x"].failed and not drift["segment"].failed
    # the measured mean is the model's error of the partition's rows, computed here from the document alone
    frame = joint["frames"]["swapped"]
    m = Model.from_dict(model)
    codes = [pa.compute.index_in(pa.array(frame[c["column"]]), value_set=pa.array(c["levels"])).fill_null(
        len(c["levels"])).to_numpy() for c in model["categorical"]]
    expected = m.errors(frame[["x", "y", "z"]].to_numpy(), codes)
    assert _check(swapped, "reconstruction_error_check").measured == pytest.approx(expected.mean(), rel=1e-9)
    assert any("segment=" in e for e in _check(swapped, "anomaly_share_check").examples)


def test_an_older_numeric_only_document_still_validates(joint, spark):
    """The reconstruction entry as written before the encoding (no `categorical`, `encoding`): numeric only,
    and blind to the swap that the encoded model sees."""
    from dataclasses import replace

    frame = joint["frames"]["swapped"]
    base = joint["baseline"]
    train = _joint(20_000, 1, False)
    old = fit(train[["x", "y", "z"]].to_numpy()[:16_384], ("x", "y", "z"))
    del old["categorical"], old["encoding"]
    older = replace(base, extended={**base.extended, "reconstruction": old})
    report = joint["validate"](spark, spark.read.parquet(str(joint["dir"] / "swapped")), older, "swapped")
    check = _check(report, "reconstruction_error_check")
    expected = Model.from_dict(old).errors(frame[["x", "y", "z"]].to_numpy())
    assert check.measured == pytest.approx(expected.mean(), rel=1e-9)
    assert check.details["dimensions"] == 3 and check.details["categorical_columns"] == 0
    assert not check.failed


def test_the_baseline_samples_string_columns_for_the_encoding_without_the_domain_classifier():
    from constraints.correlation import BASELINE_SAMPLE_ROWS
    from constraints.multivariate import SAMPLE, baseline_lanes

    lanes = baseline_lanes([("x", "v0")], [("s", "s1"), ("t", "s2")])   # --no-domain-classifier: no request
    assert lanes[SAMPLE].numeric == ("v0",) and lanes[SAMPLE].categorical == ("s1", "s2")
    assert lanes[SAMPLE].k == BASELINE_SAMPLE_ROWS and lanes[SAMPLE].features == ("x", "s", "t")
    assert SAMPLE not in baseline_lanes([("x", "v0")], [])                # one column: no PCA, no sample
