"""jobs.history.MetricsRepository: one owner of the history's naming, writing and reading, for local folders
and Hadoop URIs (file:// here, the same code path as s3a:// and hdfs://)."""

from __future__ import annotations

import json

import pytest

from jobs.history import ESTIMATED, LABELS, VALIDATE, MetricsRepository, ResultKey, load_history


def test_keys_name_files_as_the_history_always_has():
    assert ResultKey("chunk=03").file_name == "chunk=03.json"
    assert ResultKey("day=1/chunk=02", LABELS).file_name == "day=1__chunk=02.labels.json"
    assert ResultKey("x=1.5", ESTIMATED).file_name == "x=1.5.estimated.json"
    assert MetricsRepository("s3a://bucket/out/_metrics").path(ResultKey("day=1/h=2")) == \
        "s3a://bucket/out/_metrics/day=1__h=2.json"        # joined as a URI, not folded by pathlib


def test_save_replaces_and_load_filters_like_deequs_loader(tmp_path):
    repo = MetricsRepository(tmp_path)
    for i, part in enumerate(["x=1.5", "x=2.5", "x=3.5"]):
        repo.save(ResultKey(part), [{"feature": "*", "metric": "row_count", "value": 100.0 + i},
                                    {"feature": "a", "metric": "mean", "value": float(i)}], "t1")
    repo.save(ResultKey("x=2.5"), [{"feature": "*", "metric": "row_count", "value": 7.0}], "t2")   # again: replaced
    repo.save(ResultKey("x=2.5", LABELS), [{"feature": "*", "metric": "labeled_accuracy", "value": 0.9}], "t3")
    table, problems = repo.load()
    assert not problems
    assert sorted(zip(table.partition, table.metric, table.value, table.source)) == [
        ("x=1.5", "mean", 0.0, VALIDATE), ("x=1.5", "row_count", 100.0, VALIDATE),
        ("x=2.5", "labeled_accuracy", 0.9, LABELS), ("x=2.5", "row_count", 7.0, VALIDATE),
        ("x=3.5", "mean", 2.0, VALIDATE), ("x=3.5", "row_count", 102.0, VALIDATE)]
    after = repo.load(metrics=["row_count"], after="x=1.5", before="x=3.5")[0]
    assert list(after.partition) == ["x=2.5"] and list(after.value) == [7.0]
    assert list(repo.load(sources=[LABELS])[0].metric) == ["labeled_accuracy"]
    assert repo.by_source(LABELS) == {"x=2.5": [{"feature": "*", "metric": "labeled_accuracy", "value": 0.9}]}
    assert repo.index().at("x=2.5") == {("*", "row_count"): 7.0, ("*", "labeled_accuracy"): 0.9}
    (tmp_path / "x=4.5.json").write_text('{"partition": "x=4.5", "metr')
    table, problems = repo.load()
    assert len(problems) == 1 and "x=4.5.json" in problems[0] and len(table) == 6


@pytest.mark.parametrize("files", [10, 120])   # 120: more than FEW_FILES, read by one Spark job
def test_a_file_uri_reads_what_the_local_folder_reads(spark, tmp_path, files):
    repo = tmp_path / "_metrics"
    local = MetricsRepository(repo)
    for i in range(files):
        local.save(ResultKey(f"day=1/h={i:03d}"), [{"feature": "é", "metric": "mean", "value": i / 3}], "t")
        if i % 7 == 0:
            local.save(ResultKey(f"day=1/h={i:03d}", LABELS), [{"feature": "*", "metric": "labeled_count",
                                                                 "value": float(i)}], "t")
    (repo / ".day=1__h=999.json.tmp-1234").write_text("{half a write")     # a writer's temporary file
    (repo / "notes.txt").write_text("not history")
    remote = MetricsRepository(f"file://{repo}")
    a, b = local.load()[0], remote.load()[0]
    assert len(a) == files + len(range(0, files, 7)) and a.equals(b)
    assert remote.by_source(LABELS) == local.by_source(LABELS)
    assert load_history(f"file://{tmp_path}/none")[0].empty
    # written through the URI, read back locally
    remote.save(ResultKey("day=2/h=000"), [{"feature": "*", "metric": "row_count", "value": 5.0}], "t")
    assert json.loads((repo / "day=2__h=000.json").read_text())["partition"] == "day=2/h=000"
