"""The metrics history: one JSON file per partition under a folder, read back as one table.

Each validate run writes `<repo>/<partition>.json` (partition, run_time, metric rows) by atomic
replace, so validating a partition again replaces its entry instead of duplicating it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from jobs.io import read_matching

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
