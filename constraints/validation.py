"""Validate one partition against a baseline: one pass tallied by Python workers (constraints.scan),
then pure checks. Returns a ValidationReport value; the job decides the exit status."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from constraints import multivariate
from constraints.baseline import Baseline
from constraints.checks import (CheckResult, FAILED, feature_checks, row_count_check, schema_checks,
                                suite_checks)
from constraints.columns import FEATURE, STRING, UNKNOWN, Column, projection, sagemaker_type
from constraints.domain import metric_rows as domain_metric_rows
from constraints.cross_feature import summary_rows
from constraints.profile import Profile
from constraints.sagemaker import statistics_document
from constraints.frames import Frame
from constraints.scan import offending, plan_scan, scan
from constraints.metrics import MaxMultiplicity, columns_of, needed
from constraints.thresholds import Thresholds
from constraints.verification import results_from_counts

MAX_EXAMPLES = 5
EXAMPLE_ROWS = 20   # offending rows read per example wanted


@dataclass(frozen=True)
class ValidationReport:
    partition: str
    rows: int
    results: tuple[CheckResult, ...]
    profile: Profile | None = field(default=None, compare=False)
    identifiers: frozenset[str] = field(default=frozenset(), compare=False)   # unique in the baseline: no drift
    lanes: dict[str, Any] = field(default_factory=dict, compare=False)   # tallies of the caller's extra lanes
    sample: Any = field(default=None, compare=False, repr=False)   # the pass's row sample, when asked for

    @property
    def violations(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.failed)

    @property
    def verdict(self) -> str:
        if self.rows == 0:
            return "empty"
        return "violations" if self.violations else "ok"

    def violations_document(self) -> dict[str, Any]:
        """constraint_violations.json in SageMaker's shape (failed checks only)."""
        return {"violations": [{"feature_name": r.feature or "", "constraint_check_type": r.check,
                                "description": r.description} for r in self.violations]}

    def checks_document(self) -> dict[str, Any]:
        """Every check, passed ones too, with measured value, threshold and evidence."""
        return {"partition": self.partition, "rows": self.rows, "verdict": self.verdict,
                "violations": len(self.violations), "checks": [r.to_dict() for r in self.results]}

    def statistics_document(self) -> dict[str, Any]:
        return statistics_document(self.profile) if self.profile is not None else \
            {"version": 0, "dataset": {"item_count": self.rows}, "features": []}

    def metric_rows(self) -> list[dict[str, Any]]:
        """Metrics for the history: one row per (feature, metric)."""
        rows: list[dict[str, Any]] = [{"feature": "*", "metric": "row_count", "value": float(self.rows)},
                                      {"feature": "*", "metric": "violations", "value": float(len(self.violations))}]
        if self.profile is not None and self.rows:
            for p in self.profile.columns:
                name = p.column.name
                rows.append({"feature": name, "metric": "completeness", "value": p.num_present / self.rows})
                if p.mean is not None:
                    rows.append({"feature": name, "metric": "mean", "value": p.mean})
                if p.std_dev is not None:   # the history's floor for the mean: std_dev / sqrt(values)
                    rows.append({"feature": name, "metric": "std_dev", "value": p.std_dev})
                if p.distinct_count is not None:
                    rows.append({"feature": name, "metric": "distinct_count", "value": float(p.distinct_count)})
        for r in self.results:
            if r.check == "baseline_drift_check" and r.measured is not None:
                rows.append({"feature": r.feature, "metric": "baseline_drift", "value": r.measured})
                n, m = r.details.get("baseline_rows"), r.details.get("rows")
                if n and m:  # the distance in units of its no-change scale sqrt(1/n + 1/m): free of the sizes
                    rows.append({"feature": r.feature, "metric": "baseline_drift_z",
                                 "value": r.measured / (1.0 / n + 1.0 / m) ** 0.5})
                for key in ("psi", "js_distance", "kl_divergence", "wasserstein_normalized"):
                    if r.details.get(key) is not None:
                        rows.append({"feature": r.feature, "metric": key, "value": float(r.details[key])})
            rows += domain_metric_rows(r)   # domain_classifier_check: AUROC, drift coefficient, contributions
            rows += multivariate.metric_rows(r)
        return rows + summary_rows(self.results)   # verdicts across features (constraints.cross_feature)


def _columns(baseline: Baseline, schema: StructType) -> tuple[tuple[Column, ...], list[CheckResult]]:
    roles = {c.name: c.role for c in baseline.suite.columns} if baseline.suite else {}
    columns, problems = [], []
    by_name = {f.name: f for f in schema.fields}
    for f in baseline.features:
        field_ = by_name.get(f.name)
        if field_ is None:
            continue
        source = sagemaker_type(field_.dataType)
        if source is None:
            problems.append(CheckResult("data_type_check", f.name, FAILED, 0.0, None,
                                        f"Column '{f.name}' is now of type {field_.dataType.simpleString()}, "
                                        f"expected {f.inferred_type}."))
            continue
        target = f.inferred_type if f.inferred_type != UNKNOWN else STRING
        columns.append(Column(f.name, f"c{len(columns)}", field_.dataType.simpleString(), target,
                              roles.get(f.name, FEATURE), source))
    return tuple(columns), problems


def _examples(data: DataFrame, value: str, where: SparkColumn) -> tuple[str, ...]:
    """A few distinct offending values: a small extra job, run only for a failed check. It reads the first
    offending rows, not all of them (a distinct over every offending value would group them all: millions
    when an id lands in a category column)."""
    rows = data.where(where & F.col(value).isNotNull()).select(F.col(value).cast("string")) \
        .limit(MAX_EXAMPLES * EXAMPLE_ROWS).collect()
    return tuple(dict.fromkeys(r[0] for r in rows))[:MAX_EXAMPLES]


def _with_examples(results: list[CheckResult], data: Frame, columns: dict[str, Column]) -> list[CheckResult]:
    out = []
    for r in results:
        col = columns.get(r.feature or "")
        if r.failed and not r.examples and col is not None:
            if r.check == "data_type_check" and col.is_retyped:
                r = replace(r, examples=_examples(data.df, col.raw_alias, ~F.col(col.typeok_alias)))
            elif r.constraint is not None:
                where = offending(r.constraint, col)
                if where is not None:
                    r = replace(r, examples=_examples(data.df, col.alias, where))
        out.append(r)
    return out


def validate(spark: SparkSession, df: DataFrame | Frame, baseline: Baseline, partition: str,
             thresholds: Thresholds = Thresholds(), lanes: dict[str, tuple[SparkColumn, Any]] | None = None,
             sample: Any = None) -> ValidationReport:
    """Check `df` against `baseline`; failures become results, not exceptions. Thresholds are calibrated
    to the sizes by default (constraints.thresholds); `Thresholds(mode="sagemaker")` for the fixed ones.
    `lanes`: {name: (expression over `df`, lane)} tallied in the same pass, in `ValidationReport.lanes`
    (the model's outputs for label-free quality estimates, jobs.estimated). `sample`: a
    constraints.rowsample.SampleRequest; the pass's row sample of its features in `ValidationReport.sample`
    (the domain classifier's, jobs.domain_drift). As a constraints.frames.Frame, `df` is made only where
    Spark computes (its docstring)."""
    frame = df if isinstance(df, Frame) else Frame.of(df)
    columns, problems = _columns(baseline, frame.schema)
    results = schema_checks(baseline, frame.columns) + problems
    suite = baseline.suite
    unique = columns_of(MaxMultiplicity, needed(s.constraint for s in suite.constraints)) if suite else frozenset()
    lanes = lanes or {}
    extra = [expr.alias(name) for name, (expr, _) in lanes.items()]
    data = frame.derived(lambda made: projection(made, columns, extra=extra))
    measured = scan(data, plan_scan(baseline, columns, unique, suite, sample),
                    {name: kind for name, (_, kind) in lanes.items()})
    prof = measured.profile
    if prof.rows == 0:
        return ValidationReport(partition, 0, tuple(results + [row_count_check(0)]), prof, unique, measured.extra)
    results += feature_checks(baseline, prof, unique, thresholds)
    results = multivariate.with_quantiles(results, baseline, prof)   # quantile shifts; correlations per pair
    results += multivariate.partition_checks(baseline, measured.joint, thresholds)
    if suite is not None:
        present = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
        results += suite_checks(results_from_counts(suite, present, prof, measured.offending_rows))
    results = _with_examples(results, data, {c.name: c for c in columns})
    return ValidationReport(partition, prof.rows, tuple([row_count_check(prof.rows)] + results), prof, unique,
                            measured.extra, measured.joint.get("sample"))
