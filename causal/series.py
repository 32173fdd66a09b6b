"""The series CausalImpact looks at: one value per time point, from dqloop's metrics history or a table.

    history_series(history, metric, feature)   one value per partition (its latest run), partitions in name order
                                               (time order for Hive-style date/hour/chunk partitions)
    table_series(frame, value, time, controls) a user's series: sorted by the time column when given
    post_start(index, intervention)            the position of the first post-intervention point

Pure: tables in, a frame (response first, controls after) out; errors are ValueError with the cause, turned
into usage errors by jobs/impact.py.
"""

from __future__ import annotations

import pandas as pd


def history_series(history: pd.DataFrame, metric: str, feature: str = "*") -> pd.Series:
    rows = history[(history.metric == metric) & (history.feature.astype(str) == str(feature))]
    if rows.empty:
        known = history[history.feature.astype(str) == str(feature)].metric.unique().tolist()
        raise ValueError(f"the metrics history has no metric {metric!r} for feature {feature!r}"
                         + (f"; it has: {', '.join(sorted(map(str, known)))}" if known else
                            f"; features with metrics: {', '.join(sorted(map(str, history.feature.unique())))}"))
    rows = rows.sort_values(["partition", "run_time"]).drop_duplicates("partition", keep="last")
    return pd.Series(rows.value.to_numpy(dtype=float), index=rows.partition.astype(str).to_numpy(),
                     name=metric if feature == "*" else f"{metric}[{feature}]")


def history_frame(history: pd.DataFrame, response: tuple[str, str], controls: list[tuple[str, str]]) -> pd.DataFrame:
    """Response and control metrics aligned on the partitions that have all of them."""
    series = [history_series(history, m, f) for m, f in [response, *controls]]
    frame = pd.concat(series, axis=1, join="inner")
    return frame.sort_index()


def table_series(frame: pd.DataFrame, value: str, time: str | None, controls: list[str]) -> pd.DataFrame:
    missing = [c for c in [value, time, *controls] if c and c not in frame.columns]
    if missing:
        raise ValueError(f"column(s) {', '.join(missing)} not in the series; it has: {', '.join(map(str, frame.columns))}")
    out = frame[[c for c in [time, value, *controls] if c]].copy()
    if time:
        parsed = pd.to_datetime(out[time], errors="coerce") if not pd.api.types.is_numeric_dtype(out[time]) else out[time]
        if parsed.notna().all():
            out[time] = parsed
        out = out.sort_values(time).set_index(time)
    out = out[[value, *controls]].astype(float)
    if out.isna().any().any():
        bad = out.index[out.isna().any(axis=1)][0]
        raise ValueError(f"the series has missing values (first at {bad}); fill or drop them first")
    return out


def post_start(index: pd.Index, intervention: str) -> int:
    """Position of the first post-intervention point: the point labelled `intervention`, else (for a time index)
    the first point at or after it, else (an integer-like index) that position."""
    labels = [str(x) for x in index]
    if intervention in labels:
        return labels.index(intervention)
    if isinstance(index, pd.DatetimeIndex):
        try:
            when = pd.Timestamp(intervention)
        except ValueError:
            raise ValueError(f"intervention {intervention!r} is not a time") from None
        if index.tz is not None and when.tz is None:
            when = when.tz_localize(index.tz)
        after = (index >= when).nonzero()[0]
        if len(after):
            return int(after[0])
        raise ValueError(f"intervention {intervention} is after the last point ({index[-1]})")
    raise ValueError(f"intervention {intervention!r} is not a point of the series (first points: "
                     f"{', '.join(labels[:3])}; last: {labels[-1]})")
