"""The domain classifier's I/O (the math is constraints.domain): the baseline's sample, the partition's
sample, and the check added to each validated partition.

`dqloop baseline` keeps a bounded random sample of the training rows' input features in
domain_sample.json beside statistics.json (SageMaker's files are untouched; a JSON document because the
baseline folder is written atomically as text, on local disks and Hadoop file systems alike), so validate
never rereads the training data. `dqloop validate` trains the classifier on the driver on a bounded
random sample of each partition.

Both samples come out of the command's own pass over the rows (constraints.rowsample: a bottom-k sample,
uniform whatever the order of the files, the same for the same data), so neither command runs a Spark job
for them. The baseline keeps max(--domain-sample-rows, the PCA's and Spearman's 16,384) rows and writes
the first --domain-sample-rows by key (a uniform subsample); validate asks its pass for the classifier's
features (`sample_request`), and --no-domain-classifier leaves them out of the pass. Only where no pass
sample exists (`dqloop baseline --engine deequ`, or validate's API called without the request) is the
sample drawn by Spark (`draw`: a Bernoulli sample at a fraction giving k rows with near certainty, cut to
k on the driver).
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from constraints.baseline import BaselineError, load_baseline
from constraints.domain import NUMERIC, DomainOptions, classify, domain_check, feature_plan, skipped
from constraints.errors import UsageError
from constraints.rowsample import SampleRequest
from constraints.thresholds import Thresholds
from jobs.io import json_text, read_folder

log = logging.getLogger("dqloop.domain")
FILE = "domain_sample.json"
BASELINE_ROWS = 10_000


def add_baseline_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("domain classifier (multivariate drift)")
    g.add_argument("--domain-sample-rows", type=int, default=BASELINE_ROWS, metavar="N",
                   help=f"random training rows kept in {FILE} for validate's domain classifier (default "
                        f"{BASELINE_ROWS:,}; 0 keeps none and turns the classifier off)")


def add_validate_arguments(p: argparse.ArgumentParser) -> None:
    d = DomainOptions()
    g = p.add_argument_group("domain classifier (needs the baseline's domain_sample.json)")
    g.add_argument("--no-domain-classifier", action="store_true",
                   help="do not train the baseline-vs-partition classifier")
    g.add_argument("--domain-sample-rows", type=int, default=d.partition_rows, metavar="N",
                   help=f"rows drawn at random from each partition (default {d.partition_rows:,}): the cost is "
                        "bounded whatever the partition's size")
    g.add_argument("--domain-folds", type=int, default=d.folds, metavar="K", help=f"cross-validation folds (default {d.folds})")
    g.add_argument("--domain-trees", type=int, default=d.trees, metavar="N", help=f"LightGBM boosting rounds (default {d.trees})")
    g.add_argument("--domain-min-effect", type=float, default=d.min_effect, metavar="E",
                   help=f"smallest 2 AUROC - 1 worth an alarm (default {d.min_effect})")


def options_from(args: argparse.Namespace) -> DomainOptions:
    d = DomainOptions()
    try:
        return DomainOptions(enabled=not getattr(args, "no_domain_classifier", False),
                             partition_rows=getattr(args, "domain_sample_rows", d.partition_rows),
                             folds=getattr(args, "domain_folds", d.folds), trees=getattr(args, "domain_trees", d.trees),
                             min_effect=getattr(args, "domain_min_effect", d.min_effect))
    except ValueError as exc:
        raise UsageError(f"Invalid domain classifier option: {exc}.", "see `dqloop validate --help`") from None


def _col(name: str):
    return F.col("`" + name.replace("`", "``") + "`")


def draw(df: DataFrame, plan, rows: int, k: int, seed: int) -> pd.DataFrame:
    """A uniform random sample of min(k, rows) of `df`'s rows, the plan's columns as double or string."""
    cols = [(_col(n).cast("double") if kind == NUMERIC else _col(n).cast("string")).alias(n) for n, kind in plan]
    data = df.select(*cols)
    fraction = (k + 4.0 * math.sqrt(k) + 10.0) / max(rows, 1)
    frame = (data.sample(False, fraction, seed) if fraction < 1.0 else data).toPandas()
    if len(frame) > k:
        keep = np.sort(np.random.default_rng(seed).choice(len(frame), k, replace=False))
        frame = frame.iloc[keep].reset_index(drop=True)
    return frame


@dataclass(frozen=True)
class BaselineSample:
    plan: tuple[tuple[str, str], ...]
    frame: pd.DataFrame
    source_rows: int

    def to_json(self) -> str:
        columns = {n: [None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v
                       for v in self.frame[n].astype(object).where(self.frame[n].notna(), None).tolist()]
                   for n, _ in self.plan}
        return json_text({"version": 1, "about": "dqloop's domain classifier: a uniform random sample of the "
                                                  "baseline's input features (constraints.domain)",
                          "features": [{"name": n, "kind": k} for n, k in self.plan], "rows": len(self.frame),
                          "source_rows": self.source_rows, "columns": columns})

    @classmethod
    def from_json(cls, text: str) -> "BaselineSample":
        doc = json.loads(text)
        plan = tuple((str(f["name"]), str(f["kind"])) for f in doc["features"])
        frame = pd.DataFrame({n: pd.Series(doc["columns"][n], dtype="float64" if k == NUMERIC else "object")
                              for n, k in plan})
        if len(frame) != int(doc["rows"]):
            raise ValueError(f"{len(frame)} rows, the document says {doc['rows']}")
        return cls(plan, frame, int(doc["source_rows"]))


def sample_rows(args) -> int:
    """--domain-sample-rows of `dqloop baseline` (0: no sample), checked."""
    k = getattr(args, "domain_sample_rows", BASELINE_ROWS)
    if k < 0:
        raise UsageError(f"--domain-sample-rows {k} is negative.", "give 0 to keep no sample, or e.g. 10000")
    return k


def baseline_files(spark, args: argparse.Namespace, documents: dict[str, str], prof) -> dict[str, str]:
    """{FILE: text} for `dqloop baseline`, or {} with --domain-sample-rows 0 or no usable feature. The rows
    come from the profile's pass (`prof.sample`); with Deequ's engine (no pass) from a Spark sample."""
    k = sample_rows(args)
    if k == 0:
        return {}
    plan = feature_plan(load_baseline({n: documents[n] for n in ("statistics.json", "constraints.json", "suite.json")
                                       if n in documents}))
    if prof.sample is not None:
        plan = tuple((n, kind) for n, kind in plan if n in prof.sample.columns)   # rowsample.MAX_COLUMNS at most
    if not plan:
        log.warning("domain classifier: no numeric or categorical input feature; no %s written", FILE)
        return {}
    if prof.sample is not None:
        frame = prof.sample[[n for n, _ in plan]].iloc[:k].reset_index(drop=True)   # the smallest keys: uniform
    else:
        from jobs.baseline import read_input
        df = read_input(spark, args)[0].df   # the training data again (--input or --table): one sampling job
        frame = draw(df, plan, prof.rows, k, getattr(args, "seed", 42))
    return {FILE: BaselineSample(plan, frame, prof.rows).to_json()}


def preload(options: DomainOptions) -> None:
    """Import the classifier's libraries (LightGBM and scikit-learn: about half a CPU second) in a thread of
    their own, once per process, so that the import overlaps Spark's start and the pass instead of following
    them: `dqloop validate` calls this before its Spark session starts, when a core still waits on the JVM.
    A library that fails to import fails again where it is used, as a skipped check naming it."""
    if options.enabled:
        _start_preloading()


@functools.cache
def _start_preloading() -> None:
    threading.Thread(target=_import_libraries, name="dqloop-preload", daemon=True).start()


def _import_libraries() -> None:
    import importlib

    try:
        for name in ("lightgbm", "sklearn.metrics", "sklearn.model_selection"):
            importlib.import_module(name)
    except Exception:   # noqa: BLE001 -- reported where they are used (attach: a skipped check)
        log.debug("domain classifier: preloading its libraries failed", exc_info=True)


def sample_request(sample: BaselineSample | None, options: DomainOptions) -> SampleRequest | None:
    """The classifier's features and rows for validate's pass (None: classifier off or no baseline sample)."""
    if sample is None or not options.enabled:
        return None
    return SampleRequest(tuple(n for n, k in sample.plan if k == NUMERIC),
                         tuple(n for n, k in sample.plan if k != NUMERIC), options.partition_rows)


def load_sample(baseline: str | Mapping[str, str]) -> BaselineSample | None:
    """The baseline's sample, from its folder or its documents ({file name: text}); None when it has none."""
    text = (baseline if isinstance(baseline, Mapping) else read_folder(baseline, (FILE,))).get(FILE)
    if text is None:
        return None
    try:
        return BaselineSample.from_json(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise BaselineError(f"Baseline file {FILE} is not valid: {exc}.",
                            "rebuild the baseline with `dqloop baseline`, or delete the file to turn the domain "
                            "classifier off") from None


def attach(sample: BaselineSample | None, outcome, options: DomainOptions, thresholds: Thresholds = Thresholds()):
    """The outcome with its domain_classifier_check (one per partition: its own family, alpha
    thresholds.feature_alpha(1)); unchanged without a baseline sample, with the check off, or for an
    empty or unread partition."""
    report, data = outcome.report, outcome.data
    if report is not None and report.sample is not None:   # the driver keeps no partition's sample beyond here
        outcome = replace(outcome, report=replace(report, sample=None))
    if sample is None or not options.enabled or report is None or data is None or not report.rows:
        return outcome
    drawn = report.sample   # the pass's row sample of the plan's features (constraints.rowsample)
    present = set(drawn.columns) if drawn is not None else set(data.columns)
    plan = tuple((n, k) for n, k in sample.plan if n in present)
    try:
        if not plan:
            raise ValueError("none of the baseline sample's features is in the partition")
        frame = drawn[[n for n, _ in plan]].iloc[:options.partition_rows].reset_index(drop=True) \
            if drawn is not None else draw(data.df, plan, report.rows, options.partition_rows, options.seed)
        result = classify(sample.frame, frame, plan, options)
        check = domain_check(result, thresholds.feature_alpha(1), thresholds, options)
        missing = [n for n, _ in sample.plan if n not in present]
        if missing:
            check = replace(check, details={**check.details, "features_missing": missing})
    except Exception as exc:   # noqa: BLE001 -- Spark or LightGBM failing on odd data: a value in the report, not a crash
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        check = skipped(first)
    return replace(outcome, report=replace(outcome.report, results=report.results + (check,)))
