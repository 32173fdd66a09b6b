"""canary.html and impact.html opened in headless Chromium (Debian's, through Playwright): verdicts, tables,
the three CausalImpact panels drawn to scale, a hostile arm name shown as text, nothing loaded from anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import Watched, run_dqloop

HOSTILE = "<script>alert(1)</script>"
FIXTURES = Path(__file__).parent / "fixtures" / "causalimpact"


def test_canary_page_in_chromium(browser, tmp_path):
    rng = np.random.default_rng(8)
    n = 4000
    arm = np.where(rng.random(n) < 0.5, HOSTILE, "control")
    truth = rng.choice(["a", "b", "c"], n)
    right = rng.random(n) < np.where(arm == HOSTILE, 0.7, 0.9)
    pred = np.where(right, truth, np.where(truth == "a", "b", "a"))
    part = tmp_path / "hour=01"
    part.mkdir()
    pd.DataFrame({"id": np.arange(n), "arm": arm, "predicted_label": pred}).to_parquet(part / "p.parquet")
    pd.DataFrame({"id": np.arange(n), "label": truth}).to_parquet(tmp_path / "truth.parquet")
    out = tmp_path / "out"
    r = run_dqloop("canary", "--input", str(part), "--output-root", str(out), "--arm-column", "arm",
                   "--candidate-arm", HOSTILE, "--labels", str(tmp_path / "truth.parquet"))
    assert r.returncode == 1, r.stderr
    doc = json.loads((out / "hour=01" / "canary.json").read_text())
    html = out / "hour=01" / "canary.html"
    w = Watched(browser)
    page = w.page
    page.goto(html.as_uri())
    assert page.locator("#verdict").inner_text() == "roll back"
    assert page.locator("h1").inner_text() == f"Canary: {HOSTILE} against control"
    assert page.locator("#reasons li").first.inner_text().startswith("candidate is less accurate than control")
    cells = page.locator("#accuracy tbody tr").nth(1).locator("td").all_inner_texts()
    assert cells[:2] == ["candidate", HOSTILE]
    assert cells[2] == f"{100 * doc['accuracy']['candidate']['accuracy']:.2f}%"
    # multiclass: accuracy twice (always-valid, this look), then recall and precision per class (Newcombe)
    assert page.locator("#differences tbody tr").count() == 2 + 2 * 3
    assert page.locator("#differences tbody tr").nth(2).locator("td").first.inner_text() == "recall[a]"
    both = pd.DataFrame({"arm": arm, "truth": truth, "pred": pred})
    from statsmodels.stats.proportion import confint_proportions_2indep

    cand, ctrl = both[both.arm == HOSTILE], both[both.arm == "control"]
    xb, nb = int(((cand.truth == "c") & (cand.pred == "c")).sum()), int((cand.truth == "c").sum())
    xa, na = int(((ctrl.truth == "c") & (ctrl.pred == "c")).sum()), int((ctrl.truth == "c").sum())
    d = doc["metric_differences"]["recall[c]"]
    assert (d["lower"], d["upper"]) == pytest.approx(confint_proportions_2indep(xb, nb, xa, na, method="newcomb"))
    assert page.evaluate("document.scripts.length") == 1
    box = page.locator("svg[aria-label^='accuracy difference per look']").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100
    page.screenshot(path=str(tmp_path / "canary.png"), full_page=True)
    w.quiet({html.as_uri()})
    w.close()


def test_impact_page_in_chromium(browser, tmp_path):
    out = tmp_path / "impact"
    r = run_dqloop("impact", "--series", str(FIXTURES / "arma_data.csv"), "--value-column", "y", "--control-columns",
                   "X", "--intervention", "70", "--output", str(out), "--title", f"impact {HOSTILE}")
    assert r.returncode == 0, r.stderr
    doc = json.loads((out / "impact.json").read_text())
    html = out / "impact.html"
    w = Watched(browser)
    page = w.page
    page.goto(html.as_uri())
    assert page.locator("h1").inner_text() == f"impact {HOSTILE}"
    assert page.locator("#verdict").inner_text() == "effect"
    rows = page.locator("#summary tbody tr")
    assert rows.count() == 8
    assert rows.nth(2).locator("td").all_inner_texts()[0] == "average: absolute effect"
    assert float(rows.nth(2).locator("td").nth(1).get_attribute("data-sort")) == pytest.approx(
        doc["average"]["absolute_effect"])
    for label in ("observed and counterfactual", "pointwise effect", "cumulative effect"):
        svg = page.locator(f"svg[aria-label='{label}']")
        box = svg.bounding_box()
        assert box and box["width"] > 600 and box["height"] > 150, label
        assert svg.locator("polygon.band").count() == 1 and svg.locator("line.intervention").count() == 1
    # the counterfactual band covers the 30 post points only, and the observed line all 100
    first = page.locator("svg[aria-label='observed and counterfactual']")
    observed = first.locator("polyline[data-series='observed']").get_attribute("points").split()
    counterfactual = first.locator("polyline[data-series='counterfactual']").get_attribute("points").split()
    assert len(observed) == 100 and len(counterfactual) == 30
    band_points = first.locator("polygon.band").get_attribute("points").split()
    assert len(band_points) == 60
    # drawn to scale: the cumulative panel's last band height is in proportion to its interval
    x_of = lambda p: float(p.split(",")[0])  # noqa: E731
    assert x_of(counterfactual[0]) > x_of(observed[69])
    page.screenshot(path=str(tmp_path / "impact.png"), full_page=True)
    w.quiet({html.as_uri()})
    w.close()
