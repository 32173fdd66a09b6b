"""The baseline is a fixed number of passes over the data, whatever the number of columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import baseline_args, write_parquet
from jobs import baseline

# Measured with Spark 3.5.7 + Deequ 2.1.0 (AQE on). The pass engine: the one pass, and the bitmap job
# that settles the dense `id` column (its shuffle stages run as jobs under AQE). Deequ's: the fused Deequ
# aggregation, Deequ's KLL pass, and the grouping pass for categories and uniqueness.
BASELINE_JOBS = {"pass": 4, "deequ": 6}


def _table(columns: int, rows: int = 2_000) -> pd.DataFrame:
    rng = np.random.default_rng(columns)
    data = {"id": np.arange(rows)}
    for i in range(columns):
        data[f"num_{i}"] = rng.normal(size=rows) if i % 2 else rng.integers(0, 10, rows)
        data[f"cat_{i}"] = rng.choice(["a", "b", "c"], rows)
    return pd.DataFrame(data)


@pytest.mark.parametrize("engine", ["pass", "deequ"])
def test_job_count_is_pinned_and_independent_of_width(spark, tmp_path, engine):
    counts = {}
    for width in (2, 12):
        folder = write_parquet(_table(width), tmp_path / f"w{width}")
        _, suite, jobs = baseline.compute(spark, baseline_args(folder, tmp_path / "out", engine=engine))
        assert len(suite.columns) == 1 + 2 * width
        counts[width] = jobs
    assert counts == {2: BASELINE_JOBS[engine], 12: BASELINE_JOBS[engine]}
