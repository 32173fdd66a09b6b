"""dqloop canary: statistics units checked against statsmodels/scipy, a traffic-split canary over two hourly
looks and a shadow canary through the CLI, the shadow one with labels pulled from a real Label Studio server
(started for the module by `dqloop label server start`, stopped by its PID)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from conftest import REPO, label_studio_server, run_dqloop

FLIP = {"churn": "stay", "stay": "churn"}


# -- units -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("xa,na,xb,nb", [(80, 100, 70, 90), (5, 40, 0, 35), (190, 200, 200, 200), (1, 3, 2, 3),
                                         (412, 500, 388, 510)])
def test_newcombe_matches_statsmodels(xa, na, xb, nb):
    from canary import newcombe

    got = newcombe(xa / na, na, xb / nb, nb, 0.95)
    lo, hi = confint_proportions_2indep(xb, nb, xa, na, method="newcomb", compare="diff", alpha=0.05)
    assert (got.lower, got.upper) == pytest.approx((lo, hi), abs=1e-12)
    assert got.value == pytest.approx(xb / nb - xa / na)


def test_arm_interval_is_wilson_as_statsmodels():
    from canary import Settings, unpaired

    a = np.r_[np.ones(70), np.zeros(30)]
    b = np.r_[np.ones(40), np.zeros(20)]
    lab = unpaired(a, np.ones(100), b, np.ones(60), Settings())
    assert (lab.control.lower, lab.control.upper) == pytest.approx(proportion_confint(70, 100, method="wilson"))
    assert (lab.candidate.lower, lab.candidate.upper) == pytest.approx(proportion_confint(40, 60, method="wilson"))
    assert lab.control.effective == 100 and lab.candidate.labeled == 60


def test_confidence_sequence_boundary_is_where_the_mixture_ratio_reaches_one_over_alpha():
    """At d_hat +- h the normal-mixture likelihood ratio, integrated numerically here, equals 1/alpha."""
    from canary import half_width

    for v, tau, alpha in ((0.0004, 0.02, 0.05), (1e-5, 0.01, 0.1), (0.01, 0.05, 0.01)):
        h = half_width(v, tau, alpha)
        theta = np.linspace(-12 * tau, 12 * tau, 200_001)
        prior = stats.norm.pdf(theta, 0, tau)
        # Lambda(x) = integral N(x; theta, v) prior(theta) dtheta / N(x; 0, v) at an estimate x = h from theta_0 = 0
        ratio = np.trapezoid(stats.norm.pdf(h, theta, math.sqrt(v)) * prior, theta) / stats.norm.pdf(h, 0, math.sqrt(v))
        assert ratio == pytest.approx(1 / alpha, rel=1e-6)


def test_labels_needed_is_the_smallest_n_that_reaches_the_power():
    from canary import half_width, labels_needed

    var, effect, tau, alpha, power = 0.25, 0.02, 0.02, 0.05, 0.8
    n = labels_needed(var, effect, tau, alpha, power)

    def reached(k):  # power of the one look at k labels: P(estimate + h < 0) when the truth is -effect
        return stats.norm.cdf((effect - half_width(var / k, tau, alpha)) / math.sqrt(var / k))
    assert reached(n) >= power > reached(n - 1)
    assert labels_needed(var, 0.0, tau, alpha, power) is None


def test_paired_uses_mcnemar_on_the_discordant_pairs():
    from canary import Settings, paired

    rng = np.random.default_rng(3)
    ca = rng.random(300) < 0.8
    cb = np.where(rng.random(300) < 0.1, ~ca, ca)
    lab = paired(ca, cb, np.ones(300), Settings())
    b, c = int(np.sum(ca & ~cb)), int(np.sum(~ca & cb))
    assert (lab.mcnemar.a_only_correct, lab.mcnemar.b_only_correct) == (b, c)
    assert lab.mcnemar.p_value == pytest.approx(sm_mcnemar([[0, b], [c, 0]], exact=True).pvalue)
    assert lab.sequence.value == pytest.approx(cb.mean() - ca.mean())


def test_weighted_labels_enter_with_hajek_and_kish():
    """Labels drawn with unequal inclusion probabilities (dqloop label push): weighted accuracy and Kish's effective
    size, and Newcombe's interval on them (statsmodels' Wilson limits at that size)."""
    from canary import Settings, unpaired

    rng = np.random.default_rng(4)
    ca, cb = (rng.random(120) < 0.8).astype(float), (rng.random(90) < 0.7).astype(float)
    wa, wb = rng.uniform(1, 5, 120), rng.uniform(1, 5, 90)
    lab = unpaired(ca, wa, cb, wb, Settings())
    pa, pb = np.sum(wa * ca) / wa.sum(), np.sum(wb * cb) / wb.sum()
    na, nb = wa.sum() ** 2 / np.sum(wa ** 2), wb.sum() ** 2 / np.sum(wb ** 2)
    assert lab.control.accuracy == pytest.approx(pa) and lab.control.effective == pytest.approx(na)
    assert lab.candidate.effective == pytest.approx(nb) and nb < 90
    la, ua = proportion_confint(pa * na, na, method="wilson")
    lb, ub = proportion_confint(pb * nb, nb, method="wilson")
    d = pb - pa
    assert lab.fixed.lower == pytest.approx(d - math.sqrt((pb - lb) ** 2 + (ua - pa) ** 2))
    assert lab.fixed.upper == pytest.approx(d + math.sqrt((ub - pb) ** 2 + (pa - la) ** 2))


def test_verdicts_from_the_sequence():
    from canary import PROMOTE, ROLL_BACK, WATCH, Settings, unpaired, verdict

    s = Settings()
    ones = lambda n, k: np.r_[np.ones(k), np.zeros(n - k)]  # noqa: E731
    worse = unpaired(ones(4000, 3600), np.ones(4000), ones(4000, 3200), np.ones(4000), s)
    assert verdict(worse, [], s, 1).decision == ROLL_BACK and verdict(worse, [], s, 1).exit_code == 1
    same = unpaired(ones(200_000, 170_000), np.ones(200_000), ones(200_000, 170_000), np.ones(200_000), s)
    assert verdict(same, [], s, 3).decision == PROMOTE
    few = unpaired(ones(100, 85), np.ones(100), ones(100, 84), np.ones(100), s)
    v = verdict(few, [], s, 1)
    assert v.decision == WATCH and v.exit_code == 0 and "labels still needed" in v.reasons[1]
    assert verdict(None, [], s, 1).decision == WATCH


# -- traffic split through the CLI -------------------------------------------------------------------------------
def _hour(folder: Path, seed: int, n: int, acc_control: float, acc_canary: float, start: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.where(rng.random(n) < 0.4, "canary", "control")
    truth = rng.choice(["churn", "stay"], n, p=[0.3, 0.7])
    right = rng.random(n) < np.where(arm == "canary", acc_canary, acc_control)
    pred = np.where(right, truth, pd.Series(truth).map(FLIP).to_numpy())
    score = np.clip(np.where(pred == "churn", 0.7, 0.3) + rng.normal(0, 0.1, n), 0, 1)
    frame = pd.DataFrame({"id": np.arange(start, start + n), "arm": arm, "predicted_label": pred, "score": score,
                          "truth": truth})
    folder.mkdir(parents=True)
    frame.drop(columns="truth").to_parquet(folder / "part-0.parquet", index=False)
    return frame


def _families(text: str) -> dict:
    return {f.name: {tuple(sorted(s.labels.items())): s.value for s in f.samples}
            for f in text_string_to_metric_families(text)}


def test_traffic_split_two_looks_roll_back(tmp_path):
    table, out = tmp_path / "predictions", tmp_path / "canary"
    h1 = _hour(table / "hour=01", 1, 3000, 0.9, 0.8, 0)
    h2 = _hour(table / "hour=02", 2, 3000, 0.9, 0.8, 3000)
    for name, frame in (("hour=01", h1), ("hour=02", h2)):
        frame.sample(1200, random_state=0)[["id", "truth"]].rename(columns={"truth": "label"}).to_csv(
            tmp_path / f"{name}.csv", index=False)
    first = run_dqloop("canary", "--input", str(table / "hour=01"), "--output-root", str(out), "--arm-column", "arm",
                       "--labels", str(tmp_path / "hour=01.csv"), "--score-column", "score")
    assert first.returncode in (0, 1), first.stderr
    doc1 = json.loads((out / "hour=01" / "canary.json").read_text())
    assert doc1["look"] == 1 and doc1["mode"] == "traffic-split"

    second = run_dqloop("canary", "--input", str(table / "hour=02"), "--output-root", str(out), "--arm-column",
                        "arm", "--labels", str(tmp_path / "hour=02.csv"), "--score-column", "score",
                        "--prometheus-textfile", str(tmp_path / "canary.prom"))
    doc = json.loads((out / "hour=02" / "canary.json").read_text())
    assert doc["look"] == 2 and [lk["partition"] for lk in doc["looks"]] == ["hour=01", "hour=02"]
    # both looks' labels, computed here from the data: accuracy per arm and Newcombe's interval (statsmodels)
    both = pd.concat([h1.merge(pd.read_csv(tmp_path / "hour=01.csv"), on="id"),
                      h2.merge(pd.read_csv(tmp_path / "hour=02.csv"), on="id")])
    right = both["label"] == both["predicted_label"]
    xa, na = int(right[both.arm == "control"].sum()), int((both.arm == "control").sum())
    xb, nb = int(right[both.arm == "canary"].sum()), int((both.arm == "canary").sum())
    acc = doc["accuracy"]
    assert acc["control"]["accuracy"] == pytest.approx(xa / na) and acc["control"]["labeled"] == na
    assert acc["candidate"]["accuracy"] == pytest.approx(xb / nb) and acc["labeled"] == 2400
    lo, hi = confint_proportions_2indep(xb, nb, xa, na, method="newcomb", compare="diff")
    assert (acc["difference"]["lower"], acc["difference"]["upper"]) == pytest.approx((lo, hi))
    seq = acc["sequence"]
    assert seq["lower"] < acc["difference"]["lower"] and seq["upper"] > acc["difference"]["upper"]  # wider: always valid
    # a 10-point drop on 2,400 labels: rolled back, exit 1, said first on stdout
    assert doc["verdict"]["decision"] == "roll back" and second.returncode == 1, second.stdout + second.stderr
    assert second.stdout.startswith("canary hour=02: roll back (look 2")
    assert seq["upper"] < 0
    m = doc["metrics"]["candidate"]["binary_classification_metrics"]
    assert m["accuracy"]["value"] == pytest.approx(xb / nb)
    canary_rows = both[both.arm == "canary"]
    tp = ((canary_rows.label == "churn") & (canary_rows.predicted_label == "churn")).sum()
    assert m["recall"]["value"] == pytest.approx(tp / (canary_rows.label == "churn").sum())
    assert doc["positive_label"] == "churn" and set(doc["metric_differences"]) == {"precision", "recall",
                                                                                  "false_positive_rate"}
    # label-free: shares by chi-square, scores by KS (scipy), on this look's partition
    shares, scores = doc["signals"]
    counts = pd.crosstab(h2.arm, h2.predicted_label)
    assert shares["p_value"] == pytest.approx(stats.chi2_contingency(counts.to_numpy(), correction=False).pvalue)
    ks = stats.ks_2samp(h2.score[h2.arm == "control"], h2.score[h2.arm == "canary"])
    assert scores["value"] == pytest.approx(ks.statistic) and scores["p_value"] == pytest.approx(ks.pvalue)
    # Prometheus text: parses, the verdict gauge says roll back
    fam = _families((tmp_path / "canary.prom").read_text())
    assert fam["dqloop_canary_verdict"][(("candidate", "canary"), ("decision", "roll back"),
                                         ("partition", "hour=02"))] == 1.0
    assert fam["dqloop_canary_accuracy_difference_upper"][(("candidate", "canary"), ("partition", "hour=02"))] < 0
    assert (out / "hour=02" / "canary.prom").read_text() == (tmp_path / "canary.prom").read_text()
    # a look run again replaces its partition's labels instead of counting them twice
    again = run_dqloop("canary", "--input", str(table / "hour=02"), "--output-root", str(out), "--arm-column",
                       "arm", "--labels", str(tmp_path / "hour=02.csv"))
    assert again.returncode == 1
    doc3 = json.loads((out / "hour=02" / "canary.json").read_text())
    assert doc3["look"] == 3 and doc3["accuracy"]["labeled"] == 2400
    from jobs.canary_state import labeled_file
    assert len(pd.read_parquet(labeled_file(out))) == 2400
    assert sorted(f.name for f in (out / "_canary").iterdir()) == sorted(["looks.json", labeled_file(out).name])


def test_canary_without_labels_keeps_watching_and_usage_errors(tmp_path):
    table = tmp_path / "p"
    _hour(table / "hour=01", 5, 500, 0.9, 0.9, 0)
    r = run_dqloop("canary", "--input", str(table / "hour=01"), "--output-root", str(tmp_path / "o"),
                   "--arm-column", "arm")
    assert r.returncode == 0 and "keep watching" in r.stdout.splitlines()[0] and "no labeled rows" in r.stdout
    bad = run_dqloop("canary", "--input", str(table / "hour=01"), "--output-root", str(tmp_path / "o"),
                     "--arm-column", "arm", "--candidate-arm", "blue")
    assert bad.returncode == 2 and "arms found are: canary, control" in bad.stderr
    both = run_dqloop("canary", "--input", str(table / "hour=01"), "--output-root", str(tmp_path / "o"),
                      "--arm-column", "arm", "--candidate-prediction-column", "predicted_label")
    assert both.returncode == 2 and "either --arm-column" in both.stderr
    mode = run_dqloop("canary", "--input", str(table / "hour=01"), "--output-root", str(tmp_path / "o"),
                      "--candidate-prediction-column", "predicted_label")
    assert mode.returncode == 2 and "looks of a traffic-split canary, not a shadow one" in mode.stderr
    margin = run_dqloop("canary", "--input", str(table / "hour=01"), "--output-root", str(tmp_path / "o"),
                        "--arm-column", "arm", "--margin", "0")
    assert margin.returncode == 2 and "--margin must be between" in margin.stderr
    helptext = run_dqloop("canary", "--help").stdout
    assert "Exit status" in helptext and "1 roll back" in helptext


# -- shadow with labels from a real Label Studio -----------------------------------------------------------------
ls_installed = (REPO / ".deps" / "label-studio-venv" / "bin" / "label-studio").exists()


@pytest.fixture(scope="module")
def ls(tmp_path_factory):
    if not ls_installed:
        pytest.skip("Label Studio not installed: run ./scripts/setup")
    with label_studio_server(tmp_path_factory.mktemp("label-studio-home")) as server:
        yield server
    from labeling.server import alive
    assert not alive(server["pid"])


def test_shadow_with_labels_from_label_studio(ls, tmp_path):
    from label_studio_sdk import LabelStudio

    rng = np.random.default_rng(11)
    n = 600
    truth = rng.choice(["churn", "stay"], n, p=[0.3, 0.7])
    prod = np.where(rng.random(n) < 0.85, truth, pd.Series(truth).map(FLIP).to_numpy())
    shadow = np.where(rng.random(n) < 0.12, pd.Series(prod).map(FLIP).to_numpy(), prod)
    frame = pd.DataFrame({"id": np.arange(n), "age": rng.integers(18, 90, n), "predicted_label": prod,
                          "shadow_label": shadow, "score": rng.random(n), "shadow_score": rng.random(n)})
    part = tmp_path / "day=01"
    part.mkdir()
    frame.to_parquet(part / "part-0.parquet", index=False)
    pushed = run_dqloop("label", "push", "--input", str(part), "--project", "shadow-canary", "--show", "age",
                        "--size", "80", "--seed", "2", "--second-prediction-column", "shadow_label", env=ls["env"])
    assert pushed.returncode == 0, pushed.stderr
    client = LabelStudio(base_url=ls["url"], api_key=ls["token"])
    project = next(p for p in client.projects.list() if p.title == "shadow-canary")
    tasks = list(client.tasks.list(project=project.id, fields="all", page_size=1000))
    labeled = {}
    for t in tasks[:70]:                                   # 10 tasks left unlabeled, as in real life
        rid = t.data["dqloop_row_id"]
        label = truth[int(rid)]
        client.annotations.create(id=t.id, result=[{"from_name": "label", "to_name": "c0", "type": "choices",
                                                    "value": {"choices": [label]}}])
        labeled[int(rid)] = label
    out = tmp_path / "canary"
    r = run_dqloop("canary", "--input", str(part), "--output-root", str(out), "--candidate-prediction-column",
                   "shadow_label", "--score-column", "score", "--candidate-score-column", "shadow_score",
                   "--label-studio-project", "shadow-canary", env=ls["env"])
    assert r.returncode in (0, 1), r.stderr
    assert ls["token"] not in r.stdout + r.stderr
    doc = json.loads((out / "day=01" / "canary.json").read_text())
    assert doc["mode"] == "shadow" and doc["labels"]["this_partition"] == 70
    ids = np.array(sorted(labeled))
    ca, cb = prod[ids] == truth[ids], shadow[ids] == truth[ids]
    acc = doc["accuracy"]
    assert acc["control"]["accuracy"] == pytest.approx(ca.mean()) and acc["candidate"]["accuracy"] == pytest.approx(cb.mean())
    b, c = int(np.sum(ca & ~cb)), int(np.sum(~ca & cb))
    assert (acc["mcnemar"]["control_only_correct"], acc["mcnemar"]["candidate_only_correct"]) == (b, c)
    if b + c:
        assert acc["mcnemar"]["exact_p_value"] == pytest.approx(sm_mcnemar([[0, b], [c, 0]], exact=True).pvalue)
    flips, scores = doc["signals"][0], doc["signals"][1]
    assert flips["value"] == pytest.approx(np.mean(prod != shadow))
    assert (flips["lower"], flips["upper"]) == pytest.approx(proportion_confint(int(np.sum(prod != shadow)), n,
                                                                                method="wilson"))
    d = frame.shadow_score - frame.score
    assert scores["value"] == pytest.approx(np.mean(np.abs(d))) and scores["p_value"] == pytest.approx(
        stats.wilcoxon(d).pvalue)
    # 70 labels cannot settle a 1-point margin: keep watching, with the labels still needed
    assert doc["verdict"]["decision"] == "keep watching" and r.returncode == 0
    assert acc["labels_needed"]["still_needed_to_promote_if_equal"] > 0


def test_a_uri_is_read_through_spark_with_the_same_figures(tmp_path):
    """file:// goes through Spark (jobs/io.py, as validate reads); the figures equal the pyarrow path's."""
    table = tmp_path / "predictions"
    frame = _hour(table / "hour=01", 9, 2000, 0.88, 0.86, 0)
    frame.sample(800, random_state=1)[["id", "truth"]].rename(columns={"truth": "label"}).to_parquet(
        tmp_path / "truth.parquet", index=False)
    docs = []
    for source, out in ((f"file://{table}/hour=01", tmp_path / "spark"), (str(table / "hour=01"), tmp_path / "arrow")):
        r = run_dqloop("canary", "--input", source, "--output-root", str(out), "--arm-column", "arm",
                       "--score-column", "score", "--labels", str(tmp_path / "truth.parquet"))
        assert r.returncode == 0, r.stderr
        docs.append(json.loads((out / "hour=01" / "canary.json").read_text()))
    spark_doc, arrow_doc = docs
    assert spark_doc["partition"] == arrow_doc["partition"] == "hour=01"
    for key in ("accuracy", "signals", "metric_differences", "verdict", "rows"):
        assert spark_doc[key] == arrow_doc[key], key
    bad = run_dqloop("canary", "--input", f"file://{table}/hour=01", "--output-root", "s3a://bucket/canary",
                     "--arm-column", "arm")
    assert bad.returncode == 2 and "not a local folder" in bad.stderr


def test_numeric_classes_from_a_csv_with_gaps_match_integer_predictions(tmp_path):
    """A 0/1 model whose ground-truth CSV has a missing label: pandas reads that column as float (1.0), the
    predictions are integers (1); they still match."""
    rng = np.random.default_rng(12)
    n = 600
    truth = rng.integers(0, 2, n)
    arm = np.where(rng.random(n) < 0.5, "canary", "control")
    pred = np.where(rng.random(n) < 0.9, truth, 1 - truth)
    part = tmp_path / "hour=01"
    part.mkdir()
    pd.DataFrame({"id": np.arange(n), "arm": arm, "predicted_label": pred}).to_parquet(part / "p.parquet")
    labels = pd.DataFrame({"id": np.arange(n), "label": truth.astype(float)})
    labels.loc[3, "label"] = np.nan
    labels.to_csv(tmp_path / "truth.csv", index=False)
    r = run_dqloop("canary", "--input", str(part), "--output-root", str(tmp_path / "out"), "--arm-column", "arm",
                   "--labels", str(tmp_path / "truth.csv"))
    assert r.returncode in (0, 1), r.stderr
    doc = json.loads((tmp_path / "out" / "hour=01" / "canary.json").read_text())
    keep = np.arange(n) != 3
    right = (pred == truth)[keep]
    assert doc["classes"] == ["0", "1"] and doc["positive_label"] == "1"
    assert doc["accuracy"]["control"]["accuracy"] == pytest.approx(right[arm[keep] == "control"].mean())
    assert doc["accuracy"]["labeled"] == n - 1
