"""The pure core loads and works without Spark: the suite spec and its constraint model (kinds, metrics, backend
registries), thresholds, drift math and the pandera export."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from conftest import REPO

WITHOUT_SPARK = textwrap.dedent('''
    import sys
    from importlib.abc import MetaPathFinder

    class NoSpark(MetaPathFinder):
        """An environment without pyspark, py4j or pydeequ: importing them fails."""
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("pyspark", "py4j", "pydeequ"):
                raise ImportError(f"No module named {name!r} (blocked)")
            return None

    sys.meta_path.insert(0, NoSpark())
    sys.path.insert(0, sys.argv[1])
''')

WORK = textwrap.dedent('''
    import pandas as pd
    import pandera.pandas as pa
    from constraints.suite import Suite, HasCompleteness, IsInDomain, IsInRange, Suggestion, ColumnInfo
    from constraints.thresholds import Thresholds, ks_threshold
    from constraints.pandera_schema import pandera_yaml
    from constraints.distance import categorical_drift
    from constraints import anomaly, grid, rules, suggest, sagemaker, checks, baseline, profile
    from constraints import kinds, backends, metrics   # the constraint model and its registries
    from constraints.suite import CONSTRAINT_KINDS

    suite = Suite(columns=(ColumnInfo("x", "double", "Fractional", "feature"), ColumnInfo("c", "string", "String", "feature")),
                  constraints=(Suggestion(IsInRange("x", 0.0, 10.0), "r", "passed", ""),
                               Suggestion(IsInDomain("c", ("a", "b")), "r", "passed", ""),
                               Suggestion(HasCompleteness("x", 1.0), "r", "passed", "")))
    again = Suite.from_json(suite.to_json())
    assert again == suite
    schema = pa.DataFrameSchema.from_yaml(pandera_yaml(suite))
    schema.validate(pd.DataFrame({"x": [1.0, 2.0], "c": ["a", "b"]}))
    try:
        schema.validate(pd.DataFrame({"x": [1.0, 20.0], "c": ["a", "z"]}), lazy=True)
        raise SystemExit("the bad frame passed")
    except pa.errors.SchemaErrors as exc:
        assert len(exc.failure_cases) == 2, exc.failure_cases
    assert backends.missing(CONSTRAINT_KINDS.values()) == []
    from constraints.columns import Column
    cols = (profile.ColumnProfile(Column("x", "c0", "double", "Fractional", "feature"), 2, 0),
            profile.ColumnProfile(Column("c", "c1", "string", "String", "feature"), 2, 0))
    doc = sagemaker.constraints_document(profile.Profile(2, 2, 0, cols), suite)
    assert [f.get("num_constraints") or f.get("string_constraints") for f in doc["features"]] == \
        [{"is_non_negative": False}, {"domains": ["a", "b"]}], doc
    th = ks_threshold(1000, 1000, 0.01, Thresholds())
    assert 0 < th.value < 1
    loaded = [m for m in sys.modules if m.split(".")[0] in ("pyspark", "py4j", "pydeequ")]
    assert not loaded, loaded
    print("ok")
''')


def test_spec_thresholds_and_pandera_export_need_no_spark():
    out = subprocess.run([sys.executable, "-c", WITHOUT_SPARK + WORK, str(REPO)], capture_output=True, text=True,
                         timeout=120, cwd=REPO)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


def test_the_blocker_blocks():
    """The environment above really has no pyspark: importing the Spark side fails there."""
    out = subprocess.run([sys.executable, "-c", WITHOUT_SPARK + "import constraints.scan", str(REPO)],
                         capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode != 0 and "blocked" in out.stderr
