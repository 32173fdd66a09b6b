"""The constraint suite: frozen, human-editable specifications that round-trip to JSON.

A constraint never reads data. `evaluate` judges it on metrics already computed for a split of
the data (profile.SplitStats); `verification.py` runs the same constraints through Deequ's
VerificationSuite on a DataFrame.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Union

from constraints.columns import type_family
from constraints.profile import SplitStats


@dataclass(frozen=True)
class HasCompleteness:
    """At least `at_least` of the rows are non-null (1.0: the column is complete)."""

    column: str
    at_least: float
    kind: str = field(default="has_completeness", init=False)

    def evaluate(self, s: SplitStats) -> tuple[bool, str]:
        return s.completeness >= self.at_least, f"completeness {s.completeness:.4f}"

    def describe(self) -> str:
        return (f"'{self.column}' is complete" if self.at_least >= 1.0
                else f"at least {self.at_least:.1%} of '{self.column}' is non-null")


@dataclass(frozen=True)
class HasType:
    """The column keeps its type family (SageMaker's Integral, Fractional, String), as SageMaker's
    data_type_check judges it: a change of storage width or file format (int for bigint, CSV read
    for Parquet) is information, not a violation. With `exact` (`"exact": true` in suite.json) the
    Spark type itself must stay."""

    column: str
    spark_type: str
    exact: bool = False
    kind: str = field(default="has_type", init=False)

    def evaluate(self, s: SplitStats) -> tuple[bool, str]:
        return True, f"type {self.spark_type}"  # the splits share one schema

    def judge(self, present_type: str) -> tuple[bool, str]:
        """Whether a column of Spark type `present_type` keeps the rule, and a note (empty when the
        type is the same)."""
        if present_type == self.spark_type:
            return True, ""
        if self.exact:
            return False, f"type is {present_type}, expected {self.spark_type} exactly"
        now, then = type_family(present_type), type_family(self.spark_type)
        if now is not None and now == then:
            return True, (f"stored as {present_type}, was {self.spark_type}: the same {now} family; set "
                          f"\"exact\": true on this rule in suite.json to require {self.spark_type}")
        return False, f"type is {present_type} ({now or 'not profiled'}), expected {self.spark_type} ({then})"

    def describe(self) -> str:
        if self.exact:
            return f"'{self.column}' has type {self.spark_type} exactly"
        family = type_family(self.spark_type)
        return f"'{self.column}' has type {self.spark_type}" + (f" (or another {family} type)" if family else "")


@dataclass(frozen=True)
class IsNonNegative:
    column: str
    kind: str = field(default="is_non_negative", init=False)

    def evaluate(self, s: SplitStats) -> tuple[bool, str]:
        return s.minimum is None or s.minimum >= 0, f"min {s.minimum}"

    def describe(self) -> str:
        return f"'{self.column}' is never negative"


@dataclass(frozen=True)
class IsInRange:
    """At least `at_least` of the non-null values lie in [lower, upper].

    Suggested ranges carry a share just below 1 (a lower confidence bound): a batch larger than the
    training data will sometimes show a value past the training extremes, a shifted one many.
    """

    column: str
    lower: float
    upper: float
    at_least: float = 1.0
    kind: str = field(default="is_in_range", init=False)

    def evaluate(self, s: SplitStats) -> tuple[bool, str]:
        ok = (s.minimum is None or s.minimum >= self.lower) and (s.maximum is None or s.maximum <= self.upper)
        return ok, f"min {s.minimum}, max {s.maximum}"

    def describe(self) -> str:
        share = "" if self.at_least >= 1.0 else f"at least {self.at_least:.2%} of "
        return f"{share}'{self.column}' lies in [{self.lower:g}, {self.upper:g}]"


@dataclass(frozen=True)
class IsUnique:
    column: str
    kind: str = field(default="is_unique", init=False)

    def evaluate(self, s: SplitStats) -> tuple[bool, str]:
        return s.max_multiplicity is not None and s.max_multiplicity <= 1, \
            f"most frequent value occurs {s.max_multiplicity} times"

    def describe(self) -> str:
        return f"'{self.column}' has no duplicate values"


@dataclass(frozen=True)
class IsInDomain:
    """At least `at_least` of the non-null values are among `values`."""

    column: str
    values: tuple[str, ...]
    at_least: float = 1.0
    kind: str = field(default="is_in_domain", init=False)

    def in_domain_share(self, s: SplitStats) -> tuple[float, dict[str, int]]:
        counts = s.categories or {}
        total = sum(counts.values())
        unseen = {v: n for v, n in counts.items() if v not in set(self.values)}
        return (1.0 - sum(unseen.values()) / total if total else 1.0), unseen

    def evaluate(self, s: SplitStats) -> tuple[bool, str]:
        share, unseen = self.in_domain_share(s)
        top = sorted(unseen.items(), key=lambda kv: -kv[1])[:5]
        return share >= self.at_least, f"{share:.4f} in domain" + (f"; unseen {top}" if top else "")

    def describe(self) -> str:
        shown = ", ".join(map(repr, self.values[:8])) + (", ..." if len(self.values) > 8 else "")
        share = "every value" if self.at_least >= 1.0 else f"at least {self.at_least:.1%} of values"
        return f"{share} of '{self.column}' in {{{shown}}}"


@dataclass(frozen=True)
class HasLengthBetween:
    """At least `at_least` of the non-null strings have min_length..max_length characters."""

    column: str
    min_length: int
    max_length: int
    at_least: float = 1.0
    kind: str = field(default="has_length_between", init=False)

    def evaluate(self, s: SplitStats) -> tuple[bool, str]:
        ok = (s.min_length is None or s.min_length >= self.min_length) and \
             (s.max_length is None or s.max_length <= self.max_length)
        return ok, f"lengths {s.min_length}..{s.max_length}"

    def describe(self) -> str:
        share = "" if self.at_least >= 1.0 else f"at least {self.at_least:.2%} of "
        return f"{share}'{self.column}' has {self.min_length} to {self.max_length} characters"


Constraint = Union[HasCompleteness, HasType, IsNonNegative, IsInRange, IsUnique, IsInDomain, HasLengthBetween]
CONSTRAINT_KINDS: dict[str, type] = {cls.kind: cls for cls in
                                     (HasCompleteness, HasType, IsNonNegative, IsInRange, IsUnique, IsInDomain,
                                      HasLengthBetween)}


def constraint_to_dict(c: Constraint) -> dict[str, Any]:
    d = asdict(c)
    kind = d.pop("kind")
    if "values" in d:
        d["values"] = list(d["values"])
    return {"kind": kind, **d}


def constraint_from_dict(d: dict[str, Any]) -> Constraint:
    d = dict(d)
    cls = CONSTRAINT_KINDS.get(d.pop("kind", None))
    if cls is None:
        raise ValueError(f"unknown constraint kind in {d}; known: {sorted(CONSTRAINT_KINDS)}")
    names = {f.name for f in fields(cls) if f.init}
    unknown = set(d) - names
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)} for {cls.kind}; expected {sorted(names)}")
    if "values" in d:
        d["values"] = tuple(d["values"])
    return cls(**d)


@dataclass(frozen=True)
class ConstraintResult:
    """A constraint judged on a data set (by any backend): kept or not, and why."""

    constraint: Constraint
    passed: bool
    message: str


@dataclass(frozen=True)
class Suggestion:
    """A suggested constraint with where it came from and how it fared on the held-out split."""

    constraint: Constraint
    rule: str
    holdout: str            # "passed" or "relaxed"
    reason: str


@dataclass(frozen=True)
class Dropped:
    constraint: Constraint
    rule: str
    reason: str


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    spark_type: str
    inferred_type: str
    role: str


@dataclass(frozen=True)
class Suite:
    columns: tuple[ColumnInfo, ...]
    constraints: tuple[Suggestion, ...]
    dropped: tuple[Dropped, ...] = ()
    skipped_columns: tuple[dict[str, str], ...] = ()
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    FORMAT_VERSION = 1

    def for_column(self, name: str) -> tuple[Constraint, ...]:
        return tuple(s.constraint for s in self.constraints if s.constraint.column == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.FORMAT_VERSION,
            **self.meta,
            "columns": [asdict(c) for c in self.columns],
            "skipped_columns": [dict(s) for s in self.skipped_columns],
            "constraints": [{**constraint_to_dict(s.constraint), "rule": s.rule, "holdout": s.holdout,
                             "reason": s.reason, "description": s.constraint.describe()}
                            for s in self.constraints],
            "dropped": [{**constraint_to_dict(d.constraint), "rule": d.rule, "reason": d.reason}
                        for d in self.dropped],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Suite":
        if d.get("format_version") != cls.FORMAT_VERSION:
            raise ValueError(f"suite format_version {d.get('format_version')!r}, expected {cls.FORMAT_VERSION}")

        def split(entry: dict[str, Any], extra: tuple[str, ...]) -> tuple[Constraint, dict[str, Any]]:
            spec = {k: v for k, v in entry.items() if k not in extra}
            return constraint_from_dict(spec), {k: entry.get(k, "") for k in extra}

        suggestions = []
        for entry in d.get("constraints", []):
            c, extra = split(entry, ("rule", "holdout", "reason", "description"))
            suggestions.append(Suggestion(c, extra["rule"] or "user", extra["holdout"] or "", extra["reason"]))
        dropped = []
        for entry in d.get("dropped", []):
            c, extra = split(entry, ("rule", "reason"))
            dropped.append(Dropped(c, extra["rule"], extra["reason"]))
        meta = {k: v for k, v in d.items()
                if k not in ("format_version", "columns", "skipped_columns", "constraints", "dropped")}
        return cls(tuple(ColumnInfo(**c) for c in d.get("columns", [])), tuple(suggestions), tuple(dropped),
                   tuple(d.get("skipped_columns", [])), meta)

    @classmethod
    def from_json(cls, text: str) -> "Suite":
        return cls.from_dict(json.loads(text))
