"""The backends a constraint kind is expressed in, each a registry keyed by the kind's class.

    PASS        validate's one pass (constraints.scan): the rows breaking a rule as a Spark condition
                (a lane of flags), or counted from other tallies; `InPass()` alone: judged on the pass's
                metrics (Constraint.assess)
    DEEQU       a Deequ Check in one VerificationSuite run (constraints.verification):
                how(constraint, check, column alias) -> check
    PANDERA     the serving-time pandera schema (constraints.pandera_schema):
                how(constraint, column info) -> PanderaPart
    SAGEMAKER   SageMaker's constraints.json (constraints.sagemaker):
                how(constraint) -> {"num_constraints" | "string_constraints": {key: value}}

A kind registers with every backend next to its definition (constraints.kinds), in the manner of pandera's
per-backend check registration, either how the backend expresses it or `not_expressible(kind, reason)`:
a stated "not in this backend", which each backend handles in its documented way (the pandera schema
names the rule in its description, constraints.json leaves it out, Deequ verification judges it on the
metrics of Deequ's profile). A kind that said nothing of a backend is a MissingBackend error naming the
fix when that backend meets it, never a silent skip; `missing()` lists such gaps (tests/test_constraint_kinds.py).

Pure: the Spark and pandera parts of a registration import their libraries when called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from constraints.errors import DqloopError


class MissingBackend(DqloopError):
    """A constraint kind that registered nothing with a backend (constraints.errors has the tree)."""


@dataclass(frozen=True)
class NotExpressible:
    """A backend that cannot express a kind, and why."""

    reason: str


@dataclass(frozen=True)
class InPass:
    """How validate's pass measures a rule. `offending(c, x)`: the rows breaking it, as a condition on `x`,
    the column in the projection (None: not a row-level rule; judged on the pass's metrics by
    Constraint.assess). Instead of a lane of its own, its offending rows may follow from counts the pass
    makes anyway: `categories(c)`, values to count among the column's known categories, or `grid_points(c)`,
    points the column's numeric grid must hold; `from_counts(c, column profile)` then gives the offending
    rows from those counts (None: they do not tell). `arrow_offending(c, x)`: the same condition on an Arrow
    array of the column's values (pyarrow.compute), for workers that read the files themselves
    (constraints.direct); None: such a rule's column is read through Spark."""

    offending: Callable[[Any, Any], Any] | None = None
    arrow_offending: Callable[[Any, Any], Any] | None = None
    categories: Callable[[Any], tuple[str, ...]] | None = None
    grid_points: Callable[[Any], tuple[float, ...]] | None = None
    from_counts: Callable[[Any, Any], int | None] | None = None


@dataclass(frozen=True)
class PanderaPart:
    """What one constraint adds to its column of a pandera schema: element-wise checks, no nulls
    (`complete`), `unique`; or nothing pandera can check (`left_out`: named in the schema's description,
    unless `unless_complete` and the column admits no nulls anyway)."""

    checks: tuple[Any, ...] = ()
    complete: bool = False
    unique: bool = False
    left_out: bool = False
    unless_complete: bool = False


class Backend:
    """One backend's registry: constraint kind (a class) -> how the backend expresses it."""

    def __init__(self, name: str):
        self.name = name
        self._how: dict[type, Any] = {}

    def __repr__(self) -> str:
        return f"Backend({self.name!r}, {len(self._how)} kinds)"

    def register(self, kind: type, how: Any) -> None:
        if kind in self._how:
            raise ValueError(f"{kind.__name__} is already registered with {self.name}")
        self._how[kind] = how

    def not_expressible(self, kind: type, reason: str) -> None:
        self.register(kind, NotExpressible(reason))

    def lookup(self, c: Any) -> Any:
        """What `c`'s kind registered: how the backend expresses it, or NotExpressible."""
        how = self._how.get(type(c))
        if how is None:
            raise MissingBackend(f"constraint kind {type(c).__name__} ({getattr(c, 'kind', '?')!r}) says nothing "
                                 f"of {self.name}.",
                                 f"next to the kind's definition, register how {self.name} expresses it "
                                 f"(`{self.name.upper()}.register({type(c).__name__}, ...)`) or state that it "
                                 f"cannot (`{self.name.upper()}.not_expressible({type(c).__name__}, reason)`); "
                                 "docs/constraints.md")
        return how

    def expressible(self, c: Any) -> bool:
        return not isinstance(self.lookup(c), NotExpressible)

    def express(self, c: Any, *args: Any) -> Any:
        """`c` in this backend (its registered function applied to `c` and `args`)."""
        how = self.lookup(c)
        if isinstance(how, NotExpressible):
            raise ValueError(f"{self.name} cannot express {type(c).__name__}: {how.reason}")
        return how(c, *args)

    def kinds(self) -> frozenset[type]:
        return frozenset(self._how)


PASS = Backend("pass")
DEEQU = Backend("deequ")
PANDERA = Backend("pandera")
SAGEMAKER = Backend("sagemaker")
BACKENDS = (PASS, DEEQU, PANDERA, SAGEMAKER)


def missing(kinds: Iterable[type]) -> list[tuple[str, str]]:
    """(kind, backend) pairs where a kind registered nothing."""
    return [(k.__name__, b.name) for k in kinds for b in BACKENDS if k not in b.kinds()]
