"""A suite's constraints judged on a partition: from a partition scan's metrics (validate), or as Deequ
checks (`verify`, the suite on its own).

`results_from_counts` judges each constraint on metrics already computed (constraints.scan): row-level rules
(range, sign, length, domain) with an offending-row count by Deequ's semantics (the share of rows that are
null or satisfy the rule must reach `at_least`); completeness, uniqueness and rules every row must keep by
the constraint's own `evaluate` on the scanned metrics (present count, exact multiplicity, min and max), as
the suggestion rules judge them.

Every constraint becomes one Deequ check named after its position in the suite, as its kind registered
with constraints.backends.DEEQU; they run in the same VerificationSuite run as the data's profile
(deequ_profile.profile_and_check), so Deequ fuses their metrics into that scan. Kinds with no Deequ check
are judged on their metrics in that profile: uniqueness on the exact value counts of the profile's grouping
pass, instead of a Deequ grouping pass per unique column; the type on the schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from constraints.columns import Column, projection
from constraints.deequ import ensure_callback_server, pydeequ_module
from constraints.deequ_profile import profile_and_check
from constraints.profile import CheckOutcome, Profile, ProfileOptions
from constraints.backends import DEEQU
from constraints.metrics import MaxMultiplicity, columns_of, needed, schema_values
from constraints.suite import Constraint, ConstraintResult, Suite


@dataclass(frozen=True)
class CheckPlan:
    """The Deequ checks of a suite on one DataFrame, and the results known without running them."""

    checks: dict[str, Any]
    known: dict[int, ConstraintResult]
    suite: Suite

    @property
    def unique_columns(self) -> frozenset[str]:
        """Columns whose multiplicity the profile's grouping pass must count (metrics.MaxMultiplicity)."""
        return columns_of(MaxMultiplicity, needed(s.constraint for s in self.suite.constraints))

    def results(self, outcomes: dict[str, CheckOutcome], profile: Profile) -> tuple[ConstraintResult, ...]:
        """All results in suite order. Constraints with no Deequ check (constraints.backends.DEEQU) are
        judged on their metrics in the `profile` of the same run (uniqueness: its exact value counts)."""
        out = []
        for i, s in enumerate(self.suite.constraints):
            if i in self.known:
                out.append(self.known[i])
            elif not DEEQU.expressible(s.constraint):
                ok, message = s.constraint.evaluate(profile.column(s.constraint.column).train)
                out.append(ConstraintResult(s.constraint, ok, "" if ok else message))
            else:
                o = outcomes.get(f"constraint-{i}", CheckOutcome(False, "not evaluated"))
                out.append(ConstraintResult(s.constraint, o.passed, o.message))
        return tuple(out)


def plan_checks(spark: SparkSession, suite: Suite, present: dict[str, str], columns: dict[str, Column]) -> CheckPlan:
    """Deequ checks for `suite` on a projection with `columns` (name -> Column); `present`: name -> Spark type."""
    checks_mod = pydeequ_module("checks")
    ensure_callback_server(spark)
    checks: dict[str, Any] = {}
    known: dict[int, ConstraintResult] = {}
    for i, s in enumerate(suite.constraints):
        c = s.constraint
        schema = _schema_result(c, present, c.column in columns)
        if schema is not None:
            known[i] = schema
        elif DEEQU.expressible(c):   # else judged on the profile's metrics (CheckPlan.results)
            check = checks_mod.Check(spark, checks_mod.CheckLevel.Error, f"constraint-{i}")
            checks[f"constraint-{i}"] = DEEQU.express(c, check, columns[c.column].alias)
    return CheckPlan(checks, known, suite)


def _schema_result(c: Constraint, present: dict[str, str], measured: bool) -> ConstraintResult | None:
    """The result of a constraint decided by the schema alone (missing column, type); None for the others."""
    if c.column not in present or not measured:
        return ConstraintResult(c, False, f"column '{c.column}' is missing")
    values = schema_values(c.metrics(), present)   # HasType: its family by default, a storage change is a note
    return ConstraintResult(c, *c.assess(values)) if values is not None else None


def results_from_counts(suite: Suite, present: dict[str, str], profile: Profile,
                        offending_rows: dict[Constraint, int | None]) -> tuple[ConstraintResult, ...]:
    """Every constraint of `suite` judged on a scanned `profile` (`offending_rows`: the pass's counts of the
    rows breaking a constraint, by the constraint); `present`: column name -> Spark type."""
    rows = profile.rows
    by_name = {p.column.name: p for p in profile.columns}
    out = []
    for s in suite.constraints:
        c = s.constraint
        p = by_name.get(c.column)
        schema = _schema_result(c, present, p is not None)
        if schema is not None:
            out.append(schema)
        elif offending_rows.get(c) is not None:
            bad = offending_rows[c]
            share = 1.0 - bad / rows if rows else 1.0
            ok = share >= getattr(c, "at_least", 1.0)
            out.append(ConstraintResult(c, ok, "" if ok else f"{bad} of {rows} rows break it ({share:.4%} comply)"))
        else:  # completeness, uniqueness, bounds every row must keep: judged on the scanned metrics
            ok, message = c.evaluate(p.train)
            out.append(ConstraintResult(c, ok, "" if ok else message))
    return tuple(out)


def suite_columns(suite: Suite, df: DataFrame) -> dict[str, Column]:
    present = {f.name for f in df.schema.fields}
    infos = [c for c in suite.columns if c.name in present]
    return {info.name: Column(info.name, f"c{i}", info.spark_type, info.inferred_type, info.role)
            for i, info in enumerate(infos)}


def verify(spark: SparkSession, df: DataFrame, suite: Suite) -> tuple[ConstraintResult, ...]:
    """Check `df` (original column names) against every constraint of `suite`: one Deequ run and,
    for uniqueness, one grouping pass (the same path as the validate job, without SageMaker's checks)."""
    columns = suite_columns(suite, df)
    plan = plan_checks(spark, suite, {f.name: f.dataType.simpleString() for f in df.schema.fields}, columns)
    prof, outcomes = profile_and_check(
        spark, projection(df, columns.values()), tuple(columns.values()),
        options=ProfileOptions(categorical=frozenset(), unique=plan.unique_columns, splits=False), checks=plan.checks)
    return plan.results(outcomes, prof)
