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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=200)
    args = ap.parse_args()
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
