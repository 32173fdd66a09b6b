"""dqloop impact: did a change (a model release, a pipeline change, a business event) move a metric beyond
what the series would have done anyway? Google's CausalImpact on a metric series.

    from dqloop's metrics history (any metric it records: labeled_accuracy, row_count, a feature's mean,
    baseline_drift, ...), one point per partition:
        dqloop impact --metrics-repo out/validate/_metrics --metric labeled_accuracy \
                      --intervention day=2026-11-20 --output out/impact/release-7
    from a series of your own (CSV or Parquet):
        dqloop impact --series sales.csv --time-column date --value-column revenue \
                      --control-columns other_region --intervention 2026-11-20 --output out/impact/promo

The intervention is the first point after the change (a partition name, a time, or a point's label).
Control series (--control-metric METRIC[@FEATURE] from the history, --control-columns from a file) are
series the change did not touch; they make the counterfactual much sharper. Writes, all-or-nothing, into
--output: impact.json (average and cumulative effect with intervals, relative effect, posterior tail-area
probability, every point's counterfactual), impact.html (the summary and CausalImpact's three panels, an
offline page), impact.prom (Prometheus text), summary.txt. Library: bsts-causalimpact (R bsts's Gibbs
sampler; see docs/impact.md). No Spark.

Exit status: 0 analysed (effect or not); 1 an effect was found and --fail-on-effect was given; 2 usage
error (no such metric, intervention not in the series, too few points before it); 3 runtime error
(unreadable input, the sampler failed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from constraints.errors import DqloopError, InputNotFound, UnreadableInput, UsageError
from jobs.io import json_text, write_file, write_folder


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_argument_group("the series (one of)")
    src.add_argument("--metrics-repo", metavar="DIR", help="dqloop's metrics history folder (e.g. out/validate/_metrics)")
    src.add_argument("--series", metavar="FILE", help="a CSV or Parquet file with the series")
    hist = p.add_argument_group("from the metrics history")
    hist.add_argument("--metric", help="the metric (e.g. labeled_accuracy, row_count, mean, baseline_drift)")
    hist.add_argument("--feature", default="*", help="the feature of a per-feature metric (default: * = partition-level)")
    hist.add_argument("--control-metric", action="append", default=[], metavar="METRIC[@FEATURE]",
                      help="a control series from the history (repeatable)")
    table = p.add_argument_group("from a file")
    table.add_argument("--value-column", help="the response column")
    table.add_argument("--time-column", help="the time column (the series is sorted by it)")
    table.add_argument("--control-columns", help="comma-separated control columns")
    p.add_argument("--intervention", required=True,
                   help="the first point after the change: a partition name, a time, or a point's label")
    p.add_argument("--output", required=True, help="folder for impact.json, impact.html, impact.prom, summary.txt")
    p.add_argument("--alpha", type=float, default=0.05, help="1 - the intervals' level (default: 0.05)")
    p.add_argument("--niter", type=int, default=5000, help="MCMC iterations (default: 5000; R's default is 1000)")
    p.add_argument("--burn-in", type=int, default=500, help="iterations discarded (default: 500)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default: 1): same seed, same figures")
    p.add_argument("--prior-level-sd", type=float, default=0.01,
                   help="R's prior.level.sd: the prior guess of the level's random-walk s.d., in s.d.s of the series "
                        "(default: 0.01, R's; use 0.1 for a series that wanders and has no control series)")
    p.add_argument("--nseasons", type=int, help="add a seasonal component with this many seasons (e.g. 7 for daily data)")
    p.add_argument("--title", help="the page's title")
    p.add_argument("--fail-on-effect", action="store_true", help="exit 1 when an effect is found")
    p.add_argument("--prometheus-textfile", metavar="FILE", help="also write the metrics to FILE (atomically)")


def _split(spec: str) -> tuple[str, str]:
    metric, _, feature = spec.partition("@")
    return metric, feature or "*"


def _frame(args: argparse.Namespace) -> tuple[pd.DataFrame, str]:
    from causal import series

    if bool(args.metrics_repo) == bool(args.series):
        raise UsageError("Give either --metrics-repo (with --metric) or --series (with --value-column).",
                         "see dqloop impact --help")
    try:
        if args.metrics_repo:
            from jobs.history import load_history

            if not args.metric:
                raise UsageError("--metrics-repo needs --metric.", "name the metric, e.g. --metric labeled_accuracy")
            if not Path(args.metrics_repo).is_dir():
                raise InputNotFound(f"--metrics-repo {args.metrics_repo} is not a folder.", "check the path")
            history, problems = load_history(args.metrics_repo)
            for problem in problems:
                print(f"dqloop impact: warning: unreadable metrics history file skipped: {problem}", file=sys.stderr)
            if history.empty:
                raise UsageError(f"No metrics history in {args.metrics_repo}.", "validate or label partitions first")
            frame = series.history_frame(history, (args.metric, args.feature), [_split(c) for c in args.control_metric])
            name = args.metric + ("" if args.feature == "*" else f"[{args.feature}]")
        else:
            path = Path(args.series)
            if not path.exists():
                raise InputNotFound(f"Series {args.series} does not exist.", "check the path")
            if not args.value_column:
                raise UsageError("--series needs --value-column.", "name the column with the response")
            try:
                raw = pd.read_csv(path) if path.suffix in (".csv", ".gz") else pd.read_parquet(path)
            except Exception as exc:
                raise UnreadableInput(f"Could not read {args.series}: {type(exc).__name__}: {exc}",
                                      "give a CSV or Parquet file") from None
            controls = [c.strip() for c in (args.control_columns or "").split(",") if c.strip()]
            frame = series.table_series(raw, args.value_column, args.time_column, controls)
            name = args.value_column
    except ValueError as exc:
        raise UsageError(f"Cannot build the series: {exc}.", "check --metric/--feature or the columns") from None
    return frame, name


def run(args: argparse.Namespace) -> int:
    from causal import Settings, estimate, post_start
    from jobs.render import exposition
    from jobs.render.impact import HELP, impact_page, impact_samples

    if not 0 < args.alpha < 0.5:
        raise UsageError(f"--alpha must be between 0 and 0.5, not {args.alpha}.", "e.g. --alpha 0.05")
    if not args.prior_level_sd > 0:
        raise UsageError("--prior-level-sd must be positive.", "e.g. 0.01 (R's default) or 0.1")
    if args.niter <= args.burn_in or args.burn_in < 0:
        raise UsageError("--niter must exceed --burn-in (and --burn-in be >= 0).", "e.g. --niter 5000 --burn-in 500")
    frame, name = _frame(args)
    try:
        post = post_start(frame.index, args.intervention)
    except ValueError as exc:
        raise UsageError(f"Intervention: {exc}.", "give the first point after the change (--intervention)") from None
    settings = Settings(alpha=args.alpha, niter=args.niter, nwarmup=args.burn_in, seed=args.seed,
                        nseasons=args.nseasons, prior_level_sd=args.prior_level_sd)
    try:
        impact = estimate(frame, post, settings)
    except ValueError as exc:
        raise UsageError(f"Cannot estimate the impact: {exc}.", "move --intervention or use a longer series") from None
    except Exception as exc:
        raise DqloopError(f"CausalImpact failed: {type(exc).__name__}: {exc}",
                          "rerun with DQLOOP_DEBUG=1 and report the series' shape") from None
    doc = impact.document
    doc["series"] = name
    doc["source"] = args.metrics_repo or args.series
    title = args.title or f"impact on {name}"
    prom = exposition(impact_samples(doc, name), HELP)
    a = doc["average"]
    summary = (f"impact on {name} from {doc['intervention']['first_post_point']}: "
               f"{'effect' if impact.detected else 'no effect'}\n  {doc['conclusion']}\n"
               f"  average: actual {a['actual']:.4g}, counterfactual {a['predicted']:.4g} "
               f"({a['predicted_lower']:.4g} to {a['predicted_upper']:.4g}); relative effect "
               f"{100 * a['relative_effect']:.3g}% ({100 * a['relative_effect_lower']:.3g}% to "
               f"{100 * a['relative_effect_upper']:.3g}%)\n"
               f"  cumulative effect {doc['cumulative']['absolute_effect']:.4g} "
               f"({doc['cumulative']['absolute_effect_lower']:.4g} to {doc['cumulative']['absolute_effect_upper']:.4g})\n"
               + "".join(f"  note: {w}\n" for w in doc["warnings"]))
    target = write_folder(args.output, {"impact.json": json_text(doc), "impact.html": impact_page(doc, title),
                                        "impact.prom": prom, "summary.txt": summary})
    if args.prometheus_textfile:
        write_file(args.prometheus_textfile, prom)
    sys.stdout.write(summary)
    print(f"written: {target}/{{impact.json, impact.html, impact.prom, summary.txt}}")
    return 1 if args.fail_on_effect and impact.detected else 0
