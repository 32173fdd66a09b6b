"""The Python API drives the whole loop with real Spark and the real Deequ jar: baseline, validate (a table
of partitions with a metrics history, and a DataFrame), label report from a ground-truth file; the typed
results are checked against values computed here with pandas, and render themselves for Jupyter."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import dqloop
from helpers import write_parquet
from dqloop.results import MAX_ROWS
from jobs.sample_data import make_frame

TRAIN, PART = 6_000, 2_000
PREDICTIONS = ("score", "predicted_label")


@pytest.fixture(scope="module")
def loop(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    train = make_frame(TRAIN, seed=1)
    parts = {"day=01": make_frame(PART, seed=2, start_id=10_000), "day=02": make_frame(PART, seed=3, start_id=20_000),
             "day=03": make_frame(PART, seed=4, start_id=30_000, shift=1.0)}
    write_parquet(train, root / "train")
    for name, frame in parts.items():
        write_parquet(frame, root / "production" / name)
    base = dqloop.baseline(str(root / "train"), dqloop.BaselineOptions(predictions=PREDICTIONS),
                           output=str(root / "baseline"), spark=spark)
    run = dqloop.validate(str(root / "production"), base, dqloop.ValidateOptions(warn_only=True),
                          output=str(root / "out"), spark=spark)
    # ground truth for day=02: every row labeled, 300 of them wrong (a census: accuracy is exact)
    truth = parts["day=02"][["id", "predicted_label"]].rename(columns={"predicted_label": "label"})
    wrong = np.random.default_rng(5).choice(len(truth), 300, replace=False)
    flip = {v: w for v, w in zip(sorted(truth["label"].unique()), sorted(truth["label"].unique())[::-1])}
    truth.loc[wrong, "label"] = truth.loc[wrong, "label"].map(flip)
    truth.to_csv(root / "truth.csv", index=False)
    # ground truth for day=01 as a sample of 400 rows (a simple random sample of the partition)
    sample = parts["day=01"].sample(400, random_state=6)[["id", "predicted_label"]].rename(
        columns={"predicted_label": "label"})
    sample.loc[sample.index[:40], "label"] = sample.loc[sample.index[:40], "label"].map(flip)
    sample.to_csv(root / "truth-sample.csv", index=False)
    repo = str(root / "out" / "_metrics")
    census = dqloop.label_report(str(root / "production" / "day=02"), str(root / "truth.csv"),
                                 dqloop.LabelReportOptions(metrics_repo=repo, partition="day=02"),
                                 output=str(root / "quality"))
    sampled = dqloop.label_report(str(root / "production" / "day=01"), str(root / "truth-sample.csv"))
    return dict(root=root, train=train, parts=parts, base=base, run=run, truth=truth, census=census,
                sample=sample, sampled=sampled, repo=repo)


def test_baseline_result_holds_the_statistics_pandas_computes(loop):
    base, train = loop["base"], loop["train"]
    assert base.folder == str(loop["root"] / "baseline") and base.profile.rows == TRAIN
    stats = base.to_pandas().set_index("feature")
    assert set(stats.index) == set(train.columns)
    for col in ("age", "income", "balance", "utilization", "score"):
        assert stats.loc[col, "num_present"] == train[col].notna().sum()
        assert stats.loc[col, "num_missing"] == train[col].isna().sum()
        assert stats.loc[col, "mean"] == pytest.approx(train[col].mean(), rel=1e-9)
        assert stats.loc[col, "min"] == pytest.approx(train[col].min()) and stats.loc[col, "max"] == pytest.approx(train[col].max())
    assert stats.loc["region", "distinct_count"] == train["region"].nunique()
    written = json.loads((loop["root"] / "baseline" / "statistics.json").read_text())
    assert written == base.statistics                          # the result holds what the command writes


def test_validate_result_per_partition_matches_pandas_and_the_written_reports(loop):
    run, parts, root = loop["run"], loop["parts"], loop["root"]
    assert [p.partition for p in run] == sorted(parts) and run.exit_code == 0   # warn_only
    for name, frame in parts.items():
        p = run[name]
        assert p.rows == len(frame) and p.folder == str(root / "out" / name)
        metrics = {(m["feature"], m["metric"]): m["value"] for m in p.metrics}
        assert metrics[("*", "row_count")] == len(frame)
        assert metrics[("income", "completeness")] == pytest.approx(frame["income"].notna().mean(), abs=1e-12)
        assert metrics[("balance", "mean")] == pytest.approx(frame["balance"].mean(), rel=1e-9)
        checks = json.loads((root / "out" / name / "checks.json").read_text())
        assert checks["verdict"] == p.verdict and checks["violations"] == len(p.violations)
        table = p.to_pandas()
        assert len(table) == len(checks["checks"]) and (table.status == "failed").sum() == len(p.violations)
    assert run["day=01"].verdict == "ok" and run["day=02"].verdict == "ok"
    drifted = {v.feature for v in run["day=03"].violations if v.check == "baseline_drift_check"}
    assert {"age", "balance", "utilization"} <= drifted
    assert run.verdict == "violations" and len(run.violations) == len(run["day=03"].violations)
    assert set(run.to_pandas().partition) == set(parts)


def test_validate_a_dataframe_without_writing_equals_the_table_run(loop, spark, tmp_path):
    """A DataFrame in, no output: the same checks as the partition read from its folder, nothing written."""
    frame = spark.read.parquet(str(loop["root"] / "production" / "day=03"))
    one = dqloop.validate(frame, str(loop["root"] / "baseline"),
                          dqloop.ValidateOptions(partition_name="day=03", history=None), spark=spark)
    assert one.exit_code == 1 and len(one) == 1 and one["day=03"].folder is None
    table_run = loop["run"]["day=03"]
    by_key = {(r.check, r.feature): r.status for r in table_run.checks if r.check != "history_check"}
    assert {(r.check, r.feature): r.status for r in one["day=03"].checks} == by_key
    assert not any(tmp_path.iterdir())


def test_label_report_from_ground_truth_matches_pandas(loop):
    census, truth, frame = loop["census"], loop["truth"], loop["parts"]["day=02"]
    joined = truth.merge(frame[["id", "predicted_label"]], on="id")
    expected = (joined["label"].astype(str) == joined["predicted_label"].astype(str)).mean()
    assert expected == pytest.approx(1 - 300 / PART)
    assert census.accuracy["value"] == pytest.approx(expected, abs=1e-12)
    assert census.labeled == PART and census.folder == str(loop["root"] / "quality")
    assert json.loads((loop["root"] / "quality" / "model_quality.json").read_text()) == census.document
    table = census.to_pandas().set_index("metric")
    assert table.loc["accuracy", "value"] == pytest.approx(expected)
    # a simple random sample of 400: the estimate is the sample's accuracy, its interval covers it
    sampled, sample = loop["sampled"], loop["sample"]
    ref = sample.merge(loop["parts"]["day=01"][["id", "predicted_label"]], on="id")
    acc = (ref["label"].astype(str) == ref["predicted_label"].astype(str)).mean()
    a = sampled.accuracy
    assert a["value"] == pytest.approx(acc, abs=1e-12) and a["value"] == pytest.approx(0.9)
    lo, hi = a["confidence_interval"]["lower"], a["confidence_interval"]["upper"]
    se = np.sqrt(acc * (1 - acc) / 400 * (1 - 400 / PART))   # with the finite-population correction
    assert lo < acc < hi and 2 * 1.5 * se < hi - lo < 2 * 2.5 * se


def test_the_metrics_repository_holds_every_source(loop):
    repo = dqloop.MetricsRepository(loop["repo"])
    table, problems = repo.load()
    assert not problems and set(table.partition) == set(loop["parts"])
    acc = table[(table.metric == "labeled_accuracy")]
    assert list(acc.partition) == ["day=02"] and list(acc.source) == ["labels"]
    assert acc.value.iloc[0] == pytest.approx(loop["census"].accuracy["value"])
    rows = repo.load(metrics=["row_count"], after="day=01")[0]
    assert dict(zip(rows.partition, rows.value)) == {"day=02": PART, "day=03": PART}
    assert repo.path(dqloop.ResultKey("day=02", "labels")).endswith("_metrics/day=02.labels.json")
    index = dqloop.build_index(str(loop["root"] / "out"))
    assert index.partitions == sorted(loop["parts"]) and (loop["root"] / "out" / "index.html").is_file()


def test_results_render_for_jupyter(loop):
    base_html = loop["base"]._repr_html_()
    assert "dqloop baseline: 6000 rows, 20 features" in base_html and "<table>" in base_html
    assert "utilization" in base_html
    run_html = loop["run"]._repr_html_()
    assert "3 partition(s), exit status 0" in run_html and "Violations" in run_html
    for name in loop["parts"]:
        assert f"<td>{name}</td>" in run_html
    part_html = loop["run"]["day=03"]._repr_html_()
    assert 'class="bad">violations</span>' in part_html and "baseline_drift_check" in part_html
    ok_html = loop["run"]["day=01"]._repr_html_()
    assert 'class="ok">ok</span>' in ok_html and "<table>" not in ok_html
    quality_html = loop["census"]._repr_html_()
    assert "2000 labeled of 2000 rows" in quality_html and "<td>accuracy</td>" in quality_html
    assert "<script" not in base_html + run_html + part_html + quality_html


def test_results_render_in_a_real_browser(loop, browser):
    """The HTML a notebook cell shows, in Chromium: the verdict and every partition visible, the violations'
    rows readable, no script, no request, no console error."""
    from conftest import Watched

    run = loop["run"]
    w = Watched(browser)
    try:
        cells = "".join(f'<div class="output">{r._repr_html_()}</div>'
                        for r in (loop["base"], run, run["day=03"], loop["census"]))
        w.page.set_content(f"<!doctype html><html><body>{cells}</body></html>")
        titles = w.page.locator("h4").all_inner_texts()
        assert titles[1] == "dqloop validate: 3 partition(s), exit status 0 violations"
        assert w.page.locator("h4 .bad").first.is_visible()
        summary = w.page.locator(".output").nth(1).locator("table").first
        assert [r.split("\t")[0] for r in summary.locator("tbody tr").all_inner_texts()] == ["day=01", "day=02", "day=03"]
        failed = w.page.locator(".output").nth(2).locator("tbody tr")
        assert failed.count() == min(len(run["day=03"].violations), MAX_ROWS)
        assert all(failed.nth(i).is_visible() for i in range(min(3, failed.count())))
        assert "accuracy" in w.page.locator(".output").nth(3).inner_text()
        w.quiet(set())
    finally:
        w.close()


def test_the_notebook_example_in_docs_api_md_runs(spark, tmp_path, monkeypatch, capsys):
    """docs/api.md's first example, run as written on the sample data set (smaller), its relative paths made
    absolute under tmp_path."""
    import re
    from pathlib import Path

    from jobs.sample_data import write

    text = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()
    example = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    for rel in ("data/sample", "out/", "truth.csv"):   # Spark resolves relative paths against the JVM's folder
        example = example.replace(f'"{rel}', f'"{tmp_path}/{rel}')
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "data" / "sample", 4_000, 1_500, 7)
    part = pd.read_parquet(tmp_path / "data" / "sample" / "production" / "chunk=03")
    truth = part[["id", "predicted_label"]].rename(columns={"predicted_label": "label"}).head(600)
    truth.to_csv(tmp_path / "truth.csv", index=False)
    scope: dict = {}
    exec(compile(example, "docs/api.md", "exec"), scope)
    assert scope["run"]["chunk=03"].verdict == "violations" and scope["quality"].accuracy["value"] == 1.0
    assert (tmp_path / "out" / "validate" / "index.html").is_file() and (tmp_path / "out" / "quality").is_dir()
    assert set(scope["history"].metric) == {"row_count", "labeled_accuracy"}
