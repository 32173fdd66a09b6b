"""The history checks' kept rule states (jobs.history.HistoryIndex.fold, constraints.anomaly.SeriesReplay)
decide exactly as the full replay: random series of random lengths with gaps, reruns, older partitions
validated late, late labels files, corrupt files and NaNs, checked partition by partition against
history_checks over a plain mapping built here from what was written (every rule replayed from its first
point), and the online estimates against numpy's mean and standard deviation of the normal points."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from constraints.anomaly import BATCH, DATASET, ONLINE, HistoryOptions, history_checks
from jobs.history import LABELS, HistoryIndex, MetricsRepository, ResultKey

OUTPUTS = frozenset({"score"})
METRICS = ("row_count", "labeled_accuracy", "completeness", "mean")


def _rows(rng, i: int) -> list[dict]:
    """One partition's metrics: row count (an outage now and then), per column completeness, mean, std_dev;
    a column missing from some partitions (gaps), a NaN mean now and then."""
    rows = [{"feature": DATASET, "metric": "row_count",
             "value": float(rng.poisson(1000) * (0.3 if rng.random() < 0.08 else 1.0))}]
    for column, center in (("x", 10.0), ("score", 0.4)):
        if column == "x" and rng.random() < 0.15:
            continue
        mean = float(rng.normal(center, 0.05 * center)) + (center if rng.random() < 0.08 else 0.0)
        if rng.random() < 0.04:
            mean = math.nan
        rows += [{"feature": column, "metric": "completeness", "value": float(min(1.0, rng.normal(0.97, 0.01)))},
                 {"feature": column, "metric": "mean", "value": mean},
                 {"feature": column, "metric": "std_dev", "value": float(abs(rng.normal(1.0, 0.1)) * center)}]
    return rows


def _reference(written: dict[str, tuple[str, str, list[dict]]], partition: str) -> dict:
    """{(feature, metric): [(partition, value), ...]} of the partitions before `partition`, from the files
    as written (not through the index): by partition, then run time, then file."""
    points = []
    for name, (p, run_time, rows) in written.items():
        if p < partition:
            points += [((p, run_time, name), (r["feature"], r["metric"]), r["value"]) for r in rows]
    history: dict = {}
    for order, key, value in sorted(points, key=lambda t: t[0]):
        history.setdefault(key, []).append((order[0], value))
    return history


def _comparable(results) -> list[tuple]:
    """Every field of every result (repr, so that NaN equals NaN)."""
    return [(r.check, r.feature, r.status, repr(r.measured), repr(r.threshold), r.description,
             repr(sorted(r.details.items()))) for r in results]


def _numpy_estimate(series: list[tuple[str, float]], excluded: list[str]) -> tuple[float, float]:
    normal = np.array([v for p, v in series if p not in set(excluded)])
    return float(normal.mean()), float(normal.std(ddof=1))


def _floor(metric: str, feature: str, center: float, current: dict) -> float:
    m = current.get((DATASET, "row_count"), 0.0)
    if metric == "row_count":
        return math.sqrt(max(center, 0.0))
    if metric == "completeness":
        c = min(max(center, 0.0), 1.0)
        return math.sqrt(c * (1 - c) / m) if m else 0.0
    std_dev, present = current.get((feature, "std_dev")), m * current.get((feature, "completeness"), 1.0)
    return std_dev / math.sqrt(present) if metric == "mean" and std_dev and present >= 1 else 0.0


@pytest.mark.parametrize("seed", range(40))
def test_kept_states_decide_as_the_full_replay(tmp_path, seed):
    rng = np.random.default_rng(seed)
    options = HistoryOptions(sigmas=float(rng.choice([2.0, 3.0])), strategy=str(rng.choice([ONLINE, BATCH])),
                             window=int(rng.integers(3, 9)), min_history=int(rng.integers(2, 7)),
                             metrics=METRICS, output_metrics=("mean", "completeness"))
    repo = MetricsRepository(tmp_path)
    written: dict[str, tuple[str, str, list[dict]]] = {}

    def save(partition: str, rows: list[dict], run_time: str, source: str = "validate") -> tuple[str, list[dict]]:
        key = ResultKey(partition, source)
        if any(math.isnan(r["value"]) for r in rows):   # dqloop never writes NaN (invalid JSON); another writer may
            (tmp_path / key.file_name).write_text(json.dumps({"partition": partition, "run_time": run_time,
                                                              "metrics": rows}), encoding="utf-8")
            name, saved = key.file_name, rows
        else:
            name, saved = repo.save(key, rows, run_time)
        written[name] = (partition, run_time, saved)
        return name, saved

    numbers = sorted(rng.choice(400, size=int(rng.integers(0, 50)), replace=False).tolist())
    for n in numbers:                                     # a history written by earlier runs
        save(f"day={n:03d}", _rows(rng, n), "2026-11-30T00:00:00+00:00")
    for n in rng.choice(400, size=2, replace=False):      # corrupt files: skipped by the index, absent here
        if f"day={n:03d}.json" not in written:
            (tmp_path / f"day={n:03d}.json").write_text('{"partition": "day=', encoding="utf-8")
    index = HistoryIndex.load(tmp_path)
    assert sorted(index.files) == sorted(written)

    # a backfill: mostly new partitions in order, some reruns, older partitions validated late, late labels
    last = max(numbers, default=-1)
    checked = compared_numpy = 0
    for step in range(int(rng.integers(20, 80))):
        u = rng.random()
        if u < 0.1 and written:
            n = int(str(rng.choice(sorted(p for p, _, _ in written.values()))).split("=")[1])    # a rerun
        elif u < 0.18:
            n = int(rng.integers(0, max(last, 1)))                                             # an older partition
        else:
            last = n = last + int(rng.integers(1, 4))                                         # the next (gaps)
        partition, run_time = f"day={n:03d}", f"2026-12-01T00:{step:02d}:00+00:00"
        if rng.random() < 0.1 and written:      # label report writes an earlier partition's labeled accuracy
            p = str(rng.choice(sorted({p for p, _, _ in written.values()})))
            name, rows = save(p, [{"feature": DATASET, "metric": "labeled_accuracy",
                                   "value": float(rng.normal(0.9, 0.02))}], run_time, LABELS)
            index.record(name, p, run_time, rows)
        current_rows = _rows(rng, n)
        current = {(r["feature"], r["metric"]): r["value"] for r in current_rows}
        kept = history_checks(current, index.before(partition), options, OUTPUTS)
        replayed = history_checks(current, _reference(written, partition), options, OUTPUTS)
        assert _comparable(kept) == _comparable(replayed), (seed, step, partition)
        checked += 1
        reference = _reference(written, partition)
        for r in kept:
            if r.check != "history_check" or r.status == "skipped" or options.strategy != ONLINE:
                continue
            key = (r.feature or DATASET, r.details["metric"])
            mean, sd = _numpy_estimate(reference[key], r.details["excluded_partitions"])
            if math.isnan(mean) or math.isnan(current[key]):
                continue
            assert r.details["mean"] == pytest.approx(mean, rel=1e-9, abs=1e-12)
            floor = _floor(key[1], key[0], r.details["mean"], current)
            assert r.details["sd"] == pytest.approx(max(sd, floor), rel=1e-9, abs=1e-12)
            assert r.details["history_length"] == len(reference[key]) - len(r.details["excluded_partitions"])
            compared_numpy += 1
        name, rows = save(partition, current_rows, run_time)        # validate records the partition
        index.record(name, partition, run_time, rows)
    assert checked >= 20
    assert options.strategy != ONLINE or compared_numpy or len(written) < 2 * options.min_history + 5


def test_each_point_is_stepped_once_in_order_and_replayed_when_order_breaks():
    """The fold contract behind the states: in partition order every point is stepped once over the
    whole backfill; validating an older partition, or rewriting one the state has read, replays from the
    first point; a different tag starts over."""
    index = HistoryIndex()
    key = (DATASET, "row_count")
    steps: list[str] = []

    def fold(partition, tag="t"):
        return index.fold(key, partition, tag, list, lambda state, p, v: (state.append((p, v)), steps.append(p)))

    for i in range(200):
        partition = f"day={i:03d}"
        assert fold(partition) == [(f"day={j:03d}", float(j)) for j in range(i)]
        index.record(f"{partition}.json", partition, "t", [{"feature": DATASET, "metric": "row_count", "value": i}])
    assert len(steps) == 199                                  # each earlier point once, not 199 * 200 / 2
    steps.clear()
    assert len(fold("day=050")) == 50 and len(steps) == 50   # an older partition: replayed from the first point
    steps.clear()
    assert len(fold("day=051")) == 51 and len(steps) == 1    # ... and extended again from there
    steps.clear()
    index.record("day=010.json", "day=010", "t2", [{"feature": DATASET, "metric": "row_count", "value": -1.0}])
    state = fold("day=052")                                   # a rerun of a partition the state has read
    assert len(steps) == 52 and state[10] == ("day=010", -1.0)
    steps.clear()
    index.record("day=060.json", "day=060", "t2", [{"feature": DATASET, "metric": "row_count", "value": -1.0}])
    fold("day=053")                                           # a later partition rewritten: the state stays
    assert len(steps) == 1
    steps.clear()
    fold("day=054", tag="other")                              # another width or options: start over
    assert len(steps) == 54
