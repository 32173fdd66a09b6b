"""What the jobs print: short, aligned, plain text (it goes to logs as often as to terminals)."""

from __future__ import annotations

from collections.abc import Sequence

from constraints.columns import PREDICTION
from constraints.profile import ColumnProfile, Profile
from constraints.suite import Suite


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


def _row(p: ColumnProfile, rows: int, n_constraints: int) -> str:
    present = f"{p.num_present / rows:.1%}" if rows else "-"
    if p.column.is_numeric and p.num_present:
        shape = f"mean {_fmt(p.mean)}  min {_fmt(p.minimum)}  max {_fmt(p.maximum)}"
    else:
        shape = f"distinct {p.distinct_count if p.distinct_count is not None else '-'}"
    return f"  {p.column.name[:28]:<28} {p.inferred_type:<10} {present:>7}  {n_constraints:>3}  {shape}"


def print_baseline(prof: Profile, suite: Suite, target: str | None, jobs: int, files: Sequence[str] = ()) -> None:
    print(f"baseline: {prof.rows} rows ({prof.train_rows} train, {prof.holdout_rows} held out), "
          f"{len(prof.columns)} columns, {jobs} Spark jobs")
    header = f"  {'column':<28} {'type':<10} {'present':>7}  {'#c':>3}  shape"
    for title, role_is_prediction in (("inputs", False), ("model outputs", True)):
        group = [p for p in prof.columns if (p.column.role == PREDICTION) == role_is_prediction]
        if group:
            print(f"{title}:")
            print(header)
            for p in group:
                print(_row(p, prof.rows, len(suite.for_column(p.column.name))))
    for s in prof.skipped:
        print(f"skipped: {s.name} ({s.reason})")
    relaxed = sum(1 for s in suite.constraints if s.holdout == "relaxed")
    print(f"constraints: {len(suite.constraints)} kept ({relaxed} relaxed on the held-out split), "
          f"{len(suite.dropped)} dropped")
    if target is not None:
        print(f"written: {target}/{{{', '.join(files)}}}")
