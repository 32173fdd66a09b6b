"""report.html for one validated partition: a summary first (the verdict in a sentence, the features to look
at first ranked by severity with a sentence each: jobs.render.summary), then the violations in terse rows
with each threshold's derivation behind a disclosure, every check, and per feature the baseline's and the
partition's distributions drawn together, model outputs apart from inputs.

Pure: documents in (checks.json, the partition's statistics.json, the baseline), HTML out. Checks
are rendered generically from their fields (check, feature, status, measured, threshold,
description, details, examples), so check types added later show without a change here.
"""

from __future__ import annotations

from typing import Any, Iterable
from urllib.parse import quote

from constraints.baseline import Baseline, FeatureBaseline
from constraints.columns import PREDICTION
from jobs.render.charts import paired_bars, paired_columns
from jobs.render.correlation import correlation_section, is_pair_check, quantile_line
from jobs.render.distributions import category_shares, numeric_bins
from jobs.render.domain import domain_section
from jobs.render.html import Cell, esc, fmt, number, page, pct, table, text
from jobs.render.summary import Finding, ranked, terse, verdict_sentence

RANKED = 8   # features named in the summary; the rest are in the violations table

VERDICTS = {"ok": "OK: no violations", "violations": "Violations found", "empty": "Empty partition"}


def details_text(details: dict[str, Any] | None) -> str:
    """A check's details as `key=value; ...`, numbers formatted, nested values shown as they are."""
    parts = []
    for k, v in (details or {}).items():
        shown = fmt(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)
        parts.append(f"{k}={shown}")
    return "; ".join(parts)


def _status(status: str) -> Cell:
    return Cell(esc(status), status, status if status in ("passed", "failed", "skipped") else "")


def _derivation(c: dict[str, Any]) -> str | None:
    d = (c.get("details") or {}).get("derivation")
    return d if isinstance(d, str) and d else None


def disclosure(c: dict[str, Any]) -> str:
    """The check's full description and every detail, closed until opened."""
    derivation, details = _derivation(c), details_text(c.get("details"))
    description = str(c.get("description") or "")
    shortened = terse(description, derivation) != description
    if not details and not shortened:
        return ""
    summary = "how the threshold was derived" if derivation else "details"
    return (f"<details class=\"derivation\"><summary>{summary}</summary>"
            + (f"<p>{esc(description)}</p>" if shortened else "")
            + (f"<p><code>{esc(details)}</code></p>" if details else "") + "</details>")


def _description(c: dict[str, Any]) -> Cell:
    short = terse(str(c.get("description") or ""), _derivation(c))
    return Cell(f"<span class=\"terse\">{esc(short)}</span>{disclosure(c)}", short)


def check_rows(checks: Iterable[dict[str, Any]], *, with_status: bool) -> list[list[Cell]]:
    rows = []
    for c in checks:
        row = [_status(str(c.get("status")))] if with_status else []
        row += [text(c.get("check")), text(c.get("feature") or "-"), number(c.get("measured")),
                number(c.get("threshold")), _description(c),
                text(", ".join(str(e) for e in c.get("examples") or []))]
        rows.append(row)
    return rows


CHECK_HEADERS = ["check", "feature", "measured", "threshold", "description", "examples"]


def _anchor(feature: str) -> str:
    return "feature-" + quote(feature, safe="")


def _summary(verdict: str, findings: list[Finding], failed: int, total: int, rows: int, features: set[str]) -> str:
    lines = ["<section id=\"summary\">",
             f"<p class=\"verdict-line\"><span class=\"verdict v-{esc(verdict)}\" id=\"verdict\">"
             f"{esc(VERDICTS.get(verdict, verdict))}</span> <span id=\"verdict-text\">"
             f"{esc(verdict_sentence(verdict, findings, failed, total, rows))}</span></p>"]
    if findings:
        lines.append("<ol id=\"ranked\">")
        for f in findings[:RANKED]:
            name = f"<b class=\"fname\">{esc(f.feature)}</b>"
            link = f"<a href=\"#{esc(_anchor(f.feature))}\">{name}</a>" if f.feature in features else name
            lines.append(f"<li data-feature=\"{esc(f.feature)}\">{link} <span class=\"times\" title=\"how far past "
                         f"its threshold\">{esc(f.times)}</span> {esc(f.sentence)}</li>")
        lines.append("</ol>")
        if len(findings) > RANKED:
            lines.append(f"<p class=\"legend\">and {len(findings) - RANKED} more features with violations "
                         "(table below)</p>")
    return "\n".join(lines + ["</section>"])


def _feature_stats(statistics: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in statistics.get("features", []) if isinstance(f, dict) and "name" in f}


def _completeness(stats: dict[str, Any] | None, rows: int) -> float | None:
    if not stats or not rows:
        return None
    block = stats.get("numerical_statistics") or stats.get("string_statistics") or {}
    present = (block.get("common") or {}).get("num_present")
    return None if present is None else present / rows


def _chart(f: FeatureBaseline, stats: dict[str, Any] | None) -> str:
    if stats is None:
        return "<p class=\"skipped\">Not in the partition.</p>"
    if f.is_numeric:
        bins = numeric_bins(f, stats)
        if bins:
            return paired_columns(bins.labels, bins.baseline, bins.current,
                                  f"{f.name}: baseline and current share per baseline bucket", bins.edges)
    else:
        cats = category_shares(f, stats)
        if cats:
            return paired_bars(cats.rows, f"{f.name}: baseline and current share per category")
    return "<p class=\"skipped\">No distribution to draw (no values, or none recorded in the baseline).</p>"


def _card(f: FeatureBaseline, stats: dict[str, Any] | None, checks: list[dict[str, Any]], rows: int) -> str:
    failed = [c for c in checks if c.get("status") == "failed"]
    lines = [f"<h3>{esc(f.name)} <small class=\"skipped\">{esc(f.inferred_type)}</small></h3>",
             f"<p>completeness: baseline {esc(pct(f.completeness))}, current {esc(pct(_completeness(stats, rows)))}</p>"]
    quiet: dict[str, list[str]] = {}
    for c in checks:
        status = str(c.get("status"))
        if status != "failed" and c.get("measured") is None:     # nothing to read but its name: one line per status
            quiet.setdefault(status, []).append(str(c.get("check")))
            continue
        measure = "" if c.get("measured") is None else f" measured {fmt(c.get('measured'))}"
        bound = "" if c.get("threshold") is None else f", threshold {fmt(c.get('threshold'))}"
        lines.append(f"<div class=\"check\"><span class=\"{esc(status)}\">{esc(status)}</span> {esc(c.get('check'))}:"
                     f"{esc(measure)}{esc(bound)}{disclosure(c)}</div>")
    for status, names in quiet.items():
        counted = ", ".join(f"{n} \u00d7{names.count(n)}" if names.count(n) > 1 else n for n in dict.fromkeys(names))
        lines.append(f"<p><span class=\"{esc(status)}\">{esc(status)}</span> <small>{esc(counted)}</small></p>")
    lines.append("<p class=\"legend\"><span class=\"sw-base\">\u25A0</span> baseline "
                 "<span class=\"sw-cur\">\u25A0</span> current</p>")
    lines.append(_chart(f, stats))
    lines.append(quantile_line(checks))
    return (f"<div class=\"card{' bad' if failed else ''}\" id=\"{esc(_anchor(f.name))}\" data-feature=\"{esc(f.name)}\">"
            + "".join(lines) + "</div>")


def partition_report(checks: dict[str, Any], statistics: dict[str, Any], baseline: Baseline,
                     run_time: str | None = None) -> str:
    """The whole report.html for one partition."""
    partition = str(checks.get("partition", ""))
    rows = int(checks.get("rows") or 0)
    verdict = str(checks.get("verdict", ""))
    results = list(checks.get("checks") or [])
    violations = [c for c in results if c.get("status") == "failed"]
    by_feature: dict[str, list[dict[str, Any]]] = {}
    for c in results:
        if c.get("feature") and not is_pair_check(c):   # pairs: their own section
            by_feature.setdefault(str(c["feature"]), []).append(c)
    stats = _feature_stats(statistics)
    roles = {c.name: c.role for c in baseline.suite.columns} if baseline.suite else {}

    features = {f.name for f in baseline.features}
    body = [f"<h1>dqloop report: {esc(partition)}</h1>",
            _summary(verdict, ranked(results), len(violations), len(results), rows, features),
            "<div class=\"facts\">"
            f"<div>rows<b id=\"rows\">{esc(fmt(rows))}</b></div>"
            f"<div>baseline rows<b>{esc(fmt(baseline.item_count))}</b></div>"
            f"<div>features<b>{len(baseline.features)}</b></div>"
            f"<div>violations<b>{len(violations)}</b></div>"
            + (f"<div>validated<b>{esc(run_time)}</b></div>" if run_time else "") + "</div>",
            "<h2>Violations</h2>"]
    body.append(table(CHECK_HEADERS, check_rows(violations, with_status=False), id_="violations")
                if violations else "<p id=\"violations\">No violations.</p>")
    body.append(domain_section(results))   # multivariate drift: the domain classifier, when it ran
    extra = [c for c in by_feature if baseline.feature(c) is None]
    for title, is_output in (("Inputs", False), ("Model outputs", True)):
        group = [f for f in baseline.features if (roles.get(f.name) == PREDICTION) == is_output]
        if not group:
            continue
        body.append(f"<h2>{title}</h2><div class=\"cards\" id=\"{'outputs' if is_output else 'inputs'}\">")
        body += [_card(f, stats.get(f.name), by_feature.get(f.name, []), rows) for f in group]
        body.append("</div>")
    body.append(correlation_section(results))
    if extra:
        body.append("<h2>Columns not in the baseline</h2><p>" + ", ".join(esc(e) for e in extra) + "</p>")
    body.append("<h2>All checks</h2><p class=\"legend\">Click a column header to sort.</p>")
    body.append(table(["status"] + CHECK_HEADERS, check_rows(results, with_status=True), id_="checks"))
    return page(f"dqloop: {partition} ({verdict})", "\n".join(body))
