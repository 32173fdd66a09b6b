"""The labeling loop when Label Studio dies: the real server (started for the module by `dqloop label server
start`) is killed (SIGKILL to the process group of the PID it recorded, the server we started) in the middle of a
`dqloop label push` and of a `dqloop label pull`, then started again on the same port and the same data. The
command that was cut off exits 3 with a message saying what to do; run again, it completes: no task twice, none
missing, every label the server holds in the Parquet. What the server holds is read over HTTP.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, label_studio_server, run_dqloop

pytestmark = pytest.mark.skipif(not (REPO / ".deps" / "label-studio-venv" / "bin" / "label-studio").exists(),
                                reason="Label Studio not installed: run ./scripts/setup")

DQLOOP = str(REPO / ".venv" / "bin" / "dqloop")


@pytest.fixture(scope="module")
def ls(tmp_path_factory):
    with label_studio_server(tmp_path_factory.mktemp("label-studio-faults")) as server:
        yield server


@pytest.fixture(scope="module")
def partition(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    from jobs.sample_data import make_frame

    frame = make_frame(1_000, 17)
    folder = tmp_path_factory.mktemp("predictions")
    frame.to_parquet(folder / "part-0.parquet", index=False)
    return folder, frame


def sdk(ls):
    from label_studio_sdk import LabelStudio

    return LabelStudio(base_url=ls["url"], api_key=ls["token"], timeout=60, max_retries=0)


def project_id(ls, title: str) -> int | None:
    return next((p.id for p in sdk(ls).projects.list(title=title) if p.title == title), None)


def kill(ls) -> None:
    """SIGKILL the server we started (its PID heads its own process group), as a crash or an OOM kill would."""
    pid = json.loads((ls["home"] / "server.json").read_text())["pid"]
    assert pid == ls["pid"]
    from labeling.server import alive

    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid)


def restart(ls) -> None:
    """`dqloop label server start` again, on the same port (the URL the commands were given) and data."""
    port = int(ls["url"].rsplit(":", 1)[1])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:   # the killed server's listening socket is gone once the port binds
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                break
            except OSError:
                time.sleep(0.5)
    started = run_dqloop("label", "server", "start", "--port", str(port), env=ls["env"], timeout=400)
    assert started.returncode == 0, started.stderr
    ls["pid"] = json.loads((ls["home"] / "server.json").read_text())["pid"]


def server_log_count(ls, needle: str) -> int:
    return (ls["home"] / "server.log").read_text(errors="replace").count(needle)


def test_server_killed_mid_push_then_the_same_push_completes(ls, partition):
    from labeling import sampling

    part, frame = partition
    title, size = "killed mid-push", 400
    args = ["label", "push", "--input", str(part), "--project", title, "--show", "age,region", "--size", str(size),
            "--seed", "3", "--batch-size", "10"]
    proc = subprocess.Popen([DQLOOP, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                            env={**os.environ, **ls["env"]})
    client, seen, pid = sdk(ls), 0, None
    deadline = time.monotonic() + 240
    while seen < 60 and proc.poll() is None and time.monotonic() < deadline:   # a sixth of the tasks are in
        pid = pid or project_id(ls, title)
        seen = client.projects.get(id=pid).task_number if pid else 0
        time.sleep(0.05)
    assert proc.poll() is None and 60 <= seen < size, (seen, proc.poll())
    kill(ls)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 3, out + err
    assert "did not answer" in err and "The push stopped with at least" in err and "run the same push again" in err
    assert "Traceback" not in err and ls["token"] not in out + err

    restart(ls)
    client = sdk(ls)
    before = [t.data["dqloop_row_id"] for t in client.tasks.list(project=pid, fields="task_only", include="id,data",
                                                                   page_size=1000)]
    assert seen <= len(before) < size and len(set(before)) == len(before)
    rerun = run_dqloop(*args, env=ls["env"])
    assert rerun.returncode == 0, rerun.stderr
    assert f"{size - len(before)} tasks added, {len(before)} already there" in rerun.stdout
    tasks = list(client.tasks.list(project=pid, fields="all", page_size=1000))
    ids = [t.data["dqloop_row_id"] for t in tasks]
    assert len(ids) == size == len(set(ids))                       # none twice, none missing ...
    chosen = frame["id"].iloc[sampling.uniform(len(frame), size, 3).positions].astype(str)
    assert set(ids) == set(chosen)                                 # ... and exactly the sample
    predicted = dict(zip(frame["id"].astype(str), frame["predicted_label"].astype(str)))
    for t in tasks:                                                # each with its model's pre-annotation
        assert [p.result[0]["value"]["choices"] for p in t.predictions] == [[predicted[t.data["dqloop_row_id"]]]]


def test_server_killed_mid_pull_then_the_same_pull_has_every_label(ls, tmp_path):
    from labeling.client import Client
    from labeling.config import label_config

    n = 2_000   # an export of this many labeled tasks takes seconds: the server is killed inside it
    client = Client(ls["url"], ls["token"])
    project = client.create_project("killed mid-pull", label_config(["churn", "stay"], ["age"]))
    rng = np.random.default_rng(4)
    truth = {str(i): str(rng.choice(["churn", "stay"])) for i in range(n)}
    me = client.check()["id"]

    def labeled(i: str) -> dict:
        return {"data": {"c0": i, "dqloop_row_id": i, "dqloop_inclusion_probability": 0.5, "dqloop_strategy": "uniform"},
                "annotations": [{"completed_by": me, "result": [{"from_name": "label", "to_name": "c0", "type": "choices",
                                                                 "value": {"choices": [truth[i]]}}]}]}
    client.sdk.projects.import_tasks(id=project.id, request=[labeled(str(i)) for i in range(n)])
    out = tmp_path / "labels.parquet"
    lookups = server_log_count(ls, '"GET /api/projects/?')
    exports = server_log_count(ls, f'"GET /api/projects/{project.id}/export')
    proc = subprocess.Popen([DQLOOP, "label", "pull", "--project", "killed mid-pull", "--output", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                            env={**os.environ, **ls["env"]})
    deadline = time.monotonic() + 120
    while server_log_count(ls, '"GET /api/projects/?') == lookups and time.monotonic() < deadline:
        time.sleep(0.05)   # the pull found the project: its next request is the export
    time.sleep(1.0)
    assert proc.poll() is None and server_log_count(ls, f'"GET /api/projects/{project.id}/export') == exports
    kill(ls)               # the export had not been answered
    stdout, err = proc.communicate(timeout=180)
    assert proc.returncode == 3, stdout + err
    assert "did not answer while exporting" in err and "Nothing was written" in err and "run the same pull again" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []      # no half-written file, no staging file left

    restart(ls)
    rerun = run_dqloop("label", "pull", "--project", "killed mid-pull", "--output", str(out), env=ls["env"])
    assert rerun.returncode == 0, rerun.stderr
    assert f"pulled {n} labeled tasks" in rerun.stdout
    labels = pd.read_parquet(out)
    # what the server holds, over HTTP: its own count of labeled tasks and every task's annotation
    counts = sdk(ls).projects.get(id=project.id)
    assert counts.finished_task_number == counts.total_annotations_number == n == len(labels)
    held = {t.data["dqloop_row_id"]: t.annotations[0]["result"][0]["value"]["choices"][0]
            for t in sdk(ls).tasks.list(project=project.id, fields="all", page_size=1000)}
    assert held == truth
    assert dict(zip(labels["row_id"].astype(str), labels["label"].astype(str))) == held
