"""A regression model's labeling loop: push (a Number labeling config, the predicted value as pre-annotation),
annotate through the API, pull, report regression_metrics -- against a real Label Studio server (started for
the module, stopped by its PID); and the report on fully labeled data equal to scikit-learn's metrics."""

from __future__ import annotations

import json
import secrets

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, label_studio_server, run_dqloop
from labeling import regression, sampling

N, SIZE = 300, 40
needs_server = pytest.mark.skipif(not (REPO / ".deps" / "label-studio-venv" / "bin" / "label-studio").exists(),
                                  reason="Label Studio not installed: run ./scripts/setup")


@pytest.fixture(scope="module")
def ls(tmp_path_factory):
    with label_studio_server(tmp_path_factory.mktemp("label-studio-home")) as server:
        yield server


@pytest.fixture(scope="module")
def partition(tmp_path_factory):
    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"id": np.arange(N), "rooms": rng.integers(1, 7, N), "area": rng.normal(80, 25, N).round(1)})
    frame["truth"] = (1500 * frame["rooms"] + 30 * frame["area"] + rng.normal(0, 800, N)).round(2)
    frame["predicted_price"] = (frame["truth"] + rng.normal(0, 900, N)).round(2)
    folder = tmp_path_factory.mktemp("predictions")
    frame.drop(columns=["truth"]).to_parquet(folder / "part-0.parquet", index=False)
    return folder, frame


def test_metrics_on_fully_labeled_data_are_sklearns(partition, tmp_path):
    from sklearn import metrics as skm

    part, frame = partition
    frame[["id", "truth"]].rename(columns={"truth": "label"}).to_csv(tmp_path / "truth.csv", index=False)
    out = run_dqloop("label", "report", "--task", "regression", "--input", str(part), "--labels",
                     str(tmp_path / "truth.csv"), "--prediction-column", "predicted_price", "--output", str(tmp_path / "q"))
    assert out.returncode == 0, out.stderr
    m = json.loads((tmp_path / "q" / "model_quality.json").read_text())["regression_metrics"]
    y, p = frame["truth"], frame["predicted_price"]
    assert m["mae"]["value"] == pytest.approx(skm.mean_absolute_error(y, p), rel=1e-12)
    assert m["mse"]["value"] == pytest.approx(skm.mean_squared_error(y, p), rel=1e-12)
    assert m["rmse"]["value"] == pytest.approx(skm.root_mean_squared_error(y, p), rel=1e-12)
    assert m["r2"]["value"] == pytest.approx(skm.r2_score(y, p), rel=1e-12)
    assert m["mae"]["standard_deviation"] == 0 and m["r2"]["confidence_interval"]["lower"] == m["r2"]["value"]
    assert "MAE" in out.stdout


@pytest.mark.parametrize("strategy", ["uniform", "stratified", "drift"])
def test_regression_intervals_cover(strategy):
    """MAE and RMSE 95% intervals cover the partition's values in >= 90 of 100 seeds at n = 100 (stratified and
    drift favour rows with larger errors: unweighted means would be biased)."""
    rng = np.random.default_rng(2)
    n = 5000
    x = rng.normal(0, 1, n)
    err = rng.normal(0, 1 + 0.5 * np.abs(x), n)          # heteroscedastic: larger errors at the extremes
    y, p = 3 * x + err, 3 * x
    true_mae, true_rmse = np.mean(np.abs(y - p)), np.sqrt(np.mean((y - p) ** 2))
    strata = pd.qcut(p, 5, labels=False).astype(str)
    hits = {"mae": 0, "rmse": 0}
    for seed in range(100):
        s = (sampling.uniform(n, 100, seed) if strategy == "uniform" else sampling.stratified(strata, 100, seed)
             if strategy == "stratified" else sampling.drift_weighted(np.where(x > 1.5, 20.0, 1.0), 100, seed))
        est = regression.metrics(y[s.positions], p[s.positions], s.inclusion)
        hits["mae"] += est["mae"].lower <= true_mae <= est["mae"].upper
        hits["rmse"] += est["rmse"].lower <= true_rmse <= est["rmse"].upper
    assert hits["mae"] >= 90 and hits["rmse"] >= 90, hits


@needs_server
def test_regression_loop_against_label_studio(ls, partition, tmp_path):
    from label_studio_sdk import LabelStudio

    part, frame = partition
    pushed = run_dqloop("label", "push", "--task", "regression", "--input", str(part), "--project", "prices",
                        "--prediction-column", "predicted_price", "--strategy", "stratified", "--size", str(SIZE),
                        "--seed", "3", "--show", "rooms,area", env=ls["env"])
    assert pushed.returncode == 0, pushed.stderr
    assert "for numbers (regression)" in pushed.stdout
    client = LabelStudio(base_url=ls["url"], api_key=ls["token"])
    project = next(p for p in client.projects.list() if p.title == "prices")
    assert "<Number" in client.projects.get(id=project.id).label_config
    tasks = sorted(client.tasks.list(project=project.id, fields="all", page_size=1000), key=lambda t: t.id)
    assert len(tasks) == SIZE
    by_id = frame.set_index(frame["id"].astype(str))
    user = client.users.whoami().id
    other = client.users.create(email=f"a-{secrets.token_hex(3)}@example.com", username=f"a-{secrets.token_hex(3)}",
                                password=secrets.token_urlsafe(12)).id

    def give(task_id, who, value):
        client.annotations.create(id=task_id, completed_by=who, lead_time=2.0, result=[
            {"from_name": "label", "to_name": "c0", "type": "number", "value": {"number": float(value)}}])

    expected = {}
    for i, t in enumerate(tasks[:SIZE - 5]):            # five tasks stay unlabeled
        rid = t.data["dqloop_row_id"]
        truth = float(by_id.loc[rid, "truth"])
        pred = t.predictions[0]
        result = (pred["result"] if isinstance(pred, dict) else pred.result)[0]
        assert result["type"] == "number"
        assert result["value"]["number"] == pytest.approx(by_id.loc[rid, "predicted_price"])
        if i == 0:     # three annotators: the median counts
            give(t.id, user, truth - 100); give(t.id, other, truth); give(t.id, user, truth + 5000)
        else:
            give(t.id, user if i % 2 else other, truth)
        expected[rid] = truth
    labels_file = tmp_path / "labels.parquet"
    pulled = run_dqloop("label", "pull", "--project", "prices", "--output", str(labels_file), env=ls["env"])
    assert pulled.returncode == 0, pulled.stderr
    labels = pd.read_parquet(labels_file)
    assert dict(zip(labels["row_id"], labels["label"])) == pytest.approx(expected)
    out = run_dqloop("label", "report", "--task", "regression", "--input", str(part), "--labels", str(labels_file),
                     "--prediction-column", "predicted_price", "--output", str(tmp_path / "q"),
                     "--metrics-repo", str(tmp_path / "m"), "--partition", "day=1", env=ls["env"])
    assert out.returncode == 0, out.stderr
    m = json.loads((tmp_path / "q" / "model_quality.json").read_text())["regression_metrics"]
    w = 1 / labels["inclusion_probability"].to_numpy()
    e = labels["label"].to_numpy() - by_id.loc[labels["row_id"], "predicted_price"].to_numpy()
    assert m["mae"]["value"] == pytest.approx(np.sum(w * np.abs(e)) / np.sum(w), rel=1e-12)
    assert m["rmse"]["value"] == pytest.approx(np.sqrt(np.sum(w * e * e) / np.sum(w)), rel=1e-12)
    ci = m["mae"]["confidence_interval"]
    assert ci["lower"] < m["mae"]["value"] < ci["upper"]
    hist = json.loads((tmp_path / "m" / "day=1.labels.json").read_text())
    assert {"labeled_mae", "labeled_rmse", "labeled_r2", "labeled_count"} <= {r["metric"] for r in hist["metrics"]}
