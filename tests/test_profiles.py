"""spark-conf profiles: only what differs, layered on spark-defaults.conf, no secrets (jobs.profiles)."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import REPO
from jobs.profiles import PROFILES, layered, resolved, write_profiles
from jobs.session import read_defaults

CONF = REPO / "spark-conf"


def test_a_profile_sets_replaces_and_removes_keys():
    merged = layered({"a": "1", "b": "2", "c": "3"}, {"b": "20", "c": "", "d": "4"})
    assert merged == {"a": "1", "b": "20", "d": "4"}


def test_relative_artifact_paths_resolve_against_the_repository_and_uris_stay():
    conf = resolved({"spark.jars": "dist/jars/x.jar,local:///opt/y.jar,s3a://b/z.jar",
                     "spark.archives": "dist/env.tar.gz#environment", "spark.other": "rel/path"}, Path("/r"))
    assert conf["spark.jars"] == "/r/dist/jars/x.jar,local:///opt/y.jar,s3a://b/z.jar"
    assert conf["spark.archives"] == "/r/dist/env.tar.gz#environment"
    assert conf["spark.other"] == "rel/path"


def test_written_profiles_are_complete_cluster_configurations(tmp_path):
    write_profiles(CONF, tmp_path)
    defaults = read_defaults(CONF / "spark-defaults.conf")
    jars = [Path(j).name for j in defaults["spark.jars"].split(",")]   # Deequ and Delta
    for name in PROFILES:
        conf = read_defaults(tmp_path / name / "spark-defaults.conf")
        assert (tmp_path / name / "log4j2.properties").read_text() == (CONF / "log4j2.properties").read_text()
        # shared settings carried over, loopback-only ones gone, the same jars as local mode
        assert conf["spark.sql.session.timeZone"] == defaults["spark.sql.session.timeZone"]
        assert "spark.driver.host" not in conf and "spark.driver.bindAddress" not in conf
        assert conf.get("spark.master") != "local[2]"
        assert [Path(j).name for j in conf["spark.jars"].split(",")] == jars, name
        assert conf["spark.pyspark.python"].endswith("environment/bin/python")


def test_no_conf_file_holds_a_secret():
    pattern = re.compile(r"(secret|password|access\.key|secret\.key|token)\s+\S", re.IGNORECASE)
    for path in CONF.iterdir():
        for line in path.read_text().splitlines():
            if not line.lstrip().startswith("#"):
                assert not pattern.search(line), f"{path.name}: {line}"


def test_standalone_daemons_keep_the_rest_server_off():
    assert read_defaults(CONF / "standalone-daemons.conf")["spark.master.rest.enabled"] == "false"
