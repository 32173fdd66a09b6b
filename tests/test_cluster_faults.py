"""An executor killed in the middle of validate's pass on a real Spark standalone cluster (scripts/cluster: a
master and two one-core workers on 127.0.0.1). The driver is `dqloop validate --master spark://...` from this
checkout's environment (the executors run the same machine's Python). Once an executor's Python worker is
tallying (the pass has started), that executor's JVM -- found among the children of a worker this test started,
by PID -- gets SIGKILL. Spark runs the lost tasks again; the job must finish with the documents of a local-mode
run on the same files (the pass's tallies are collected per task, so a task run twice is counted once), and its
counts must equal pandas'.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd

from conftest import REPO, run_dqloop
from helpers import assert_same
from jobs.sample_data import make_frame

REPORTS = ("constraint_violations.json", "statistics.json", "checks.json")
DQLOOP = str(REPO / ".venv" / "bin" / "dqloop")


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _cpu(pid: int) -> int:
    """CPU ticks used by a process and its reaped children (the Python daemon forks the workers)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15])
    except OSError:
        return 0


def executors(folder: Path) -> dict[int, list[int]]:
    """{executor JVM PID: its child processes} for the executors the cluster's workers launched."""
    found = {}
    for f in (folder / "pids").glob("worker*.pid"):
        for child in _children(int(f.read_text())):
            if "CoarseGrainedExecutorBackend" in _cmdline(child):
                found[child] = _children(child)
    return found


def test_executor_killed_mid_pass_the_job_finishes_with_the_right_numbers(cluster, tmp_path):
    master, folder = cluster
    train = tmp_path / "train"
    train.mkdir()
    make_frame(20_000, seed=1).to_parquet(train / "part-0.parquet", index=False)
    part = tmp_path / "table" / "day=01"
    part.mkdir(parents=True)
    frames = [make_frame(300_000, seed=40 + i, start_id=i * 10**6, shift=0.3) for i in range(4)]
    for i, f in enumerate(frames):
        f.to_parquet(part / f"part-{i}.parquet", index=False)
    base = tmp_path / "baseline"
    r = run_dqloop("baseline", "--input", str(train), "--output", str(base), "--predictions", "score,predicted_label")
    assert r.returncode == 0, r.stderr

    env = {**os.environ, "PYTHONPATH": str(REPO),
           # one-core executors of 1g; the executors' Python workers import this checkout
           "PYSPARK_SUBMIT_ARGS": f"--conf spark.executorEnv.PYTHONPATH={REPO} --conf spark.executor.memory=1g "
                                  "--conf spark.executor.cores=1 pyspark-shell"}
    out = tmp_path / "cluster"
    driver = subprocess.Popen([DQLOOP, "--master", master, "validate", "--baseline", str(base), "--input",
                               str(tmp_path / "table"), "--output", str(out)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    victim, deadline = None, time.monotonic() + 400
    while victim is None and driver.poll() is None and time.monotonic() < deadline:
        # an executor whose Python worker is busy: the pass (mapInArrow, Python tallies) is under way there
        workers = {k: pid for pid, kids in executors(folder).items() for k in kids if "python" in _cmdline(k)}
        if workers:
            before = {k: _cpu(k) for k in workers}
            time.sleep(0.3)
            victim = next((pid for k, pid in workers.items() if _cpu(k) > before[k]), None)
        else:
            time.sleep(0.1)
    assert victim is not None and driver.poll() is None, "the pass never started on an executor"
    os.kill(victim, signal.SIGKILL)
    stdout, stderr = driver.communicate(timeout=600)

    # the job finished, and the executor was lost and replaced while it ran
    assert driver.returncode == 1, stdout + stderr[-3000:]          # day=01 drifted (shift): violations
    assert "day=01  rows=1200000  violations" in stdout
    launched = list(folder.glob("work/worker*/app-*/*/stderr"))
    assert len(launched) >= 3, launched                              # two executors, then the replacement
    assert "Lost executor" in stderr

    # the same documents as local mode on the same files, and the counts pandas gives
    local = tmp_path / "local"
    r = run_dqloop("validate", "--baseline", str(base), "--input", str(tmp_path / "table"), "--output", str(local))
    assert r.returncode == 1, r.stderr[-3000:]
    docs = {run: {n: json.loads((tmp_path / run / "day=01" / n).read_text()) for n in REPORTS}
            for run in ("cluster", "local")}
    assert_same(docs["cluster"], docs["local"], "day=01")
    whole = pd.concat(frames, ignore_index=True)
    stats = docs["cluster"]["statistics.json"]
    assert stats["dataset"]["item_count"] == len(whole)
    features = {f["name"]: f for f in stats["features"]}
    for column in ("income", "region", "plan", "age"):
        common = features[column].get("numerical_statistics") or features[column].get("string_statistics")
        assert common["common"]["num_missing"] == int(whole[column].isna().sum()), column
        assert common["common"]["num_present"] == int(whole[column].notna().sum()), column
    regions = {b["value"]: b["count"] for b in
               features["region"]["string_statistics"]["distribution"]["categorical"]["buckets"]}
    assert regions == whole["region"].value_counts().to_dict()
