"""Bad input: a clear message naming the cause and the fix, the right exit status, no half-written output."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers import run_baseline, write_parquet
from jobs import cli


def _run(capsys, *args: str) -> tuple[int, str]:
    code = cli.main(["baseline", *args])
    return code, capsys.readouterr().err


@pytest.fixture()
def good(tmp_path):
    frame = pd.DataFrame({"x": np.arange(100, dtype="float64"), "k": ["a", "b"] * 50})
    return write_parquet(frame, tmp_path / "good")


def test_missing_path_is_a_usage_error(spark, tmp_path, capsys):
    code, err = _run(capsys, "--input", str(tmp_path / "nope"), "--output", str(tmp_path / "out"))
    assert code == 2
    assert "does not exist" in err and "fix:" in err
    assert not (tmp_path / "out").exists()


def test_empty_folder_and_empty_table(spark, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, err = _run(capsys, "--input", str(tmp_path / "empty"), "--output", str(tmp_path / "out"))
    assert code == 3 and "no data files" in err
    empty = write_parquet(pd.DataFrame({"x": pd.Series([], dtype="float64")}), tmp_path / "norows")
    code, err = _run(capsys, "--input", str(empty), "--output", str(tmp_path / "out"))
    assert code == 3 and "has no rows" in err
    assert not (tmp_path / "out").exists()


def test_corrupt_file_keeps_previous_output(spark, tmp_path, capsys, good):
    out = tmp_path / "out"
    assert cli.main(["baseline", "--input", str(good), "--output", str(out)]) == 0
    before = (out / "statistics.json").read_text()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "part-00000.parquet").write_bytes(b"PAR1 this is not parquet at all")
    code, err = _run(capsys, "--input", str(bad), "--output", str(out))
    assert code == 3
    assert "Could not read" in err and "fix:" in err
    assert (out / "statistics.json").read_text() == before          # untouched
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []  # no staging left


def test_unknown_column_is_a_usage_error(spark, tmp_path, capsys, good):
    code, err = _run(capsys, "--input", str(good), "--output", str(tmp_path / "out"), "--predictions", "score")
    assert code == 2 and "--predictions names columns the input does not have: ['score']" in err


def test_bad_option_value_is_a_usage_error(spark, tmp_path, capsys, good):
    code, err = _run(capsys, "--input", str(good), "--output", str(tmp_path / "out"), "--holdout-fraction", "1.5")
    assert code == 2 and "--holdout-fraction" in err


def test_csv_with_awkward_names_and_non_ascii(spark, tmp_path):
    csv = tmp_path / "csv"
    csv.mkdir()
    frame = pd.DataFrame({"col with space": [1, 2, 3, 4] * 25, "é.name": ["ü", "ß", "naïve", "x"] * 25,
                          "v": [0.5, np.nan, 1.5, 2.5] * 25})
    frame.to_csv(csv / "data.csv", index=False)
    docs = run_baseline(spark, csv, tmp_path / "out")
    features = {f["name"]: f for f in docs["statistics.json"]["features"]}
    assert features["col with space"]["inferred_type"] == "Integral"
    assert features["col with space"]["numerical_statistics"]["sum"] == frame["col with space"].sum()
    assert {b["value"] for b in features["é.name"]["string_statistics"]["distribution"]["categorical"]["buckets"]} == \
        {"ü", "ß", "naïve", "x"}
    assert features["v"]["numerical_statistics"]["common"] == {"num_present": 75, "num_missing": 25}
    text = (tmp_path / "out" / "statistics.json").read_text(encoding="utf-8")
    assert "naïve" in text  # written as UTF-8, not escaped


def test_partitioned_table(spark, tmp_path):
    root = tmp_path / "table"
    for chunk in ("01", "02", "03"):
        write_parquet(pd.DataFrame({"x": np.arange(50) + int(chunk)}), root / f"chunk={chunk}")
    docs = run_baseline(spark, root, tmp_path / "out")
    assert docs["statistics.json"]["dataset"]["item_count"] == 150
    assert [f["name"] for f in docs["statistics.json"]["features"]] == ["x"]  # the partition column is not a feature
    assert docs["suite.json"]["partition_columns"] == ["chunk"]


def test_nan_and_infinity_never_reach_json(spark, tmp_path):
    frame = pd.DataFrame({"v": [np.inf, -np.inf, 1.0, 2.0] * 10})
    docs = run_baseline(spark, write_parquet(frame, tmp_path / "inf"), tmp_path / "out")
    s = docs["statistics.json"]["features"][0]["numerical_statistics"]
    assert s["common"] == {"num_present": 20, "num_missing": 20}
    assert (s["min"], s["max"], s["mean"]) == (1.0, 2.0, 1.5)
    json.loads((tmp_path / "out" / "statistics.json").read_text(), parse_constant=lambda c: pytest.fail(c))
