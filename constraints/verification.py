"""Run a suite's constraints on a DataFrame through Deequ's VerificationSuite.

Every constraint becomes one Deequ check; Deequ fuses their metrics into as few scans as it can.
The result is a value: one ConstraintResult per constraint, passed ones too.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession

from constraints.columns import Column, projection
from constraints.deequ import pydeequ_module, require_deequ
from constraints.suite import (Constraint, HasCompleteness, HasLengthBetween, HasType, IsInDomain, IsInRange,
                               IsNonNegative, IsUnique, Suite)


@dataclass(frozen=True)
class ConstraintResult:
    constraint: Constraint
    passed: bool
    message: str


def _add(check, c: Constraint, col: Column):
    a = col.alias
    if isinstance(c, HasCompleteness):
        return check.isComplete(a) if c.at_least >= 1.0 else check.hasCompleteness(a, lambda x, t=c.at_least: x >= t)
    if isinstance(c, IsNonNegative):
        return check.isNonNegative(a)
    if isinstance(c, IsInRange):
        return check.satisfies(f"`{a}` IS NULL OR (`{a}` >= {c.lower!r} AND `{a}` <= {c.upper!r})", f"range {a}",
                               lambda x, t=c.at_least: x >= t)
    if isinstance(c, IsUnique):
        return check.isUnique(a)
    if isinstance(c, IsInDomain):
        return check.isContainedIn(a, list(c.values), lambda x, t=c.at_least: x >= t)
    if isinstance(c, HasLengthBetween):
        return check.satisfies(f"`{a}` IS NULL OR length(`{a}`) BETWEEN {c.min_length} AND {c.max_length}",
                               f"length {a}", lambda x, t=c.at_least: x >= t)
    raise TypeError(f"no Deequ check for {c!r}")


def verify(spark: SparkSession, df: DataFrame, suite: Suite) -> tuple[ConstraintResult, ...]:
    """Check `df` (original column names) against every constraint of `suite`."""
    require_deequ(spark)
    checks_mod, verification = pydeequ_module("checks"), pydeequ_module("verification")
    present = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    columns = {info.name: Column(info.name, f"c{i}", info.spark_type, info.inferred_type, info.role)
               for i, info in enumerate(c for c in suite.columns if c.name in present)}
    data = projection(df, columns.values())

    results: dict[int, ConstraintResult] = {}
    deequ_checks = []
    for i, suggestion in enumerate(suite.constraints):
        c = suggestion.constraint
        if c.column not in present:
            results[i] = ConstraintResult(c, False, f"column '{c.column}' is missing")
        elif isinstance(c, HasType):
            ok = present[c.column] == c.spark_type
            results[i] = ConstraintResult(c, ok, "" if ok else f"type is {present[c.column]}, expected {c.spark_type}")
        else:
            check = checks_mod.Check(spark, checks_mod.CheckLevel.Error, f"constraint-{i}")
            deequ_checks.append((i, _add(check, c, columns[c.column])))

    if deequ_checks:
        suite_run = verification.VerificationSuite(spark).onData(data)
        for _, check in deequ_checks:
            suite_run = suite_run.addCheck(check)
        outcome = suite_run.run()
        rows = verification.VerificationResult.checkResultsAsJson(spark, outcome)
        by_check: dict[str, list[dict]] = {}
        for row in rows:
            by_check.setdefault(row["check"], []).append(row)
        for i, _ in deequ_checks:
            entries = by_check.get(f"constraint-{i}", [])
            failed = [e for e in entries if e["constraint_status"] != "Success"]
            results[i] = ConstraintResult(suite.constraints[i].constraint, bool(entries) and not failed,
                                          "; ".join(e["constraint_message"] for e in failed))
    return tuple(results[i] for i in range(len(suite.constraints)))
