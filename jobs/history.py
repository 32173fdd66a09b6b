"""The metrics repository: every metric dqloop records per partition, written, named, located and read here.

Modelled on Deequ's `MetricsRepository` / `ResultKey`: a result is saved under a key and the history is
read back as one long table (partition, run_time, feature, metric, value), optionally filtered. A key is
(partition, source): `validate` (the validate job's metrics), `labels` (labeled accuracy from `label
report`), `estimated` (label-free quality estimates); later sources add a name, not a module.

Layout (unchanged, so existing histories stay readable): one JSON file per key under the repository,
`<partition>[.<source>].json` with "/" in a partition name written as "__" (`day=1/chunk=2` ->
`day=1__chunk=2.json`); each file holds {partition, run_time, metrics: [{feature, metric, value}]} and is
written by atomic replace, so saving a key again replaces its entry instead of duplicating it. The
repository is a local folder or a Hadoop URI (file://, hdfs://, s3a://): paths are joined as strings
(pathlib folds `s3a://b` into `s3a:/b`) and URIs go through jobs.hadoop_fs with the active Spark session.

This module is the only writer of history files (`MetricsRepository.save`); readers use `load`
(a table), `index` (the history checks' sorted series, read once per backfill) or `by_source`.
"""

from __future__ import annotations

import bisect
import json
import logging
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from jobs.io import join, json_text, read_matching, write_file

VALIDATE, LABELS, ESTIMATED = "validate", "labels", "estimated"   # the sources written today
COLUMNS = ["partition", "run_time", "feature", "metric", "value"]
log = logging.getLogger("dqloop.history")


@dataclass(frozen=True)
class ResultKey:
    """Where one run's metrics of one partition go: the partition's name (`chunk=03`, `day=1/hour=2`) and
    the source that measured them (`validate`, `labels`, `estimated`, ...)."""
    partition: str
    source: str = VALIDATE

    @property
    def file_name(self) -> str:
        """`<partition>.json` for validate, `<partition>.<source>.json` otherwise; "/" becomes "__"."""
        return history_file(self.partition, "" if self.source == VALIDATE else self.source)


def default_repository(output_root: str | Path) -> str:
    """The history beside a validate run's reports: OUTPUT/_metrics (validate of a table, report, impact)."""
    return join(str(output_root), "_metrics")


def history_file(partition: str, kind: str = "") -> str:
    """The history file of a partition's metrics: `<partition>.json` (validate), `.labels.json` (label report),
    `.estimated.json` (estimated quality); "/" in a partition name becomes "__"."""
    return partition.replace("/", "__") + (f".{kind}" if kind else "") + ".json"


def _source_of(file_name: str) -> str:
    stem = file_name[:-len(".json")]
    head, dot, tail = stem.rpartition(".")
    return tail if dot and tail.isidentifier() else VALIDATE   # `x=1.5.json`: a partition value, not a source


class MetricsRepository:
    """The metrics history at `uri` (a local folder or a Hadoop URI).

    >>> repo = MetricsRepository("out/validate/_metrics")
    >>> repo.save(ResultKey("chunk=03", "labels"), [{"feature": "*", "metric": "labeled_accuracy", "value": 0.91}])
    >>> repo.load(metrics=["labeled_accuracy"])      # a pandas table, one row per value
    """

    def __init__(self, uri: str | Path) -> None:
        self.uri = str(uri)

    def __repr__(self) -> str:
        return f"MetricsRepository({self.uri!r})"

    def path(self, key: ResultKey) -> str:
        """The file (path or URI) that holds `key`'s metrics."""
        return join(self.uri, key.file_name)

    def save(self, key: ResultKey, metrics: Iterable[Mapping[str, Any]], run_time: str) -> tuple[str, list[dict]]:
        """Write `key`'s metrics (rows of feature, metric, value), replacing an earlier save of the same key;
        returns the file's name and the rows written (for a run's HistoryIndex)."""
        rows = [{"feature": m["feature"], "metric": m["metric"], "value": m["value"]} for m in metrics]
        write_file(self.path(key), json_text({"partition": key.partition, "run_time": run_time, "metrics": rows}))
        return key.file_name, rows

    def documents(self, suffix: str = ".json") -> dict[str, str]:
        """{file name: text} of the history files, by name (hidden temporary files left out)."""
        return read_matching(self.uri, suffix)

    def load(self, partitions: Iterable[str] | None = None, metrics: Iterable[str] | None = None,
             after: str | None = None, before: str | None = None,
             sources: Iterable[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
        """The history as a long table (partition, run_time, feature, metric, value, source), sorted by
        partition, and the files that could not be read (named with the cause; skipped). Filters as in
        Deequ's loader: `partitions`, `metrics`, partitions `after`/`before` a name (exclusive), `sources`."""
        wanted_p = set(partitions) if partitions is not None else None
        wanted_m = set(metrics) if metrics is not None else None
        wanted_s = set(sources) if sources is not None else None
        rows: list[tuple] = []
        problems: list[str] = []
        for name, text in self.documents().items():
            source = _source_of(name)
            if wanted_s is not None and source not in wanted_s:
                continue
            try:
                doc = json.loads(text)
                partition, run_time = str(doc["partition"]), str(doc.get("run_time", ""))
                if ((wanted_p is not None and partition not in wanted_p) or (after is not None and partition <= after)
                        or (before is not None and partition >= before)):
                    continue
                rows += [(partition, run_time, m["feature"], m["metric"], float(m["value"]), source)
                         for m in doc["metrics"] if wanted_m is None or m["metric"] in wanted_m]
            except (ValueError, KeyError, TypeError) as exc:
                problems.append(f"{join(self.uri, name)} ({type(exc).__name__}: {exc})")
        table = pd.DataFrame.from_records(rows, columns=COLUMNS + ["source"])
        return table.sort_values(["partition", "feature", "metric"], ignore_index=True), problems

    def by_source(self, source: str) -> dict[str, list[dict[str, Any]]]:
        """{partition: metric rows} of one source (e.g. the labeling loop's `labels`); an unreadable file is
        skipped with a warning (it must not stop validation)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for name, text in self.documents(f".{source}.json").items():
            try:
                doc = json.loads(text)
                out[str(doc["partition"])] = [dict(m) for m in doc["metrics"]]
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("skipping unreadable %s file %s (%s)", source, name, exc)
        return out

    def index(self) -> "HistoryIndex":
        """The history as sorted series for the history checks (HistoryIndex), read once."""
        return HistoryIndex.load(self.uri)




def load_history(repo: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """The history as a long table (partition, run_time, feature, metric, value), by partition, and the
    files that could not be read (named with the cause; skipped). `repo` is a local folder or a Hadoop URI."""
    table, problems = MetricsRepository(repo).load()
    return table[COLUMNS], problems


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
    stay.

    The index also keeps each series' rule state (constraints.anomaly.SeriesReplay, through `fold`) and
    extends it by the points of each new partition, so the history checks of one partition cost the same
    after 5,000 partitions as after 10 (bench/RESULTS.md, "Issue 19: incremental history checks")."""

    def __init__(self) -> None:
        self.series: dict[tuple[str, str], list[tuple[str, str, float, str]]] = {}  # (partition, run_time, value, file)
        self.files: dict[str, list[tuple[str, str, str, str, float]]] = {}          # file -> (partition, run_time, feature, metric, value)
        self._edits: list[str] = []                  # the lowest partition each record() changed, in order
        self._folds: dict[tuple[str, str], _Fold] = {}   # per series: the last state fold() built

    @classmethod
    def load(cls, repo: str | Path) -> "HistoryIndex":
        index = cls()
        for name, text in MetricsRepository(repo).documents().items():
            try:
                doc = json.loads(text)
                rows = [(str(doc["partition"]), str(doc.get("run_time", "")), m["feature"], m["metric"],
                         float(m["value"])) for m in doc["metrics"]]
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("skipping unreadable metrics history file %s/%s (%s: %s)", repo, name, type(exc).__name__, exc)
                continue
            index.files[name] = rows
        for name, rows in index.files.items():     # appended, then each series sorted once (not insort per row)
            for partition, run_time, feature, metric, value in rows:
                index.series.setdefault((feature, metric), []).append((partition, run_time, value, name))
        for points in index.series.values():
            points.sort()
        return index

    def _put(self, name: str, rows: list[tuple[str, str, str, str, float]]) -> None:
        old = self.files.pop(name, ())
        for partition, run_time, feature, metric, value in old:
            points, point = self.series[(feature, metric)], (partition, run_time, value, name)
            i = bisect.bisect_left(points, (partition,))     # then by equality: a NaN value does not order
            while points[i] != point:
                i += 1
            del points[i]
        self.files[name] = rows
        for partition, run_time, feature, metric, value in rows:
            bisect.insort(self.series.setdefault((feature, metric), []), (partition, run_time, value, name))
        changed = [row[0] for row in (*old, *rows)]
        if changed:
            self._edits.append(min(changed))

    def record(self, name: str, partition: str, run_time: str, metrics: list[dict]) -> None:
        """A file written as MetricsRepository.save writes it (replacing an earlier one of that name)."""
        self._put(name, [(partition, run_time, m["feature"], m["metric"], float(m["value"])) for m in metrics])

    def before(self, partition: str) -> "_Before":
        """Every series' points of partitions before `partition` (in partition, then run-time order); a
        series is sliced when it is read (the checks read few of them). It is also the history checks'
        constraints.anomaly.SeriesHistory: lengths, values and kept rule states without slicing."""
        return _Before(self, partition)

    def at(self, partition: str) -> dict[tuple[str, str], float]:
        """The metrics recorded for `partition` itself (earliest run first wins), e.g. by other jobs."""
        out: dict[tuple[str, str], float] = {}
        for key, points in self.series.items():
            i = bisect.bisect_left(points, (partition,))
            while i < len(points) and points[i][0] == partition:
                out.setdefault(key, points[i][2])
                i += 1
        return out

    def fold(self, key: tuple[str, str], partition: str, tag: Hashable, start: Callable[[], Any],
             step: Callable[[Any, str, float], None]) -> Any:
        """`start()` stepped in order over series `key`'s points of partitions before `partition`, by
        `step(state, partition, value)`; `tag` names everything else the state depends on. The state is
        kept and, at the next partition, extended by the points in between only: a backfill in partition
        order steps each point once. Whenever that order breaks the state is rebuilt from the first
        point, exactly the full replay: a partition before the kept one (a backfill of older partitions),
        a change to any partition the kept state has read (a rerun replacing an earlier partition's file, a
        late labels file; `step` may read other series at its points' partitions, so any earlier edit
        counts), or another tag (the width changes with the number of series checked). Corrupt files never
        enter the index (load skips them), so the replay and the kept state see the same points. The
        state returned is the index's own: read it, do not keep it."""
        points = self.series.get(key, [])
        kept = self._folds.get(key)
        if (kept is not None and kept.tag == tag and kept.partition <= partition
                and all(edit >= kept.partition for edit in self._edits[kept.edits:])):
            state, begin = kept.state, bisect.bisect_left(points, (kept.partition,))
        else:
            state, begin = start(), 0
        end = bisect.bisect_left(points, (partition,))
        for i in range(begin, end):
            step(state, points[i][0], points[i][2])
        self._folds[key] = _Fold(tag, partition, len(self._edits), state)
        return state


@dataclass
class _Fold:
    tag: Hashable
    partition: str     # the state has read the points of partitions before this one
    edits: int         # ... and HistoryIndex._edits up to here
    state: Any


class _Before(Mapping):
    def __init__(self, index: HistoryIndex, partition: str) -> None:
        self._index, self._series, self._partition = index, index.series, partition
        self._keys = [k for k, points in self._series.items() if points and points[0][0] < partition]

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

    # constraints.anomaly.SeriesHistory: what the history checks read, without slicing a series
    def length(self, key: tuple[str, str]) -> int:
        return bisect.bisect_left(self._series.get(key, ()), (self._partition,))

    def value(self, key: tuple[str, str], partition: str) -> float | None:
        """The last point of `partition` (before this one) in series `key`, as the full replay reads it."""
        if partition >= self._partition:
            return None
        points = self._series.get(key, ())
        i = j = bisect.bisect_left(points, (partition,))
        while j < len(points) and points[j][0] == partition:
            j += 1
        return points[j - 1][2] if j > i else None

    def fold(self, key: tuple[str, str], tag: Hashable, start: Callable[[], Any],
             step: Callable[[Any, str, float], None]) -> Any:
        return self._index.fold(key, self._partition, tag, start, step)
