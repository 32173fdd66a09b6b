"""The index page's results across features (issue 14): per partition the domain classifier's drift
coefficient and AUROC, correlation drift's failed pairs, the reconstruction error and the anomalous rows'
share, equal to the checks.json of a real validate run (real Spark and Deequ), read in headless Chromium."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

import dqloop
from conftest import Watched
from helpers import write_parquet
from jobs.render.cross_feature import cells, section


def _frame(rho: float, rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    return pd.DataFrame({"x": x, "y": rho * x + math.sqrt(1 - rho * rho) * rng.normal(size=rows),
                         "z": rng.normal(size=rows), "c": rng.choice(["a", "b", "c"], rows)})


def _numbers(text: str) -> list[float]:
    return [float(v.replace(",", "")) for v in re.findall(r"-?[\d,]*\.?\d+(?:e[-+]?\d+)?", text)]


@pytest.fixture(scope="module")
def backfill(spark, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("index_cross")
    dqloop.baseline(str(write_parquet(_frame(0.8, 8_000, 1), tmp / "train")), output=str(tmp / "b"), spark=spark)
    write_parquet(_frame(0.8, 2_000, 2), tmp / "table" / "chunk=01")
    write_parquet(_frame(-0.8, 2_000, 3), tmp / "table" / "chunk=02")   # x ~ y flips: every marginal the same
    dqloop.validate(str(tmp / "table"), str(tmp / "b"), output=str(tmp / "out"), spark=spark)
    dqloop.build_index(str(tmp / "out"))
    checks = {p: json.loads((tmp / "out" / p / "checks.json").read_text())["checks"] for p in ("chunk=01", "chunk=02")}
    return {"out": tmp / "out", "checks": checks}


def _expected(checks: list[dict]) -> dict:
    def one(name):
        (c,) = [c for c in checks if c["check"] == name]
        return c

    domain = one("domain_classifier_check")
    pairs = [c for c in checks if c["check"] == "correlation_drift_check"]
    return {"coefficient": domain["details"]["drift_coefficient"], "auroc": domain["details"]["auroc"],
            "domain_failed": domain["status"] == "failed",
            "pairs": len({c["feature"] for c in pairs}),
            "failed_pairs": len({c["feature"] for c in pairs if c["status"] == "failed"}),
            "error": one("reconstruction_error_check")["measured"], "share": one("anomaly_share_check")["measured"],
            "reconstruction_failed": any(one(n)["status"] == "failed"
                                         for n in ("reconstruction_error_check", "anomaly_share_check"))}


def test_index_carries_the_checks_across_features_of_each_partition(backfill, browser, tmp_path):
    index = backfill["out"] / "index.html"
    w = Watched(browser)
    page = w.page
    page.goto(index.as_uri())
    heads = page.locator("#partitions thead th").all_inner_texts()
    assert heads[-3:] == ["drift coefficient [AUROC]", "correlation pairs failed",
                          "reconstruction error [anomalous rows]"]
    rows = page.locator("#partitions tbody tr")
    assert rows.count() == 2
    for i, p in enumerate(("chunk=01", "chunk=02")):
        e = _expected(backfill["checks"][p])
        tds = rows.nth(i).locator("td")
        texts = tds.all_inner_texts()
        assert texts[0] == p
        coefficient, auroc = _numbers(texts[-3])
        assert coefficient == pytest.approx(e["coefficient"], rel=5e-3, abs=1e-9)
        assert auroc == pytest.approx(e["auroc"], rel=5e-3)
        assert _numbers(texts[-2]) == [e["failed_pairs"], e["pairs"]] and texts[-2].split()[1] == "of"
        error, share = _numbers(texts[-1])
        assert error == pytest.approx(e["error"], rel=5e-3)
        assert share / 100 == pytest.approx(e["share"], rel=5e-3, abs=1e-12)   # shown in percent
        classes = [tds.nth(len(texts) + k).get_attribute("class") for k in (-3, -2, -1)]
        assert ["failed" in c for c in classes] == [e["domain_failed"], e["failed_pairs"] > 0,
                                                   e["reconstruction_failed"]]
    flipped = _expected(backfill["checks"]["chunk=02"])
    same = _expected(backfill["checks"]["chunk=01"])
    assert flipped["failed_pairs"] >= 1 and flipped["domain_failed"] and same["failed_pairs"] == 0
    assert page.locator("h2#across-features").is_visible()
    box = page.locator("svg[aria-label^=\"domain classifier's drift coefficient\"]").bounding_box()
    assert box and box["width"] > 100 and box["height"] > 50
    page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
    w.quiet({index.as_uri()})
    w.close()


def test_cross_feature_cells_and_section_from_history_values():
    run = {("p", "domain_drift_coefficient"): 41.5, ("p", "domain_auroc"): 0.7213, ("p", "domain_failed"): 1.0,
           ("p", "correlation_pairs"): 6.0, ("p", "correlation_failed_pairs"): 2.0,
           ("p", "reconstruction_error"): 0.31234, ("p", "anomaly_share"): 0.0125,
           ("p", "reconstruction_error_failed"): 0.0, ("p", "anomaly_share_failed"): 0.0,
           ("q", "row_count"): 10.0}
    domain, pairs, error = cells("p", run)
    assert (domain.html, pairs.html, error.html) == ("41.5 [0.721]", "2 of 6", "0.312 [1.25%]")
    assert domain.cls == pairs.cls == "num failed" and error.cls == "num"
    assert [c.html for c in cells("q", run)] == ["-", "-", "-"]   # a partition validated without them
    assert section(["q"], {("q", "row_count"): 10.0}, [None]) == []
    assert "Across features" in "".join(section(["p", "q"], run, [None, None]))
