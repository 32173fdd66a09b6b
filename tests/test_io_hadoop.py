"""Result folders written and read through the Hadoop FileSystem API (file:// URIs), complete or absent."""

from __future__ import annotations

import json

import pytest

from constraints.errors import InputNotFound, UsageError
from jobs import hadoop_fs
from jobs.io import read_folder, write_file, write_folder


def test_folder_through_hadoop_is_complete_marked_and_replaced_whole(spark, tmp_path):
    out = f"file://{tmp_path}/runs/out"
    assert write_folder(out, {"a.json": "{\"x\": 1}\n", "b.txt": "é\n"}) == out
    folder = tmp_path / "runs" / "out"
    assert sorted(p.name for p in folder.iterdir()) == ["_SUCCESS", "a.json", "b.txt"]  # no .crc files
    assert (folder / "b.txt").read_text(encoding="utf-8") == "é\n"
    write_folder(out, {"a.json": "{\"x\": 2}\n"})  # replaced by the new folder, not merged into it
    assert sorted(p.name for p in folder.iterdir()) == ["_SUCCESS", "a.json"]
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["out"]  # no staging or old copy left
    assert read_folder(out, ("a.json", "missing.json")) == {"a.json": "{\"x\": 2}\n"}


def test_file_through_hadoop_replaces_atomically(spark, tmp_path):
    target = f"file://{tmp_path}/m/p.json"
    write_file(target, "1\n")
    write_file(target, "2\n")
    assert (tmp_path / "m" / "p.json").read_text() == "2\n"
    assert [p.name for p in (tmp_path / "m").iterdir()] == ["p.json"]


def test_missing_folder_and_unmarked_object_store_folder_are_refused(spark, tmp_path, monkeypatch):
    with pytest.raises(InputNotFound):
        read_folder(f"file://{tmp_path}/nope", ("a.json",))
    (tmp_path / "copied").mkdir()
    (tmp_path / "copied" / "a.json").write_text("{}")
    # file:// treated like an object store: a folder without its _SUCCESS marker is not trusted
    monkeypatch.setattr(hadoop_fs, "OBJECT_STORES", ("file",))
    with pytest.raises(UsageError, match="no _SUCCESS marker"):
        read_folder(f"file://{tmp_path}/copied", ("a.json",))
    (tmp_path / "copied" / "_SUCCESS").write_text("")
    assert read_folder(f"file://{tmp_path}/copied", ("a.json",)) == {"a.json": "{}"}


def test_local_folder_gets_the_marker_too(tmp_path):
    write_folder(str(tmp_path / "o"), {"a.json": "{}"})
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["_SUCCESS", "a.json"]


def test_metrics_history_reads_the_same_through_hadoop_and_locally(spark, tmp_path):
    from jobs.history import read_history

    repo = tmp_path / "_metrics"
    for part, rows in (("chunk=02", 20.0), ("chunk=01", 10.0)):
        doc = {"partition": part, "run_time": "2026-11-28T00:00:00+00:00",
               "metrics": [{"feature": "*", "metric": "row_count", "value": rows}]}
        write_file(f"file://{repo}/{part}.json", json.dumps(doc))
    (repo / ".chunk=03.json.tmp-1234").write_text("{not json")  # a writer's staging file is not history
    local, remote = read_history(repo), read_history(f"file://{repo}")
    assert local.equals(remote)
    assert list(local.partition) == ["chunk=01", "chunk=02"] and list(local.value) == [10.0, 20.0]
    assert read_history(f"file://{tmp_path}/none").empty
