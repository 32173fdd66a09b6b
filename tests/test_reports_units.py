"""Unit-level edges of the reports: exposition escaping, terminal colour, alert escaping, webhook retry
rules, the page's Content-Security-Policy, distributions on common bins. No Spark."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from constraints.baseline import FeatureBaseline
from constraints.errors import UsageError
from jobs.reporting import Progress
from jobs.webhook import Webhook, post_json, webhook_from
from jobs.render import alert_payload, exposition, history_samples, index_page, violations_table
from jobs.render.distributions import category_shares, numeric_bins
from jobs.render.html import CSP, SORT_SCRIPT, STYLE, page

NASTY = ['a"b', "back\\slash", "line\nfeed", "<script>alert(1)</script>", "Česko \u2603", "x}y{z=1,"]


def test_exposition_escapes_labels_for_the_official_parser():
    rows = [{"feature": name, "metric": "completeness", "value": 0.5 + i / 100} for i, name in enumerate(NASTY)]
    rows += [{"feature": "*", "metric": "row_count", "value": 10.0},
             {"feature": "*", "metric": "labeled_accuracy", "value": 0.8},
             {"feature": "f", "metric": "some new-metric", "value": float("nan")}]
    text = exposition(history_samples('day=2026-01-01/"q"', rows))
    families = {f.name: f for f in text_string_to_metric_families(text)}
    got = {s.labels["feature"]: s.value for s in families["dqloop_feature_non_null"].samples}
    assert got == {name: pytest.approx(0.5 + i / 100) for i, name in enumerate(NASTY)}
    assert families["dqloop_rows"].samples[0].labels == {"partition": 'day=2026-01-01/"q"'}
    assert families["dqloop_labeled_accuracy"].samples[0].value == 0.8
    assert np.isnan(families["dqloop_feature_some_new_metric"].samples[0].value)
    assert all(f.type == "gauge" for f in families.values())


def test_terminal_table_colour_only_on_a_terminal():
    doc = {"partition": "p=1", "checks": [
        {"check": "completeness_check", "feature": "a\tb\nc", "status": "failed", "measured": 0.5, "threshold": 0.9},
        {"check": "data_type_check", "feature": "z", "status": "passed", "measured": 1.0, "threshold": 0.9}]}
    plain = violations_table([doc])
    assert plain.splitlines()[1].split() == ["p=1", "completeness_check", "a", "b", "c", "0.5", "0.9"]
    assert "\033[" not in plain and "data_type_check" not in plain
    assert "\033[31m" in violations_table([doc], colour=True)
    assert violations_table([{"partition": "q", "checks": []}]) == ""

    class Tty(io.StringIO):
        def isatty(self):
            return True

    from jobs.render.terminal import use_colour
    assert use_colour(Tty(), {}) and not use_colour(Tty(), {"NO_COLOR": "1"}) and not use_colour(io.StringIO(), {})
    logs, tty = io.StringIO(), Tty()
    for stream in (logs, tty):
        steps = Progress(3, stream)
        steps.step(1, "chunk=01")
        steps.step(2, "chunk=02")
        steps.clear()
    assert logs.getvalue() == "[1/3] validating chunk=01\n[2/3] validating chunk=02\n"
    assert "\r\033[K[2/3] validating chunk=02" in tty.getvalue() and "\n" not in tty.getvalue()
    single = io.StringIO()
    Progress(1, single).step(1, "only")
    assert single.getvalue() == ""


def test_alert_escapes_markup_and_keeps_slack_limits():
    docs = [{"partition": f"p<{i}>", "rows": 5, "checks": [
        {"check": "categorical_values_check", "feature": "<@channel>", "status": "failed", "measured": 0.2,
         "threshold": 0.1}] * 8} for i in range(12)]
    body = alert_payload(docs, 20, {"p<0>": "/out/p<0>/report.html"})
    raw = json.dumps(body)
    assert "<@channel>" not in raw and "&lt;@channel&gt;" in raw and "p&lt;0&gt;" in body["text"]
    assert body["text"].startswith("dqloop: violations in 12 of 20 partitions")
    assert len(body["blocks"]) == 12 and "and 2 more partitions" in raw   # header, 10 partitions, the rest
    assert "and 3 more" in body["blocks"][1]["text"]["text"] and "report: /out/p&lt;0&gt;" in raw


class _Server:
    def __init__(self, status: int, headers: dict[str, str] | None = None):
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers["Content-Length"]))
                outer.calls += 1
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook/SECRET"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_webhook_retry_rules():
    waits: list[float] = []
    gone = _Server(404)
    d = post_json(Webhook(gone.url, "$X"), {"text": "t"}, sleep=waits.append)
    assert (d.ok, d.attempts, gone.calls, waits) == (False, 1, 1, [])   # a wrong URL: retrying cannot help
    assert "SECRET" not in d.detail and "404" in d.detail
    gone.close()
    busy = _Server(429, {"Retry-After": "2"})
    d = post_json(Webhook(busy.url, "$X"), {"text": "t"}, attempts=3, sleep=waits.append)
    assert (d.ok, d.attempts, busy.calls, waits) == (False, 3, 3, [2.0, 2.0])
    busy.close()
    waits.clear()
    down = _Server(503)
    post_json(Webhook(down.url, "$X"), {"text": "t"}, attempts=4, backoff=0.5, sleep=waits.append)
    assert waits == [0.5, 1.0, 2.0]
    down.close()
    assert "SECRET" not in repr(Webhook("https://hooks.example/SECRET", "$X"))


def test_webhook_configuration(tmp_path):
    assert webhook_from(None, {}) is None
    assert webhook_from(None, {"DQLOOP_WEBHOOK_URL": " https://h/x \n"}).url == "https://h/x"
    f = tmp_path / "url"
    f.write_text("https://h/from-file\n")
    assert webhook_from(str(f), {"DQLOOP_WEBHOOK_URL": "https://h/env"}).url == "https://h/from-file"
    with pytest.raises(UsageError, match="does not exist"):
        webhook_from(str(tmp_path / "missing"), {})
    f.write_text("hooks.example/no-scheme-SECRET")
    with pytest.raises(UsageError) as err:
        webhook_from(str(f), {})
    assert "SECRET" not in str(err.value)


def test_page_policy_pins_its_own_style_and_script():
    def sha(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert f"style-src {sha(STYLE)};" in CSP and f"script-src {sha(SORT_SCRIPT)};" in CSP
    assert "default-src 'none'" in CSP and "unsafe-inline" not in CSP
    doc = page("<b>t</b>", "<p>x</p>")
    assert "<title>&lt;b&gt;t&lt;/b&gt;</title>" in doc
    assert re.findall(r"<style>(.*?)</style>", doc, re.S) == [STYLE]
    assert re.findall(r"<script>(.*?)</script>", doc, re.S) == [SORT_SCRIPT]


def test_numeric_bins_are_the_shares_on_the_baseline_buckets():
    rng = np.random.default_rng(1)
    base, cur = rng.normal(0, 1, 500), rng.normal(0.5, 1, 400)
    edges = np.linspace(base.min(), base.max(), 11)
    f = FeatureBaseline("x", "Fractional", 500, kll_edges=tuple(edges), kll_levels=(tuple(base),))
    stats = {"numerical_statistics": {"distribution": {"kll": {"sketch": {"data": [list(cur)]}}}}}
    bins = numeric_bins(f, stats)

    def shares(x):   # computed here: below, the 10 buckets (last closed), above
        inner, _ = np.histogram(x[(x >= edges[0]) & (x <= edges[-1])], bins=edges)
        return np.concatenate([[np.sum(x < edges[0])], inner, [np.sum(x > edges[-1])]]) / len(x)

    assert np.allclose(bins.baseline, shares(base)) and np.allclose(bins.current, shares(cur))
    assert len(bins.labels) == 12 and bins.labels[0].startswith("< ")
    assert numeric_bins(f, {"numerical_statistics": {}}) is None


def test_category_shares_keep_unseen_values_in_view():
    f = FeatureBaseline("c", "String", 100, categories={f"v{i:02d}": 100 - i for i in range(30)})
    current = [{"value": f"v{i:02d}", "count": 10} for i in range(30)] + [{"value": "<new>", "count": 1}]
    stats = {"string_statistics": {"distribution": {"categorical": {"buckets": current}}}}
    cats = category_shares(f, stats, limit=8)
    values = [r[0] for r in cats.rows]
    assert "<new>" in values and [r[3] for r in cats.rows if r[0] == "<new>"] == [True]
    assert values[-1] == f"other ({cats.merged})" and cats.merged == 31 - 8
    assert sum(r[1] for r in cats.rows) == pytest.approx(1.0) and sum(r[2] for r in cats.rows) == pytest.approx(1.0)


def test_index_without_reports_or_labels():
    history = pd.DataFrame([
        {"partition": "d=2", "run_time": "t", "feature": "*", "metric": "row_count", "value": 5.0},
        {"partition": "d=1", "run_time": "t", "feature": "*", "metric": "row_count", "value": 4.0},
        {"partition": "d=1", "run_time": "t", "feature": "<x>", "metric": "baseline_drift", "value": 0.3}])
    doc = index_page(history, {})
    assert "<a href" not in doc and "labeled accuracy per partition" not in doc
    assert "&lt;x&gt;" in doc and "<x>" not in doc
    assert doc.index(">d=1<") < doc.index(">d=2<")
    empty = index_page(pd.DataFrame(columns=["partition", "run_time", "feature", "metric", "value"]), {})
    assert "No partition in the metrics history yet" in empty


def test_summary_ranks_features_by_how_far_past_the_threshold():
    from jobs.render.summary import ranked, terse
    checks = [
        {"check": "baseline_drift_check", "feature": "a", "status": "failed", "measured": 0.3, "threshold": 0.03},
        {"check": "completeness_check", "feature": "b", "status": "failed", "measured": 0.8, "threshold": 0.99},
        {"check": "history_check", "feature": "a", "status": "failed", "measured": 2.0, "threshold": 1.0},
        {"check": "missing_column_check", "feature": "c", "status": "failed", "measured": None, "threshold": None,
         "description": "Baseline column 'c' is missing from the partition."},
        {"check": "baseline_drift_check", "feature": "d", "status": "passed", "measured": 0.01, "threshold": 0.03},
        {"check": "row_count_check", "feature": None, "status": "failed", "measured": 10.0, "threshold": 40.0},
        {"check": "suite_constraint_check", "feature": "e", "status": "failed", "measured": None, "threshold": None,
         "description": "'e' in {x, y}: violated"},
        {"check": "categorical_values_check", "feature": "e", "status": "failed", "measured": 0.2, "threshold": 0.1}]
    found = ranked(checks)
    # c: structural (no numbers); b: missing share 0.2 against 0.01 allowed = 20x; a: 10x (its worst); whole
    # partition: 4x; e: 2x (its check without numbers does not make it structural)
    assert [f.feature for f in found] == ["c", "b", "a", "(whole partition)", "e"]
    assert [f.times for f in found] == ["structural", "20\u00d7", "10\u00d7", "4\u00d7", "2\u00d7"]
    assert found[-1].worst["check"] == "categorical_values_check" and found[-1].checks[1] == "suite_constraint_check"
    assert found[2].checks == ("baseline_drift_check", "history_check")
    assert found[2].sentence == ("distribution drifted from the baseline: 0.3 against a threshold of 0.03; "
                                 "also unusual against its history.")
    assert found[0].sentence == "Baseline column 'c' is missing from the partition."
    derivation = "max of c(0.003) = 1.8 x sqrt(1/2 + 1/3) = 0.02"
    assert terse(f"Distance 0.3 is above the threshold 0.03: {derivation}. PSI 0.2.", derivation) == \
        "Distance 0.3 is above the threshold 0.03. PSI 0.2."
    assert terse(f"Observed 80%, threshold 99% (calibrated at 5 rows: {derivation}).", derivation) == \
        "Observed 80%, threshold 99% (calibrated at 5 rows)."
    assert terse(f"Match 80% ({derivation}). Observed 80%.", derivation) == "Match 80%. Observed 80%."
    assert terse("No derivation here.", None) == "No derivation here."


def test_axis_labels_of_a_wide_range_feature_do_not_overlap():
    from jobs.render.charts import edge_ticks
    from jobs.render.html import compact
    assert [compact(x) for x in (0.0, 0.00304, 412.0, 4170.0, 233_000.0, -45_000.0, 2.5e6, 3e9)] == \
        ["0", "0.00304", "412", "4.17k", "233k", "-45k", "2.5M", "3G"]
    edges = list(np.linspace(7435.0, 2.33e7, 11))
    for step in (33.0, 20.0, 12.0):
        ticks = edge_ticks(edges, step)
        width = max(len(t) for _, t in ticks) * 5.4 + 6
        gaps = [(j - i) * step for (i, _), (j, _) in zip(ticks, ticks[1:])]
        assert min(gaps) >= width and ticks[0][0] == 0 and ticks[-1][0] == len(edges) - 1


def test_index_shows_estimated_quality_with_intervals():
    rows = [{"partition": p, "run_time": "t", "feature": "*", "metric": m, "value": v}
            for p, acc in (("d=1", 0.91), ("d=2", 0.83)) for m, v in
            (("row_count", 100.0), ("estimated_accuracy", acc), ("estimated_accuracy_lower", acc - 0.02),
             ("estimated_accuracy_upper", acc + 0.02), ("estimated_macro_f1", acc - 0.1))]
    doc = index_page(pd.DataFrame(rows), {"d=2": "d=2/report.html"})
    assert "Estimated quality (no labels)" in doc and "estimated accuracy per partition, with its interval" in doc
    table = doc[doc.index('id="estimated-partitions"'):]
    assert "0.83 [0.81, 0.85]" in table and "0.91 [0.89, 0.93]" in table and "estimated macro f1" in table
    assert '<a href="d=2/report.html">d=2</a>' in table
    plain = index_page(pd.DataFrame([r for r in rows if not r["metric"].startswith("estimated")]), {})
    assert "Estimated quality" not in plain
