"""The constraint model: a kind declared in one module (tests/kind_is_positive.py) is seen by validate's pass,
Deequ's VerificationSuite, the pandera schema and constraints.json; a kind silent on a backend is an error
naming the fix, not a silent skip."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from constraints.backends import BACKENDS, DEEQU, PANDERA, MissingBackend, missing
from constraints.kinds import Constraint, constraint_kind
from constraints.metrics import Maximum, MaxMultiplicity, Minimum, columns_of, needed, values_of
from constraints.pandera_schema import pandera_yaml
from constraints.profile import SplitStats
from constraints.sagemaker import constraints_document
from constraints.suite import CONSTRAINT_KINDS, ColumnInfo, IsNonNegative, Suggestion, Suite
from helpers import run_baseline, write_parquet
from kind_is_positive import IsPositive


@constraint_kind
@dataclass(frozen=True)
class Silent(Constraint):
    """A kind that registered with no backend."""

    column: str
    kind: str = field(default="silent_test_kind", init=False)

    def metrics(self):
        return (Minimum(self.column),)

    def assess(self, values):
        return True, ""

    def describe(self) -> str:
        return f"'{self.column}' is silent"


def _suite(*constraints: Constraint) -> Suite:
    columns = tuple(ColumnInfo(name, "double", "Fractional", "feature") for name in ("x", "y"))
    return Suite(columns, tuple(Suggestion(c, "user", "", "") for c in constraints))


def test_every_built_in_kind_speaks_to_every_backend():
    builtin = [k for k in CONSTRAINT_KINDS.values() if k.__module__ == "constraints.kinds"]
    assert len(builtin) == 7
    assert missing(builtin) == []
    assert missing([IsPositive]) == []
    assert missing([Silent]) == [("Silent", b.name) for b in BACKENDS]


def test_a_kind_silent_on_a_backend_is_an_error_naming_the_fix():
    suite = _suite(Silent("x"))
    with pytest.raises(MissingBackend) as pandera_error:
        pandera_yaml(suite)
    assert "Silent" in str(pandera_error.value) and "PANDERA.register(Silent" in pandera_error.value.hint
    with pytest.raises(MissingBackend, match="sagemaker"):
        constraints_document(_profile(), suite)
    with pytest.raises(MissingBackend, match="deequ"):
        DEEQU.lookup(Silent("x"))
    assert MissingBackend("m", "h").exit_code == 3


def test_metrics_are_values_that_address_results():
    assert Minimum("x") == Minimum("x") and hash(Minimum("x")) == hash(Minimum("x"))
    assert Minimum("x") != Maximum("x") and Minimum("x") != Minimum("y")
    values = values_of(SplitStats(10, 9, minimum=-1.5, maximum=4.0), IsPositive("x").metrics())
    assert values == {Minimum("x"): -1.5}
    assert IsPositive("x").assess(values) == (False, "min -1.5")
    assert IsPositive("x").evaluate(SplitStats(10, 9, minimum=0.5)) == (True, "min 0.5")


def test_new_kind_round_trips_and_reaches_pandera_and_constraints_json():
    suite = _suite(IsPositive("x"), IsPositive("y", 0.95))
    assert Suite.from_json(suite.to_json()) == suite
    assert json.loads(suite.to_json())["constraints"][0]["kind"] == "is_positive"
    text = pandera_yaml(suite)
    schema = pa.DataFrameSchema.from_yaml(text)
    assert "greater_than" in text and "at least 95.00% of 'y' is positive" in schema.description
    schema.validate(pd.DataFrame({"x": [1.0, 2.0], "y": [0.0, 1.0]}))   # y: a share, kept in the suite only
    with pytest.raises(pa.errors.SchemaError):
        schema.validate(pd.DataFrame({"x": [1.0, 0.0], "y": [1.0, 1.0]}))
    doc = {f["name"]: f for f in constraints_document(_profile(), suite)["features"]}
    assert doc["x"]["num_constraints"] == {"is_non_negative": True}    # positive: non-negative, the nearest form
    assert doc["y"]["num_constraints"] == {"is_non_negative": False}   # a share: not expressible there
    both = constraints_document(_profile(), _suite(IsNonNegative("y"), IsPositive("y", 0.95)))
    assert [f["num_constraints"] for f in both["features"]] == [{"is_non_negative": False}, {"is_non_negative": True}]


def _profile():
    from constraints.columns import Column
    from constraints.profile import ColumnProfile, Profile

    return Profile(10, 10, 0, tuple(ColumnProfile(Column(n, f"c{i}", "double", "Fractional", "feature"), 10, 0)
                                    for i, n in enumerate(("x", "y"))))


@pytest.fixture(scope="module")
def positive_batch(spark, tmp_path_factory):
    """A baseline whose suite.json gains two IsPositive rules (one every row must keep, one kept by 95% of
    the rows), and a batch breaking both: 8% of x not positive, one y zero."""
    from constraints.baseline import load_baseline
    from jobs.io import read_folder

    tmp = tmp_path_factory.mktemp("kinds")
    rng = np.random.default_rng(17)
    train = pd.DataFrame({"x": rng.uniform(1, 10, 2_000), "y": rng.uniform(1, 10, 2_000)})
    run_baseline(spark, write_parquet(train, tmp / "train"), tmp / "baseline")
    texts = read_folder(str(tmp / "baseline"), ("statistics.json", "constraints.json", "suite.json"))
    suite = json.loads(texts["suite.json"])
    suite["constraints"] += [{"kind": "is_positive", "column": "x", "at_least": 0.95},
                             {"kind": "is_positive", "column": "y"}]
    base = load_baseline({**texts, "suite.json": json.dumps(suite)})
    batch = pd.DataFrame({"x": rng.uniform(1, 10, 1_000), "y": rng.uniform(1, 10, 1_000)})
    batch.loc[:79, "x"] = -rng.uniform(0, 5, 80)
    batch.loc[5, "x"] = None
    batch.loc[500, "y"] = 0.0
    return base, batch, spark.read.parquet(str(write_parquet(batch, tmp / "batch"))), tmp / "baseline"


def test_new_kind_in_the_pass_and_in_deequ_verification(spark, positive_batch):
    from constraints.columns import projection
    from constraints.scan import plan_scan, scan
    from constraints.validation import _columns, validate
    from constraints.verification import verify

    base, batch, df, _ = positive_batch
    index = {s.constraint: i for i, s in enumerate(base.suite.constraints)}
    x_rule, y_rule = IsPositive("x", 0.95), IsPositive("y")
    assert {x_rule, y_rule} <= set(index)

    # the pass: x (a share) gets a lane of its own, y (every row) follows from the minimum
    columns, _ = _columns(base, df.schema)
    plan = plan_scan(base, columns, columns_of(MaxMultiplicity, needed(s.constraint for s in base.suite.constraints)),
                     base.suite)
    assert (index[x_rule], x_rule) in plan.rules and (index[y_rule], y_rule) in plan.derived
    counted = scan(projection(df, columns), plan).offending_rows
    assert counted[x_rule] == int((batch["x"].dropna() <= 0).sum()) == 79
    assert counted[y_rule] is None   # min 0: some rows, not counted

    report = validate(spark, df, base, "p")
    ours = {r.constraint: r for r in report.results if r.check == "suite_constraint_check"}
    assert ours[x_rule].failed and ours[y_rule].failed
    assert "79 of 1000 rows break it" in ours[x_rule].description
    assert ours[x_rule].examples and all(float(v) <= 0 for v in ours[x_rule].examples)
    assert any(v["feature_name"] == "x" for v in report.violations_document()["violations"])

    # Deequ's VerificationSuite on the same data: the same verdicts for every constraint, the new ones included
    deequ = {r.constraint: r.passed for r in verify(spark, df, base.suite)}
    assert deequ == {c: not r.failed for c, r in ours.items()}
    assert deequ[x_rule] is False and deequ[y_rule] is False
    relaxed = Suite(base.suite.columns, (Suggestion(IsPositive("x", 0.9), "user", "", ""),))
    assert [r.passed for r in verify(spark, df, relaxed)] == [True]   # 92% positive (nulls comply, as in Deequ)

    # a kind silent on Deequ stops verification with the fix, before any job runs
    silent = Suite(base.suite.columns, (Suggestion(Silent("x"), "user", "", ""),))
    with pytest.raises(MissingBackend, match="deequ"):
        verify(spark, df, silent)


def test_registrations_are_once_per_kind():
    with pytest.raises(ValueError, match="already registered"):
        PANDERA.register(IsPositive, lambda c, info: None)


def test_the_command_loads_a_kind_module(positive_batch, tmp_path):
    """`dqloop --kinds MODULE validate`: a suite naming a kind of one's own validates from the command line
    (the same verdict as the API's above); without the module the suite is refused, naming --kinds."""
    import os
    import shutil

    from conftest import run_dqloop

    _, batch, _, written = positive_batch
    folder = tmp_path / "baseline"
    shutil.copytree(written, folder)
    suite = json.loads((folder / "suite.json").read_text())
    suite["constraints"] += [{"kind": "is_positive", "column": "x", "at_least": 0.95}]
    (folder / "suite.json").write_text(json.dumps(suite))
    write_parquet(batch, tmp_path / "batch")
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")]))}
    args = ("validate", "--baseline", str(folder), "--input", str(tmp_path / "batch"))

    refused = run_dqloop(*args, "--output", str(tmp_path / "out0"), env=env)
    assert refused.returncode == 2, refused.stderr
    assert "is_positive" in refused.stderr and "--kinds" in refused.stderr

    missing = run_dqloop("--kinds", "no_such_kinds_module", *args, "--output", str(tmp_path / "out1"), env=env)
    assert missing.returncode == 2 and "no_such_kinds_module" in missing.stderr and "PYTHONPATH" in missing.stderr

    r = run_dqloop("--kinds", "kind_is_positive", *args, "--output", str(tmp_path / "out2"), env=env)
    assert r.returncode == 1, r.stderr
    checks = json.loads(next((tmp_path / "out2").rglob("checks.json")).read_text())
    ours = [c for c in checks["checks"] if c.get("check") == "suite_constraint_check" and "positive" in
            json.dumps(c)]
    assert ours and ours[0]["status"] == "failed" and "79 of 1000 rows break it" in ours[0]["description"]
