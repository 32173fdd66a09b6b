"""What dqloop measures across features, beside SageMaker's documents: the baseline's extended statistics
(`extended_statistics.json`, a new file beside statistics.json, so SageMaker's readers never see it) and
the checks of a partition against them.

  quantiles      p01, quartiles, median and p99 per numeric feature (constraints.quantiles); a partition's
                 shifts go into the details of its baseline_drift_check (checks.json, the report's cards)
  correlations   Pearson's r and Spearman's rho of every pair of the first MAX_COLUMNS numeric features
                 (constraints.correlation), with the rows behind each

correlation_drift_check, one per pair and coefficient: Fisher's z = atanh(r) of the baseline and of the
partition, whose difference has standard deviation sqrt(v / (n - 3) + v / (m - 3)) when nothing changed
(n, m: the pair's rows in each). For Spearman's rho v = 1.06 (Fieller, Hartley and Pearson 1957: ranks,
so whatever the marginals). For Pearson's r, v = 1 only for bivariate normal data; skewed or
heavy-tailed data make r vary more (with lognormal features Fisher's v = 1 raised the false alarms
tenfold, bench/RESULTS.md), so v is the delta-method variance of the baseline's distribution, estimated
on the baseline's row sample from fourth moments (constraints.correlation.fisher_variance) and kept in
extended_statistics.json. Because that single v is the limit and is wrong at small sizes for heavy tails
(lognormal features: 0.185 false alarms at 1,000 rows), the baseline also keeps v at a grid of sizes from
the m-out-of-n bootstrap of its row sample (`null_variance`, constraints.correlation_null), interpolated
at each side's rows, and the partition's side takes the larger of that and the partition's own
fourth-moment variance from its row sample (studentized, the asymptotically distribution-free variance of
Steiger and Hakstian 1982: a partition whose few extreme rows move r also shows them in its moments). A
baseline document without `null_variance` uses the single v on both sides. A pair fails when the difference is significant at the per-pair alpha (the
family of one coefficient's pairs held at Thresholds.family_alpha, Sidak, as every other check type)
and the correlation moved by at least `min_effect` (0.1 by default). bench/correlation_study.py
measures the false-alarm rate and the power on normal and skewed data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from constraints.correlation import (BASELINE_SAMPLE_ROWS, MAX_COLUMNS, SAMPLE_ROWS, Comoments, fisher_variance,
                                     pearson, spearman_of_sample)
from constraints import association, reconstruction, rowsample
from constraints.correlation_null import NullVariance, bootstrap_variance
from constraints.rowsample import RowSample, SampleRequest
from constraints.columns import INTEGRAL
from constraints.distance import Sketch
from constraints.quantiles import sketch_quantiles

__all__ = ["EXTENDED_FILE", "CORRELATION_CHECK", "SPEARMAN_VARIANCE", "CorrelationOptions", "Correlations",
           "baseline_lanes", "extended_document", "validate_lanes", "measured", "pair_name",
           "fisher_test", "correlation_checks"]

EXTENDED_FILE = "extended_statistics.json"
CORRELATION_CHECK = "correlation_drift_check"
SPEARMAN_VARIANCE = 1.06
PEARSON, SPEARMAN = "pearson", "spearman"
COMOMENTS, SAMPLE, ERRORS, PAIRS = "xc", "xs", "xr", "xa"     # the joint lanes' names in the pass


@dataclass(frozen=True)
class CorrelationOptions:
    min_effect: float = 0.1           # smallest change of a correlation worth an alarm
    max_columns: int = MAX_COLUMNS    # numeric features correlated (the first ones)


@dataclass(frozen=True)
class Correlations:
    """Correlation matrices over `columns`, with the rows behind each pair."""

    columns: tuple[str, ...]
    pearson: np.ndarray
    pearson_rows: np.ndarray
    spearman: np.ndarray | None = None
    spearman_rows: np.ndarray | None = None
    variance: np.ndarray | None = None       # Pearson: n Var(atanh r) per pair (fourth moments; None: 1)
    null: NullVariance | None = None         # Pearson: (m - 3) Var(atanh r) per size (baseline only)

    def to_dict(self) -> dict[str, Any]:
        return {"columns": list(self.columns),
                PEARSON: {"r": _matrix(self.pearson), "rows": _matrix(self.pearson_rows, int),
                          **({"fisher_variance": _matrix(self.variance)} if self.variance is not None else {}),
                          **({"null_variance": self.null.to_dict()} if self.null is not None else {})},
                SPEARMAN: None if self.spearman is None else {
                    "rho": _matrix(self.spearman), "rows": _matrix(self.spearman_rows, int),
                    "ranks": "the baseline KLL sketch's mid-CDF", "sample_rows": BASELINE_SAMPLE_ROWS}}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "Correlations":
        sp = doc.get(SPEARMAN)
        v = doc[PEARSON].get("fisher_variance")
        return cls(tuple(doc["columns"]), _array(doc[PEARSON]["r"]), _array(doc[PEARSON]["rows"]),
                   _array(sp["rho"]) if sp else None, _array(sp["rows"]) if sp else None,
                   _array(v) if v else None,
                   NullVariance.from_dict(doc[PEARSON]["null_variance"]) if doc[PEARSON].get("null_variance") else None)


def _matrix(a: np.ndarray, kind=float) -> list[list[Any]]:
    return [[None if not np.isfinite(x) else kind(round(float(x), 12) if kind is float else x) for x in row]
            for row in np.asarray(a, dtype=float)]


def _array(rows) -> np.ndarray:
    return np.array([[np.nan if x is None else float(x) for x in row] for row in rows], dtype=float).reshape(
        len(rows), len(rows))


def _sketch(levels) -> tuple[np.ndarray, np.ndarray]:
    """A baseline sketch's sorted items and their cumulative shares (for mid-CDF ranks)."""
    s = Sketch.from_levels(levels or ())
    last = np.concatenate([s.values[1:] != s.values[:-1], [True]]) if len(s.values) else np.array([], bool)
    return s.values[last], (s.cumulative / s.n if s.n else s.cumulative)[last]   # an item once, at its last weight


def baseline_lanes(numeric: list[tuple[str, str]], strings: list[tuple[str, str]] = (),
                   options: CorrelationOptions = CorrelationOptions(), domain: SampleRequest | None = None,
                   max_categories: int = 100) -> dict:
    """The joint lanes of the baseline's pass over `numeric` ((column, lane) in column order; the first
    max_columns): co-moments; the pass's row sample (constraints.rowsample) for Spearman's rho, the PCA
    (with the first reconstruction.SAMPLED_STRINGS string columns, for its categorical encoding) and,
    with `domain` (its features and rows), the domain classifier's domain_sample.json; over `strings`
    (the first association.MAX_COLUMNS): the pairs' contingency counts."""
    lanes = tuple(lane for _, lane in numeric[:options.max_columns])
    out = {COMOMENTS: Comoments(lanes)} if len(lanes) >= 2 else {}
    wanted = set(domain.numeric) | set(domain.categorical) if domain else set()
    pca = _reconstructed(numeric, strings, options)
    encoded = set(strings[:reconstruction.SAMPLED_STRINGS]) if pca else set()
    first = options.max_columns if pca else 0   # the correlated (and reconstructed) columns come first
    sampled = [*numeric[:first], *(c for c in numeric[first:] if c[0] in wanted)]
    sampled = sampled[:rowsample.MAX_COLUMNS]
    texts = [c for c in strings if c[0] in wanted or c in encoded][:rowsample.MAX_COLUMNS - len(sampled)]
    if sampled or texts:
        out[SAMPLE] = RowSample(tuple(lane for _, lane in sampled), tuple(lane for _, lane in texts),
                                max(BASELINE_SAMPLE_ROWS if pca else 0, domain.rows if domain else 0),
                                tuple(n for n, _ in [*sampled, *texts]), max_categories, rowsample.BASELINE_SALT)
    if len(strings) >= 2:
        out[PAIRS] = association.Contingency(tuple(lane for _, lane in strings[:association.MAX_COLUMNS]))
    return out


def _reconstructed(numeric, strings, options: CorrelationOptions) -> bool:
    """Whether the baseline's sample serves a PCA: two columns at least among the correlated numeric ones and
    the string columns sampled for the categorical encoding."""
    return len(numeric[:options.max_columns]) + len(strings[:reconstruction.SAMPLED_STRINGS]) >= 2


def extended_document(profile, tallies: dict, numeric: list[tuple[str, str]], strings: list[tuple[str, str]] = (),
                      options: CorrelationOptions = CorrelationOptions(), sample=None) -> dict[str, Any]:
    """extended_statistics.json from the baseline's profile and its pass's joint tallies; `sample`, the
    row sample decoded (rowsample.frame), gives the PCA its categorical columns' values."""
    quantiles = {}
    for p in profile.columns:
        if p.column.is_numeric and p.kll is not None and (q := sketch_quantiles(p.kll.data)) is not None:
            quantiles[p.column.name] = q
    doc: dict[str, Any] = {"version": 0, "quantiles": quantiles, "correlations": None, "reconstruction": None,
                           "associations": None}
    categorical = {p.column.name: tuple(v for v, *_ in p.categories) for p in profile.columns
                   if p.categories is not None and not p.column.is_numeric}
    if (pairs := tallies.get(PAIRS)) is not None:
        doc["associations"] = association.baseline_tables(
            pairs, tuple(n for n, _ in strings[:association.MAX_COLUMNS]), categorical)
    by_name = {p.column.name: p for p in profile.columns}
    lanes = [name for name, _ in numeric[:options.max_columns]]
    keep = [k for k, n in enumerate(lanes) if not _identifier(by_name[n])]   # ids: new values every partition
    names = tuple(lanes[k] for k in keep)
    drawn = tallies.get(SAMPLE) if _reconstructed(numeric, strings, options) else None
    rows = drawn.numbers[:BASELINE_SAMPLE_ROWS, keep] if drawn is not None else None   # its first columns: these
    if (co := tallies.get(COMOMENTS)) is not None and len(names) >= 2:
        at = np.ix_(keep, keep)
        sketches = [_sketch(by_name[n].kll.data if by_name[n].kll else ()) for n in names]
        rho, rho_rows = spearman_of_sample(rows, sketches) if rows is not None else (None, None)
        variance = fisher_variance(rows) if rows is not None else None
        null = bootstrap_variance(rows, floor=variance) if rows is not None else None
        doc["correlations"] = {**Correlations(names, pearson(co)[at], co.n[at], rho, rho_rows, variance,
                                              null).to_dict(),
                               "left_out": [n for n, _ in numeric[options.max_columns:]],
                               "identifiers": [n for n in lanes if n not in names]}
    if rows is not None:
        encoded = [n for n, _ in strings[:reconstruction.SAMPLED_STRINGS]
                   if n in categorical and sample is not None and n in sample.columns][:reconstruction.MAX_CATEGORICAL]
        doc["reconstruction"] = reconstruction.fit(
            rows, names, [(n, sample[n].iloc[:len(rows)].tolist()) for n in encoded])
    return doc


def _identifier(p) -> bool:
    """An integral column whose every value is distinct (an id): no correlation, no reconstruction."""
    return p.column.inferred_type == INTEGRAL and p.num_present > 1 and p.distinct_count == p.num_present


def validate_lanes(extended: dict[str, Any], lanes: dict[str, str], levels: dict[str, Any],
                   strings: dict[str, str] | None = None, sample: SampleRequest | None = None) -> dict:
    """The joint lanes of validate's pass: co-moments of the baseline's correlated columns present in the
    partition (`lanes`: column -> numeric lane name); the row sample (constraints.rowsample) of those
    columns for Spearman's rho and of `sample`'s features (the domain classifier's) present in the
    partition; each row's reconstruction error; the categorical pairs' tables (`strings`: column ->
    categorical lane)."""
    out: dict = {}
    strings = strings or {}
    kept = [(k, p) for k, p in enumerate(((extended or {}).get("associations") or {}).get("pairs") or ())
            if all(c in strings for c in p["columns"])]
    if kept:
        out[PAIRS] = association.KnownContingency(
            tuple((strings[p["columns"][0]], strings[p["columns"][1]], tuple(p["categories"][0]),
                   tuple(p["categories"][1])) for _, p in kept), tuple(k for k, _ in kept))
    model = (extended or {}).get("reconstruction")
    encoded = [c["column"] for c in (model or {}).get("categorical") or ()]
    if model and all(n in lanes for n in model["columns"]) and all(n in strings for n in encoded):
        out[ERRORS] = reconstruction.Errors(tuple(lanes[n] for n in model["columns"]),   # a column missing:
                                            reconstruction.Model.from_dict(model),       # missing_column_check
                                            tuple(strings[n] for n in encoded))          # says so
    doc = (extended or {}).get("correlations")
    names = [n for n in doc["columns"] if n in lanes] if doc else []
    names = names if len(names) >= 2 else []
    if names:   # Pearson on every row; Spearman on a row sample (ranking every row cost 10x the pass)
        out[COMOMENTS] = Comoments(tuple(lanes[n] for n in names), tuple(names))
    numeric = [*names, *(n for n in (sample.numeric if sample else ()) if n in lanes and n not in names)]
    numeric = numeric[:rowsample.MAX_COLUMNS]
    texts = [n for n in (sample.categorical if sample else ()) if n in strings][:rowsample.MAX_COLUMNS - len(numeric)]
    if numeric or texts:   # one sample: Spearman takes the first SAMPLE_ROWS rows by key, the classifier more
        out[SAMPLE] = RowSample(tuple(lanes[n] for n in numeric), tuple(strings[n] for n in texts),
                                max(SAMPLE_ROWS if names else 0, sample.rows if sample else 0),
                                (*numeric, *texts), salt=rowsample.VALIDATE_SALT)
    return out


def expecting(lanes: dict, tasks) -> None:
    """Tell the row sample of `lanes` (in place) the pass's rows, when its workers read files whose footers
    gave them (`tasks`: constraints.direct's; None: Spark reads, rows unknown): rowsample's prior bound."""
    if tasks and SAMPLE in lanes:
        lanes[SAMPLE] = replace(lanes[SAMPLE], expected=sum(s.rows for task in tasks for s in task))


def measured(lanes: dict, tallies: dict, levels: dict[str, Any], sample: bool = False) -> dict[str, Any]:
    """What validate's pass measured across features: the partition's Correlations (Spearman's rho on
    the first SAMPLE_ROWS rows of its row sample, ranked by the baseline's sketches `levels`), its
    ErrorTally, its pairs' tables; with `sample`, the row sample itself (a pandas frame by feature)."""
    out: dict[str, Any] = {}
    if sample and SAMPLE in tallies:
        out["sample"] = rowsample.frame(tallies[SAMPLE], lanes[SAMPLE])
    if COMOMENTS in tallies:
        columns = lanes[COMOMENTS].columns
        values = tallies[COMOMENTS]
        rows = tallies[SAMPLE].numbers[:SAMPLE_ROWS, :len(columns)]   # a uniform subsample: the smallest keys
        rho, rho_rows = spearman_of_sample(rows, [_sketch(levels.get(n)) for n in columns])
        out["correlations"] = Correlations(columns, pearson(values), values.n, rho, rho_rows,
                                           fisher_variance(rows))
    if ERRORS in tallies:
        out["reconstruction"] = tallies[ERRORS]
    if PAIRS in tallies:
        out["associations"] = (lanes[PAIRS].index, tallies[PAIRS])
    return out


def pair_name(a: str, b: str) -> str:
    return f"{a} ~ {b}"


def fisher_test(r0: float, n0: float, r1: float, n1: float, variance: float = 1.0,
                partition_variance: float | None = None) -> tuple[float, float]:
    """(z statistic, two-sided p-value) of r1 against r0 at sizes n0 and n1 by Fisher's z; v = `variance`
    on the baseline's side and `partition_variance` (default: the same) on the partition's."""
    if n0 <= 3 or n1 <= 3:
        return 0.0, 1.0
    clip = 1 - 1e-12
    z0, z1 = math.atanh(max(-clip, min(clip, r0))), math.atanh(max(-clip, min(clip, r1)))
    v1 = variance if partition_variance is None else partition_variance
    se = math.sqrt(variance / (n0 - 3) + v1 / (n1 - 3))
    z = (z1 - z0) / se
    return z, math.erfc(abs(z) / math.sqrt(2))   # two-sided normal p-value


def correlation_checks(baseline: Correlations, partition: Correlations, thresholds,
                       options: CorrelationOptions = CorrelationOptions()):
    """correlation_drift_check per pair and coefficient (module docstring)."""
    from scipy import stats

    from constraints.checks import FAILED, PASSED, CheckResult

    index = {n: i for i, n in enumerate(baseline.columns)}
    out = []
    for method, b, bn, p, pn in (
            (PEARSON, baseline.pearson, baseline.pearson_rows, partition.pearson, partition.pearson_rows),
            (SPEARMAN, baseline.spearman, baseline.spearman_rows, partition.spearman, partition.spearman_rows)):
        if b is None or p is None:
            continue
        pairs = []
        for x in range(len(partition.columns)):
            for y in range(x + 1, len(partition.columns)):
                i, j = index[partition.columns[x]], index[partition.columns[y]]
                if all(np.isfinite(v) for v in (b[i, j], p[x, y])) and bn[i, j] > 3 and pn[x, y] > 3:
                    v0, v1 = _variances(baseline, partition, (i, j), (x, y), float(bn[i, j]), float(pn[x, y])) \
                        if method == PEARSON else (SPEARMAN_VARIANCE, SPEARMAN_VARIANCE)
                    pairs.append((partition.columns[x], partition.columns[y], float(b[i, j]), float(bn[i, j]),
                                  float(p[x, y]), float(pn[x, y]), v0, v1))
        alpha = thresholds.feature_alpha(len(pairs))
        critical = float(stats.norm.isf(alpha / 2))
        for a, c, r0, n0, r1, n1, v0, v1 in pairs:
            z, p_value = fisher_test(r0, n0, r1, n1, v0, v1)
            change = r1 - r0
            failed = abs(z) > critical and abs(change) >= options.min_effect
            what = "Pearson's r" if method == PEARSON else "Spearman's rho"
            text = (f"{what} of {a} and {c} {'moved' if failed else 'stayed'}: {r0:.3f} in the baseline "
                    f"({n0:.0f} rows), {r1:.3f} here ({n1:.0f} rows); Fisher's z statistic {z:.2f} against "
                    f"+-{critical:.2f} (alpha {alpha:.3g} over {len(pairs)} pairs), change {change:+.3f} "
                    f"against the minimum effect {options.min_effect:g}.")
            out.append(CheckResult(CORRELATION_CHECK, pair_name(a, c), FAILED if failed else PASSED, abs(change),
                                   options.min_effect, text, details={
                                       "method": method, "columns": [a, c], "baseline": r0, "partition": r1,
                                       "change": change, "baseline_rows": n0, "rows": n1, "z": z,
                                       "p_value": p_value, "critical_z": critical, "alpha": alpha,
                                       "fisher_variance": v1, "baseline_fisher_variance": v0,
                                       "pairs": len(pairs)}))
    return out


def _variances(baseline: Correlations, partition: Correlations, ij: tuple[int, int], xy: tuple[int, int],
               n0: float, n1: float) -> tuple[float, float]:
    """Pearson's (v0, v1) of a pair: the baseline's bootstrapped v at n0 and n1 rows (or, in an older
    document, its single fourth-moment v), the partition's side at least its own fourth-moment v."""
    def finite(v: float) -> float:
        return float(v) if np.isfinite(v) else 1.0

    if baseline.null is not None:
        v0, v1 = finite(baseline.null.at(n0)[ij]), finite(baseline.null.at(n1)[ij])
    else:
        v0 = v1 = finite(baseline.variance[ij]) if baseline.variance is not None else 1.0
    if partition.variance is not None:
        v1 = max(v1, finite(partition.variance[xy]))
    return v0, v1


def with_quantiles(results: list, baseline, profile) -> list:
    """The partition's baseline_drift_check results with each numeric feature's quantile shifts in their
    details (`quantiles`: per quantile baseline, partition, shift and shift in baseline IQRs)."""
    from dataclasses import replace

    from constraints.quantiles import grid_quantiles, shifts

    known = (baseline.extended or {}).get("quantiles") or {}
    out = []
    for r in results:
        if r.check == "baseline_drift_check" and r.feature is not None:
            f = baseline.feature(r.feature)
            base = known.get(r.feature) or (sketch_quantiles(f.kll_levels) if f is not None and f.kll_levels else None)
            p = next((c for c in profile.columns if c.column.name == r.feature), None)
            part = grid_quantiles(p.grid, p.minimum, p.maximum) if p is not None and p.grid is not None else None
            if base and part:
                r = replace(r, details={**r.details, "quantiles": shifts(base, part)})
        out.append(r)
    return out


def partition_checks(baseline, joint: dict[str, Any], thresholds,
                     options: CorrelationOptions = CorrelationOptions()) -> list:
    """correlation_drift_check of every pair the baseline correlated and the partition has; the
    reconstruction error's checks (constraints.reconstruction)."""
    extended = baseline.extended or {}
    out = []
    if extended.get("correlations") and joint.get("correlations") is not None:
        out += correlation_checks(Correlations.from_dict(extended["correlations"]), joint["correlations"],
                                  thresholds, options)
    if extended.get("reconstruction") and joint.get("reconstruction") is not None:
        out += reconstruction.reconstruction_checks(extended["reconstruction"], joint["reconstruction"], thresholds)
    if extended.get("associations") and joint.get("associations") is not None:
        index, tables = joint["associations"]
        pairs = extended["associations"]["pairs"]
        out += association.association_checks([(pairs[k], t) for k, t in zip(index, tables)], thresholds,
                                              options.min_effect)
    return out


def metric_rows(r) -> list[dict[str, Any]]:
    """The history's metrics of a check: a pair's correlation (`pearson` / `spearman`), a numeric
    feature's quantiles (`p01`, `p25`, `median`, `p75`, `p99`)."""
    if r.check in (CORRELATION_CHECK, association.CHECK):
        rows = [{"feature": r.feature, "metric": r.details["method"], "value": float(r.details["partition"])}]
    elif r.check in ("reconstruction_error_check", "anomaly_share_check") and r.measured is not None:
        rows = [{"feature": "*", "metric": r.check.replace("_check", ""), "value": float(r.measured)}]
    else:
        rows = [{"feature": r.feature, "metric": label, "value": float(q["partition"])}
                for label, q in (r.details.get("quantiles") or {}).items()]
    return [m for m in rows if math.isfinite(m["value"])]
