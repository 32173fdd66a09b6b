"""The real `dqloop` command and spark-submit entry point, each in its own process and JVM."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pandera.errors
import pandera.pandas as pa
import pytest

from conftest import REPO, run_dqloop
from helpers import assert_same, write_parquet
from jobs.sample_data import make_frame


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_parquet(make_frame(4_000, seed=11), tmp_path_factory.mktemp("sample") / "train")


def test_help_lists_commands_and_options():
    out = run_dqloop("--help")
    assert out.returncode == 0 and "baseline" in out.stdout
    out = run_dqloop("baseline", "--help")
    assert out.returncode == 0
    for option in ("--input", "--output", "--predictions", "--exclude", "--holdout-fraction"):
        assert option in out.stdout
    assert run_dqloop("baseline").returncode == 2  # missing required arguments



def test_spark_commands_start_their_session_while_the_job_modules_import(monkeypatch, spark):
    """`dqloop baseline` and `validate` start Spark on a thread before their modules import (about a CPU
    second beside the JVM's start; jobs.session.launch); other commands, --help and lines the early parse
    cannot read do not. Every command-line test here runs through that launched session."""
    from jobs import cli, session

    assert session.launch("dqloop-test") is None   # a session is active (this test's): nothing to launch
    started = []
    monkeypatch.setattr(session, "launch", lambda app, master: started.append((app, master)) or "launched")
    assert cli._launch_spark(["-v", "--master", "local[1]", "validate", "--baseline", "b"]) == "launched"
    assert cli._launch_spark(["baseline", "--input", "x", "--output", "y"]) == "launched"
    assert started == [("dqloop-validate", "local[1]"), ("dqloop-baseline", None)]
    for argv in (["validate", "--help"], ["-h"], ["report", "--metrics-repo", "m"], ["label", "push"], [],
                 ["--master"], ["sample-data", "--output", "o"]):
        assert cli._launch_spark(argv) is None, argv
    assert len(started) == 2

def test_dqloop_and_spark_submit_write_the_same_baseline(sample, tmp_path):
    args = ["--input", str(sample), "--predictions", "score,predicted_label", "--exclude", "email_domain"]
    cli = run_dqloop("baseline", *args, "--output", str(tmp_path / "cli"))
    assert cli.returncode == 0, cli.stderr
    assert "model outputs:" in cli.stdout and "constraints:" in cli.stdout

    env = {**os.environ, "PYSPARK_PYTHON": str(REPO / ".venv/bin/python"),
           "PYSPARK_DRIVER_PYTHON": str(REPO / ".venv/bin/python"), "SPARK_CONF_DIR": str(REPO / "spark-conf")}
    submit = subprocess.run([str(REPO / ".venv/bin/spark-submit"), "--properties-file", "spark-conf/spark-defaults.conf",
                             "jobs/baseline.py", *args, "--output", str(tmp_path / "submit")],
                            capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert submit.returncode == 0, submit.stderr[-3000:]
    for name in ("statistics.json", "constraints.json"):   # KLL sketches: equal within their rank error
        assert_same(json.loads((tmp_path / "cli" / name).read_text()), json.loads((tmp_path / "submit" / name).read_text()))
    a, b = (json.loads((tmp_path / d / "suite.json").read_text()) for d in ("cli", "submit"))
    assert a["constraints"] == b["constraints"] and a["columns"] == b["columns"]
    assert "email_domain" not in {c["name"] for c in a["columns"]}

    # validate under spark-submit: the same arguments as `dqloop validate`, the same exit codes
    part = write_parquet(make_frame(2_000, seed=13, start_id=10**6), tmp_path / "table" / "chunk=01")
    validate = subprocess.run([str(REPO / ".venv/bin/spark-submit"), "--properties-file",
                               "spark-conf/spark-defaults.conf", "jobs/validate.py", "--baseline", str(tmp_path / "cli"),
                               "--input", str(part.parent), "--output", str(tmp_path / "v")],
                              capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert validate.returncode == 0, validate.stdout + validate.stderr[-3000:]
    assert validate.stdout.startswith("chunk=01  rows=2000  ok  violations=0")
    assert json.loads((tmp_path / "v" / "chunk=01" / "checks.json").read_text())["verdict"] == "ok"


def test_pandera_schema_loads_and_validates_serving_batches(sample, tmp_path):
    out = run_dqloop("baseline", "--input", str(sample), "--output", str(tmp_path / "b"))
    assert out.returncode == 0, out.stderr
    schema = pa.DataFrameSchema.from_yaml(tmp_path / "b" / "pandera_schema.yaml")
    batch = make_frame(500, seed=12, start_id=10**6)
    batch["signup_date"] = pd.to_datetime(batch["signup_date"])
    schema.validate(batch)  # a fresh batch of the training distribution passes
    broken = batch.copy()
    broken.loc[:4, "region"] = "atlantis"
    broken.loc[5:9, "id"] = broken.loc[0, "id"]
    with pytest.raises(pandera.errors.SchemaErrors) as caught:
        schema.validate(broken, lazy=True)
    failures = caught.value.failure_cases
    assert set(failures["column"]) >= {"region", "id"}
    assert "atlantis" in set(failures["failure_case"].astype(str))


def test_missing_deequ_jar_names_the_setup_command(sample, tmp_path):
    conf = tmp_path / "conf"
    shutil.copytree(REPO / "spark-conf", conf)
    text = (conf / "spark-defaults.conf").read_text().replace("deequ-", "no-such-deequ-")
    (conf / "spark-defaults.conf").write_text(text)
    out = run_dqloop("baseline", "--input", str(sample), "--output", str(tmp_path / "o"),
                     env={"DQLOOP_SPARK_CONF_DIR": str(conf)})
    assert out.returncode == 3
    assert "scripts/setup" in out.stderr and "JavaPackage" not in out.stderr
    assert not (tmp_path / "o").exists()


def test_executor_python_without_dqloops_dependencies_names_the_fix(sample, tmp_path):
    """validate's pass runs Python workers: a worker Python without numpy and pyarrow is a set-up error that
    says which setting to fix, not a Python traceback from an executor."""
    base = run_dqloop("baseline", "--input", str(sample), "--output", str(tmp_path / "base"))
    assert base.returncode == 0, base.stderr
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "bare")], check=True)
    out = run_dqloop("validate", "--baseline", str(tmp_path / "base"), "--input", str(sample),
                     "--output", str(tmp_path / "v"), env={"PYSPARK_PYTHON": str(tmp_path / "bare" / "bin" / "python")})
    assert out.returncode == 3, out.stdout + out.stderr
    ours = out.stderr[out.stderr.index("dqloop validate: error:"):]   # after Spark's own log of the task
    assert "has no module" in ours and "fix: point spark.pyspark.python" in ours, out.stderr
    assert "Traceback" not in ours and not (tmp_path / "v").exists()
