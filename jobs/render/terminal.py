"""What a person reads in the terminal: a compact table of violations, colour only where it helps.

Colour (ANSI) only when the stream is a terminal and NO_COLOR is unset (https://no-color.org);
plain aligned text otherwise, for logs.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence, TextIO

RED, BOLD, RESET = "\033[31m", "\033[1m", "\033[0m"
MAX_ROWS = 40


def use_colour(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return not env.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty()


def _cut(value: object, width: int) -> str:
    s = " ".join(str(value).split())           # one line: no newline or tab from the data
    return s if len(s) <= width else s[: width - 1] + "\u2026"


def _num(x: Any) -> str:
    return "-" if x is None else (f"{x:.4g}" if isinstance(x, float) else str(x))


def violations_table(reports: Sequence[Mapping[str, Any]], *, colour: bool = False, limit: int = MAX_ROWS,
                     total: int | None = None) -> str:
    """One line per failed check over the partitions' checks.json documents; '' when nothing failed.
    `total`: the failed checks of the whole run when `reports` are only its first ones."""
    rows = [(str(r.get("partition")), str(c.get("check")), str(c.get("feature") or "-"), _num(c.get("measured")),
             _num(c.get("threshold")))
            for r in reports for c in r.get("checks", []) if c.get("status") == "failed"]
    if not rows:
        return ""
    header = ("partition", "check", "feature", "measured", "threshold")
    cut = [(_cut(p, 24), _cut(k, 26), _cut(f, 24), _cut(m, 10), _cut(t, 10)) for p, k, f, m, t in rows[:limit]]
    widths = [max(len(h), *(len(r[i]) for r in cut)) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    head = line(header)
    out = [f"{BOLD}{head}{RESET}" if colour else head]
    for r in cut:
        out.append(f"{RED}{line(r)}{RESET}" if colour else line(r))
    total = max(total or 0, len(rows))
    if total > len(cut):
        out.append(f"... and {total - len(cut)} more (see each partition's report.html)")
    return "\n".join(out)


def progress(i: int, n: int, partition: str) -> str:
    return f"[{i}/{n}] validating {_cut(partition, 60)}"
