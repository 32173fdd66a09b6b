"""baseline and validate on a real Spark standalone cluster (a master and two workers on 127.0.0.1).

The jobs are submitted the way a team submits them to its own cluster: spark-submit from the Spark
installation, with what scripts/package builds (dist/conf/standalone as SPARK_CONF_DIR, the Deequ
jar from dist/jars, dist/dqloop_main.py, the venv-pack archive shipped to the executors and, for the
client-mode driver, unpacked into a scratch folder). They run from a scratch working directory, so
neither the driver nor the executors import the repository checkout. Their documents must equal
those of local mode (the `dqloop` command, local[2]) on the same files.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tarfile

import pytest

from conftest import REPO
from helpers import assert_same, write_parquet
from jobs.sample_data import make_frame

SPARK_HOME = next((REPO / ".venv" / "lib").glob("python3*/site-packages/pyspark"))
DOCS = ("statistics.json", "constraints.json")
REPORTS = ("constraint_violations.json", "statistics.json", "checks.json")


@pytest.fixture(scope="module")
def dist():
    out = subprocess.run([str(REPO / "scripts" / "package")], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    return REPO / "dist"


@pytest.fixture(scope="module")
def job_dir(dist, tmp_path_factory):
    """A working directory away from the repository, with the packed environment unpacked for the driver."""
    folder = tmp_path_factory.mktemp("job")
    with tarfile.open(dist / "dqloop-env.tar.gz") as archive:
        archive.extractall(folder / "driver-env", filter="fully_trusted")  # venv-pack's symlink to the base Python
    return folder


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    train = root / "train"
    train.mkdir()
    for i in range(2):  # two files: two input splits whichever way the run is placed
        make_frame(1_500, seed=21 + i, start_id=i * 10**5).to_parquet(train / f"part-{i}.parquet", index=False)
    table = root / "table"
    write_parquet(make_frame(1_000, seed=31, start_id=10**6), table / "chunk=01")
    drifted = make_frame(1_000, seed=32, start_id=2 * 10**6)
    drifted["region"] = "atlantis"
    write_parquet(drifted, table / "chunk=02")
    return root


def submit(dist, job_dir, master: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYSPARK_PYTHON",
                                                            "PYSPARK_DRIVER_PYTHON", "SPARK_CONF_DIR")}
    env.update(SPARK_HOME=str(SPARK_HOME), SPARK_CONF_DIR=str(dist / "conf" / "standalone"), SPARK_LOCAL_IP="127.0.0.1")
    command = [str(SPARK_HOME / "bin" / "spark-submit"), "--master", master,
               # loopback here; on a real cluster the driver's own address (the profile leaves it to Spark)
               "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
               "--conf", f"spark.pyspark.driver.python={job_dir / 'driver-env' / 'bin' / 'python'}",
               str(dist / "dqloop_main.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=job_dir, env=env, timeout=600)


def documents(folder, names) -> dict:
    return {n: json.loads((folder / n).read_text()) for n in names}


def test_driver_runs_dqloop_from_the_packed_environment(job_dir):
    # pyspark is not in the environment: spark-submit puts the Spark installation's on PYTHONPATH, as here
    spark_python = os.pathsep.join(str(z) for z in sorted((SPARK_HOME / "python" / "lib").glob("*.zip")))
    out = subprocess.run([str(job_dir / "driver-env" / "bin" / "python"), "-c",
                          "import constraints, jobs.baseline, numpy, scipy, pyarrow; print(jobs.__file__)"],
                         capture_output=True, text=True, cwd=job_dir,
                         env={"PATH": os.environ["PATH"], "PYTHONPATH": spark_python})
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(str(job_dir / "driver-env")) and str(REPO) not in out.stdout


def test_baseline_and_validate_on_the_cluster_equal_local_mode(spark, dist, cluster, job_dir, data, tmp_path):
    from jobs import cli

    master, cluster_dir = cluster
    args = ["--input", str(data / "train"), "--predictions", "score,predicted_label"]
    remote = submit(dist, job_dir, master, "baseline", *args, "--output", str(tmp_path / "cluster" / "baseline"))
    assert remote.returncode == 0, remote.stdout + remote.stderr[-3000:]
    # local mode: the `dqloop` command in this process, on the test session (local[2])
    assert cli.main(["baseline", *args, "--output", str(tmp_path / "local" / "baseline")]) == 0
    # The same documents: both runs read the same two files as two splits, so the held-out split (rand with a
    # seed, per split) is identical; KLL sketches agree within their rank error (see assert_same).
    assert_same(documents(tmp_path / "cluster" / "baseline", DOCS), documents(tmp_path / "local" / "baseline", DOCS))
    suites = [documents(tmp_path / run / "baseline", ("suite.json",))["suite.json"] for run in ("cluster", "local")]
    assert suites[0]["constraints"] == suites[1]["constraints"] and suites[0]["columns"] == suites[1]["columns"]

    # the executors got the packed environment (spark.archives), unpacked in their own work folders
    unpacked = list(cluster_dir.glob("work/worker*/app-*/*/environment/bin/python"))
    assert len(unpacked) == 2, unpacked

    # Both validate against the same baseline: a partition's distribution is counted exactly on a grid drawn
    # from the baseline's sketch, so with one baseline the reports must agree exactly (sketches included).
    validate = ["validate", "--input", str(data / "table"), "--baseline", str(tmp_path / "local" / "baseline")]
    out = submit(dist, job_dir, master, *validate,
                 "--output", f"file://{tmp_path / 'cluster' / 'validate'}")  # through Hadoop's FileSystem
    assert out.returncode == 1, out.stdout + out.stderr[-3000:]  # chunk=02 has an unseen region
    assert "chunk=01  rows=1000  ok" in out.stdout and "chunk=02  rows=1000  violations" in out.stdout
    assert cli.main([*validate, "--output", str(tmp_path / "local" / "validate")]) == 1
    for part in ("chunk=01", "chunk=02"):
        a, b = (documents(tmp_path / run / "validate" / part, REPORTS) for run in ("cluster", "local"))
        assert_same(a, b, part)
    assert any(v["feature_name"] == "region" for v in
               documents(tmp_path / "cluster" / "validate" / "chunk=02", REPORTS)[REPORTS[0]]["violations"])


def test_cluster_binds_to_loopback_only_and_has_no_rest_server(cluster):
    _, folder = cluster
    pids = [int(p.read_text()) for p in (folder / "pids").glob("*.pid")]
    assert len(pids) == 3
    listening = _listening_sockets(pids)
    assert listening, "no listening socket found for the cluster's processes"
    assert {host for host, _ in listening} == {"127.0.0.1"}, listening
    assert 6066 not in {port for _, port in listening}


def test_unreachable_master_is_a_clear_error_not_a_hang(dist, job_dir, data, tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = submit(dist, job_dir, f"spark://127.0.0.1:{port}", "baseline", "--input", str(data / "train"),
                 "--output", str(tmp_path / "b"))
    assert out.returncode == 3, out.stdout + out.stderr[-2000:]
    said = out.stdout + out.stderr  # spark-submit merges the Python driver's stderr into its stdout
    assert f"spark://127.0.0.1:{port}" in said and "not reachable" in said and "fix:" in said
    assert not (tmp_path / "b").exists()


def _listening_sockets(pids: list[int]) -> set[tuple[str, int]]:
    """(address, port) of the TCP sockets in LISTEN state held by `pids`, from /proc."""
    inodes = set()
    for pid in pids:
        for fd in (os.scandir(f"/proc/{pid}/fd") if os.path.isdir(f"/proc/{pid}/fd") else []):
            try:
                target = os.readlink(fd.path)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and inode in inodes:
                    address, port = local.split(":")
                    found.add((_address(address), int(port, 16)))
    return found


def _address(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    text = socket.inet_ntop(socket.AF_INET6, words)
    return text.removeprefix("::ffff:")
