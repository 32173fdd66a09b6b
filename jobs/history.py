"""The metrics history: one JSON file per partition under a folder, read back as one table.

Each validate run writes `<repo>/<partition>.json` (partition, run_time, metric rows) by atomic
replace, so validating a partition again replaces its entry instead of duplicating it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from jobs.io import read_matching

COLUMNS = ["partition", "run_time", "feature", "metric", "value"]


def read_history(repo: str | Path) -> pd.DataFrame:
    """All partitions' metrics (a local folder or a Hadoop URI) as a long table (partition, run_time, feature, metric, value), by partition."""
    rows = []
    for text in read_matching(repo, ".json").values():
        doc = json.loads(text)
        rows += [{"partition": doc["partition"], "run_time": doc["run_time"], **m} for m in doc["metrics"]]
    return pd.DataFrame(rows, columns=COLUMNS).sort_values(["partition", "feature", "metric"], ignore_index=True)
