"""A metrics history of 5,000 partitions with a few corrupt files: every readable partition is read, each
corrupt file is named and skipped, and the history checks of the next partition still run."""

from __future__ import annotations

import json
import logging

import numpy as np

from constraints.anomaly import HistoryOptions, history_checks
from jobs.history import load_history, read_history

PARTITIONS = 5_000


def _write(repo, rng) -> dict[str, float]:
    means = {}
    for i in range(PARTITIONS):
        name = f"day={i:05d}"
        means[name] = float(rng.normal(10, 1))
        rows = [{"feature": "*", "metric": "row_count", "value": float(1000 + rng.integers(-30, 30))},
                {"feature": "x", "metric": "completeness", "value": 1.0},
                {"feature": "x", "metric": "mean", "value": means[name]}]
        (repo / f"{name}.json").write_text(json.dumps({"partition": name, "run_time": "t", "metrics": rows}))
    return means


def test_five_thousand_partitions_with_corrupt_files(tmp_path, caplog):
    rng = np.random.default_rng(3)
    means = _write(tmp_path, rng)
    corrupt = {"day=00017.json": '{"partition": "day=00017", "metr',        # truncated mid-write
               "day=02500.json": "\x00\x01\x02 not json",                  # garbage
               "day=04999.json": json.dumps({"partition": "day=04999"})}   # no metrics
    for name, text in corrupt.items():
        (tmp_path / name).write_text(text)
    table, problems = load_history(tmp_path)
    assert sorted(p.split("/")[-1].split(" ")[0] for p in problems) == sorted(corrupt)
    assert table["partition"].nunique() == PARTITIONS - len(corrupt)
    assert len(table) == 3 * (PARTITIONS - len(corrupt))
    good = {k: v for k, v in means.items() if f"{k}.json" not in corrupt}
    mean_rows = table[table["metric"] == "mean"].set_index("partition")["value"]
    assert mean_rows.to_dict() == good                                      # values as written
    with caplog.at_level(logging.WARNING, logger="dqloop.history"):
        read_history(tmp_path)
    assert sum("skipping unreadable metrics history file" in r.message for r in caplog.records) == len(corrupt)
    # the next partition is checked against the readable ones
    history: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for row in table.sort_values("partition").itertuples(index=False):
        history.setdefault((row.feature, row.metric), []).append((row.partition, float(row.value)))
    current = {("*", "row_count"): 1000.0, ("x", "completeness"): 1.0, ("x", "mean"): 10.0}
    results = history_checks(current, history, HistoryOptions(metrics=("row_count", "completeness", "mean")))
    assert results and not any(r.failed for r in results)
    far = history_checks({**current, ("x", "mean"): 30.0}, history, HistoryOptions(metrics=("mean",)))
    assert any(r.failed and r.feature == "x" for r in far)


def test_history_index_equals_the_table_and_follows_a_backfill(tmp_path):
    """jobs.history.HistoryIndex (read once per backfill) gives each partition the same earlier points and
    own metrics as the table read from the files; recording a partition replaces its file's rows only."""
    from jobs.history import HistoryIndex

    rng = np.random.default_rng(4)
    for i in range(40):
        rows = [{"feature": "x", "metric": m, "value": float(rng.normal())} for m in ("mean", "completeness")]
        (tmp_path / f"day={i:02d}.json").write_text(json.dumps({"partition": f"day={i:02d}", "run_time": "t1",
                                                                "metrics": rows}))
    (tmp_path / "day=20-labels.json").write_text(json.dumps({"partition": "day=20", "run_time": "t0", "metrics": [
        {"feature": "*", "metric": "labeled_accuracy", "value": 0.8}]}))
    index = HistoryIndex.load(tmp_path)

    def from_table(partition):
        table = read_history(tmp_path).sort_values(["partition", "run_time"], kind="stable")
        before, own = {}, {}
        for row in table.itertuples(index=False):
            key = (row.feature, row.metric)
            if row.partition < partition:
                before.setdefault(key, []).append((row.partition, row.value))
            elif row.partition == partition:
                own.setdefault(key, row.value)
        return before, own

    for partition in ("day=00", "day=20", "day=25", "day=99"):
        before, own = from_table(partition)
        assert dict(index.before(partition)) == before and index.at(partition) == own
    # validate day=20 again: its file is replaced, the labels file's row stays
    metrics = [{"feature": "x", "metric": "mean", "value": 5.0}]
    (tmp_path / "day=20.json").write_text(json.dumps({"partition": "day=20", "run_time": "t2", "metrics": metrics}))
    index.record("day=20.json", "day=20", "t2", metrics)
    for partition in ("day=20", "day=21"):
        before, own = from_table(partition)
        assert dict(index.before(partition)) == before and index.at(partition) == own
    assert index.at("day=20") == {("*", "labeled_accuracy"): 0.8, ("x", "mean"): 5.0}
