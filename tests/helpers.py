"""Small helpers shared by tests: writing inputs, running the baseline in-process, schema checks."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd


def baseline_args(input_path, output, **overrides) -> argparse.Namespace:
    args = dict(input=str(input_path), output=str(output), format="auto", columns=None, exclude=[], predictions=[],
                holdout_fraction=0.2, seed=42, max_categories=100, engine="pass")
    args.update(overrides)
    return argparse.Namespace(**args)


def run_baseline(spark, input_path, output, **overrides) -> dict:
    """Run the baseline job in this process; return the written JSON documents by file name."""
    from jobs import baseline

    assert baseline.run(spark, baseline_args(input_path, output, **overrides)) == 0
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
