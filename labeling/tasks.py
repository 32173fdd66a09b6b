"""Task JSON for Label Studio: the shown columns, the row id and the row's inclusion probability in
`data` (they come back in every export), the model's prediction (and a second model's) as
pre-annotations with model_version and score."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from labeling.config import CHOICES_NAME, data_keys

ROW_ID = "dqloop_row_id"
INCLUSION = "dqloop_inclusion_probability"
STRATEGY = "dqloop_strategy"


@dataclass(frozen=True)
class Prediction:
    label: str | float          # a class, or a regression model's predicted value (a number)
    model_version: str
    score: float | None = None


def shown_value(v: Any) -> str:
    """How a cell is shown to the annotator: text, missing values as an empty mark."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "(missing)"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return str(v)


def task(row_id: str, shown: dict[str, Any], columns: list[str], inclusion: float, strategy: str,
         predictions: list[Prediction]) -> dict[str, Any]:
    keys = data_keys(columns)
    data: dict[str, Any] = {keys[c]: shown_value(shown[c]) for c in columns}
    data.update({ROW_ID: str(row_id), INCLUSION: float(inclusion), STRATEGY: strategy})
    first = keys[columns[0]]
    preds = []
    for p in predictions:
        if isinstance(p.label, (int, float)) and not isinstance(p.label, bool):
            result = {"from_name": CHOICES_NAME, "to_name": first, "type": "number", "value": {"number": float(p.label)}}
        else:
            result = {"from_name": CHOICES_NAME, "to_name": first, "type": "choices", "value": {"choices": [str(p.label)]}}
        pred: dict[str, Any] = {"model_version": p.model_version, "result": [result]}
        if p.score is not None and not math.isnan(p.score):
            pred["score"] = float(p.score)
        preds.append(pred)
    return {"data": data, "predictions": preds}
