"""Deequ's profile (`dqloop baseline --engine deequ`): every per-column metric from one fused analysis run.

All analyzers are scan-shareable, so Deequ computes them in one aggregation over the data:
sizes and completeness (whole data, training split, held-out split), mean, sum, standard
deviation, min and max (and min/max per split), the KLL sketch of each numeric column, approximate
distinct counts, string lengths, and the count of NaN/+-Inf values. Category frequencies come from
one more grouping pass over all categorical columns at once (categories.py), not a pass per column.
The one-pass engine (constraints.profiling) is tested against this one.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from constraints import metrics as m
from constraints.categories import CategoryCounts, count_categories
from constraints.columns import FRACTIONAL, HOLDOUT, INTEGRAL, STRING, Column, SkippedColumn
from constraints.deequ import pydeequ_module, require_deequ
from constraints.profile import (CheckOutcome, ColumnProfile, Kll, KllParameters, Profile, ProfileOptions,
                                 SplitStats)

TRAIN_WHERE = f"NOT {HOLDOUT}"
HOLDOUT_WHERE = HOLDOUT
SPLITS = {"all": None, "train": TRAIN_WHERE, "holdout": HOLDOUT_WHERE}
Key = tuple[m.Metric, str]   # (what is measured, in which split): an analyzer's result, e.g. (m.Mean("x"), "all")


def profile(spark: SparkSession, data: DataFrame, columns: tuple[Column, ...],
            skipped: tuple[SkippedColumn, ...] = (), options: ProfileOptions = ProfileOptions()) -> Profile:
    """Profile `data`, a `columns.projection`, in one Deequ run plus at most one grouping pass."""
    return profile_and_check(spark, data, columns, skipped, options)[0]


def profile_and_check(spark: SparkSession, data: DataFrame, columns: tuple[Column, ...],
                      skipped: tuple[SkippedColumn, ...] = (), options: ProfileOptions = ProfileOptions(),
                      checks: dict[str, Any] | None = None) -> tuple[Profile, dict[str, CheckOutcome]]:
    """Profile `data` and evaluate Deequ `checks` ({name: pydeequ Check}) in the same Deequ run."""
    require_deequ(spark)
    splits = SPLITS if options.splits else {"all": None}
    metrics, outcomes = _run_analyzers(spark, data, columns, options.kll, checks or {}, splits)
    if not options.splits:  # everything is the training split; nothing is held out
        metrics.update({(metric, "train"): v for (metric, split), v in list(metrics.items()) if split == "all"})
        metrics[(m.TABLE_SIZE, "holdout")] = 0.0
    sizes = {split: int(metrics[(m.TABLE_SIZE, split)] or 0) for split in SPLITS}

    def approx_distinct(c: Column) -> float:
        return metrics.get((m.ApproxCountDistinct(c.alias), "all")) or 0

    if options.categorical is not None:
        categorical = [c for c in columns if c.name in options.categorical]
    else:
        categorical = [c for c in columns if c.inferred_type == STRING and approx_distinct(c) <= options.max_categories]
    if options.unique is not None:
        unique_candidates = [c for c in columns if c.name in options.unique and c not in categorical]
    else:
        unique_candidates = [c for c in columns if c.inferred_type in (INTEGRAL, STRING) and c not in categorical
                             and 0 < _present(metrics, c, "all", sizes)
                             and approx_distinct(c) >= options.unique_ratio * _present(metrics, c, "all", sizes)]
    counts = count_categories(data, categorical, unique_candidates) if categorical or unique_candidates else {}

    profiles = tuple(_column_profile(c, metrics, sizes, counts.get(c.alias)) for c in columns)
    return Profile(sizes["all"], sizes["train"], sizes["holdout"], profiles, skipped), outcomes


def _present(metrics: dict[Key, Any], c: Column, split: str, sizes: dict[str, int]) -> int:
    completeness = metrics.get((m.Completeness(c.alias), split))
    return round((completeness or 0.0) * sizes[split])


def _run_analyzers(spark: SparkSession, data: DataFrame, columns: tuple[Column, ...], kll: KllParameters,
                   checks: dict[str, Any], splits: dict[str, str | None] = SPLITS,
                   ) -> tuple[dict[Key, Any], dict[str, CheckOutcome]]:
    """Run all analyzers (and checks) in one Deequ run; return {(metric, split): value or None}."""
    a = pydeequ_module("analyzers")
    planned: list[tuple[Key, Any]] = []
    for split, where in splits.items():
        planned.append(((m.TABLE_SIZE, split), a.Size(where=where)))
    kll_params = a.KLLParameters(spark, kll.sketch_size, kll.shrinking_factor, kll.buckets)
    for c in columns:
        col = c.alias
        for split, where in splits.items():
            planned.append(((m.Completeness(col), split), a.Completeness(col, where=where)))
        if c.is_numeric:
            for metric, analyzer in ((m.Mean, a.Mean), (m.Sum, a.Sum), (m.StandardDeviation, a.StandardDeviation)):
                planned.append(((metric(col), "all"), analyzer(col)))
            for split, where in splits.items():
                planned.append(((m.Minimum(col), split), a.Minimum(col, where=where)))
                planned.append(((m.Maximum(col), split), a.Maximum(col, where=where)))
            planned.append(((m.KllSketch(col), "all"), a.KLLSketch(col, kll_params)))
        else:
            for split, where in splits.items():
                planned.append(((m.MinLength(col), split), a.MinLength(col, where=where)))
                planned.append(((m.MaxLength(col), split), a.MaxLength(col, where=where)))
        if c.inferred_type != FRACTIONAL:  # decides categorical / unique candidates; no rule needs it per split
            planned.append(((m.ApproxCountDistinct(col), "all"), a.ApproxCountDistinct(col)))
        else:
            planned.append(((m.NonFiniteShare(col), "all"),
                            a.Compliance(c.nonfinite_alias, f"`{c.nonfinite_alias}`")))
        if c.is_retyped:
            planned.append(((m.TypeShare(col), "all"), a.Compliance(c.typeok_alias, f"`{c.typeok_alias}`")))

    if checks:
        # One VerificationSuite run computes the checks' metrics and the profile's together.
        v = pydeequ_module("verification")
        builder = v.VerificationSuite(spark).onData(data)
        for check in checks.values():
            builder = builder.addCheck(check)
        jbuilder = builder._VerificationRunBuilder
        for _, analyzer in planned:
            analyzer._set_jvm(spark._jvm)
            jbuilder = jbuilder.addRequiredAnalyzer(analyzer._analyzer_jvm)
        builder._VerificationRunBuilder = jbuilder
        result = builder.run()
        lookup = result.verificationRun.metrics().get
        outcomes = check_outcomes(v.VerificationResult.checkResultsAsJson(spark, result), checks)
    else:
        runner = a.AnalysisRunner(spark).onData(data)
        for _, analyzer in planned:
            runner.addAnalyzer(analyzer)
        lookup = runner.run().metric
        outcomes = {}

    values: dict[Key, Any] = {}
    for key, analyzer in planned:
        analyzer._set_jvm(spark._jvm)
        metric = lookup(analyzer._analyzer_jvm)
        if metric.isEmpty():
            values[key] = None
            continue
        result = metric.get().value()
        values[key] = _from_jvm(spark, result.get()) if result.isSuccess() else None
    return values, outcomes


def check_outcomes(rows: list[dict], checks: dict[str, Any]) -> dict[str, CheckOutcome]:
    by_check: dict[str, list[dict]] = {}
    for row in rows:
        by_check.setdefault(row["check"], []).append(row)
    outcomes = {}
    for name in checks:
        entries = by_check.get(name, [])
        failed = [e for e in entries if e["constraint_status"] != "Success"]
        outcomes[name] = CheckOutcome(bool(entries) and not failed, "; ".join(e["constraint_message"] for e in failed))
    return outcomes


def _from_jvm(spark: SparkSession, value: Any) -> Any:
    """Doubles come back as floats; a BucketDistribution becomes a Kll.

    The sketch (thousands of doubles) crosses Py4J as one string per compactor level, not one call
    per element.
    """
    if isinstance(value, (int, float)):
        return float(value)
    buckets = value.buckets()
    params = value.parameters()
    arrays = spark._jvm.java.util.Arrays
    levels = [json.loads(arrays.toString(level)) for level in value.data()]
    return Kll(
        buckets=tuple((_bound(b.lowValue()), _bound(b.highValue()), int(b.count()))
                      for b in (buckets.apply(i) for i in range(buckets.size()))),
        c=float(params.apply(0)),
        k=int(params.apply(1)),
        data=tuple(tuple(float(x) for x in level) for level in levels),
    )


def _bound(value: float) -> float:
    """A bucket bound: Deequ's equal-width edges overflow to infinity when the values span nearly the whole
    double range (max / 10 * 10 rounds up); the edge is the largest double then."""
    return max(-sys.float_info.max, min(sys.float_info.max, float(value)))


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _column_profile(c: Column, values: dict[Key, Any], sizes: dict[str, int],
                    counts: CategoryCounts | None) -> ColumnProfile:
    col = c.alias
    present = _present(values, c, "all", sizes)
    failures = tuple(type(metric).__name__ for (metric, split), v in values.items()
                     if metric.column == col and split == "all" and v is None and present > 0)

    def get(metric: type[m.Metric], split: str = "all") -> Any:
        return values.get((metric(col), split))

    nonfinite = round((get(m.NonFiniteShare) or 0.0) * sizes["all"])

    def split_stats(split: str) -> SplitStats:
        return SplitStats(
            rows=sizes[split], num_present=_present(values, c, split, sizes),
            minimum=_finite(get(m.Minimum, split)), maximum=_finite(get(m.Maximum, split)),
            min_length=_int(get(m.MinLength, split)), max_length=_int(get(m.MaxLength, split)),
            max_multiplicity=counts.max_multiplicity.get(split) if counts else None,
            categories=counts.split_counts(split) if counts and counts.values is not None else None,
        )

    exact = counts.distinct if counts else None
    return ColumnProfile(
        column=c, num_present=present, num_missing=sizes["all"] - present, nonfinite=nonfinite,
        mean=_finite(get(m.Mean)), sum=_finite(get(m.Sum)), std_dev=_finite(get(m.StandardDeviation)),
        minimum=_finite(get(m.Minimum)), maximum=_finite(get(m.Maximum)),
        kll=get(m.KllSketch) if present else None,
        distinct_count=exact if exact is not None else _int(get(m.ApproxCountDistinct)),
        min_length=_int(get(m.MinLength)), max_length=_int(get(m.MaxLength)),
        categories=counts.totals() if counts and counts.values is not None else None,
        train=split_stats("train"), holdout=split_stats("holdout"),
        failures=failures,
        type_share=_type_share(get(m.TypeShare), present, sizes["all"]),
    )


def _type_share(typeok: float | None, present: int, rows: int) -> float:
    """Share of non-null source values of the profiled type; typeok = (null or converts) / rows.

    The values that converted are the present ones; the others failed to convert.
    """
    if typeok is None or rows == 0:
        return 1.0
    source_present = present + round((1.0 - typeok) * rows)
    return present / source_present if source_present else 1.0
