"""A constraint kind added from outside dqloop, in this one module: what it measures, how it judges, and how
validate's pass, Deequ, pandera and SageMaker's constraints.json express it (docs/constraints.md).
tests/test_constraint_kinds.py checks it in all four."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from constraints.backends import DEEQU, PANDERA, PASS, SAGEMAKER, InPass, PanderaPart
from constraints.kinds import Constraint, constraint_kind
from constraints.metrics import Metric, Minimum


@constraint_kind
@dataclass(frozen=True)
class IsPositive(Constraint):
    """At least `at_least` of the non-null values are above zero."""

    column: str
    at_least: float = 1.0
    kind: str = field(default="is_positive", init=False)

    def metrics(self) -> tuple[Metric, ...]:
        return (Minimum(self.column),)

    def assess(self, values: Mapping[Metric, Any]) -> tuple[bool, str]:
        low = values[Minimum(self.column)]
        return low is None or low > 0, f"min {low}"

    def describe(self) -> str:
        share = "" if self.at_least >= 1.0 else f"at least {self.at_least:.2%} of "
        return f"{share}'{self.column}' is positive"


def _in_pandera(c: IsPositive, info: Any) -> PanderaPart:
    import pandera.pandas as pa
    return PanderaPart(checks=(pa.Check.greater_than(0),)) if c.at_least >= 1.0 else PanderaPart(left_out=True)


PASS.register(IsPositive, InPass(offending=lambda c, x: x <= 0))
DEEQU.register(IsPositive, lambda c, check, a: check.isPositive(a, lambda x, t=c.at_least: x >= t))
PANDERA.register(IsPositive, _in_pandera)
SAGEMAKER.register(IsPositive, lambda c: {"num_constraints": {"is_non_negative": True}} if c.at_least >= 1.0
                   else {})   # the nearest constraints.json has; a share of the rows it cannot state
