"""The labeling loop against a real Label Studio server (started once for the module by `dqloop label server
start`, on a free port, from a copy of the migrated template; stopped by its PID at the end).

Annotations are made through the API as annotators would: two annotator users, a disagreement, a cancelled
annotation, unlabeled tasks left over. Figures are checked against a direct numpy computation.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import REPO, label_studio_server, run_dqloop

pytestmark = pytest.mark.skipif(not (REPO / ".deps" / "label-studio-venv" / "bin" / "label-studio").exists(),
                                reason="Label Studio not installed: run ./scripts/setup")

N = 400
SIZE = 40


@pytest.fixture(scope="module")
def ls(tmp_path_factory):
    home = tmp_path_factory.mktemp("label-studio-home")
    with label_studio_server(home) as server:
        started, token = server["started"], server["token"]
        assert token not in started.stdout + started.stderr          # the token is never printed
        assert server["url"] in started.stdout and "log in as" in started.stdout
        yield server
    assert "stopped" in server["stopped"].stdout
    from labeling.server import alive
    assert not alive(server["pid"])
    assert token not in (home / "server.log").read_text(errors="replace")
    assert not any(token in p.read_text(errors="replace") for p in home.iterdir() if p.is_file())


@pytest.fixture(scope="module")
def partition(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    from jobs.sample_data import make_frame

    rng = np.random.default_rng(5)
    frame = make_frame(N, 11)
    wrong = rng.random(N) < 0.25
    flip = {"churn": "stay", "stay": "churn"}
    frame["truth"] = np.where(wrong, frame["predicted_label"].map(flip), frame["predicted_label"])
    frame["challenger"] = np.where(rng.random(N) < 0.3, frame["predicted_label"].map(flip), frame["predicted_label"])
    folder = tmp_path_factory.mktemp("predictions")
    frame.drop(columns=["truth"]).to_parquet(folder / "part-0.parquet", index=False)
    return folder, frame


def sdk(ls):
    from label_studio_sdk import LabelStudio

    return LabelStudio(base_url=ls["url"], api_key=ls["token"])


def project_tasks(ls, title: str) -> list:
    client = sdk(ls)
    project = next(p for p in client.projects.list() if p.title == title)
    return list(client.tasks.list(project=project.id, fields="all", page_size=1000))


def push(ls, part: Path, project: str, *extra: str):
    return run_dqloop("label", "push", "--input", str(part), "--project", project, "--show", "age,income,region,plan",
                      *extra, env=ls["env"])


def test_push_annotate_pull_report(ls, partition, tmp_path):
    part, frame = partition
    args = ("--strategy", "stratified", "--size", str(SIZE), "--seed", "4", "--score-column", "score",
            "--second-prediction-column", "challenger")
    first = push(ls, part, "loop", *args)
    assert first.returncode == 0, first.stderr
    assert f"{SIZE} tasks added" in first.stdout
    again = push(ls, part, "loop", *args)
    assert again.returncode == 0 and "0 tasks added" in again.stdout      # a second push adds nothing
    tasks = project_tasks(ls, "loop")
    assert len(tasks) == SIZE
    ids = [t.data["dqloop_row_id"] for t in tasks]
    assert len(set(ids)) == SIZE

    # inclusion probabilities: the stratified defensive mixture, computed here directly
    counts = frame["predicted_label"].value_counts()
    k = len(counts)
    by_id = frame.set_index(frame["id"].astype(str))
    for t in tasks:
        cls = by_id.loc[t.data["dqloop_row_id"], "predicted_label"]
        expected = SIZE * (0.5 / N + 0.5 / (k * counts[cls]))
        assert t.data["dqloop_inclusion_probability"] == pytest.approx(min(expected, 1.0), rel=1e-9)
        versions = sorted(p["model_version"] if isinstance(p, dict) else p.model_version for p in t.predictions)
        assert versions == ["challenger", "champion"]

    # annotate as people would: two annotators, the admin breaking one tie, a disagreement, cancellations
    client = sdk(ls)
    admin = client.users.whoami().id
    users = [client.users.create(email=f"ann{i}-{secrets.token_hex(3)}@example.com", username=f"ann{i}-{secrets.token_hex(3)}",
                                 password=secrets.token_urlsafe(12)).id for i in (1, 2)]
    tasks.sort(key=lambda t: t.id)

    def choose(task_id, user, label, cancelled=False):
        result = [] if cancelled else [{"from_name": "label", "to_name": "c0", "type": "choices",
                                        "value": {"choices": [label]}}]
        client.annotations.create(id=task_id, result=result, completed_by=user, was_cancelled=cancelled, lead_time=3.0)

    flip = {"churn": "stay", "stay": "churn"}
    expected_rows = {}
    for i, t in enumerate(tasks[:SIZE - 6]):                       # the last 6 tasks stay unlabeled
        rid = t.data["dqloop_row_id"]
        truth = by_id.loc[rid, "truth"]
        if i == 0:    # disagreement: 2 of 3 say truth
            choose(t.id, users[0], truth); choose(t.id, users[1], flip[truth]); choose(t.id, admin, truth)
            expected_rows[rid] = (truth, 3, 2 / 3)
        elif i == 1:  # one annotator cancels: the other's label counts
            choose(t.id, users[0], truth); choose(t.id, users[1], truth, cancelled=True)
            expected_rows[rid] = (truth, 1, 1.0)
        elif i == 2:  # only a cancelled annotation: not labeled
            choose(t.id, users[1], truth, cancelled=True)
        elif i == 3:  # a tie: kept without a label, left out of the report
            choose(t.id, users[0], truth); choose(t.id, users[1], flip[truth])
            expected_rows[rid] = (None, 2, 0.5)
        else:
            choose(t.id, users[i % 2], truth)
            expected_rows[rid] = (truth, 1, 1.0)

    labels_file = tmp_path / "labels.parquet"
    pulled = run_dqloop("label", "pull", "--project", "loop", "--output", str(labels_file), env=ls["env"])
    assert pulled.returncode == 0, pulled.stderr
    labels = pd.read_parquet(labels_file)
    assert sorted(labels["row_id"]) == sorted(expected_rows)
    for _, row in labels.iterrows():
        label, annotators, agreement = expected_rows[row["row_id"]]
        assert (row["label"] if pd.notna(row["label"]) else None) == label
        assert row["annotators"] == annotators and row["agreement"] == pytest.approx(agreement)
    assert labels["first_annotated_at"].notna().all() and str(labels["last_annotated_at"].dtype).startswith("datetime64")

    out, repo = tmp_path / "report", tmp_path / "metrics"
    reported = run_dqloop("label", "report", "--input", str(part), "--labels", str(labels_file), "--output", str(out),
                          "--second-prediction-column", "challenger", "--positive-label", "churn",
                          "--metrics-repo", str(repo), "--partition", "day=1/chunk=01", env=ls["env"])
    assert reported.returncode == 0, reported.stderr
    doc = json.loads((out / "model_quality.json").read_text())
    m = doc["binary_classification_metrics"]

    # the direct computation: Hajek ratio over the labeled rows with weights 1/pi
    used = labels[labels["label"].notna()].copy()
    used["pred"] = by_id.loc[used["row_id"], "predicted_label"].to_numpy()
    used["chal"] = by_id.loc[used["row_id"], "challenger"].to_numpy()
    w = 1 / used["inclusion_probability"].to_numpy()
    correct = (used["label"] == used["pred"]).to_numpy()
    assert m["accuracy"]["value"] == pytest.approx(np.sum(w * correct) / np.sum(w), rel=1e-12)
    ci = m["accuracy"]["confidence_interval"]
    assert ci["level"] == 0.95 and ci["lower"] < m["accuracy"]["value"] < ci["upper"]
    assert m["accuracy"]["standard_deviation"] > 0
    pos_pred, pos_true = (used["pred"] == "churn").to_numpy(), (used["label"] == "churn").to_numpy()
    assert m["precision"]["value"] == pytest.approx(np.sum(w * pos_pred * pos_true) / np.sum(w * pos_pred))
    assert m["recall"]["value"] == pytest.approx(np.sum(w * pos_pred * pos_true) / np.sum(w * pos_true))
    p, r = m["precision"]["value"], m["recall"]["value"]
    assert m["f1"]["value"] == pytest.approx(2 * p * r / (p + r))
    cm = m["confusion_matrix"]
    assert sum(cm[t][q] for t in cm for q in cm[t]) == pytest.approx(N)
    assert cm["churn"]["stay"] == pytest.approx(N * np.sum(w * pos_true * ~pos_pred) / np.sum(w))
    for name in ("macro_f1", "weighted_f1", "f0_5", "f2", "true_negative_rate", "false_positive_rate"):
        e = m[name]
        assert e["confidence_interval"]["lower"] <= e["value"] <= e["confidence_interval"]["upper"], name
    assert doc["dqloop"]["labeled_rows"] == len(used) and doc["dqloop"]["labels_without_majority"] == 1

    cc = doc["dqloop"]["champion_challenger"]
    right_a, right_b = correct, (used["label"] == used["chal"]).to_numpy()
    b, c = int(np.sum(right_a & ~right_b)), int(np.sum(~right_a & right_b))
    assert (cc["champion_only_correct"], cc["challenger_only_correct"]) == (b, c)
    assert cc["mcnemar_exact_p_value"] == pytest.approx(min(1.0, 2 * stats.binom.cdf(min(b, c), b + c, 0.5)))
    assert cc["accuracy_difference"]["value"] == pytest.approx(np.sum(w * (right_a.astype(float) - right_b)) / np.sum(w))
    summary = (out / "summary.txt").read_text()
    assert "accuracy" in summary and "McNemar" in summary and f"from {len(used)} labeled rows of {N}" in summary

    from jobs.history import read_history
    hist = read_history(repo)
    got = dict(zip(hist["metric"], hist["value"]))
    assert set(hist["partition"]) == {"day=1/chunk=01"} and (repo / "day=1__chunk=01.labels.json").exists()
    assert got["labeled_accuracy"] == pytest.approx(m["accuracy"]["value"])
    assert got["labeled_accuracy_lower"] == pytest.approx(ci["lower"]) and got["labeled_count"] == len(used)


def test_ground_truth_file_goes_through_the_same_report(partition, tmp_path):
    part, frame = partition
    truth = tmp_path / "truth.csv"
    frame[["id", "truth"]].rename(columns={"truth": "label"}).to_csv(truth, index=False)
    out = tmp_path / "gt"
    done = run_dqloop("label", "report", "--input", str(part), "--labels", str(truth), "--output", str(out))
    assert done.returncode == 0, done.stderr
    acc = json.loads((out / "model_quality.json").read_text())["binary_classification_metrics"]["accuracy"]
    exact = float(np.mean(frame["truth"] == frame["predicted_label"]))
    assert acc["value"] == pytest.approx(exact)     # every row labeled: the exact figure, a zero-width interval
    assert acc["confidence_interval"]["lower"] == pytest.approx(exact) == acc["confidence_interval"]["upper"]


def test_push_that_stopped_half_way_resumes(ls, partition, monkeypatch, capsys):
    from jobs import cli
    from labeling import client as client_mod

    part, _ = partition
    real = client_mod.Client._import_batch
    calls = {"n": 0}

    def crash_after_two(self, project, batch):
        if calls["n"] == 2:
            raise KeyboardInterrupt   # the person pressed Ctrl-C (or the machine went down) mid-push
        calls["n"] += 1
        return real(self, project, batch)

    for k, v in ls["env"].items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(client_mod.Client, "_import_batch", crash_after_two)
    args = ["label", "push", "--input", str(part), "--project", "resume", "--show", "age,region", "--size", "50",
            "--seed", "9", "--batch-size", "10"]
    assert cli.main(args) == 130
    assert len(project_tasks(ls, "resume")) == 20
    monkeypatch.setattr(client_mod.Client, "_import_batch", real)
    resumed = run_dqloop(*args, env=ls["env"])
    assert resumed.returncode == 0 and "30 tasks added, 20 already there" in resumed.stdout
    ids = [t.data["dqloop_row_id"] for t in project_tasks(ls, "resume")]
    assert len(ids) == 50 == len(set(ids))


def test_server_error_after_a_write_does_not_duplicate(ls, partition, monkeypatch):
    """A 502 after the server stored the batch (the answer was lost): the retry imports nothing twice."""
    from label_studio_sdk.core.api_error import ApiError

    from jobs import cli
    from labeling import client as client_mod

    part, _ = partition
    for k, v in ls["env"].items():
        monkeypatch.setenv(k, v)
    original = client_mod.Client.__init__
    failures = {"left": 2}

    def flaky_init(self, *a, **kw):
        original(self, *a, **kw)
        projects = self._ls.projects
        real_import = projects.import_tasks

        def import_then_fail(**kwargs):
            real_import(**kwargs)          # the server writes the tasks ...
            if failures["left"]:
                failures["left"] -= 1      # ... and the gateway answers 502
                raise ApiError(status_code=502, body="Bad Gateway")
        projects.import_tasks = import_then_fail
        self._sleep = lambda s: None

    monkeypatch.setattr(client_mod.Client, "__init__", flaky_init)
    assert cli.main(["label", "push", "--input", str(part), "--project", "flaky", "--show", "age", "--size", "30",
                     "--batch-size", "10"]) == 0
    ids = [t.data["dqloop_row_id"] for t in project_tasks(ls, "flaky")]
    assert len(ids) == 30 == len(set(ids)) and failures["left"] == 0


def test_clear_errors_and_exit_codes(ls, partition, tmp_path):
    from labeling.server import free_port

    part, _ = partition
    down = {**ls["env"], "LABEL_STUDIO_URL": f"http://127.0.0.1:{free_port()}"}
    r = run_dqloop("label", "push", "--input", str(part), "--project", "nowhere", "--size", "5", env=down)
    assert r.returncode == 3 and "did not answer" in r.stderr and "dqloop label server start" in r.stderr

    bad = {**ls["env"], "LABEL_STUDIO_API_KEY": "not-the-token-" + secrets.token_hex(4)}
    r = run_dqloop("label", "pull", "--project", "loop", "--output", str(tmp_path / "l.parquet"), env=bad)
    assert r.returncode == 2 and "refused the API key (401)" in r.stderr and "LABEL_STUDIO_API_KEY" in r.stderr
    assert bad["LABEL_STUDIO_API_KEY"] not in r.stderr + r.stdout

    r = run_dqloop("label", "pull", "--project", "no such project", "--output", str(tmp_path / "l.parquet"), env=ls["env"])
    assert r.returncode == 2 and "no project 'no such project'" in r.stderr
    assert not (tmp_path / "l.parquet").exists()

    r = run_dqloop("label", "push", "--input", str(part), "--project", "nowhere", "--prediction-column", "nope", env=ls["env"])
    assert r.returncode == 2 and "nope" in r.stderr
    r = run_dqloop("label", "push", "--input", str(part), "--project", "x", env=ls["env"])
    assert r.returncode == 2 and "3 to 50" in r.stderr

    # a project deleted while we work: the next call names it
    from labeling.client import Client, Project, ProjectNotFound
    client = Client(ls["url"], ls["token"])
    p = client.create_project("doomed", "<View><Text name='c0' value='$c0'/><Choices name='label' toName='c0'>"
                                         "<Choice value='a'/></Choices></View>")
    client.sdk.projects.delete(id=p.id)
    with pytest.raises(ProjectNotFound, match="doomed"):
        client.import_tasks(Project(p.id, "doomed"), [{"data": {"c0": "x", "dqloop_row_id": "1"}}])


def test_server_status(ls):
    r = run_dqloop("label", "server", "status", env=ls["env"])
    assert r.returncode == 0 and ls["url"] in r.stdout
    other = run_dqloop("label", "server", "status", env={"DQLOOP_LABEL_STUDIO_HOME": str(ls["home"] / "none")})
    assert other.returncode == 3 and "not running" in other.stdout


def test_low_confidence_and_drift_strategies_push(ls, partition, tmp_path):
    part, frame = partition
    r = push(ls, part, "unsure", "--strategy", "low-confidence", "--score-column", "score", "--size", "20")
    assert r.returncode == 0 and "20 tasks added" in r.stdout, r.stderr
    pis = [t.data["dqloop_inclusion_probability"] for t in project_tasks(ls, "unsure")]
    assert min(pis) >= 0.5 * 20 / N - 1e-12                        # the defensive floor
    violations = tmp_path / "constraint_violations.json"
    violations.write_text(json.dumps({"violations": [
        {"feature_name": "age", "constraint_check_type": "baseline_drift_check", "description": "drift"}]}))
    stats_doc = tmp_path / "statistics.json"
    stats_doc.write_text(json.dumps({"features": [{"name": "age", "numerical_statistics": {"distribution": {"kll": {
        "buckets": [{"lower_bound": 18.0, "upper_bound": 40.0, "count": 900},
                    {"lower_bound": 40.0, "upper_bound": 95.0, "count": 100}]}}}}]}))
    r = push(ls, part, "drifted", "--strategy", "drift", "--size", "20", "--violations", str(violations),
             "--baseline-statistics", str(stats_doc))
    assert r.returncode == 0 and "drifted region of age" in r.stdout, r.stderr
    tasks = project_tasks(ls, "drifted")
    by_id = frame.set_index(frame["id"].astype(str))
    old = [t.data["dqloop_inclusion_probability"] for t in tasks if by_id.loc[t.data["dqloop_row_id"], "age"] >= 40]
    young = [t.data["dqloop_inclusion_probability"] for t in tasks if by_id.loc[t.data["dqloop_row_id"], "age"] < 40]
    assert old and young and min(old) > max(young)                 # rows in the over-represented region favoured
    r = push(ls, part, "drifted2", "--strategy", "drift", "--size", "20")
    assert r.returncode == 2 and "--violations" in r.stderr
