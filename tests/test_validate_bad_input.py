"""Validate on bad input: clear messages, the right exit codes, complete-or-absent reports, other partitions go on."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from helpers import run_baseline, write_parquet
from jobs import cli
from jobs.session import counting_jobs


@pytest.fixture(scope="module")
def setup(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("vbad")
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"id": np.arange(3000), "x": rng.normal(0, 1, 3000), "k": rng.choice(["a", "b"], 3000)})
    run_baseline(spark, write_parquet(frame, root / "train"), root / "baseline")
    table = root / "table"
    for chunk in ("01", "02", "03"):
        write_parquet(frame.sample(1000, random_state=int(chunk)), table / f"chunk={chunk}")
    return root, frame


def _validate(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["validate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_clean_table_exits_0_with_a_line_per_partition(spark, setup, capsys, tmp_path):
    root, _ = setup
    code, out, _ = _validate(capsys, "--baseline", str(root / "baseline"), "--input", str(root / "table"),
                             "--output", str(tmp_path / "o"))
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == ["chunk=01", "chunk=02", "chunk=03"]
    assert all(" ok " in line for line in out.splitlines())


def test_selection_by_glob_range_and_missing_partition(spark, setup, capsys, tmp_path):
    root, _ = setup
    code, out, _ = _validate(capsys, "--baseline", str(root / "baseline"), "--input", str(root / "table"),
                             "--output", str(tmp_path / "o"), "--partition", "chunk=02..03", "--partition", "chunk=09")
    assert code == 2  # a named partition is missing; the others were still validated
    assert "chunk=09  error  no such partition" in out
    assert sorted(p.name for p in (tmp_path / "o").iterdir() if p.name.startswith("chunk")) == ["chunk=02", "chunk=03"]
    code, out, err = _validate(capsys, "--baseline", str(root / "baseline"), "--input", str(root / "table"),
                               "--output", str(tmp_path / "p"), "--partition", "day=*")
    assert code == 2 and "choose among: chunk=01, chunk=02, chunk=03" in err


def test_empty_and_corrupt_partitions_do_not_stop_the_backfill(spark, setup, capsys, tmp_path):
    root, frame = setup
    table = tmp_path / "table"
    shutil.copytree(root / "table", table)
    write_parquet(frame.head(0), table / "chunk=04")
    (table / "chunk=05").mkdir()
    (table / "chunk=05" / "part-00000.parquet").write_bytes(b"garbage, not parquet")
    code, out, _ = _validate(capsys, "--baseline", str(root / "baseline"), "--input", str(table),
                             "--output", str(tmp_path / "o"))
    assert code == 3  # one partition could not be read
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert " ok " in lines["chunk=03"]
    assert "rows=0  empty" in lines["chunk=04"]
    assert "error  Could not read" in lines["chunk=05"]
    empty = json.loads((tmp_path / "o" / "chunk=04" / "checks.json").read_text())
    assert empty["verdict"] == "empty"
    assert any(c["check"] == "row_count_check" and c["status"] == "failed" for c in empty["checks"])
    assert not (tmp_path / "o" / "chunk=05").exists()  # no report rather than half a report


def test_schema_change_all_null_and_nan_in_one_partition(spark, setup, capsys, tmp_path):
    root, frame = setup
    part = frame.head(1000).copy()
    part["x"] = np.nan
    part.loc[:10, "x"] = np.inf
    part = part.rename(columns={"k": "k2"})
    write_parquet(part, tmp_path / "part")
    code, out, _ = _validate(capsys, "--baseline", str(root / "baseline"), "--input", str(tmp_path / "part"),
                             "--output", str(tmp_path / "o"))
    assert code == 1
    violations = json.loads((tmp_path / "o" / "constraint_violations.json").read_text())["violations"]
    found = {(v["constraint_check_type"], v["feature_name"]) for v in violations}
    assert {("missing_column_check", "k"), ("extra_column_check", "k2"), ("completeness_check", "x")} <= found
    code, _, _ = _validate(capsys, "--baseline", str(root / "baseline"), "--input", str(tmp_path / "part"),
                           "--output", str(tmp_path / "w"), "--warn-only")
    assert code == 0


def test_broken_suite_constraints_show_offending_values(spark, setup, capsys, tmp_path):
    root, frame = setup
    part = frame.head(1000).copy()
    part.loc[:29, "x"] = 100.0          # 3% far outside the range the baseline suggested
    part.loc[30:49, "k"] = "zzz"        # 2% outside the domain
    write_parquet(part, tmp_path / "part")
    code, _, _ = _validate(capsys, "--baseline", str(root / "baseline"), "--input", str(tmp_path / "part"),
                           "--output", str(tmp_path / "o"))
    assert code == 1
    checks = json.loads((tmp_path / "o" / "checks.json").read_text())["checks"]
    failed = {(c["feature"], c["details"].get("constraint")): c for c in checks
              if c["check"] == "suite_constraint_check" and c["status"] == "failed"}
    assert failed[("x", "is_in_range")]["examples"] == ["100.0"]
    assert failed[("k", "is_in_domain")]["examples"] == ["zzz"]


def test_bad_baselines_are_usage_errors(spark, setup, capsys, tmp_path):
    root, _ = setup
    args = ["--input", str(root / "table"), "--output", str(tmp_path / "o")]
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(root / "baseline" / "statistics.json", partial)
    code, _, err = _validate(capsys, "--baseline", str(partial), *args)
    assert code == 2 and "lacks constraints.json" in err

    for edit, message in ((lambda c: c.update(version=3), "version 3"),
                          (lambda c: c["monitoring_config"]["distribution_constraints"].update(comparison_method="Fancy"),
                           "Simple or Robust"),
                          (lambda c: c["monitoring_config"].update(datatype_check_threshold="high"), "a number")):
        edited = tmp_path / f"edited{len(message)}"
        shutil.copytree(root / "baseline", edited)
        doc = json.loads((edited / "constraints.json").read_text())
        edit(doc)
        (edited / "constraints.json").write_text(json.dumps(doc))
        code, _, err = _validate(capsys, "--baseline", str(edited), *args)
        assert code == 2 and message in err and "fix:" in err
    assert not (tmp_path / "o").exists()


def test_sagemaker_spellings_are_accepted(spark, setup, capsys, tmp_path):
    root, _ = setup
    sm = tmp_path / "sm"
    shutil.copytree(root / "baseline", sm)
    (sm / "suite.json").unlink()  # a plain SageMaker baseline has no dqloop suite
    doc = json.loads((sm / "constraints.json").read_text())
    doc["version"] = 0.0
    dist = doc["monitoring_config"]["distribution_constraints"]
    dist["comparion_method"] = dist.pop("comparison_method")
    (sm / "constraints.json").write_text(json.dumps(doc))
    code, out, _ = _validate(capsys, "--baseline", str(sm), "--input", str(root / "table" / "chunk=01"),
                             "--output", str(tmp_path / "o"))
    assert code == 0, out


def test_jobs_per_partition_are_pinned_and_independent_of_width(spark, tmp_path):
    """The one pass (no shuffle; the unique id settled in it): the same jobs per partition at any width."""
    from constraints.baseline import load_baseline
    from constraints.validation import validate
    from jobs.io import read_folder

    counts = {}
    for width in (2, 10):
        rng = np.random.default_rng(width)
        cols = {"id": np.arange(2000)}
        for i in range(width):
            cols[f"n{i}"] = rng.normal(size=2000)
            cols[f"c{i}"] = rng.choice(["a", "b", "c"], 2000)
        folder = write_parquet(pd.DataFrame(cols), tmp_path / f"w{width}")
        run_baseline(spark, folder, tmp_path / f"b{width}")
        base = load_baseline(read_folder(str(tmp_path / f"b{width}"), ("statistics.json", "constraints.json",
                                                                         "suite.json")))
        df = spark.read.parquet(str(folder))
        with counting_jobs(spark, "validate-jobs") as jobs:
            report = validate(spark, df, base, "p")
        assert report.verdict == "ok"
        counts[width] = jobs[0]
    assert counts == {2: VALIDATE_JOBS, 10: VALIDATE_JOBS}


VALIDATE_JOBS = 1
