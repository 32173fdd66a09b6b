"""dqloop label: label a sample of a partition's predictions in Label Studio and measure the model honestly.

    dqloop label server start|stop|status          a local Label Studio (127.0.0.1, its own venv)
    dqloop label push   --input PARTITION --project NAME [--strategy uniform|stratified|low-confidence|drift]
                        [--size 100] [--seed 0] ...
    dqloop label pull   --project NAME --output labels.parquet
    dqloop label report --input PARTITION --labels labels.parquet --output DIR [--metrics-repo DIR --partition NAME]

push draws a fixed-size sample with known inclusion probabilities, creates the project if needed and
imports the rows not yet in it (in batches; safe to run again, a push that stopped half-way resumes).
pull writes one row per labeled task: the majority label, annotators, agreement, timestamps, the row's
inclusion probability. report joins labels (from pull, or a ground-truth file keyed by the id column) to
the predictions and writes DIR/model_quality.json (SageMaker's model-quality shape, each metric with a
confidence interval) and DIR/summary.txt. The client reads LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY from
the environment. No Spark is started by these commands.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from constraints.errors import EXIT_OK, EXIT_RUNTIME, EmptyInput, InputNotFound, UnreadableInput, UsageError
from dqloop.options import LabelPushOptions, LabelReportOptions, _Flags
from dqloop.results import LabelPush, LabelReport, Labels
from jobs.history import LABELS, MetricsRepository, ResultKey
from jobs.io import json_text, write_folder, write_parquet


# -- arguments ---------------------------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="label_command", required=True, metavar="ACTION")
    s = sub.add_parser("server", help="start, stop or show the local Label Studio server")
    s.add_argument("action", choices=["start", "stop", "status"])
    s.add_argument("--port", type=int, help="port to listen on (default: a free one); always bound to 127.0.0.1")

    push = sub.add_parser("push", help="sample a partition's predictions into a Label Studio project")
    _partition_arguments(push)
    push.add_argument("--project", required=True, help="Label Studio project title (created if missing)")
    push.add_argument("--task", default="classification", choices=["classification", "regression"],
                      help="classification (the annotator picks a class) or regression (types the true value; "
                           "--prediction-column holds the predicted number)")
    push.add_argument("--strategy", default="uniform", choices=["uniform", "stratified", "low-confidence", "drift"],
                      help="how rows are chosen (default: uniform); all keep each row's inclusion probability")
    push.add_argument("--size", type=int, default=100, help="rows to sample (default: 100)")
    push.add_argument("--seed", type=int, default=0, help="random seed (default: 0): same seed, same sample")
    push.add_argument("--score-column", help="the model's score for the predicted class (binary: probability of "
                                             "the positive class), shown as the pre-annotation's score")
    push.add_argument("--probability-columns", help="comma-separated per-class probability columns, named "
                                                    "<prefix><class> or in --classes order")
    push.add_argument("--classes", help="comma-separated class names (default: the predicted labels found)")
    push.add_argument("--show", help="comma-separated columns shown to the annotator (default: all others)")
    push.add_argument("--model-version", default="champion", help="model_version of the predictions (default: champion)")
    push.add_argument("--second-model-version", default="challenger", help="model_version of --second-prediction-column")
    push.add_argument("--violations", help="constraint_violations.json of this partition (strategy drift)")
    push.add_argument("--baseline-statistics", help="the baseline's statistics.json (strategy drift)")
    push.add_argument("--batch-size", type=int, default=1000, help="tasks per import request (default: 1000)")

    pull = sub.add_parser("pull", help="write the finished labels of a project as Parquet")
    pull.add_argument("--project", required=True, help="Label Studio project title")
    pull.add_argument("--output", required=True, help="Parquet file to write")

    rep = sub.add_parser("report", help="model quality from labels joined to the predictions")
    _partition_arguments(rep)
    rep.add_argument("--labels", required=True, help="labels: the output of pull, or a ground-truth file "
                                                     "(Parquet or CSV) keyed by the id column")
    rep.add_argument("--task", default="classification", choices=["classification", "regression"],
                     help="regression: mae, mse, rmse, r2 of a numeric prediction (SageMaker's regression_metrics)")
    rep.add_argument("--label-column", default="label", help="column of --labels with the true class (default: label)")
    rep.add_argument("--output", required=True, help="folder for model_quality.json and summary.txt")
    rep.add_argument("--positive-label", help="the positive class of a binary model (default: 1/true/yes/positive "
                                              "if present, else the rarer predicted class)")
    rep.add_argument("--baseline", metavar="DIR",
                     help="baseline folder with model_reference.json (`dqloop baseline --reference ... --target ...`): "
                          "adds the model-assisted accuracy, from every row's calibrated score plus the labels")
    rep.add_argument("--metrics-repo", help="also write the labeled accuracy into this metrics history folder")
    rep.add_argument("--partition", help="partition name for --metrics-repo (e.g. chunk=03)")


def _partition_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", required=True, help="the partition of predictions: Parquet or CSV, file or folder")
    p.add_argument("--format", default="auto", choices=["auto", "parquet", "csv"])
    p.add_argument("--id-column", default="id", help="row id column (default: id)")
    p.add_argument("--prediction-column", default="predicted_label", help="predicted class (default: predicted_label)")
    p.add_argument("--second-prediction-column", help="a second model's predicted class (champion/challenger)")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _csv(value: str | tuple[str, ...] | None) -> list[str]:
    if isinstance(value, (list, tuple)):
        return list(value)
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


# -- requests: a command's options plus what it reads and writes (the bodies read them by flag name) ---
@dataclass(frozen=True, kw_only=True)
class PushRequest(LabelPushOptions):
    input: Any                      # path, or a pandas DataFrame of the partition's predictions
    project: str
    cli: argparse.Namespace | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, kw_only=True)
class PullRequest(_Flags):
    project: str
    output: str | None = None
    cli: argparse.Namespace | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, kw_only=True)
class ReportRequest(LabelReportOptions):
    input: Any                      # path, or a pandas DataFrame of the partition's predictions
    labels: Any                     # path (pull's Parquet, or a ground-truth Parquet/CSV), or a pandas DataFrame
    output: str | None = None
    cli: argparse.Namespace | None = field(default=None, repr=False, compare=False)


def _is_frame(data: Any) -> bool:
    return isinstance(data, pd.DataFrame)


def _name(data: Any) -> str:
    return f"the DataFrame ({len(data)} rows)" if _is_frame(data) else str(data)


# -- reading -----------------------------------------------------------------------------------------
def read_partition(path: str, fmt: str, columns: list[str] | None) -> pd.DataFrame:
    """The needed columns of a partition (Parquet or CSV; a file, a folder or a Hive-style tree; or a pandas
    DataFrame)."""
    import pyarrow.dataset as ds

    if _is_frame(path):
        missing = [c for c in columns or [] if c not in path.columns]
        if missing:
            raise UsageError(f"Column(s) {', '.join(missing)} not in the DataFrame.",
                             f"choose among: {', '.join(map(str, path.columns))}")
        if path.empty:
            raise EmptyInput("The DataFrame of predictions has no rows.", "pass a partition with predictions")
        return (path[columns] if columns else path).reset_index(drop=True).copy()
    p = Path(path)
    if not p.exists():
        raise InputNotFound(f"Input {path} does not exist.", "check the path of the partition")
    if fmt == "auto":
        files = [p] if p.is_file() else [f for f in p.rglob("*") if f.is_file() and not f.name.startswith((".", "_"))]
        fmt = "csv" if files and sum(f.name.endswith((".csv", ".csv.gz")) for f in files) > len(files) / 2 else "parquet"
    try:
        dataset = ds.dataset(str(p), format=fmt, partitioning="hive", exclude_invalid_files=True)
        missing = [c for c in columns or [] if c not in dataset.schema.names]
        if missing:
            raise UsageError(f"Column(s) {', '.join(missing)} not in {path}.",
                             f"choose among: {', '.join(dataset.schema.names)}")
        frame = dataset.to_table(columns=columns).to_pandas()
    except UsageError:
        raise
    except Exception as exc:  # pyarrow's errors: corrupt file, wrong format
        raise UnreadableInput(f"Could not read {path}: {type(exc).__name__}: {str(exc).splitlines()[0]}",
                              "check the files are complete Parquet or CSV (--format)") from None
    if frame.empty:
        raise EmptyInput(f"Input {path} has no rows.", "point --input at a partition with predictions")
    return frame


def schema_names(path: str, fmt: str) -> list[str]:
    import pyarrow.dataset as ds

    if _is_frame(path):
        return [str(c) for c in path.columns]
    if fmt == "auto":
        fmt = "csv" if str(path).endswith((".csv", ".csv.gz")) else "parquet"
    return ds.dataset(path, format=fmt, partitioning="hive", exclude_invalid_files=True).schema.names


def _client():
    from labeling.client import Client

    return Client(os.environ.get("LABEL_STUDIO_URL", ""), os.environ.get("LABEL_STUDIO_API_KEY", ""))


# -- commands ----------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    if args.label_command == "server":
        return server(args)
    request = {"push": PushRequest, "pull": PullRequest, "report": ReportRequest}[args.label_command]
    {"push": push, "pull": pull, "report": report}[args.label_command](request.from_args(args))
    return EXIT_OK


def server(args: argparse.Namespace) -> int:
    from labeling import server as srv

    if args.action == "start":
        st = srv.start(args.port)
        who = srv.login(st.home)
        print(f"Label Studio is running at {st.url} (pid {st.pid}, data {st.home / 'data'}, log {st.home / 'server.log'})")
        if who:
            print(f"log in as {who[0]} with password {who[1]}")
        print(f"export LABEL_STUDIO_URL={st.url}")
        print("API token: the one you set in LABEL_STUDIO_API_KEY before the first start; otherwise copy it from "
              "Account & Settings (Legacy Token) in the web UI. dqloop never shows or stores it.")
    elif args.action == "stop":
        print("Label Studio stopped" if srv.stop() else "Label Studio was not running")
    else:
        st = srv.status()
        print(f"Label Studio is running at {st.url} (pid {st.pid})" if st.running else "Label Studio is not running")
        return EXIT_OK if st.running else EXIT_RUNTIME
    return EXIT_OK


def push(args: PushRequest) -> LabelPush:
    """Sample the partition's predictions and import them into the Label Studio project (label push)."""
    from tqdm import tqdm

    from labeling import config, drift_region, sampling, tasks
    from labeling.client import ServerUnreachable

    if not 3 <= len(args.project) <= 50:
        raise UsageError(f"Project title {args.project!r} has {len(args.project)} characters; Label Studio needs 3 to 50.",
                         "choose another --project")
    if args.size <= 0:
        raise UsageError(f"--size must be positive, not {args.size}.", "give the number of rows to label")
    names = schema_names(args.input, args.format) if _is_frame(args.input) or Path(args.input).exists() else []
    probs = _csv(args.probability_columns)
    model_cols = [args.id_column, args.prediction_column, args.score_column, args.second_prediction_column, *probs]
    model_cols = [c for c in model_cols if c]
    show = _csv(args.show) or [c for c in names if c not in model_cols]
    frame = read_partition(args.input, args.format, list(dict.fromkeys(model_cols + show)) or None)
    if frame[args.id_column].duplicated().any():
        dup = frame[args.id_column][frame[args.id_column].duplicated()].iloc[0]
        raise UsageError(f"Column {args.id_column} is not a row id: {dup!r} occurs more than once.",
                         "choose a unique id column (--id-column)")
    regression = getattr(args, "task", "classification") == "regression"
    if regression:
        values = pd.to_numeric(frame[args.prediction_column], errors="coerce")
        if values.isna().any() or not np.isfinite(values.to_numpy(dtype=float)).all():
            raise UsageError(f"--task regression needs numbers in {args.prediction_column}; "
                             f"{int((~np.isfinite(values.to_numpy(dtype=float))).sum())} rows have none.",
                             "drop them, or check --prediction-column")
        if args.strategy == "low-confidence":
            raise UsageError("--strategy low-confidence needs class scores; a regression model has none.",
                             "use uniform, stratified (by predicted-value quintile) or drift")
    predicted = (pd.qcut(values, 5, labels=False, duplicates="drop").astype("string") if regression
                 else frame[args.prediction_column].astype("string"))
    if predicted.isna().any():
        raise UsageError(f"{int(predicted.isna().sum())} rows have no {args.prediction_column}.",
                         "drop them or fill the prediction before labeling")
    classes = _csv(args.classes) or sorted(set(predicted) | (set(frame[args.second_prediction_column].dropna()
                                                              .astype(str)) if args.second_prediction_column else set()))
    n = len(frame)
    if args.strategy == "uniform":
        sample = sampling.uniform(n, args.size, args.seed)
    elif args.strategy == "stratified":
        sample = sampling.stratified(predicted.to_numpy(dtype=str), args.size, args.seed)
    elif args.strategy == "low-confidence":
        if probs:
            unsure = sampling.uncertainty(probabilities=frame[probs].to_numpy(dtype=float))
        elif args.score_column:
            unsure = sampling.uncertainty(score=frame[args.score_column].to_numpy(dtype=float))
        else:
            raise UsageError("--strategy low-confidence needs --score-column or --probability-columns.",
                             "name the column with the model's score")
        sample = sampling.low_confidence(unsure, args.size, args.seed)
    else:
        if not (args.violations and args.baseline_statistics):
            raise UsageError("--strategy drift needs --violations and --baseline-statistics.",
                             "pass the partition's constraint_violations.json and the baseline's statistics.json")
        docs = []
        for f in (args.violations, args.baseline_statistics):
            if not Path(f).is_file():
                raise InputNotFound(f"{f} does not exist.", "check the path")
            docs.append(json.loads(Path(f).read_text(encoding="utf-8")))
        extra = [c for c in drift_region.drifted_features(docs[0]) if c not in frame.columns and c in names]
        if extra:
            frame = frame.join(read_partition(args.input, args.format, extra))
        try:
            weights, used = drift_region.intensity(frame, docs[0], docs[1])
        except ValueError as exc:
            raise UsageError(f"Cannot weight toward drift: {exc}.", "use another --strategy") from None
        print(f"drift: weighting toward the drifted region of {', '.join(used)}")
        sample = sampling.drift_weighted(weights, args.size, args.seed)
    rows = frame.iloc[sample.positions]
    shown = rows[show].to_dict("records")
    ids = rows[args.id_column].tolist()
    labels = (rows[args.prediction_column].astype(float).tolist() if regression
              else rows[args.prediction_column].astype(str).tolist())
    score_cols = [c for c in [args.score_column, *probs] if c]
    scores = ([_score(r, args, probs, classes) for r in rows[score_cols].to_dict("records")] if score_cols
              else [None] * len(rows))
    second = rows[args.second_prediction_column].tolist() if args.second_prediction_column else [None] * len(rows)
    task_list = []
    for rid, cells, label, score, other, pi in zip(ids, shown, labels, scores, second, sample.inclusion):
        preds = [tasks.Prediction(label, args.model_version, score)]
        if other is not None and not pd.isna(other):
            preds.append(tasks.Prediction(str(other), args.second_model_version))
        task_list.append(tasks.task(rid, cells, show, pi, sample.strategy, preds))
    client = _client()
    client.check()
    project = client.find_project(args.project)
    if project is None:
        project = client.create_project(args.project, config.number_config(show) if regression
                                        else config.label_config(classes, show))
        print(f"created project {args.project!r} (id {project.id}) "
              + ("for numbers (regression)" if regression else f"with classes {', '.join(classes)}"))
    there = [0]   # sampled tasks known to be in the project

    def step(k: int) -> None:
        bar.update(k)
        there[0] += k
    with tqdm(total=len(task_list), desc="push", unit="task", file=sys.stderr,
              disable=None if sys.stderr.isatty() else True) as bar:
        try:
            added = client.import_tasks(project, task_list, args.batch_size, progress=step)
        except ServerUnreachable as exc:
            raise ServerUnreachable(f"{exc.message} The push stopped with at least {there[0]} of the {len(task_list)} "
                                    f"sampled tasks in project {args.project!r}.",
                                    "once Label Studio answers again (`dqloop label server start`), run the same push "
                                    "again: it adds only the tasks not there yet") from None
    print(f"sampled {sample.size} of {n} rows ({sample.strategy}, seed {args.seed}); project {args.project!r} "
          f"(id {project.id}): {added} tasks added, {sample.size - added} already there; {client.url}/projects/{project.id}")
    return LabelPush(args.project, project.id, sample.size, n, added, sample.strategy,
                     f"{client.url}/projects/{project.id}")


def _score(row: dict, args: PushRequest, probs: list[str], classes: list[str]) -> float | None:
    """The pre-annotation's score: the highest class probability, or a binary score's confidence max(s, 1 - s)."""
    if probs:
        values = np.array([row[c] for c in probs], dtype=float)
        return float(np.nanmax(values)) if np.isfinite(values).any() else None
    s = row.get(args.score_column)
    if s is None or pd.isna(s):
        return None
    s = float(s)
    return max(s, 1 - s) if len(classes) == 2 and 0 <= s <= 1 else s


def pull(args: PullRequest) -> Labels:
    """The project's finished labels, one row per task (label pull); written as Parquet when `output` is set."""
    from labeling.client import ServerUnreachable
    from labeling.resolve import resolve

    client = _client()
    client.check()
    project = client.project(args.project)
    try:
        labels = resolve(client.export(project))
    except ServerUnreachable as exc:
        raise ServerUnreachable(f"{exc.message} Nothing was written" + (f" to {args.output}." if args.output else "."),
                                "once Label Studio answers again (`dqloop label server start`), run the same pull "
                                "again: it reads every label anew") from None
    out = Path(args.output) if args.output is not None else None
    if out is not None:
        write_parquet(labels, out)
    ties = int(labels["label"].isna().sum())
    print(f"pulled {len(labels)} labeled tasks from project {args.project!r}"
          + (f" ({ties} ties without a majority, left out of reports)" if ties else "")
          + f"; mean agreement {labels['agreement'].mean():.2f}" * (len(labels) > 0)
          + (f"; written {out}" if out is not None else ""))
    return Labels(labels, None if out is None else str(out))


def _read_labels(source: Any) -> pd.DataFrame:
    if _is_frame(source):
        return source.copy()
    labels_path = Path(source)
    if not labels_path.exists():
        raise InputNotFound(f"Labels {source} do not exist.", "run `dqloop label pull` first or check the path")
    return pd.read_csv(labels_path) if labels_path.suffix in (".csv", ".gz") else pd.read_parquet(labels_path)


def read_reference(folder: str | None):
    """The baseline's model_reference.json, or None when there is none (then: why, for the report)."""
    from labeling.reference import ModelReference

    if not folder:
        return None, ("no calibration map was given (--baseline with a model_reference.json), so only the labels "
                      "count")
    path = Path(folder) / "model_reference.json"
    if not Path(folder).is_dir():
        raise InputNotFound(f"Baseline folder {folder} does not exist.", "check --baseline")
    if not path.is_file():
        return None, (f"the baseline {folder} has no model_reference.json (build it with `dqloop baseline "
                      "--reference ROWS --target COLUMN`), so only the labels count")
    try:
        return ModelReference.from_dict(json.loads(path.read_text(encoding="utf-8"))), None
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path} is not valid: {exc}.", "rebuild the baseline with `dqloop baseline --reference`") from None


def _model_assisted(args: ReportRequest, q, frame: pd.DataFrame, joined: pd.DataFrame):
    """(Quality with the model-assisted estimate and the recommendation, summary lines, the estimate or None)."""
    from labeling import assisted, estimation

    reference, why_not = read_reference(getattr(args, "baseline", None))
    ma = None
    if reference is not None:
        cols = reference.score_columns
        scored = read_partition(args.input, args.format, [args.id_column, *cols])
        if scored[cols].isna().any().any():
            why_not = f"some rows have no score in {', '.join(cols)}, so only the labels count"
        else:
            scored["_key"] = scored[args.id_column].astype(str)
            pred = frame.set_index("_key")[args.prediction_column].astype(str)
            scored = scored.join(pred, on="_key")
            g_all = reference.calibration.expected_correct(reference.scores(scored), scored[args.prediction_column])
            g = pd.Series(g_all, index=scored["_key"])
            labeled_g = g.loc[joined["_key"]].to_numpy()
            actual = (joined[args.label_column].astype(str).to_numpy()
                      == joined[args.prediction_column].astype(str).to_numpy()).astype(float)
            pi = joined["_pi"].to_numpy(dtype=float)
            ma = estimation.difference(g_all, actual, labeled_g, pi)
    q, text = assisted.annotate(q, ma, reference, why_not, y_true=joined[args.label_column].astype(str).to_numpy(),
                                pi=joined["_pi"].to_numpy(dtype=float))
    return q, text, ma


def _report_regression(args: ReportRequest, joined: pd.DataFrame, population: int, strategy: str | None,
                       ties: int, unmatched: int) -> LabelReport:
    from labeling import regression

    y_true = pd.to_numeric(joined[args.label_column], errors="coerce").to_numpy(dtype=float)
    y_pred = pd.to_numeric(joined[args.prediction_column], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(y_true) & np.isfinite(y_pred))
    if bad.all():
        raise UsageError(f"No labeled row has a number in both {args.label_column} and {args.prediction_column}.",
                         "check --task regression and the columns")
    pi = joined["_pi"].to_numpy(dtype=float)
    est = regression.metrics(y_true[~bad], y_pred[~bad], pi[~bad])
    doc = regression.document(est, int((~bad).sum()), population, strategy)
    doc["dqloop"].update({"labels_without_number": ties + int(bad.sum()), "labels_not_in_partition": unmatched})
    text = regression.summary(est, int((~bad).sum()), population, strategy)
    target = _write(args.output, doc, text)
    if args.metrics_repo:
        rows = [(f"labeled_{m}{suffix}", getattr(est[m], attr)) for m in ("mae", "rmse", "r2")
                for suffix, attr in (("", "value"), ("_lower", "lower"), ("_upper", "upper"))]
        rows.append(("labeled_count", float((~bad).sum())))
        MetricsRepository(args.metrics_repo).save(
            ResultKey(args.partition, LABELS),
            [{"feature": "*", "metric": m, "value": float(v)} for m, v in rows if np.isfinite(v)], _now())
    sys.stdout.write(text)
    if target is not None:
        print(f"written: {target}/{{model_quality.json, summary.txt}}")
    return LabelReport(json.loads(json_text(doc)), text, target)


def _write(output: str | None, document: dict, text: str) -> str | None:
    return write_folder(output, {"model_quality.json": json_text(document), "summary.txt": text}) if output else None


def report(args: ReportRequest) -> LabelReport:
    """Model quality from labels joined to the predictions (label report); model_quality.json and summary.txt
    written when `output` is set, the labeled accuracy recorded when `metrics_repo` is."""
    from labeling import model_quality

    if bool(args.metrics_repo) != bool(args.partition):
        raise UsageError("--metrics-repo and --partition go together.", "give both or neither")
    cols = [args.id_column, args.prediction_column] + ([args.second_prediction_column] if args.second_prediction_column else [])
    frame = read_partition(args.input, args.format, cols)
    labels = _read_labels(args.labels)
    key = "row_id" if "row_id" in labels.columns else args.id_column
    if key not in labels.columns or args.label_column not in labels.columns:
        raise UsageError(f"{_name(args.labels)} needs columns row_id (or {args.id_column}) and {args.label_column}.",
                         f"it has: {', '.join(map(str, labels.columns))}")
    ties = int(labels[args.label_column].isna().sum())
    labels = labels[labels[args.label_column].notna()].copy()
    labels["_key"] = labels[key].astype(str)
    if labels["_key"].duplicated().any():
        raise UsageError(f"{_name(args.labels)} has more than one label for some ids.", "keep one label per id")
    frame["_key"] = frame[args.id_column].astype(str)
    joined = labels.merge(frame, on="_key", how="inner")
    unmatched = len(labels) - len(joined)
    if joined.empty:
        raise UsageError(f"None of the {len(labels)} labels matches an id of {_name(args.input)}.",
                         "check that --labels belongs to this partition and --id-column")
    population = len(frame)
    if "inclusion_probability" in joined.columns and joined["inclusion_probability"].notna().all():
        pi = joined["inclusion_probability"].to_numpy(dtype=float)
        strategy = ",".join(sorted(joined["strategy"].dropna().astype(str).unique())) if "strategy" in joined else None
    else:  # ground truth without a design: a simple random sample (a census when every row is labeled)
        pi = np.full(len(joined), len(joined) / population)
        strategy = "ground truth (treated as a simple random sample)" if len(joined) < population else "ground truth (all rows)"
    joined["_pi"] = pi
    if getattr(args, "task", "classification") == "regression":
        return _report_regression(args, joined, population, strategy, ties, unmatched)
    y_true = joined[args.label_column].astype(str).to_numpy()
    y_pred = joined[args.prediction_column].astype(str).to_numpy()
    classes = sorted(set(y_true) | set(frame[args.prediction_column].astype(str)))
    positive = args.positive_label
    if len(classes) == 2 and positive is None:
        positive = next((c for c in classes if c.lower() in ("1", "true", "yes", "positive")), None)
        if positive is None:
            counts = frame[args.prediction_column].astype(str).value_counts()
            positive = min(classes, key=lambda c: (counts.get(c, 0), c))
    challenger = joined[args.second_prediction_column].astype(str).to_numpy() if args.second_prediction_column else None
    names = (args.prediction_column, args.second_prediction_column or "")
    q = model_quality.compute(y_true, y_pred, pi, population, classes, positive=positive, challenger=challenger,
                              names=names, strategy=strategy)
    q.document["dqloop"].update({"labels_without_majority": ties, "labels_not_in_partition": unmatched})
    q, assisted_text, ma = _model_assisted(args, q, frame, joined)
    text = model_quality.summary(q, names) + assisted_text
    if unmatched:
        text += f"note: {unmatched} labels have ids not in the partition and were left out\n"
    target = _write(args.output, q.document, text)
    if args.metrics_repo:
        a = q.accuracy
        metrics = [{"feature": "*", "metric": m, "value": v} for m, v in (
            ("labeled_accuracy", a.value), ("labeled_accuracy_lower", a.lower),
            ("labeled_accuracy_upper", a.upper), ("labeled_count", float(q.labeled)))]
        if ma is not None and np.isfinite(ma.estimate.standard_deviation):
            e = ma.estimate
            metrics += [{"feature": "*", "metric": m, "value": v} for m, v in (
                ("labeled_accuracy_model_assisted", e.value), ("labeled_accuracy_model_assisted_lower", e.lower),
                ("labeled_accuracy_model_assisted_upper", e.upper))]
        MetricsRepository(args.metrics_repo).save(ResultKey(args.partition, LABELS), metrics, _now())
    sys.stdout.write(text)
    if target is not None:
        print(f"written: {target}/{{model_quality.json, summary.txt}}")
    return LabelReport(json.loads(json_text(q.document)), text, target)
