"""--table: a real Delta table (Delta Lake 3.3.3 jars on the session's classpath) validated by partition and a
baseline pinned to a table version, in this process; a real Hive metastore (Derby, in a temporary folder) and
warehouse with a partitioned Parquet table and a Delta table registered in it, through the `dqloop` command.
Row counts are compared with the pandas frames written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO, run_dqloop
from jobs import tables
from jobs.cli import main as cli_main
from jobs.sample_data import make_frame
from constraints.errors import InputNotFound, UsageError

DAYS = ("2026-11-29", "2026-11-30")


def _frames():
    """Version 0: a clean day. Version 1 appends a shifted day."""
    clean = make_frame(1_500, seed=11).assign(dt=DAYS[0])
    shifted = make_frame(1_200, seed=12, shift=1.0, start_id=10**6).assign(dt=DAYS[1])
    return clean, shifted


@pytest.fixture(scope="module")
def delta_table(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("delta")
    path = str(root / "events")
    clean, shifted = _frames()
    spark.createDataFrame(clean).write.format("delta").partitionBy("dt").save(path)
    spark.createDataFrame(shifted).write.format("delta").mode("append").save(path)
    return {"root": root, "name": f"delta.`{path}`", "clean": clean, "shifted": shifted}


def test_delta_versions_and_partitions(spark, delta_table):
    name = delta_table["name"]
    current = tables.open_table(spark, name)
    assert (current.format, current.partition_columns, current.version) == ("delta", ("dt",), 1)
    assert tables.partitions(spark, current) == [f"dt={d}" for d in DAYS]
    first = tables.open_table(spark, name, version=0)
    assert tables.partitions(spark, first) == [f"dt={DAYS[0]}"]
    keys = tables.partitions(spark, current)
    assert tables.where(spark, current, keys, f"dt > '{DAYS[0]}'") == [f"dt={DAYS[1]}"]
    assert tables.where(spark, current, keys, "dt IN ('2026-11-29', '2031-01-01')") == [f"dt={DAYS[0]}"]
    with pytest.raises(UsageError) as err:
        tables.where(spark, current, keys, "region = 'eu'")
    assert "not a condition on the partition columns (dt)" in str(err.value)
    part = tables.read_partition(spark, current, f"dt={DAYS[1]}")
    assert part.df.count() == len(delta_table["shifted"]) and "dt" not in part.df.columns
    with pytest.raises(UsageError) as err:
        tables.open_table(spark, name, version=7)
    assert "has no version 7; its versions are 0-1" in str(err.value) and "--version" in err.value.hint
    # a view is read whole, as a table without partitions
    spark.sql(f"CREATE OR REPLACE TEMP VIEW recent_events AS SELECT * FROM {name} WHERE dt = '{DAYS[1]}'")
    view = tables.open_table(spark, "recent_events")
    assert view.partition_columns == () and tables.partitions(spark, view) == []
    assert tables.read_partition(spark, view, "").df.count() == len(delta_table["shifted"])
    with pytest.raises(InputNotFound) as err:
        tables.open_table(spark, "shop.nowhere")
    assert "shop.nowhere was not found" in str(err.value) and "spark.sql.catalogImplementation hive" in err.value.hint
    with pytest.raises(UsageError):
        tables.open_table(spark, "x; DROP TABLE y")


def test_delta_baseline_pinned_to_a_version_then_validated_by_partition(spark, delta_table, capsys):
    root, name = delta_table["root"], delta_table["name"]
    # version 0 holds only the clean day: the baseline must be computed from it alone, and say so
    assert cli_main(["baseline", "--table", name, "--version", "0", "--output", str(root / "base"),
                     "--predictions", "score,predicted_label"]) == 0
    suite = json.loads((root / "base" / "suite.json").read_text())
    assert suite["table"] == {"name": name, "format": "delta", "version": 0, "partition_columns": ["dt"],
                              "partitions": None}
    assert suite["rows"]["total"] == len(delta_table["clean"]) and suite["input"] == name
    capsys.readouterr()
    # the current version by partition; one selector matches nothing: reported, the others still validated
    code = cli_main(["validate", "--baseline", str(root / "base"), "--table", name, "--output", str(root / "out"),
                     "--partition", "dt=2026-11-*", "--partition", "dt=2026-12-24"])
    out = capsys.readouterr().out.splitlines()
    assert code == 2
    assert out[0].startswith("dt=2026-12-24  error  no such partition in") and "(version 1)" in out[0]
    for day, frame in zip(DAYS, (delta_table["clean"], delta_table["shifted"])):
        checks = json.loads((root / "out" / f"dt={day}" / "checks.json").read_text())
        assert checks["partition"] == f"dt={day}" and checks["rows"] == len(frame)
        assert (root / "out" / "_metrics" / f"dt={day}.json").is_file()
    verdicts = {line.split()[0]: line.split()[2] for line in out[1:]}
    assert verdicts == {f"dt={DAYS[0]}": "ok", f"dt={DAYS[1]}": "violations"}
    # a version that does not exist: exit 2 and the versions there are
    assert cli_main(["validate", "--baseline", str(root / "base"), "--table", name, "--version", "5",
                     "--output", str(root / "out5")]) == 2
    err = capsys.readouterr().err
    assert "has no version 5; its versions are 0-1" in err and "fix:" in err and not (root / "out5").exists()


HIVE_LINES = """
spark.sql.catalogImplementation             hive
spark.sql.warehouse.dir                     {home}/warehouse
spark.hadoop.javax.jdo.option.ConnectionURL jdbc:derby:;databaseName={home}/metastore_db;create=true
"""

CREATE = """
import sys
import pandas as pd
from jobs.session import build_session
spark = build_session("make-tables")
spark.sql("CREATE DATABASE shop")
for i, f in enumerate(sys.argv[1:3]):
    df = spark.createDataFrame(pd.read_parquet(f))
    df.write.mode("append").partitionBy("dt").format("parquet").saveAsTable("shop.events")
    df.write.mode("append").partitionBy("dt").format("delta").saveAsTable("shop.events_delta")
spark.stop()
"""


@pytest.fixture(scope="module")
def metastore(tmp_path_factory):
    """A Spark configuration with a Hive catalog: Derby metastore and warehouse in a temporary folder, and the
    tables written into it by another Spark process (Derby admits one process at a time)."""
    home = tmp_path_factory.mktemp("hive")
    conf = home / "spark-conf"
    conf.mkdir()
    for f in (REPO / "spark-conf").iterdir():
        text = f.read_text()
        if f.name == "spark-defaults.conf":
            text = text.replace("-XX:-DontCompileHugeMethods\n", f"-XX:-DontCompileHugeMethods -Dderby.system.home={home}\n",
                                1) + HIVE_LINES.format(home=home)
        (conf / f.name).write_text(text)
    env = {"DQLOOP_SPARK_CONF_DIR": str(conf), "SPARK_CONF_DIR": str(conf)}
    clean, shifted = _frames()
    files = []
    for i, frame in enumerate((clean, shifted)):
        files.append(home / f"day{i}.parquet")
        frame.to_parquet(files[-1], index=False)
    made = subprocess.run([sys.executable, "-c", textwrap.dedent(CREATE), *map(str, files)], capture_output=True,
                          text=True, cwd=REPO, env={**os.environ, **env, "PYTHONPATH": str(REPO)}, timeout=600)
    assert made.returncode == 0, made.stderr[-3000:]
    return {"home": home, "env": env, "clean": clean, "shifted": shifted}


def test_catalog_tables_in_a_hive_metastore(metastore):
    home, env = metastore["home"], metastore["env"]
    assert (home / "warehouse" / "shop.db" / "events" / f"dt={DAYS[0]}").is_dir()   # a real warehouse
    base = run_dqloop("baseline", "--table", "shop.events", "--where", f"dt < '{DAYS[1]}'", "--output",
                      str(home / "base"), env=env)
    assert base.returncode == 0, base.stderr
    suite = json.loads((home / "base" / "suite.json").read_text())
    assert suite["table"]["format"] == "parquet" and suite["table"]["partitions"] == [f"dt={DAYS[0]}"]
    assert suite["table"]["version"] is None and suite["rows"]["total"] == len(metastore["clean"])
    # the Parquet table by partition, then the Delta table registered in the same metastore
    for table in ("shop.events", "shop.events_delta"):
        out = home / f"out-{table}"
        run = run_dqloop("validate", "--baseline", str(home / "base"), "--table", table, "--output", str(out),
                         "--partition", "dt=2026-11-29..2026-11-30", "--partition", "dt=2027-01-01", env=env)
        assert run.returncode == 2, run.stderr
        lines = run.stdout.splitlines()
        assert lines[0].startswith("dt=2027-01-01  error  no such partition in shop.")
        assert [line.split()[:3] for line in lines[1:]] == [
            [f"dt={DAYS[0]}", f"rows={len(metastore['clean'])}", "ok"],
            [f"dt={DAYS[1]}", f"rows={len(metastore['shifted'])}", "violations"]], run.stdout
        assert (out / f"dt={DAYS[1]}" / "report.html").is_file()
    # a missing table; --version on a table without versions: exit 2, cause and fix named
    missing = run_dqloop("validate", "--baseline", str(home / "base"), "--table", "shop.nothing", "--output",
                         str(home / "o1"), env=env)
    assert missing.returncode == 2 and "Table shop.nothing was not found" in missing.stderr
    assert "fix: check the name" in missing.stderr and "in-memory" not in missing.stderr
    versioned = run_dqloop("baseline", "--table", "shop.events", "--version", "1", "--output", str(home / "b2"),
                           env=env)
    assert versioned.returncode == 2 and "is a parquet table, which has no versions" in versioned.stderr
    assert not (home / "o1").exists() and not (home / "b2").exists()


def test_the_python_api_takes_a_table(spark, delta_table, tmp_path):
    """dqloop.Table is --table's API equivalent: a baseline pinned to version 0, then the table validated by
    partition, nothing written; row counts equal the pandas frames'."""
    import dqloop

    name = delta_table["name"]
    base = dqloop.baseline(dqloop.Table(name, version=0), dqloop.BaselineOptions(predictions=("score", "predicted_label")),
                           spark=spark)
    assert base.suite.meta["table"]["version"] == 0 and base.suite.meta["rows"]["total"] == len(delta_table["clean"])
    run = dqloop.validate(dqloop.Table(name, where=f"dt >= '{DAYS[0]}'"), base, spark=spark)
    assert [(p.partition, p.report.rows) for p in run.partitions] == [
        (f"dt={DAYS[0]}", len(delta_table["clean"])), (f"dt={DAYS[1]}", len(delta_table["shifted"]))]
    assert run.partitions[0].report.verdict == "ok" and run.partitions[1].report.verdict == "violations"
    assert run.exit_code == 1 and not any(tmp_path.iterdir())
