"""The constraint suite: frozen, human-editable specifications that round-trip to JSON.

A constraint never reads data. The kinds (constraints.kinds) name the metrics they need and judge their
values (`evaluate` on a split's statistics, profile.SplitStats); each kind registers there how validate's
pass, Deequ's VerificationSuite, pandera and SageMaker's constraints.json express it (constraints.backends).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from constraints.kinds import KINDS, Constraint
from constraints.kinds import (HasCompleteness, HasLengthBetween, HasType, IsInDomain, IsInRange, IsNonNegative,
                               IsUnique)

__all__ = ["Suite", "Suggestion", "Dropped", "ColumnInfo", "ConstraintResult", "Constraint", "CONSTRAINT_KINDS",
           "constraint_to_dict", "constraint_from_dict",   # the built-in kinds, defined in constraints.kinds:
           "HasCompleteness", "HasLengthBetween", "HasType", "IsInDomain", "IsInRange", "IsNonNegative", "IsUnique"]

CONSTRAINT_KINDS: dict[str, type] = KINDS   # every kind defined (constraints.kinds.constraint_kind)


def constraint_to_dict(c: Constraint) -> dict[str, Any]:
    d = asdict(c)
    kind = d.pop("kind")
    if "values" in d:
        d["values"] = list(d["values"])
    return {"kind": kind, **d}


def constraint_from_dict(d: dict[str, Any]) -> Constraint:
    d = dict(d)
    kind = d.pop("kind", None)
    cls = CONSTRAINT_KINDS.get(kind)
    if cls is None:
        raise ValueError(f"unknown constraint kind {kind!r} in {d}; known: {sorted(CONSTRAINT_KINDS)} (a kind of your own: "
                         f"load its module with `dqloop --kinds MODULE ...` or DQLOOP_KINDS=MODULE)")
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
