"""Small helpers shared by tests: writing inputs, running the baseline in-process, schema checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from constraints.distance import Sketch
from constraints.thresholds import sketch_rank_error


def baseline_args(input_path, output, **overrides):
    """The baseline job's request (jobs.baseline.Request) for `baseline.compute`: default options but `overrides`."""
    from jobs import baseline

    return baseline.Request(input=str(input_path), output=str(output), **overrides)


def run_baseline(spark, input_path, output, **overrides) -> dict:
    """Run the baseline through the Python API in this process; return the written JSON documents by file name."""
    import dqloop

    dqloop.baseline(str(input_path), dqloop.BaselineOptions(**overrides), output=str(output), spark=spark)
    out = Path(output)
    return {name: json.loads((out / name).read_text()) for name in ("statistics.json", "constraints.json", "suite.json")}


def write_parquet(frame: pd.DataFrame, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / "part-00000.parquet", index=False)
    return folder


def check_statistics_schema(doc: dict) -> None:
    """Assert statistics.json has exactly SageMaker's shape (shared/reference/sagemaker-formats.md)."""
    assert set(doc) == {"version", "dataset", "features"}
    assert doc["version"] == 0 and set(doc["dataset"]) == {"item_count"}
    for f in doc["features"]:
        assert f["inferred_type"] in ("Integral", "Fractional", "String", "Unknown"), f
        if f["inferred_type"] in ("Integral", "Fractional"):
            assert set(f) == {"name", "inferred_type", "numerical_statistics"}
            s = f["numerical_statistics"]
            assert set(s) <= {"common", "mean", "sum", "std_dev", "min", "max", "distribution"}
            assert {"common", "mean", "sum", "std_dev", "min", "max"} <= set(s)
            assert set(s["common"]) == {"num_present", "num_missing"}
            if "distribution" in s:
                kll = s["distribution"]["kll"]
                assert set(kll) == {"buckets", "sketch"}
                assert len(kll["buckets"]) == 10
                for b in kll["buckets"]:
                    assert set(b) == {"lower_bound", "upper_bound", "count"}
                assert set(kll["sketch"]) == {"parameters", "data"}
                assert set(kll["sketch"]["parameters"]) == {"c", "k"}
                assert all(isinstance(level, list) for level in kll["sketch"]["data"])
        else:
            assert set(f) == {"name", "inferred_type", "string_statistics"}
            s = f["string_statistics"]
            assert set(s) == {"common", "distinct_count", "distribution"}
            assert set(s["common"]) == {"num_present", "num_missing"}
            for b in s["distribution"]["categorical"]["buckets"]:
                assert set(b) == {"value", "count"}


def check_constraints_schema(doc: dict) -> None:
    """Assert constraints.json has SageMaker's shape, with the documented monitoring_config keys."""
    assert set(doc) == {"version", "features", "monitoring_config"}
    for f in doc["features"]:
        assert {"name", "inferred_type", "completeness"} <= set(f)
        assert set(f) <= {"name", "inferred_type", "completeness", "num_constraints", "string_constraints",
                          "monitoringConfigOverrides"}
        assert 0.0 <= f["completeness"] <= 1.0
        if "num_constraints" in f:
            assert set(f["num_constraints"]) == {"is_non_negative"}
        if "string_constraints" in f:
            assert set(f["string_constraints"]) == {"domains"}
    mc = doc["monitoring_config"]
    assert set(mc) == {"evaluate_constraints", "emit_metrics", "datatype_check_threshold", "domain_content_threshold",
                       "distribution_constraints"}
    assert set(mc["distribution_constraints"]) == {"perform_comparison", "comparison_threshold", "comparison_method",
                                                   "categorical_comparison_threshold", "categorical_drift_method"}


# A KLL compactor flips a coin (Deequ's from a JVM-wide random generator, DataSketches' from its own), so once
# a level compacts, two runs over the same rows keep different items, and merging partitions in another
# order gives levels of other sizes. Everything else must be equal to the
# last digit, except floating-point sums: the baseline's aggregations merge partial sums in the order they
# arrive, which differs between a cluster and local mode, so they agree to about 1e-15 (rel 1e-12 allowed);
# sketches must agree as distributions (the largest CDF gap within both sketches'
# rank error), and what derives from them (bucket counts, drift distances) within that error.
def _sketch_gap(a: dict, b: dict) -> float:
    sa, sb = Sketch.from_levels(a["data"]), Sketch.from_levels(b["data"])
    grid = np.union1d(sa.values, sb.values)
    return float(np.max(np.abs(sa.cdf(grid) - sb.cdf(grid))))


def assert_same(a, b, path="", rows=None, loose=False):
    """Exact equality, except for KLL sketches and the values derived from them (see above)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), path
        if "sketch" in a and "buckets" in a:  # a KLL distribution
            levels = max(len(a["sketch"]["data"]), len(b["sketch"]["data"]))
            assert a["sketch"]["parameters"] == b["sketch"]["parameters"], path
            error = 2 * sketch_rank_error(levels)
            assert _sketch_gap(a["sketch"], b["sketch"]) <= error, path
            for x, y in zip(a["buckets"], b["buckets"]):
                assert (x["lower_bound"], x["upper_bound"]) == (y["lower_bound"], y["upper_bound"]), path
                assert abs(x["count"] - y["count"]) <= error * rows + 1, path
            return
        drift = a.get("check") == "baseline_drift_check"
        for k in a:
            assert_same(a[k], b[k], f"{path}/{k}", a.get("dataset", {}).get("item_count", rows), loose or drift)
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]", rows, loose)
    elif loose and isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=0.05, abs=0.005), path  # distances from a baseline sketch
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-12), path   # sums merged in another order
    else:
        assert a == b, path
