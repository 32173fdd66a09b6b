"""The metrics history: one JSON file per partition under a folder, read back as one table.

Each validate run writes `<repo>/<partition>.json` (partition, run_time, metric rows) by atomic
replace, so validating a partition again replaces its entry instead of duplicating it.
"""

from __future__ import annotations

import bisect
import json
import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from jobs.io import read_matching


def history_file(partition: str, kind: str = "") -> str:
    """The history file of a partition's metrics: `<partition>.json` (validate), `.labels.json` (label report),
    `.estimated.json` (estimated quality); "/" in a partition name becomes "__"."""
    return partition.replace("/", "__") + (f".{kind}" if kind else "") + ".json"

log = logging.getLogger("dqloop.history")
COLUMNS = ["partition", "run_time", "feature", "metric", "value"]


def load_history(repo: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """The history as a long table (partition, run_time, feature, metric, value), by partition, and the
    files that could not be read (named with the cause; skipped). `repo` is a local folder or a Hadoop URI."""
    rows, problems = [], []
    for name, text in read_matching(repo, ".json").items():
        try:
            doc = json.loads(text)
            rows += [{"partition": str(doc["partition"]), "run_time": str(doc.get("run_time", "")),
                      "feature": m["feature"], "metric": m["metric"], "value": float(m["value"])}
                     for m in doc["metrics"]]
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"{repo}/{name} ({type(exc).__name__}: {exc})")
    table = pd.DataFrame(rows, columns=COLUMNS).sort_values(["partition", "feature", "metric"], ignore_index=True)
    return table, problems


def read_history(repo: str | Path) -> pd.DataFrame:
    """All partitions' metrics (see load_history); an unreadable file is skipped with a warning."""
    table, problems = load_history(repo)
    for problem in problems:
        log.warning("skipping unreadable metrics history file %s", problem)
    return table


class HistoryIndex:
    """The history as one sorted series per (feature, metric), read once and kept current as a run records
    partitions: a backfill of P partitions reads the history folder once, not P times, and each partition
    finds its earlier points by bisection (with_history in jobs.validate). Rows are kept per file, so
    validating a partition again replaces its file's rows and other jobs' rows for it (labeled accuracy)
    stay."""

    def __init__(self) -> None:
        self.series: dict[tuple[str, str], list[tuple[str, str, float, str]]] = {}  # (partition, run_time, value, file)
        self.files: dict[str, list[tuple[str, str, str, str, float]]] = {}          # file -> (partition, run_time, feature, metric, value)

    @classmethod
    def load(cls, repo: str | Path) -> "HistoryIndex":
        index = cls()
        for name, text in read_matching(repo, ".json").items():
            try:
                doc = json.loads(text)
                rows = [(str(doc["partition"]), str(doc.get("run_time", "")), m["feature"], m["metric"],
                         float(m["value"])) for m in doc["metrics"]]
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("skipping unreadable metrics history file %s/%s (%s: %s)", repo, name, type(exc).__name__, exc)
                continue
            index._put(name, rows)
        return index

    def _put(self, name: str, rows: list[tuple[str, str, str, str, float]]) -> None:
        for partition, run_time, feature, metric, value in self.files.pop(name, ()):
            points = self.series[(feature, metric)]
            points.remove((partition, run_time, value, name))
        self.files[name] = rows
        for partition, run_time, feature, metric, value in rows:
            bisect.insort(self.series.setdefault((feature, metric), []), (partition, run_time, value, name))

    def record(self, name: str, partition: str, run_time: str, metrics: list[dict]) -> None:
        """A file written as record_metrics writes it (replacing an earlier one of that name)."""
        self._put(name, [(partition, run_time, m["feature"], m["metric"], float(m["value"])) for m in metrics])

    def before(self, partition: str) -> Mapping[tuple[str, str], list[tuple[str, float]]]:
        """Every series' points of partitions before `partition` (in partition, then run-time order); a
        series is sliced when it is read (the checks read few of them)."""
        return _Before(self.series, partition)

    def at(self, partition: str) -> dict[tuple[str, str], float]:
        """The metrics recorded for `partition` itself (earliest run first wins), e.g. by other jobs."""
        out: dict[tuple[str, str], float] = {}
        for key, points in self.series.items():
            i = bisect.bisect_left(points, (partition,))
            while i < len(points) and points[i][0] == partition:
                out.setdefault(key, points[i][2])
                i += 1
        return out


class _Before(Mapping):
    def __init__(self, series: dict[tuple[str, str], list[tuple[str, str, float, str]]], partition: str) -> None:
        self._series, self._partition = series, partition
        self._keys = [k for k, points in series.items() if points and points[0][0] < partition]

    def __getitem__(self, key: tuple[str, str]) -> list[tuple[str, float]]:
        points = self._series.get(key) if key in self._keys_set else None
        if not points:
            raise KeyError(key)
        return [(p, v) for p, _, v, _ in points[:bisect.bisect_left(points, (self._partition,))]]

    @property
    def _keys_set(self) -> set[tuple[str, str]]:
        if not hasattr(self, "_set"):
            self._set = set(self._keys)
        return self._set

    def __iter__(self):
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)
