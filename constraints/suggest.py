"""Suggest a constraint suite from a profile and keep only what survives the held-out split.

Deequ's train/test idea, which PyDeequ does not expose: rules propose constraints from the
training split; each proposal is judged on the held-out split's metrics (already computed in the
same scan); a failure is relaxed once by its rule and judged again, or dropped. The reason is kept.
"""

from __future__ import annotations

from typing import Iterable

from constraints.profile import Profile
from constraints.rules import DEFAULT_RULES
from constraints.suite import ColumnInfo, Dropped, Suggestion, Suite


def suggest(profile: Profile, rules: Iterable = DEFAULT_RULES, meta: dict | None = None) -> Suite:
    kept: list[Suggestion] = []
    dropped: list[Dropped] = []
    for p in profile.columns:
        for rule in rules:
            if not rule.applies(p):
                continue
            candidate = rule.candidate(p)
            if profile.holdout_rows == 0:
                kept.append(Suggestion(candidate, rule.name, "not checked", "no held-out rows"))
                continue
            ok, observed = candidate.evaluate(p.holdout)
            if ok:
                kept.append(Suggestion(candidate, rule.name, "passed", f"held-out split: {observed}"))
                continue
            why = f"failed on held-out split ({observed}): {candidate.describe()}"
            relaxed = rule.relax(p, candidate)
            if relaxed is not None and relaxed.evaluate(p.holdout)[0]:
                kept.append(Suggestion(relaxed, rule.name, "relaxed", why))
            else:
                dropped.append(Dropped(candidate, rule.name, why))
    columns = tuple(ColumnInfo(p.column.name, p.column.spark_type, p.inferred_type, p.column.role)
                    for p in profile.columns)
    skipped = tuple({"name": s.name, "spark_type": s.spark_type, "reason": s.reason} for s in profile.skipped)
    return Suite(columns, tuple(kept), tuple(dropped), skipped, dict(meta or {}))
