"""A suite's constraints judged on a partition: from a partition scan's metrics (validate), or as Deequ
checks (`verify`, the suite on its own).

`results_from_counts` judges each constraint on metrics already computed (constraints.scan): row-level rules
(range, sign, length, domain) with an offending-row count by Deequ's semantics (the share of rows that are
null or satisfy the rule must reach `at_least`); completeness, uniqueness and rules every row must keep by
the constraint's own `evaluate` on the scanned metrics (present count, exact multiplicity, min and max), as
the suggestion rules judge them.

Every constraint becomes one Deequ check named after its position in the suite; they run in the
same VerificationSuite run as the data's profile (deequ_profile.profile_and_check), so Deequ fuses their
metrics into that scan. Uniqueness is judged from the exact value counts of the profile's grouping
pass, instead of a Deequ grouping pass per unique column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from constraints.columns import Column, projection
from constraints.deequ import ensure_callback_server, pydeequ_module
from constraints.deequ_profile import profile_and_check
from constraints.profile import CheckOutcome, Profile, ProfileOptions
from constraints.suite import (Constraint, ConstraintResult, HasCompleteness, HasLengthBetween, HasType, IsInDomain,
                               IsInRange, IsNonNegative, IsUnique, Suite)


def _add(check, c: Constraint, a: str):
    if isinstance(c, HasCompleteness):
        return check.isComplete(a) if c.at_least >= 1.0 else check.hasCompleteness(a, lambda x, t=c.at_least: x >= t)
    if isinstance(c, IsNonNegative):
        return check.isNonNegative(a)
    if isinstance(c, IsInRange):
        return check.satisfies(f"`{a}` IS NULL OR (`{a}` >= {c.lower!r} AND `{a}` <= {c.upper!r})", f"range {a}",
                               lambda x, t=c.at_least: x >= t)
    if isinstance(c, IsInDomain):
        return check.isContainedIn(a, list(c.values), lambda x, t=c.at_least: x >= t)
    if isinstance(c, HasLengthBetween):
        return check.satisfies(f"`{a}` IS NULL OR length(`{a}`) BETWEEN {c.min_length} AND {c.max_length}",
                               f"length {a}", lambda x, t=c.at_least: x >= t)
    raise TypeError(f"no Deequ check for {c!r}")


@dataclass(frozen=True)
class CheckPlan:
    """The Deequ checks of a suite on one DataFrame, and the results known without running them."""

    checks: dict[str, Any]
    known: dict[int, ConstraintResult]
    suite: Suite

    @property
    def unique_columns(self) -> frozenset[str]:
        """Columns whose uniqueness the profile's grouping pass must count."""
        return frozenset(s.constraint.column for s in self.suite.constraints if isinstance(s.constraint, IsUnique))

    def results(self, outcomes: dict[str, CheckOutcome],
                multiplicity: dict[str, int | None]) -> tuple[ConstraintResult, ...]:
        """All results in suite order; `multiplicity` maps a unique column to its largest value count."""
        out = []
        for i, s in enumerate(self.suite.constraints):
            if i in self.known:
                out.append(self.known[i])
            elif isinstance(s.constraint, IsUnique):
                worst = multiplicity.get(s.constraint.column)
                ok = worst is not None and worst <= 1
                out.append(ConstraintResult(s.constraint, ok, "" if ok else f"a value occurs {worst} times"))
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
        elif isinstance(c, IsUnique):
            continue  # judged from the grouping pass (CheckPlan.results)
        else:
            check = checks_mod.Check(spark, checks_mod.CheckLevel.Error, f"constraint-{i}")
            checks[f"constraint-{i}"] = _add(check, c, columns[c.column].alias)
    return CheckPlan(checks, known, suite)


def _schema_result(c: Constraint, present: dict[str, str], measured: bool) -> ConstraintResult | None:
    """The result of a constraint decided by the schema alone (missing column, type); None for the others."""
    if c.column not in present or not measured:
        return ConstraintResult(c, False, f"column '{c.column}' is missing")
    if isinstance(c, HasType):   # its family by default: a storage change is a note, not a violation
        return ConstraintResult(c, *c.judge(present[c.column]))
    return None


def results_from_counts(suite: Suite, present: dict[str, str], profile: Profile,
                        offending_rows: dict[int, int | None]) -> tuple[ConstraintResult, ...]:
    """Every constraint of `suite` judged on a scanned `profile`; `present`: column name -> Spark type."""
    rows = profile.rows
    by_name = {p.column.name: p for p in profile.columns}
    out = []
    for i, s in enumerate(suite.constraints):
        c = s.constraint
        p = by_name.get(c.column)
        schema = _schema_result(c, present, p is not None)
        if schema is not None:
            out.append(schema)
        elif offending_rows.get(i) is not None:
            bad = offending_rows[i]
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
    return plan.results(outcomes, {p.column.name: p.train.max_multiplicity for p in prof.columns})
