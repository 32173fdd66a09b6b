"""The index's section on quality estimated without labels (jobs.estimated: `estimated_*` rows of the metrics
history): per estimated metric a line over partitions with its 95% interval, the failed-band partitions
marked, and a table of every partition's estimates. Pure: the partition-level history values in, HTML out.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from jobs.render.charts import BASE, line_chart
from jobs.render.html import Cell, esc, fmt, number, table

PREFIX = "estimated_"
SHOWN = ("accuracy", "auc", "macro_f1", "macro_auc", "mae", "rmse")   # drawn as charts, when present
BOUNDED = {"mae", "rmse"}   # not in [0, 1]


def _names(run: Mapping[tuple[str, str], float]) -> list[str]:
    """The estimated metrics in the history (without prefix and _lower/_upper), in a fixed order."""
    found = {m[len(PREFIX):] for _, m in run if m.startswith(PREFIX) and not m.endswith(("_lower", "_upper"))}
    found.discard("rows_beyond_reference_share")
    return sorted(found, key=lambda m: (SHOWN.index(m) if m in SHOWN else len(SHOWN), m))


def estimated_section(partitions: Sequence[str], run: Mapping[tuple[str, str], float],
                      hrefs: Sequence[str | None]) -> list[str]:
    """HTML blocks for the index (none when no partition has an estimate)."""
    names = _names(run)
    if not names:
        return []
    get = lambda p, m: run.get((p, PREFIX + m))  # noqa: E731
    body = ["<h2 id=\"estimated\">Estimated quality (no labels)</h2><p class=\"legend\">From the model's calibrated "
            "scores (classification) or its loss models (regression) and the baseline's reference, with 95% "
            "intervals (bars); valid under covariate shift, not under concept drift or label shift: label a sample "
            "where it falls.</p>"]
    for m in [m for m in names if m in SHOWN][:2]:
        series = [get(p, m) for p in partitions]
        band = ([get(p, m + "_lower") for p in partitions], [get(p, m + "_upper") for p in partitions])
        body.append(line_chart(list(partitions), [(f"estimated {m.replace('_', ' ')}", series, BASE)],
                               f"estimated {m.replace('_', ' ')} per partition, with its interval", links=hrefs,
                               band=band, y_range=None if m in BOUNDED else (0.0, 1.0)))
    rows = []
    for i, p in enumerate(partitions):
        if not any(get(p, m) is not None for m in names):
            continue
        cells = [Cell(f"<a href=\"{esc(hrefs[i])}\">{esc(p)}</a>" if hrefs[i] else esc(p), p)]
        for m in names:
            v, lo, hi = get(p, m), get(p, m + "_lower"), get(p, m + "_upper")
            cells.append(number(v, "-" if v is None else fmt(v) + ("" if lo is None else f" [{fmt(lo)}, {fmt(hi)}]")))
        rows.append(cells)
    body.append(table(["partition", *[f"estimated {m.replace('_', ' ')} [interval]" for m in names]], rows,
                      id_="estimated-partitions"))
    return body
