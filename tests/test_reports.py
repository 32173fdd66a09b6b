"""Reports people read and numbers machines scrape, from a real validate run (real Spark and Deequ):
report.html and index.html opened in headless Chromium, metrics.prom parsed by prometheus_client,
the alert POSTed to a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

import dqloop
from conftest import Watched, run_dqloop
from helpers import run_baseline, write_parquet
from jobs import webhook
from jobs.cli import main as cli_main
from jobs.sample_data import make_frame

HOSTILE = "<script>alert(1)</script>"
ROWS = 3_000
LABELS = {"chunk=01": (0.91, 0.88, 0.935, 400.0), "chunk=02": (0.72, 0.67, 0.77, 380.0)}


class Hook:
    """A webhook receiver on 127.0.0.1: answers the first `failures` POSTs with 500, then 200."""

    def __init__(self, failures: int = 0):
        self.bodies: list[dict] = []
        self.failures = failures
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.bodies.append(json.loads(body))
                ok = len(outer.bodies) > outer.failures
                self.send_response(200 if ok else 500)
                self.end_headers()
                self.wfile.write(b"ok" if ok else b"busy")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/secret-token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Hook":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _args(baseline, table, output, **extra) -> dict:
    """SageMaker's fixed thresholds: these tests are about rendering and know which checks fail under them
    (chunk=01 is a fresh sample whose `utilization` KS distance, 0.043 at p = 0.001 by scipy, is beyond the
    calibrated threshold by chance; calibrated alarms are tested in test_calibrated_checks.py)."""
    return dict(input=str(table), baseline=str(baseline), output=str(output), options=dqloop.ValidateOptions(
        partition=tuple(extra.get("partition", ())), thresholds=dqloop.Thresholds("sagemaker"),
        prometheus_textfile=extra.get("prometheus_textfile"), webhook_url_file=extra.get("webhook_url_file")))


def _run(spark, args: dict) -> int:
    return dqloop.validate(args["input"], args["baseline"], args["options"], output=args["output"], spark=spark).exit_code


def _labels_file(repo: Path, partition: str, acc: float, lo: float, hi: float, n: float) -> None:
    """What `dqloop label report --metrics-repo REPO --partition NAME` writes (issue 4's contract)."""
    repo.mkdir(parents=True, exist_ok=True)
    doc = {"partition": partition, "run_time": "2026-11-28T12:00:00+00:00",
           "metrics": [{"feature": "*", "metric": "labeled_accuracy", "value": acc},
                       {"feature": "*", "metric": "labeled_accuracy_lower", "value": lo},
                       {"feature": "*", "metric": "labeled_accuracy_upper", "value": hi},
                       {"feature": "*", "metric": "labeled_count", "value": n}]}
    (repo / f"{partition}.labels.json").write_text(json.dumps(doc))


@pytest.fixture(scope="module")
def run(spark, tmp_path_factory):
    """Baseline; a table of a clean partition and one with 20% of `region` set to a script tag and a
    shifted `balance`; labels for both; one validate run with a webhook that fails once."""
    root = tmp_path_factory.mktemp("reports")
    run_baseline(spark, write_parquet(make_frame(6_000, seed=1), root / "train"), root / "baseline",
                 predictions=["score", "predicted_label"])
    clean = make_frame(ROWS, seed=21, start_id=10**6)
    bad = make_frame(ROWS, seed=22, start_id=2 * 10**6)
    rng = np.random.default_rng(5)
    bad.loc[rng.random(len(bad)) < 0.2, "region"] = HOSTILE
    bad["balance"] = bad["balance"] + 500.0
    table = root / "production"
    write_parquet(clean, table / "chunk=01")
    write_parquet(bad, table / "chunk=02")
    out = root / "out"
    for p, values in LABELS.items():
        _labels_file(out / "_metrics", p, *values)
    old = os.environ.get(webhook.ENV)
    with Hook(failures=1) as hook:
        os.environ[webhook.ENV] = hook.url
        try:
            code = _run(spark, _args(root / "baseline", table, out, prometheus_textfile=str(root / "run.prom")))
        finally:
            os.environ.pop(webhook.ENV) if old is None else os.environ.__setitem__(webhook.ENV, old)
    return {"root": root, "out": out, "code": code, "frames": {"chunk=01": clean, "chunk=02": bad}, "hook": hook}


# --- what the job wrote ---------------------------------------------------------------------------------------

def test_every_partition_folder_has_the_report_and_metrics(run):
    assert run["code"] == 1
    for p in ("chunk=01", "chunk=02"):
        names = {f.name for f in (run["out"] / p).iterdir()}
        assert {"report.html", "metrics.prom", "checks.json", "statistics.json", "constraint_violations.json"} <= names
    html = (run["out"] / "chunk=02" / "report.html").read_text()
    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not re.search(r"<(link|img|iframe|object|embed)\b", html) and "http://" not in html.replace(
        "http://www.w3.org/2000/svg", "")


def _families(text: str) -> dict[str, dict[tuple, float]]:
    out: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def test_prometheus_file_parses_and_matches_the_data(run):
    bad = run["frames"]["chunk=02"]
    fam = _families((run["out"] / "chunk=02" / "metrics.prom").read_text())
    part = (("partition", "chunk=02"),)
    assert fam["dqloop_rows"][part] == len(bad)
    violations = json.loads((run["out"] / "chunk=02" / "constraint_violations.json").read_text())["violations"]
    assert fam["dqloop_violations"][part] == len(violations) > 0
    by_check = {dict(k)["check"]: v for k, v in fam["dqloop_check_violations"].items()}
    assert by_check["categorical_values_check"] == sum(v["constraint_check_type"] == "categorical_values_check"
                                                       for v in violations) == 1

    def key(feature):
        return (("feature", feature), ("partition", "chunk=02"))

    # completeness and feature statistics, computed here from the input frame
    assert fam["dqloop_feature_non_null"][key("income")] == pytest.approx(bad["income"].notna().mean(), abs=1e-12)
    assert fam["dqloop_feature_sample_count"][key("credit_limit")] == bad["credit_limit"].notna().sum()
    assert fam["dqloop_feature_mean"][key("balance")] == pytest.approx(bad["balance"].mean(), rel=1e-9)
    assert fam["dqloop_feature_max"][key("age")] == bad["age"].max()
    assert fam["dqloop_feature_min"][key("balance")] == pytest.approx(bad["balance"].min(), rel=1e-12)
    checks = json.loads((run["out"] / "chunk=02" / "checks.json").read_text())["checks"]
    drift = next(c for c in checks if c["check"] == "baseline_drift_check" and c["feature"] == "balance")
    assert fam["dqloop_feature_baseline_drift"][key("balance")] == pytest.approx(drift["measured"]) and drift["measured"] > 0.1
    acc, lo, hi, n = LABELS["chunk=02"]
    assert (fam["dqloop_labeled_accuracy"][part], fam["dqloop_labeled_accuracy_lower"][part],
            fam["dqloop_labeled_accuracy_upper"][part], fam["dqloop_labeled_count"][part]) == (acc, lo, hi, n)
    # the run's textfile holds both partitions, each family once
    text = (run["root"] / "run.prom").read_text()
    whole = _families(text)
    assert {dict(k)["partition"] for k in whole["dqloop_rows"]} == {"chunk=01", "chunk=02"}
    assert text.count("# TYPE dqloop_rows gauge") == 1


def test_webhook_alert_retried_and_escaped(run):
    hook = run["hook"]
    assert len(hook.bodies) == 2 and hook.bodies[0] == hook.bodies[1]   # a 500, then delivered on the retry
    body = hook.bodies[-1]
    assert set(body) == {"text", "blocks"} and "1 of 2 partitions" in body["text"] and "chunk=02" in body["text"]
    section = body["blocks"][1]["text"]["text"]
    assert "categorical_values_check" in section and "balance" in section
    assert "report.html" in section and "chunk=01" not in json.dumps(body["blocks"][1:])


def test_webhook_down_keeps_reports_and_exits_3_without_leaking_the_url(spark, run, tmp_path, capsys, monkeypatch):
    secret = "http://127.0.0.1:9/services/T000/B000/do-not-print-me"   # port 9 (discard): nothing listens
    url_file = tmp_path / "hook.url"
    url_file.write_text(secret + "\n")
    monkeypatch.setattr(webhook, "BACKOFF", 0.05)
    code = _run(spark, _args(run["root"] / "baseline", run["root"] / "production", tmp_path / "out",
                             webhook_url_file=str(url_file), partition=["chunk=02"]))
    captured = capsys.readouterr()
    assert code == 3
    assert "was not delivered after 4 attempt(s)" in captured.err and str(url_file) in captured.err
    assert "do-not-print-me" not in captured.out + captured.err and "127.0.0.1:9" not in captured.out + captured.err
    names = {f.name for f in (tmp_path / "out" / "chunk=02").iterdir()}
    assert {"report.html", "checks.json", "metrics.prom", "constraint_violations.json", "statistics.json"} <= names
    assert "do-not-print-me" not in "".join(f.read_text() for f in (tmp_path / "out").rglob("*") if f.is_file())
    # the terminal: a violations table on stderr (no colour: not a terminal); stdout one line per partition
    assert re.search(r"chunk=02\s+categorical_values_check\s+region\s+0\.\d+\s+0\.1", captured.err)
    assert "\033[" not in captured.err
    assert captured.out.splitlines() == [captured.out.splitlines()[0]] and captured.out.startswith("chunk=02  rows=")


# --- in the browser -------------------------------------------------------------------------------------------

def test_partition_report_reads_right_in_chromium(run, browser, tmp_path):
    report = run["out"] / "chunk=02" / "report.html"
    w = Watched(browser)
    page = w.page
    page.goto(report.as_uri())
    assert page.locator("#verdict").inner_text() == "Violations found"
    assert page.locator("#rows").inner_text() == f"{ROWS:,}"
    row = page.locator("#violations tbody tr", has_text="categorical_values_check")
    assert row.count() == 1
    cells = row.locator("td").all_inner_texts()
    assert cells[:2] == ["categorical_values_check", "region"]
    assert float(cells[2]) == pytest.approx((run["frames"]["chunk=02"]["region"] == HOSTILE).mean(), abs=1e-3)
    assert HOSTILE in cells[5]                      # the offending value, shown as text (a column left of where
    #                                                 it was: the details column is now the description's disclosure)
    # charts: one per feature with a distribution, drawn with a non-zero size, model outputs apart
    card = page.locator("#inputs .card[data-feature='region']")
    box = card.locator("svg.chart").bounding_box()
    assert box and box["width"] > 100 and box["height"] > 50
    titles = card.locator("svg.chart title").all_text_contents()
    assert any(t.startswith(f"{HOSTILE}: current ") for t in titles)      # the full value, as text, in the tooltip
    assert card.locator("svg.chart text", has_text="(new)").count() == 1
    bars = page.locator("#inputs .card[data-feature='balance'] svg.chart rect.bar")
    assert bars.count() == 24 and bars.first.bounding_box()["width"] > 0
    assert set(page.locator("#outputs .card").evaluate_all("cs => cs.map(c => c.dataset.feature)")) == \
        {"score", "predicted_label"}
    assert page.evaluate("document.scripts.length") == 1      # the sort script; the data added none
    # sorting the checks table by a numeric column
    page.locator("#checks th", has_text="measured").click()
    values = [float(v) for v in page.locator("#checks tbody td:nth-child(4)").evaluate_all(
        "cs => cs.map(c => c.dataset.sort)") if v]
    assert values == sorted(values) and len(values) > 10
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    w.quiet({report.as_uri()})
    w.close()


def _severity(check: dict) -> float | None:
    """The summary's rule (jobs.render.summary): how far past its threshold; None without numbers."""
    m, t = check.get("measured"), check.get("threshold")
    if m is None or t is None:
        return None
    if m > t:
        return m / t
    return (1 - m) / (1 - t) if 0 <= m <= 1 and 0 <= t < 1 else t / m


def test_partition_report_summary_first_in_chromium(run, browser, tmp_path):
    """At 1280x800, without scrolling: the verdict and the features with violations ranked by severity, each
    with its sentence; a violation's derivation opens from its disclosure; numeric axes labels never overlap."""
    report = run["out"] / "chunk=02" / "report.html"
    checks = json.loads((run["out"] / "chunk=02" / "checks.json").read_text())["checks"]
    failed = [c for c in checks if c["status"] == "failed"]
    ratios: dict[str, list[float]] = {}
    for c in failed:
        ratios.setdefault(c["feature"] or "(whole partition)", [])
        if _severity(c) is not None:
            ratios[c["feature"] or "(whole partition)"].append(_severity(c))
    # a feature's worst ratio; a feature whose failed checks have no numbers (a missing column) first
    worst = {f: max(r) if r else float("inf") for f, r in ratios.items()}
    expected = sorted(worst, key=lambda f: (-worst[f], f))
    w = Watched(browser)
    page = w.page
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(report.as_uri())
    assert page.evaluate("window.scrollY") == 0
    verdict = page.locator("#verdict")
    assert verdict.inner_text() == "Violations found" and verdict.is_visible()
    text = page.locator("#verdict-text").inner_text()
    assert text.startswith(f"{len(failed)} of {len(checks)} checks failed in {len(worst)} feature")
    assert f"look first at {expected[0]}" in text
    items = page.locator("#ranked li")
    shown = items.evaluate_all("ls => ls.map(l => l.dataset.feature)")
    assert shown == expected[:8] and len(shown) >= 2
    for i in range(items.count()):
        box = items.nth(i).bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 800, (shown[i], box)   # in view, no scrolling
        sentence = items.nth(i).inner_text()
        assert sentence.endswith(".") and ("against a threshold of" in sentence) == bool(ratios[shown[i]])
    assert verdict.bounding_box()["y"] + verdict.bounding_box()["height"] <= 800
    # the ranked feature links to its card
    items.first.locator("a").click()
    assert page.evaluate("window.scrollY") > 0 and page.url.endswith(f"#feature-{expected[0]}")
    # SageMaker's fixed thresholds have no derivation: the row's disclosure holds the check's details
    row = page.locator("#violations tbody tr", has_text="categorical_values_check")
    disclosure = row.locator("details.derivation")
    assert not disclosure.locator("p").first.is_visible()
    disclosure.locator("summary").click()
    assert disclosure.evaluate("d => d.open") and "unseen_rows=622" in disclosure.locator("p").first.inner_text()
    # numeric charts: the axis labels are horizontal and never overlap
    for chart in page.locator("svg.chart.numeric").all():
        boxes = [t.bounding_box() for t in chart.locator("text.tick").all()]
        assert len(boxes) >= 2
        for a, b in zip(boxes, boxes[1:]):
            assert a["x"] + a["width"] <= b["x"], (chart.get_attribute("aria-label"), a, b)
    page.screenshot(path=str(tmp_path / "summary.png"))
    w.quiet({report.as_uri()})
    w.close()


def test_calibrated_derivation_behind_the_disclosure_in_chromium(spark, run, browser, tmp_path):
    """Calibrated thresholds: each violation row reads without its derivation, which opens from the row's
    disclosure, word for word as checks.json has it."""
    args = _args(run["root"] / "baseline", run["root"] / "production", tmp_path / "out", partition=["chunk=02"])
    args["options"] = dataclasses.replace(args["options"], thresholds=dqloop.Thresholds("calibrated"))
    assert _run(spark, args) == 1
    report = tmp_path / "out" / "chunk=02" / "report.html"
    checks = json.loads((tmp_path / "out" / "chunk=02" / "checks.json").read_text())["checks"]
    drift = next(c for c in checks if c["check"] == "baseline_drift_check" and c["feature"] == "balance")
    derivation = drift["details"]["derivation"]
    assert drift["status"] == "failed" and derivation in drift["description"]
    w = Watched(browser)
    page = w.page
    page.goto(report.as_uri())
    row = page.locator("#violations tbody tr", has_text="balance").filter(has_text="baseline_drift_check")
    terse = row.locator(".terse").inner_text()
    assert derivation not in terse and terse.startswith("Baseline drift distance") and len(terse) < 200
    disclosure = row.locator("details.derivation")
    assert disclosure.locator("summary").inner_text() == "how the threshold was derived"
    assert not disclosure.locator("p").first.is_visible()
    disclosure.locator("summary").click()
    full = disclosure.locator("p").first
    assert full.is_visible() and full.inner_text() == drift["description"]
    w.quiet({report.as_uri()})
    w.close()


def test_index_timeline_with_labels_in_chromium(run, browser, tmp_path):
    out = run["out"]
    result = run_dqloop("report", "--output-root", str(out), "--prometheus-textfile", str(tmp_path / "all.prom"))
    assert result.returncode == 0, result.stderr
    index = out / "index.html"
    w = Watched(browser)
    page = w.page
    page.goto(index.as_uri())
    assert page.locator("#partition-count").inner_text() == "2" and page.locator("#bad-count").inner_text() == "1"
    rows = page.locator("#partitions tbody tr")
    assert rows.count() == 2
    second = rows.nth(1).locator("td").all_inner_texts()
    assert second[0] == "chunk=02" and second[2] == f"{ROWS:,}"
    assert second[4] == "0.72 [0.67, 0.77]" and second[5] == "380"
    for title in ("row count per partition", "labeled accuracy per partition, with its interval",
                  "drift distance per feature and partition", "completeness per feature and partition"):
        box = page.locator(f"svg[aria-label='{title}']").bounding_box()
        assert box and box["width"] > 100 and box["height"] > 50, title
    intervals = page.locator("svg[aria-label^='labeled accuracy'] line.interval")
    assert intervals.count() == 2
    # the interval is drawn from lower to upper: its pixel length is in proportion to hi - lo
    lengths = intervals.evaluate_all("ls => ls.map(l => l.y2.baseVal.value - l.y1.baseVal.value)")
    ratio = [abs(v) for v in lengths]
    assert ratio[1] / ratio[0] == pytest.approx((0.77 - 0.67) / (0.935 - 0.88), rel=0.02)
    page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
    w.quiet({index.as_uri()})
    # the partition link opens its report
    page.locator("#partitions a", has_text="chunk=02").click()
    page.wait_for_load_state()
    assert page.url == (out / "chunk=02" / "report.html").as_uri()
    assert page.locator("#verdict").inner_text() == "Violations found"
    w.close()
    fam = _families((tmp_path / "all.prom").read_text())
    assert fam["dqloop_labeled_accuracy"][(("partition", "chunk=01"),)] == LABELS["chunk=01"][0]


def test_report_command_errors(run, tmp_path, capsys):
    """In-process through the CLI's main (the subprocess path is exercised by the index test)."""
    assert cli_main(["report", "--output-root", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "is not a folder" in err and "fix:" in err
    (tmp_path / "empty").mkdir()
    assert cli_main(["report", "--output-root", str(tmp_path / "empty")]) == 2
    assert "No metrics history" in capsys.readouterr().err
    # one unreadable history file: named, skipped, the index still written from the others
    root = tmp_path / "copy"
    shutil.copytree(run["out"], root)
    (root / "_metrics" / "chunk=09.json").write_text("{not json")
    assert cli_main(["report", "--output-root", str(root)]) == 3
    assert "chunk=09.json" in capsys.readouterr().err
    assert "chunk=02" in (root / "index.html").read_text()
