"""Label-free quality in validate (real Spark): estimated performance (CBPE) and label shift (BBSE) per partition,
checked against scikit-learn / numpy on the same rows; and fast simulations of labeling.performance and
labeling.label_shift against known truth (bench/label_free_study.py runs the long ones)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from labeling import calibration, label_shift, performance, reference



def _validate_table(spark, base, parts: dict[str, pd.DataFrame], target: str, tmp_path) -> tuple[int, object]:
    """The partitions (without their `target` column) as a table under tmp_path, validated against `base` by
    the job's own entry point; (exit status, the output folder)."""
    from jobs import validate
    from jobs.cli import parser

    table, out = tmp_path / "table", tmp_path / "out"
    for name, frame in parts.items():
        (table / name).mkdir(parents=True)
        frame.drop(columns=[target]).to_parquet(table / name / "part-0.parquet", index=False)
    code = validate.run(spark, parser().parse_args(["validate", "--baseline", str(base), "--input", str(table),
                                                    "--output", str(out), "--no-history"]))
    return code, out

def _rows(n: int, prior1: float, seed: int, spread: float | None = None) -> pd.DataFrame:
    """x | y ~ N(+-1, 1) (label shift moves prior1 only); or, with `spread`, x ~ N(0, spread) and y | x as at 50/50
    (covariate shift toward the decision boundary: the model is right less often)."""
    rng = np.random.default_rng(seed)
    if spread is None:
        y = (rng.random(n) < prior1).astype(int)
        x = rng.normal(np.where(y == 1, 1.0, -1.0), 1.0)
    else:
        x = rng.normal(0.0, spread, n)
        y = (rng.random(n) < 1 / (1 + np.exp(-2 * x))).astype(int)
    score = 1 / (1 + np.exp(-1.2 * x))                   # right order, under-confident: P(y=1|x) = sigmoid(2x)
    return pd.DataFrame({"id": np.arange(n), "x": x, "score": score, "predicted_label": (x >= 0).astype(int),
                         "label": y})


def test_validate_estimates_quality_and_label_shift(spark, tmp_path):
    from sklearn.isotonic import IsotonicRegression

    from jobs import baseline
    from jobs.cli import parser

    train, ref = _rows(3000, 0.5, 1), _rows(20000, 0.5, 2)
    train.to_parquet(tmp_path / "train.parquet", index=False)
    ref.to_parquet(tmp_path / "ref.parquet", index=False)
    base = tmp_path / "baseline"
    assert baseline.run(spark, parser().parse_args([
        "baseline", "--input", str(tmp_path / "train.parquet"), "--output", str(base), "--exclude", "id",
        "--predictions", "score,predicted_label", "--target", "label", "--reference", str(tmp_path / "ref.parquet")])) == 0
    parts = {"chunk=01": _rows(4000, 0.5, 3), "chunk=02": _rows(4000, 0.5, 4, spread=0.4),
             "chunk=03": _rows(4000, 0.7, 5)}
    code, out = _validate_table(spark, base, parts, "label", tmp_path)
    assert code == 1
    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(ref["score"], ref["label"])
    conf = pd.crosstab(ref["label"], ref["predicted_label"]).to_numpy().astype(float)
    for name, frame in parts.items():
        doc = json.loads((out / name / "model_quality_estimated.json").read_text())
        m = doc["binary_classification_metrics"]
        assert doc["dqloop"]["estimated"] is True and doc["dqloop"]["labels_used"] == 0
        c = iso.predict(frame["score"])
        pred = frame["predicted_label"].to_numpy() == 1
        # the map's chord inside each 1/8192 score bin: within 1e-4 of the row-by-row figures
        assert m["accuracy"]["value"] == pytest.approx(np.mean(np.where(pred, c, 1 - c)), abs=1e-4)
        assert m["precision"]["value"] == pytest.approx(c[pred].mean(), abs=1e-4)
        assert m["recall"]["value"] == pytest.approx(c[pred].sum() / c.sum(), abs=1e-4)
        assert m["confusion_matrix"]["1"]["1"] == pytest.approx(c[pred].sum(), abs=0.5)
        # BBSE written out: C[pred, true] w = mu, q = w * p
        joint = conf.T / conf.sum()
        mu = np.bincount(frame["predicted_label"], minlength=2) / len(frame)
        q = np.linalg.solve(joint, mu) * joint.sum(axis=0)
        priors = doc["dqloop"]["label_shift"]["estimated_class_priors"]
        assert priors["1"]["value"] == pytest.approx(q[1] / q.sum(), abs=1e-9)
        checks = json.loads((out / name / "checks.json").read_text())["checks"]
        perf = {r["feature"]: r for r in checks if r["check"] == "estimated_performance_check"}
        shift = {r["feature"]: r for r in checks if r["check"] == "label_shift_check"}
        assert set(perf) == set(performance.METRICS) and set(shift) == {"0", "1"}
        if name == "chunk=01":
            assert all(r["status"] == "passed" for r in [*perf.values(), *shift.values()])
        if name == "chunk=02":   # harder rows: the estimate falls below the band; the true accuracy does too
            assert perf["accuracy"]["status"] == "failed"
            assert np.mean(frame["predicted_label"] == frame["label"]) < perf["accuracy"]["details"]["reference_value"] - 0.1
        if name == "chunk=03":   # 30/70: the prior moved, found without labels
            assert shift["1"]["status"] == "failed"
            lo, hi = priors["1"]["confidence_interval"]["lower"], priors["1"]["confidence_interval"]["upper"]
            assert lo <= 0.7 <= hi
    history = json.loads((out / "_metrics" / "chunk=02.estimated.json").read_text())
    assert {"estimated_accuracy", "estimated_auc", "estimated_prior"} <= {r["metric"] for r in history["metrics"]}
    assert "estimated_performance_check" in (out / "chunk=02" / "report.html").read_text()
    violations = json.loads((out / "chunk=03" / "constraint_violations.json").read_text())["violations"]
    assert any(v["constraint_check_type"] == "label_shift_check" for v in violations)


def test_no_reference_no_estimates(spark, tmp_path):
    from jobs import baseline, validate
    from jobs.cli import parser

    _rows(2000, 0.5, 1).drop(columns=["label"]).to_parquet(tmp_path / "t.parquet", index=False)
    assert baseline.run(spark, parser().parse_args(["baseline", "--input", str(tmp_path / "t.parquet"),
                                                    "--output", str(tmp_path / "b")])) == 0
    (tmp_path / "p").mkdir()
    _rows(1000, 0.5, 2).drop(columns=["label"]).to_parquet(tmp_path / "p" / "part-0.parquet", index=False)
    validate.run(spark, parser().parse_args(["validate", "--baseline", str(tmp_path / "b"), "--input",
                                             str(tmp_path / "p"), "--output", str(tmp_path / "o")]))
    assert not (tmp_path / "o" / "model_quality_estimated.json").exists()
    checks = json.loads((tmp_path / "o" / "checks.json").read_text())["checks"]
    assert not any(r["check"].startswith(("estimated_", "label_shift")) for r in checks)


# -- fast simulations ---------------------------------------------------------------------------------------
def test_binned_aggregate_matches_rows():
    rng = np.random.default_rng(0)
    s = rng.random(5000)
    y = (rng.random(5000) < s ** 1.5).astype(str)
    cal = calibration.fit(s, np.where(y == "True", "1", "0"), ["0", "1"], positive="1")
    new = rng.random(3000)
    pred = np.where(new > 0.4, "1", "0")
    est = performance.estimate(performance.from_rows(new, pred, performance.bin_edges(cal)), cal)
    c = cal.probabilities(new)[:, 1]
    assert est.metrics["accuracy"].value == pytest.approx(np.mean(np.where(pred == "1", c, 1 - c)), abs=1e-4)
    assert est.metrics["accuracy"].standard_deviation == pytest.approx(np.sqrt(np.sum(c * (1 - c))) / 3000, rel=1e-3)


def test_cbpe_intervals_cover_realized_metrics_under_covariate_shift():
    """200 partitions with covariate shift: each metric's 95% interval covers the realized value in >= 88%."""
    from sklearn import metrics as skm

    rng = np.random.default_rng(11)

    def rows(n, shift):
        x = rng.normal(shift, 1.0, n)
        p = 1 / (1 + np.exp(-(np.where(rng.random(n) < 0.3, 0.8, 3.0) * x - 0.5)))
        return 1 / (1 + np.exp(-0.6 * np.log(p / (1 - p)) - 0.3)), (rng.random(n) < p)

    s, y = rows(50_000, 0.0)
    ref = reference.build(y.astype(int).astype(str), (s >= 0.5).astype(int).astype(str), s, ["0", "1"],
                          prediction_column="p", target_column="y", score_column="s", positive="1")
    edges = performance.bin_edges(ref.calibration)
    hits = {m: 0 for m in performance.METRICS}
    for i in range(200):
        s, y = rows(3000, rng.uniform(-1.5, 1.5))
        pred = s >= 0.5
        est = performance.estimate(performance.from_rows(s, pred.astype(int).astype(str), edges), ref.calibration,
                                   seed=i, maps=ref.map_replicates)
        truth = {"accuracy": np.mean(pred == y), "precision": skm.precision_score(y, pred, zero_division=0.0),
                 "recall": skm.recall_score(y, pred), "f1": skm.f1_score(y, pred), "auc": skm.roc_auc_score(y, s)}
        for m in performance.METRICS:
            hits[m] += est.metrics[m].lower <= truth[m] <= est.metrics[m].upper
    assert all(h >= 176 for h in hits.values()), hits


def test_bbse_recovers_30_70_from_50_50():
    rng = np.random.default_rng(3)

    def draw(n, prior1):
        y = (rng.random(n) < prior1).astype(int)
        return y, (rng.normal(np.where(y == 1, 1.0, -1.0), 1.0) >= 0).astype(int)

    ry, rp = draw(20_000, 0.5)
    conf = np.array([[np.sum((ry == t) & (rp == p)) for p in (0, 1)] for t in (0, 1)])
    covered = moved = 0
    for seed in range(50):
        _, pp = draw(5000, 0.7)
        shift = label_shift.bbse(conf, np.bincount(pp, minlength=2), ["0", "1"], seed=seed, replicates=300)
        covered += shift.lower[1] <= 0.7 <= shift.upper[1]
        moved += bool(shift.moved[1])
    assert covered >= 44 and moved == 50
    _, pp = draw(5000, 0.5)
    assert not label_shift.bbse(conf, np.bincount(pp, minlength=2), ["0", "1"]).moved.any()


def _regression_rows(n: int, seed: int, shift: float = 0.0, mix=(0.5, 0.3, 0.2)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(shift, 1, n), rng.uniform(0, 1, n)
    r = rng.choice(3, n, p=mix)                  # a categorical input: errors 1, 1.5, 2 times larger by region
    y = 2 * x1 + 3 * x2 + rng.normal(0, (0.5 + 0.8 * np.abs(x1) * x2) * np.array([1.0, 1.5, 2.0])[r], n)
    return pd.DataFrame({"id": np.arange(n), "x1": x1, "x2": x2, "region": np.array(["n", "s", "w"])[r],
                         "price": y, "predicted_price": 2 * x1 + 3 * x2})


def test_validate_estimates_regression_error(spark, tmp_path):
    import lightgbm as lgb

    from jobs import baseline
    from jobs.cli import parser

    _regression_rows(3000, 1).drop(columns=["price"]).to_parquet(tmp_path / "train.parquet", index=False)
    _regression_rows(20000, 2).to_parquet(tmp_path / "ref.parquet", index=False)
    base = tmp_path / "baseline"
    assert baseline.run(spark, parser().parse_args([
        "baseline", "--input", str(tmp_path / "train.parquet"), "--output", str(base), "--exclude", "id",
        "--predictions", "predicted_price", "--target", "price", "--model-task", "regression",
        "--reference", str(tmp_path / "ref.parquet")])) == 0
    ref_doc = json.loads((base / "model_reference.json").read_text())
    assert ref_doc["task"] == "regression" and ref_doc["features"] == ["x1", "x2", "region", "predicted_price"]
    assert ref_doc["categorical_features"] == {"region": ["n", "s", "w"]}
    parts = {"chunk=01": _regression_rows(4000, 3), "chunk=02": _regression_rows(4000, 4, shift=2.0),
             "chunk=03": _regression_rows(4000, 7, mix=(0.1, 0.2, 0.7))}   # in range, more of the noisy region
    _, out = _validate_table(spark, base, parts, "price", tmp_path)
    booster_a = lgb.Booster(model_str=ref_doc["loss_model"]["absolute_error"])
    codes = {"n": 0.0, "s": 1.0, "w": 2.0}
    for name, frame in parts.items():
        doc = json.loads((out / name / "model_quality_estimated.json").read_text())
        m = doc["regression_metrics"]
        inputs = frame[["x1", "x2", "region", "predicted_price"]].assign(region=frame["region"].map(codes))
        a = np.clip(booster_a.predict(inputs.astype(float)), 0, None)
        assert m["mae"]["value"] == pytest.approx(a.mean(), rel=1e-9)
        realized = np.mean(np.abs(frame["price"] - frame["predicted_price"]))
        lo, hi = m["mae"]["confidence_interval"]["lower"], m["mae"]["confidence_interval"]["upper"]
        checks = {r["feature"]: r for r in json.loads((out / name / "checks.json").read_text())["checks"]
                  if r["check"] == "estimated_performance_check"}
        # rows beyond the reference's central 99% ranges (numpy on the reference and the partition)
        ranges = {c: np.quantile(_regression_rows(20000, 2)[c], [0.005, 0.995]) for c in ("x1", "x2", "predicted_price")}
        outside = np.zeros(len(frame), dtype=bool)
        for c, (rlo, rhi) in ranges.items():
            outside |= (frame[c] < rlo).to_numpy() | (frame[c] > rhi).to_numpy()
        assert doc["dqloop"]["rows_beyond_reference"] == pytest.approx(outside.sum(), abs=4)
        if name == "chunk=02":   # x1 two sd beyond the reference: flagged, not trusted, and said so
            assert ref_doc["metrics"]["mae"]["value"] + 0.2 < m["mae"]["value"]   # it moves, but is not trusted
            assert doc["dqloop"]["trusted"] is False and checks["mae"]["status"] == "failed"
            assert "beyond the reference's range" in checks["mae"]["description"]
        elif name == "chunk=01":
            assert lo <= realized <= hi and doc["dqloop"]["trusted"] is True
            assert checks["mae"]["status"] == "passed"
        else:   # more rows of the noisy region: only the categorical input tells; within 3 sd of the realized MAE
            assert abs(m["mae"]["value"] - realized) < 3 * m["mae"]["standard_deviation"]
            assert doc["dqloop"]["trusted"] is True and checks["mae"]["status"] == "failed"


def test_dle_intervals_cover_under_covariate_shift():
    """100 partitions, covariate shift: the MAE interval covers the realized MAE in >= 88, RMSE's in >= 85
    (bench/label_free_study.py: 300 partitions)."""
    from labeling import loss_model

    ref = _regression_rows(30_000, 5)
    model = loss_model.fit(ref, ["x1", "x2"], "predicted_price", "price")
    rng = np.random.default_rng(6)
    hits = {"mae": 0, "rmse": 0}
    for i in range(100):
        d = _regression_rows(3000, 100 + i, shift=rng.uniform(-1, 1))
        est = loss_model.estimate(loss_model.sums(d, model))
        e = d["price"] - d["predicted_price"]
        hits["mae"] += est["mae"].lower <= np.mean(np.abs(e)) <= est["mae"].upper
        hits["rmse"] += est["rmse"].lower <= np.sqrt(np.mean(e * e)) <= est["rmse"].upper
    assert hits["mae"] >= 88 and hits["rmse"] >= 85, hits


def test_validate_estimates_multiclass_quality_in_the_same_pass(spark, tmp_path):
    """Multiclass CBPE through validate: the figures equal labeling.multiclass on the partition's rows in memory,
    the model's outputs add no Spark job to validate's pass, and metrics.prom carries the estimates."""
    from constraints.validation import validate as validate_partition
    from jobs import baseline, estimated, validate
    from jobs.cli import parser
    from jobs.session import counting_jobs
    from labeling import multiclass

    def rows(n, seed, shift=(0.0, 0.0)):
        rng = np.random.default_rng(seed)
        x = rng.normal(0, 1, (n, 2)) + np.array(shift)
        logits = x @ np.array([[2.0, 0.0], [0.0, 2.0], [-2.0, 0.0]]).T
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        y = (rng.random((n, 1)) > p.cumsum(axis=1)).sum(axis=1).clip(0, 2)
        raw = np.exp(0.6 * logits) / np.exp(0.6 * logits).sum(axis=1, keepdims=True)
        names = np.array(["cat", "dog", "eel"])
        return pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "p_cat": raw[:, 0], "p_dog": raw[:, 1], "p_eel": raw[:, 2],
                             "predicted": names[raw.argmax(axis=1)], "animal": names[y]})

    rows(3000, 1).drop(columns=["animal"]).to_parquet(tmp_path / "train.parquet", index=False)
    rows(20000, 2).to_parquet(tmp_path / "ref.parquet", index=False)
    base = tmp_path / "baseline"
    assert baseline.run(spark, parser().parse_args([
        "baseline", "--input", str(tmp_path / "train.parquet"), "--output", str(base), "--predictions",
        "p_cat,p_dog,p_eel,predicted", "--prediction-column", "predicted", "--probability-columns",
        "p_cat,p_dog,p_eel", "--target", "animal", "--reference", str(tmp_path / "ref.parquet")])) == 0
    parts = {"chunk=01": rows(4000, 3), "chunk=02": rows(4000, 4, shift=(-0.8, -0.8))}
    _, out = _validate_table(spark, base, parts, "animal", tmp_path)
    ref = estimated.load_reference(str(base))
    assert {"macro_f1", "macro_auc"} <= set(ref.metrics)
    for name, frame in parts.items():
        doc = json.loads((out / name / "model_quality_estimated.json").read_text())
        m = doc["multiclass_classification_metrics"]
        pred = frame["predicted"].map({"cat": 0, "dog": 1, "eel": 2}).to_numpy()
        want = multiclass.estimate(multiclass.sums(frame[["p_cat", "p_dog", "p_eel"]].to_numpy(), pred,
                                                   ref.calibration))
        for k in multiclass.METRICS:
            assert m[k]["value"] == pytest.approx(want.metrics[k].value, abs=1e-9), k
            assert m[k]["standard_deviation"] == pytest.approx(want.metrics[k].standard_deviation, rel=1e-6), k
        checks = {r["feature"]: r for r in json.loads((out / name / "checks.json").read_text())["checks"]
                  if r["check"] == "estimated_performance_check"}
        assert set(checks) == set(multiclass.METRICS)
        if name == "chunk=01":
            assert all(r["status"] == "passed" for r in checks.values())
        prom = (out / name / "metrics.prom").read_text()
        assert f'dqloop_estimated_accuracy{{partition="{name}"}} {float(m["accuracy"]["value"])!r}' in prom
        assert 'dqloop_feature_estimated_prior{partition="' + name + '",feature="cat"}' in prom
    # chunk=02 moved toward the eel/dog boundary region: realized accuracy is lower, and so is the estimate
    acc = {n: np.mean(f["predicted"] == f["animal"]) for n, f in parts.items()}
    est = {n: json.loads((out / n / "model_quality_estimated.json").read_text())[
        "multiclass_classification_metrics"]["accuracy"]["value"] for n in parts}
    assert (acc["chunk=02"] - acc["chunk=01"]) * (est["chunk=02"] - est["chunk=01"]) > 0

    base_doc = validate.read_baseline(str(base))
    df = spark.read.parquet(str(tmp_path / "table" / "chunk=01"))
    with counting_jobs(spark, "plain") as plain:
        validate_partition(spark, df, base_doc, "p")
    with counting_jobs(spark, "lanes") as with_lanes:
        report = validate_partition(spark, df, base_doc, "p", lanes=estimated.lanes(ref, df))
    assert with_lanes[0] == plain[0] and estimated.LANE in report.lanes
