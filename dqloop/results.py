"""Typed results of dqloop's steps: frozen values holding the documents the command line writes, with
`to_pandas()` for analysis and `_repr_html_()` so a notebook shows them as a short table.

Pure values: pandas is imported when a table is asked for; nothing here reads or writes files.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

_STYLE = ("<style>.dqloop-r table{border-collapse:collapse;font:13px sans-serif}.dqloop-r th,.dqloop-r td"
          "{border-bottom:1px solid #ddd;padding:2px 8px;text-align:left}.dqloop-r .bad{color:#b00020}"
          ".dqloop-r .ok{color:#1b5e20}</style>")
MAX_ROWS = 30   # rows a notebook shows of one table; to_pandas() has them all


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape("" if value is None else str(value))


def _table(columns: Sequence[str], rows: Iterable[Sequence[Any]], more: int = 0) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    tail = f"<p>... {more} more rows: <code>.to_pandas()</code></p>" if more > 0 else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{tail}"


def _page(title: str, verdict: str | None, *parts: str) -> str:
    badge = "" if verdict is None else \
        f' <span class="{"ok" if verdict == "ok" else "bad"}">{html.escape(verdict)}</span>'
    return f'<div class="dqloop-r">{_STYLE}<h4>{html.escape(title)}{badge}</h4>{"".join(parts)}</div>'


def _limited(frame) -> tuple[list[list[Any]], int]:
    rows = frame.head(MAX_ROWS).astype(object).where(frame.head(MAX_ROWS).notna(), None).values.tolist()
    return rows, max(0, len(frame) - MAX_ROWS)


@dataclass(frozen=True)
class BaselineResult:
    """A baseline: the profile and suite, and the documents `dqloop baseline` writes ({file name: text}:
    statistics.json, constraints.json, suite.json, pandera_schema.yaml, model_reference.json with a target).
    Pass it to `dqloop.validate` as the baseline; `folder` is where it was written (None: not written)."""

    profile: Any
    suite: Any
    documents: dict[str, str]
    folder: str | None = None
    spark_jobs: int = 0

    @property
    def statistics(self) -> dict[str, Any]:
        """statistics.json (SageMaker Model Monitor's format)."""
        return json.loads(self.documents["statistics.json"])

    @property
    def constraints(self) -> dict[str, Any]:
        """constraints.json (SageMaker Model Monitor's format)."""
        return json.loads(self.documents["constraints.json"])

    def to_pandas(self):
        """One row per feature: type, present and missing counts, mean, std_dev, min, max, distinct count."""
        import pandas as pd

        rows = []
        for f in self.statistics["features"]:
            s = f.get("numerical_statistics") or f.get("string_statistics") or {}
            common = s.get("common", {})
            rows.append({"feature": f["name"], "inferred_type": f["inferred_type"],
                         "num_present": common.get("num_present"), "num_missing": common.get("num_missing"),
                         "mean": s.get("mean"), "std_dev": s.get("std_dev"), "min": s.get("min"), "max": s.get("max"),
                         "distinct_count": s.get("distinct_count"),
                         "constraints": len(self.suite.for_column(f["name"])) if self.suite is not None else None})
        return pd.DataFrame(rows, columns=["feature", "inferred_type", "num_present", "num_missing", "mean", "std_dev",
                                           "min", "max", "distinct_count", "constraints"])

    def _repr_html_(self) -> str:
        frame = self.to_pandas()
        rows, more = _limited(frame)
        n = self.profile.rows if self.profile is not None else self.statistics["dataset"]["item_count"]
        where = f" written to <code>{html.escape(self.folder)}</code>" if self.folder else ""
        return _page(f"dqloop baseline: {n} rows, {len(frame)} features", None,
                     f"<p>{len(self.suite.constraints) if self.suite is not None else 0} constraints{where}</p>",
                     _table(list(frame.columns), rows, more))


CHECK_COLUMNS = ["partition", "check", "feature", "status", "measured", "threshold", "description"]


@dataclass(frozen=True)
class PartitionResult:
    """One partition's validation: its verdict (`ok`, `violations`, `empty`, or `error`), the checks (every
    check, passed ones too, with measured value, threshold and evidence), the violations (the failed
    checks) and the documents written per partition. `error` is the partition's error (then no report)."""

    partition: str
    report: Any = None            # constraints.validation.ValidationReport
    error: Exception | None = None
    folder: str | None = None     # where its reports were written (None: not written)
    files: dict[str, str] = field(default_factory=dict, repr=False)   # the extra documents (report.html, ...)

    @property
    def verdict(self) -> str:
        return "error" if self.report is None else self.report.verdict

    @property
    def rows(self) -> int | None:
        return None if self.report is None else self.report.rows

    @property
    def checks(self) -> tuple:
        """Every check (constraints.checks.CheckResult: check, feature, status, measured, threshold, ...)."""
        return () if self.report is None else self.report.results

    @property
    def violations(self) -> tuple:
        """The failed checks."""
        return () if self.report is None else self.report.violations

    @property
    def statistics(self) -> dict[str, Any]:
        """statistics.json of the partition (SageMaker's format)."""
        return {} if self.report is None else self.report.statistics_document()

    @property
    def violations_document(self) -> dict[str, Any]:
        """constraint_violations.json (SageMaker's format)."""
        return {"violations": []} if self.report is None else self.report.violations_document()

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """The rows recorded in the metrics history (feature, metric, value)."""
        return [] if self.report is None else self.report.metric_rows()

    def to_pandas(self):
        """One row per check: partition, check, feature, status, measured, threshold, description."""
        import pandas as pd

        return pd.DataFrame([(self.partition, r.check, r.feature, r.status, r.measured, r.threshold, r.description)
                             for r in self.checks], columns=CHECK_COLUMNS)

    def _repr_html_(self) -> str:
        if self.report is None:
            return _page(f"dqloop validate: {self.partition}", "error", f"<p>{html.escape(str(self.error))}</p>")
        frame = self.to_pandas()
        bad = frame[frame.status == "failed"]
        rows, more = _limited(bad.drop(columns=["partition"]))
        summary = (f"<p>{self.rows} rows, {len(frame)} checks, {len(bad)} violations"
                   + (f"; reports in <code>{html.escape(self.folder)}</code>" if self.folder else "") + "</p>")
        return _page(f"dqloop validate: {self.partition}", self.verdict, summary,
                     _table(CHECK_COLUMNS[1:], rows, more) if len(bad) else "")


@dataclass(frozen=True)
class ValidationRun:
    """A validate run over one or more partitions: each partition's result in table order, and the exit
    status the command line returns for it (0 ok, 1 violations, 2 a selector matched nothing, 3 errors)."""

    partitions: tuple[PartitionResult, ...]
    exit_code: int
    unmatched: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> PartitionResult:
        """The result of partition `name` (`run["chunk=03"]`)."""
        for p in self.partitions:
            if p.partition == name:
                return p
        raise KeyError(name)

    def __iter__(self):
        return iter(self.partitions)

    def __len__(self) -> int:
        return len(self.partitions)

    @property
    def violations(self) -> tuple:
        """Every failed check of every partition."""
        return tuple(v for p in self.partitions for v in p.violations)

    @property
    def verdict(self) -> str:
        verdicts = {p.verdict for p in self.partitions}
        return "error" if "error" in verdicts else "violations" if "violations" in verdicts else "ok"

    def summary(self):
        """One row per partition: partition, rows, verdict, violations, error."""
        import pandas as pd

        return pd.DataFrame([(p.partition, p.rows, p.verdict, len(p.violations), None if p.error is None else str(p.error))
                             for p in self.partitions], columns=["partition", "rows", "verdict", "violations", "error"])

    def to_pandas(self):
        """Every check of every partition, one row each (see PartitionResult.to_pandas)."""
        import pandas as pd

        frames = [p.to_pandas() for p in self.partitions]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CHECK_COLUMNS)

    def _repr_html_(self) -> str:
        summary = self.summary()
        rows, more = _limited(summary)
        checks = self.to_pandas()
        bad = checks[checks.status == "failed"]
        bad_rows, bad_more = _limited(bad)
        return _page(f"dqloop validate: {len(self.partitions)} partition(s), exit status {self.exit_code}",
                     self.verdict, _table(list(summary.columns), rows, more),
                     ("<h5>Violations</h5>" + _table(CHECK_COLUMNS, bad_rows, bad_more)) if len(bad) else "")


def _estimates(document: dict[str, Any]) -> list[tuple[str, str, Any, Any, Any, Any]]:
    out = []
    for block, metrics in document.items():
        if not block.endswith("_metrics") or not isinstance(metrics, dict):
            continue
        for name, m in metrics.items():
            if isinstance(m, dict) and "value" in m:
                ci = m.get("confidence_interval") or {}
                out.append((block, name, m["value"], m.get("standard_deviation"), ci.get("lower"), ci.get("upper")))
    return out


@dataclass(frozen=True)
class LabelReport:
    """Model quality from labels: model_quality.json (SageMaker's model-quality shape, each metric with its
    standard deviation and confidence interval), the summary text, and where they were written."""

    document: dict[str, Any]
    summary: str
    folder: str | None = None

    def metric(self, name: str) -> dict[str, Any]:
        """One metric's block ({"value", "standard_deviation", "confidence_interval"}), e.g. "accuracy"."""
        for block, metrics in self.document.items():
            if block.endswith("_metrics") and name in metrics:
                return metrics[name]
        raise KeyError(f"no metric {name!r} in {', '.join(k for k in self.document if k.endswith('_metrics'))}")

    @property
    def accuracy(self) -> dict[str, Any]:
        return self.metric("accuracy")

    @property
    def labeled(self) -> int:
        return int(self.document["dqloop"]["labeled_rows"])

    def to_pandas(self):
        """One row per metric: block, metric, value, standard_deviation, lower, upper."""
        import pandas as pd

        return pd.DataFrame(_estimates(self.document),
                            columns=["block", "metric", "value", "standard_deviation", "lower", "upper"])

    def _repr_html_(self) -> str:
        frame = self.to_pandas()
        rows, more = _limited(frame.drop(columns=["block"]))
        meta = self.document.get("dqloop", {})
        return _page(f"dqloop label report: {meta.get('labeled_rows')} labeled of {meta.get('partition_rows')} rows",
                     None, f"<pre>{html.escape(self.summary)}</pre>",
                     _table(["metric", "value", "standard_deviation", "lower", "upper"], rows, more))


@dataclass(frozen=True)
class LabelPush:
    """A push to Label Studio: the project, rows sampled, tasks added (the rest were there already)."""

    project: str
    project_id: int
    sampled: int
    population: int
    added: int
    strategy: str
    url: str

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame([self.__dict__])

    def _repr_html_(self) -> str:
        return _page(f"dqloop label push: {self.project}", None,
                     _table(list(self.__dict__), [list(self.__dict__.values())]))


@dataclass(frozen=True)
class Labels:
    """Labels pulled from Label Studio: one row per labeled task (row_id, label, annotators, agreement,
    timestamps, inclusion probability); `path` is the Parquet file written (None: not written)."""

    frame: Any
    path: str | None = None

    def to_pandas(self):
        return self.frame

    def _repr_html_(self) -> str:
        rows, more = _limited(self.frame)
        return _page(f"dqloop label pull: {len(self.frame)} labeled tasks", None,
                     _table(list(map(str, self.frame.columns)), rows, more))


@dataclass(frozen=True)
class Index:
    """The index page over validated partitions, from the metrics history: the page's path, the history
    table it was drawn from, and the history files that could not be read."""

    path: str
    history: Any
    problems: tuple[str, ...] = ()

    @property
    def partitions(self) -> list[str]:
        return sorted(set(self.history.partition))

    def to_pandas(self):
        """The metrics history (partition, run_time, feature, metric, value)."""
        return self.history

    def _repr_html_(self) -> str:
        wide = self.history[self.history.feature == "*"].pivot_table(index="partition", columns="metric",
                                                                       values="value", aggfunc="last")
        rows, more = _limited(wide.reset_index())
        return _page(f"dqloop index: {len(self.partitions)} partitions", "error" if self.problems else None,
                     f"<p>written to <code>{html.escape(self.path)}</code></p>",
                     _table(["partition", *map(str, wide.columns)], rows, more))
