"""History checks over many seeds: how often a 30-partition backfill raises a false history alarm.

    .venv/bin/python bench/history_study.py [--seeds 200]

Each seed: 30 partitions of 2,000 rows of the 20-column sample table (jobs.sample_data.make_frame);
partition 25 has 1,000 rows; partition 28's score mean is moved by 4 standard deviations of its
history (partitions 1-27). The metrics validate records are computed here with pandas (row count;
per column completeness, mean and standard deviation of numeric columns, exact distinct count; Deequ's distinct count is
HyperLogLog for non-categorical columns, a few % noisier) and the pure history checks
(constraints.anomaly.history_checks) run on them in partition order, exactly as the validate job
calls them, for two option sets: the defaults, and every metric asked for on every feature
(`--history-metrics row_count,labeled_accuracy,completeness,mean,distinct_count`).
Prints, per option set: share of seeds with 25 flagged, with 28 flagged (on the score mean), and with
any other partition flagged, and the false history alarms per partition.

    .venv/bin/python bench/history_study.py --read 5000 [--repeat 5] [--write]

The metrics repository's read speed instead (jobs.history.MetricsRepository): a history of N partitions as
validate writes it for the 20-column sample table (metric_rows of a real validate run of one partition,
values jittered per partition; about 180 rows per partition), plus a labels file for every 10th and an
estimated-quality file for every partition. Times, best and median of --repeat in one process (wall and
process CPU): the table (`load()`), the history checks' index (`index()`, what validate reads once per
run), one partition's series from the index, and the same two reads through the Hadoop FileSystem API
(`file://` URI, as for s3a:// or hdfs://). --write replaces this section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from constraints.anomaly import DATASET, HistoryOptions, history_checks  # noqa: E402
from jobs.sample_data import make_frame  # noqa: E402

PARTITIONS, ROWS = 30, 2_000
OUTPUTS = frozenset({"score", "predicted_label"})
IDENTIFIERS = frozenset({"id"})
OPTION_SETS = {"defaults": HistoryOptions(),
               "every metric on every feature": HistoryOptions(metrics=("row_count", "labeled_accuracy",
                                                                        "completeness", "mean", "distinct_count"))}


def metrics(frame: pd.DataFrame) -> dict[tuple[str, str], float]:
    out = {(DATASET, "row_count"): float(len(frame))}
    for name in frame.columns:
        col = frame[name]
        out[(name, "completeness")] = float(col.notna().mean())
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            out[(name, "mean")] = float(col.mean())
            out[(name, "std_dev")] = float(col.std(ddof=0))
        out[(name, "distinct_count")] = float(col.nunique())
    return out


def one_seed(seed: int) -> dict[str, set[int]]:
    frames = {i: make_frame(ROWS // 2 if i == 25 else ROWS, seed * 100 + i, start_id=i * ROWS)
              for i in range(1, PARTITIONS + 1)}
    history = np.array([frames[i]["score"].mean() for i in range(1, 28)])
    frames[28]["score"] += history.mean() + 4 * history.std(ddof=1) - frames[28]["score"].mean()
    rows = {i: metrics(f) for i, f in frames.items()}
    flagged = {}
    for label, options in OPTION_SETS.items():
        hist: dict = {}
        hits = set()
        for i in range(1, PARTITIONS + 1):
            results = history_checks(rows[i], hist, options, OUTPUTS, IDENTIFIERS)
            if any(r.failed for r in results):
                hits.add(i)
            for key, value in rows[i].items():
                hist.setdefault(key, []).append((f"day={i:02d}", value))
        flagged[label] = hits
    return flagged


def _timed(fn, repeat: int) -> tuple[float, float, float, object]:
    """(best wall s, median wall s, median process CPU s, the last result)."""
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return min(walls), float(np.median(walls)), float(np.median(cpus)), out


def write_history(repo: Path, partitions: int, seed: int = 0) -> int:
    """A metrics history as validate, label report and estimated quality write it; returns the rows written."""
    import json

    from jobs.history import ESTIMATED, LABELS, MetricsRepository, ResultKey

    template = json.loads((REPO / "bench" / "history_rows.json").read_text()) if (REPO / "bench" / "history_rows.json").exists() \
        else None
    if template is None:
        raise SystemExit("bench/history_rows.json is missing: run with --make-template first")
    rng = np.random.default_rng(seed)
    store, total = MetricsRepository(repo), 0
    for i in range(partitions):
        name = f"day={i:05d}"
        jitter = 1 + rng.normal(0, 0.01, len(template))
        rows = [{**m, "value": float(m["value"] * j)} for m, j in zip(template, jitter)]
        store.save(ResultKey(name), rows, "2026-12-01T10:00:00+00:00")
        store.save(ResultKey(name, ESTIMATED), [{"feature": "*", "metric": "estimated_accuracy", "value": 0.9}],
                   "2026-12-01T10:00:00+00:00")
        total += len(rows) + 1
        if i % 10 == 0:
            labels = [{"feature": "*", "metric": m, "value": v} for m, v in
                      (("labeled_accuracy", 0.9), ("labeled_accuracy_lower", 0.87), ("labeled_accuracy_upper", 0.93),
                       ("labeled_count", 400.0))]
            store.save(ResultKey(name, LABELS), labels, "2026-12-01T11:00:00+00:00")
            total += len(labels)
    return total


def make_template(spark_rows: int = 2_000) -> None:
    """bench/history_rows.json: the metric rows a real validate run records for one sample partition."""
    import json
    import tempfile

    import dqloop

    with tempfile.TemporaryDirectory() as tmp:
        train, part = Path(tmp) / "train", Path(tmp) / "part"
        for folder, seed, shift in ((train, 1, 0.0), (part, 2, 0.3)):
            folder.mkdir()
            make_frame(spark_rows * 3 if folder == train else spark_rows, seed, shift=shift).to_parquet(
                folder / "part-0.parquet", index=False)
        spark = dqloop.session("history-template", "local[2]")
        base = dqloop.baseline(str(train), dqloop.BaselineOptions(predictions=("score", "predicted_label")), spark=spark)
        run = dqloop.validate(str(part), base, dqloop.ValidateOptions(history=None, partition_name="day=00000"),
                              spark=spark)
        rows = run["day=00000"].metrics
        spark.stop()
    (REPO / "bench" / "history_rows.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(f"bench/history_rows.json: {len(rows)} metric rows of one validated partition")


def read_bench(partitions: int, repeat: int, write: bool) -> None:
    import os
    import platform
    import tempfile
    from importlib.metadata import version

    from jobs.history import MetricsRepository

    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "_metrics"
        t0 = time.perf_counter()
        rows = write_history(repo, partitions)
        write_s = time.perf_counter() - t0
        files = len(list(repo.glob("*.json")))
        size = sum(f.stat().st_size for f in repo.glob("*.json"))
        local = MetricsRepository(repo)
        results = {"load() table, local folder": _timed(lambda: local.load(), repeat),
                   "index() for the history checks, local folder": _timed(lambda: local.index(), repeat)}
        index = results["index() for the history checks, local folder"][3]
        last = f"day={partitions - 1:05d}"
        results[f"index.before({last}) every series read"] = _timed(
            lambda: {k: v for k, v in index.before(last).items()}, repeat)
        from jobs.session import build_session

        sys.path.insert(0, str(REPO / "bench"))
        spark, jvm = build_session("history-read-bench", "local[2]"), {}
        try:
            from baseline_bench import jvm_cpu

            uri = MetricsRepository(f"file://{repo}")
            for label, fn in (("load() table, file:// URI (Hadoop FileSystem API)", uri.load),
                              ("index(), file:// URI (Hadoop FileSystem API)", uri.index)):
                j0 = jvm_cpu(spark)
                results[label] = _timed(fn, repeat)
                jvm[label] = (jvm_cpu(spark) - j0) / repeat
        finally:
            spark.stop()
        table = results["load() table, local folder"][3][0]
        assert table["partition"].nunique() == partitions and len(table) == rows, (len(table), rows)
    load1 = os.getloadavg()
    cmd = f"`.venv/bin/python bench/history_study.py --read {partitions} --repeat {repeat}`"
    lines = [f"## Metrics repository: reading the history of {partitions:,} partitions (bench/history_study.py --read)",
             "", f"Command: {cmd}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
             f"Load average (1 min) {load0[0]:.1f} at start, {load1[0]:.1f} at the end (2 cores shared by 7 engineers).",
             f"History: {files:,} files ({size / 2**20:.1f} MiB), {rows:,} metric rows: per partition the "
             f"{rows // partitions - 1}-odd rows a real validate run records for the 20-column sample table "
             "(bench/history_rows.json), an estimated-quality file, and a labels file for every 10th partition. "
             f"Written through MetricsRepository.save in {write_s:.1f} s.",
             f"Versions: python {platform.python_version()}, pandas {version('pandas')}, pyspark {version('pyspark')}.",
             "", "| read | best s | median s | median CPU s, Python | mean CPU s, Spark JVM |", "|---|---:|---:|---:|---:|"]
    for label, (best, med, cpu, _) in results.items():
        lines.append(f"| {label} | {best:.2f} | {med:.2f} | {cpu:.2f} | "
                     f"{format(jvm[label], '.2f') if label in jvm else '-'} |")
    section = "\n".join(lines) + "\n"
    print(section)
    if write:
        from baseline_bench import write_section

        write_section(REPO / "bench" / "RESULTS.md", section)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--read", type=int, metavar="N", help="time reading a metrics history of N partitions instead")
    ap.add_argument("--repeat", type=int, default=5, help="--read: repetitions of each read (default 5)")
    ap.add_argument("--write", action="store_true", help="--read: replace its section of bench/RESULTS.md")
    ap.add_argument("--make-template", action="store_true", help="write bench/history_rows.json (runs Spark)")
    args = ap.parse_args()
    if args.make_template:
        return make_template()
    if args.read:
        return read_bench(args.read, args.repeat, args.write)
    start = time.time()
    runs = [one_seed(s) for s in range(args.seeds)]
    print(f"Command: `.venv/bin/python bench/history_study.py --seeds {args.seeds}`; {time.time() - start:.0f} s\n")
    print("| history options | seeds | 25 flagged | 28 flagged | any other partition flagged | false alarms per "
          "partition (11-30) |")
    print("|---|---:|---:|---:|---:|---:|")
    for label in OPTION_SETS:
        f25 = np.mean([25 in r[label] for r in runs])
        f28 = np.mean([28 in r[label] for r in runs])
        other = [r[label] - {25, 28} for r in runs]
        print(f"| {label} | {args.seeds} | {100 * f25:.1f}% | {100 * f28:.1f}% | "
              f"{100 * np.mean([bool(o) for o in other]):.1f}% | "
              f"{100 * sum(len(o) for o in other) / (args.seeds * 18):.2f}% |")


if __name__ == "__main__":
    main()
