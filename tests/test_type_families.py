"""Type rules judge SageMaker's type family (Integral, Fractional, String), not the storage: the same partition
read from Parquet and from CSV (whose schema inference picks int where Parquet has bigint) gives the same
violations; a suite can pin the exact type."""

from __future__ import annotations

import json

import numpy as np
import pytest

import dqloop
from constraints.columns import type_family
from constraints.suite import HasType, Suite, constraint_from_dict, constraint_to_dict
from helpers import run_baseline, write_parquet
from jobs.sample_data import make_frame


@pytest.mark.parametrize("stored,family", [("int", "Integral"), ("bigint", "Integral"), ("decimal(10,2)", "Fractional"),
                                           ("double", "Fractional"), ("date", "String"), ("boolean", "String"),
                                           ("array<int>", None)])
def test_type_family_of_spark_type_names(stored, family):
    assert type_family(stored) == family


def test_storage_width_is_a_note_unless_the_exact_type_is_pinned():
    ok, note = HasType("y_pred", "bigint").judge("int")
    assert ok and "Integral" in note and '"exact": true' in note
    assert HasType("y_pred", "bigint").judge("bigint") == (True, "")
    assert not HasType("y_pred", "bigint").judge("double")[0]
    assert not HasType("y_pred", "bigint").judge("string")[0]
    pinned = HasType("y_pred", "bigint", exact=True)
    assert pinned.judge("int") == (False, "type is int, expected bigint exactly")
    assert constraint_from_dict(constraint_to_dict(pinned)) == pinned
    assert constraint_from_dict({"kind": "has_type", "column": "y", "spark_type": "int"}).exact is False


def _validate(spark, baseline, partition, out, fmt) -> tuple[int, dict, dict]:
    status = dqloop.validate(str(partition), str(baseline), dqloop.ValidateOptions(format=fmt, history=None),
                             output=str(out), spark=spark).exit_code
    return status, json.loads((out / "constraint_violations.json").read_text()), \
        json.loads((out / "checks.json").read_text())


def test_same_partition_as_parquet_and_csv_gives_the_same_violations(spark, tmp_path):
    run_baseline(spark, write_parquet(make_frame(4_000, seed=3), tmp_path / "train"), tmp_path / "baseline",
                 predictions=["score", "predicted_label"])
    bad = make_frame(3_000, seed=8)
    bad.loc[np.arange(len(bad)) % 5 == 0, "region"] = "atlantis"   # something to find in both
    write_parquet(bad, tmp_path / "parquet")
    (tmp_path / "csv").mkdir()
    bad.to_csv(tmp_path / "csv" / "part-00000.csv", index=False)
    types = {f.name: f.dataType.simpleString() for f in spark.read.parquet(str(tmp_path / "parquet")).schema.fields}
    csv_types = {f.name: f.dataType.simpleString() for f in spark.read.options(header=True, inferSchema=True)
                 .csv(str(tmp_path / "csv")).schema.fields}
    assert types["id"] == "bigint" and csv_types["id"] == "int"   # the storage differs: the case of issue 19

    status_p, parquet, checks_p = _validate(spark, tmp_path / "baseline", tmp_path / "parquet", tmp_path / "out-p", "parquet")
    status_c, csv, checks_c = _validate(spark, tmp_path / "baseline", tmp_path / "csv", tmp_path / "out-c", "csv")
    assert status_p == status_c == 1
    assert csv == parquet
    assert any(v["feature_name"] == "region" for v in csv["violations"])
    assert not any(v["constraint_check_type"] == "suite_constraint_check" and "type" in v["description"]
                   for v in csv["violations"])
    # the storage change is reported as information on the passed type rule
    note = next(c for c in checks_c["checks"] if c["check"] == "suite_constraint_check" and c["feature"] == "id"
                and "has type" in c["description"])
    assert note["status"] == "passed" and "stored as int, was bigint" in note["description"]


def test_pinned_exact_type_fails_on_the_csv_partition(spark, tmp_path):
    run_baseline(spark, write_parquet(make_frame(2_000, seed=3), tmp_path / "train"), tmp_path / "baseline")
    suite_file = tmp_path / "baseline" / "suite.json"
    doc = json.loads(suite_file.read_text())
    for c in doc["constraints"]:
        if c["kind"] == "has_type" and c["column"] == "id":
            c["exact"] = True
    suite_file.write_text(json.dumps(doc))
    assert any(isinstance(s.constraint, HasType) and s.constraint.exact
               for s in Suite.from_dict(json.loads(suite_file.read_text())).constraints)
    (tmp_path / "csv").mkdir()
    make_frame(1_000, seed=4).to_csv(tmp_path / "csv" / "part-00000.csv", index=False)
    status, violations, _ = _validate(spark, tmp_path / "baseline", tmp_path / "csv", tmp_path / "out", "csv")
    assert status == 1
    assert {"feature_name": "id", "constraint_check_type": "suite_constraint_check",
            "description": "'id' has type bigint exactly: violated (type is int, expected bigint exactly)"} \
        in violations["violations"]
