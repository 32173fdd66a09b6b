"""From exported Label Studio tasks to one label per row: cancelled and skipped annotations (and empty
ones) left out, several annotators resolved by majority (numbers, for a regression task: by their median; `votes` then
counts the annotators within 1% of it), their agreement recorded. A tie has no label
(it is kept, with label None, so it can be seen and settled; the report leaves it out)."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from typing import Any

import pandas as pd

from labeling.config import CHOICES_NAME
from labeling.tasks import INCLUSION, ROW_ID, STRATEGY

COLUMNS = ["row_id", "label", "annotators", "votes", "agreement", "annotator_ids", "first_annotated_at",
           "last_annotated_at", "inclusion_probability", "strategy", "task_id"]


def choice(annotation: dict[str, Any]) -> str | float | None:
    """The class an annotation chose (or the number it gave, regression), or None (cancelled, skipped, none)."""
    if annotation.get("was_cancelled"):
        return None
    for r in annotation.get("result") or []:
        if r.get("from_name") == CHOICES_NAME and r.get("type") == "choices":
            picked = (r.get("value") or {}).get("choices") or []
            if picked:
                return str(picked[0])
        if r.get("from_name") == CHOICES_NAME and r.get("type") == "number":
            value = (r.get("value") or {}).get("number")
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                return float(value)
    return None


def _numbers(values: list[float]) -> tuple[float, int, float]:
    """Several annotators' numbers: the median, how many lie within 1% (relative) of it, and that share."""
    med = float(statistics.median(values))
    close = sum(abs(v - med) <= 0.01 * max(abs(med), 1e-12) for v in values)
    return med, close, close / len(values)


def resolve(exported: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for t in exported:
        data = t.get("data") or {}
        if ROW_ID not in data:
            continue   # not a dqloop task
        done = [(a, choice(a)) for a in t.get("annotations") or []]
        done = [(a, c) for a, c in done if c is not None]
        if not done:
            continue
        if isinstance(done[0][1], float):   # regression: the median of the annotators' values
            top, votes, _ = _numbers([c for _, c in done if isinstance(c, float)])
            tie = False
        else:
            counts = Counter(c for _, c in done).most_common()
            top, votes = counts[0]
            tie = len(counts) > 1 and counts[1][1] == votes
        times = sorted(str(a.get("updated_at") or a.get("created_at")) for a, _ in done)
        rows.append({
            "row_id": str(data[ROW_ID]),
            "label": None if tie else top,
            "annotators": len(done),
            "votes": votes,
            "agreement": votes / len(done),
            "annotator_ids": ",".join(str(a.get("completed_by")) for a, _ in done),
            "first_annotated_at": times[0],
            "last_annotated_at": times[-1],
            "inclusion_probability": float(data.get(INCLUSION, float("nan"))),
            "strategy": data.get(STRATEGY),
            "task_id": int(t["id"]),
        })
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for c in ("first_annotated_at", "last_annotated_at"):
        frame[c] = pd.to_datetime(frame[c], utc=True, format="ISO8601")
    return frame.sort_values("row_id", ignore_index=True)
