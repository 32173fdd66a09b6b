"""dqloop canary: is the candidate model worse than the one in production? One look, every hour if you like.

    traffic split (an arm column says which model served each row):
        dqloop canary --input PARTITION --output-root DIR --arm-column arm [--control-arm control]
                      [--candidate-arm canary] (--labels FILE | --label-studio-project NAME)
    shadow (both models predicted every row):
        dqloop canary --input PARTITION --output-root DIR --candidate-prediction-column shadow_label ...

Each run is a look. It joins the labels (a ground-truth file keyed by the id column, or the finished
annotations pulled from Label Studio) to the partition's predictions, adds them to the labels of earlier
looks (DIR/_canary/labeled-*.parquet; a partition seen again replaces its own rows) and compares the two
models' accuracy with an always-valid confidence sequence, so checking every hour keeps the stated error
rate (--alpha: the chance of rolling back a candidate that is not worse, and of promoting one worse by more
than --margin, over all looks). Outputs, all-or-nothing, in DIR/<partition>/: canary.json (the verdict with
reasons, per-arm metrics in SageMaker's model-quality shape, differences with intervals, labels still
needed, label-free signals), canary.html (offline page), canary.prom (Prometheus text), summary.txt; the
look history in DIR/_canary/looks.json, which names the labeled file that goes with it and is written
last, so a crash leaves the state of one look or the other, never half of each (jobs.canary_state). The
input is read with pyarrow (only the needed columns); --spark (or a URI such as s3a://...) reads it
through Spark like validate does.

Exit status (for schedulers): 0 promote or keep watching (nothing to undo: an hourly task stays green while
labels accumulate; the verdict is the first line of stdout and canary.json's verdict.decision); 1 roll back
(the candidate is worse: the task fails, so the scheduler's failure path can route traffic back and alert);
2 usage error (bad arguments, missing column, unknown project, wrong API key); 3 runtime error (unreadable
input or state, Label Studio not answering).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from constraints.errors import EmptyInput, InputNotFound, UnreadableInput, UsageError
from jobs.canary_state import STATE, read_state, write_state
from jobs.io import json_text, write_file, write_folder

STATE_COLUMNS = ["partition", "row_key", "arm", "truth", "pred", "pred_candidate", "weight"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", required=True, help="the partition of predictions: Parquet or CSV, file or folder")
    p.add_argument("--format", default="auto", choices=["auto", "parquet", "csv"])
    p.add_argument("--output-root", required=True, metavar="DIR",
                   help="outputs go to DIR/<partition>/, the look history and labels so far to DIR/_canary/")
    p.add_argument("--partition", help="name of this look's partition (default: the input's folder or file name)")
    p.add_argument("--id-column", default="id", help="row id column (default: id)")
    p.add_argument("--prediction-column", default="predicted_label",
                   help="predicted class (traffic split: of the serving arm; shadow: of the production model)")
    p.add_argument("--score-column", help="the model's score (probability of the positive class), for the score signal")
    split = p.add_argument_group("traffic split")
    split.add_argument("--arm-column", help="column naming the model that served the row")
    split.add_argument("--control-arm", default="control", help="arm value of the production model (default: control)")
    split.add_argument("--candidate-arm", default="canary", help="arm value of the candidate (default: canary)")
    shadow = p.add_argument_group("shadow")
    shadow.add_argument("--candidate-prediction-column", help="the candidate's predicted class on the same rows")
    shadow.add_argument("--candidate-score-column", help="the candidate's score on the same rows")
    lab = p.add_argument_group("labels (optional: without them only the label-free signals are judged)")
    lab.add_argument("--labels", help="ground truth: Parquet or CSV keyed by the id column (or row_id, as written "
                                      "by `dqloop label pull`), with the true class in --label-column")
    lab.add_argument("--label-column", default="label", help="column of --labels with the true class (default: label)")
    lab.add_argument("--label-studio-project", metavar="NAME",
                     help="pull the finished annotations of this Label Studio project (LABEL_STUDIO_URL, "
                          "LABEL_STUDIO_API_KEY from the environment)")
    dec = p.add_argument_group("decision")
    dec.add_argument("--alpha", type=float, default=0.05,
                     help="each wrong decision's probability over all looks (default: 0.05)")
    dec.add_argument("--margin", type=float, default=0.01,
                     help="non-inferiority margin in accuracy (default: 0.01 = 1 point): promote when the candidate "
                          "is surely no more than this worse")
    dec.add_argument("--detectable-drop", type=float, default=0.02,
                     help="the accuracy drop the labels-needed figure plans for (default: 0.02)")
    dec.add_argument("--power", type=float, default=0.8, help="power for that drop (default: 0.8)")
    dec.add_argument("--mixture-sd", type=float,
                     help="spread of the confidence sequence's mixture (default: --detectable-drop)")
    dec.add_argument("--positive-label", help="positive class of a binary model (default: 1/true/yes/positive, "
                                              "else the rarer predicted class)")
    p.add_argument("--prometheus-textfile", metavar="FILE", help="also write the metrics to FILE (atomically)")
    p.add_argument("--spark", action="store_true",
                   help="read the input through Spark (jobs/io.py: any Hadoop filesystem, the cluster's jars and "
                        "credentials); automatic for a URI such as s3a://... The needed columns come to the driver")


def _settings(args: argparse.Namespace):
    from canary import Settings

    for name, lo, hi in (("alpha", 0, 0.5), ("margin", 0, 1), ("detectable_drop", 0, 1), ("power", 0, 1)):
        v = getattr(args, name)
        if not lo < v < hi:
            raise UsageError(f"--{name.replace('_', '-')} must be between {lo} and {hi} (exclusive), not {v}.",
                             "see dqloop canary --help")
    if args.mixture_sd is not None and args.mixture_sd <= 0:
        raise UsageError("--mixture-sd must be positive.", "leave it out to use --detectable-drop")
    return Settings(alpha=args.alpha, margin=args.margin, detectable_drop=args.detectable_drop, power=args.power,
                    mixture_sd=args.mixture_sd)


def _text(values: pd.Series) -> pd.Series:
    """Class labels as text, the same for every source: a float column of whole numbers (a CSV column with gaps,
    1.0) reads as 1, like the integer column of the predictions."""
    if pd.api.types.is_float_dtype(values):
        whole = values.dropna()
        if len(whole) and (whole == whole.round()).all():
            return values.astype("Int64").astype(str)
    return values.astype(str)


def _labels(args: argparse.Namespace) -> pd.DataFrame | None:
    """key (str), truth (str), weight (1 / inclusion probability, or 1) of every labeled row; None if no source."""
    if args.labels and args.label_studio_project:
        raise UsageError("--labels and --label-studio-project exclude each other.", "give one source of labels")
    if args.label_studio_project:
        from jobs.label import _client
        from labeling.resolve import resolve

        client = _client()
        client.check()
        frame = resolve(client.export(client.project(args.label_studio_project)))
        key, column = "row_id", "label"
    elif args.labels:
        path = Path(args.labels)
        if not path.exists():
            raise InputNotFound(f"Labels {args.labels} do not exist.", "check the path, or pull them first")
        try:
            frame = pd.read_csv(path) if path.suffix in (".csv", ".gz") else pd.read_parquet(path)
        except Exception as exc:
            raise UnreadableInput(f"Could not read labels {args.labels}: {type(exc).__name__}: {exc}",
                                  "give a Parquet or CSV file") from None
        key = "row_id" if "row_id" in frame.columns else args.id_column
        column = args.label_column
        if key not in frame.columns or column not in frame.columns:
            raise UsageError(f"{args.labels} needs columns {args.id_column} (or row_id) and {column}.",
                             f"it has: {', '.join(map(str, frame.columns))}")
    else:
        return None
    frame = frame[frame[column].notna()]
    out = pd.DataFrame({"key": frame[key].astype(str), "truth": _text(frame[column])})
    if "inclusion_probability" in frame.columns and frame["inclusion_probability"].notna().all() and len(frame):
        out["weight"] = 1.0 / frame["inclusion_probability"].to_numpy(dtype=float)
    else:
        out["weight"] = 1.0
    if out["key"].duplicated().any():
        raise UsageError("The labels have more than one label for some ids.", "keep one label per id")
    return out


def _read(args: argparse.Namespace, columns: list[str]) -> pd.DataFrame:
    """The needed columns of the partition: with pyarrow (local paths), or through Spark (--spark, URIs)."""
    from jobs.io import is_local

    if not (args.spark or not is_local(args.input)):
        from jobs.label import read_partition
        return read_partition(args.input, args.format, columns)
    from jobs.io import read_table
    from jobs.session import spark_session

    with spark_session("dqloop-canary", getattr(args, "master", None)) as spark:
        df = read_table(spark, args.input, args.format).df
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise UsageError(f"Column(s) {', '.join(missing)} not in {args.input}.", f"choose among: {', '.join(df.columns)}")
        frame = df.select(*columns).toPandas()
    if frame.empty:
        raise EmptyInput(f"Input {args.input} has no rows.", "point --input at a partition with predictions")
    return frame


def _assign_arms(frame: pd.DataFrame, args: argparse.Namespace, mode: str) -> pd.DataFrame:
    """The rows of the two compared models, with `_arm` = control / candidate (traffic split) or both (shadow)."""
    from canary import report as canary_report

    if mode == canary_report.SHADOW:
        return frame.assign(_arm="both")
    arms = frame[args.arm_column].astype(str)
    found = sorted(arms.unique())
    for flag, value in (("--control-arm", args.control_arm), ("--candidate-arm", args.candidate_arm)):
        if value not in found:
            raise UsageError(f"No row of {args.input} has {args.arm_column} = {value!r} ({flag}).",
                             f"the arms found are: {', '.join(found)}")
    if len(found) > 2:   # other arms (a third model) are left out
        keep = arms.isin([args.control_arm, args.candidate_arm])
        frame, arms = frame[keep], arms[keep]
    return frame.assign(_arm=np.where(arms == args.control_arm, "control", "candidate"))


def _scores(frame: pd.DataFrame, column: str | None) -> np.ndarray | None:
    if not column:
        return None
    try:
        return frame[column].to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise UsageError(f"Score column {column} is not numeric ({frame[column].dtype}).",
                         "name the column with the model's probability (--score-column)") from None


def _compare(frame: pd.DataFrame, labeled: pd.DataFrame, args: argparse.Namespace, mode: str, settings,
             look: int):
    """canary.report on this look's predictions and every look's labeled rows."""
    from canary import report as canary_report

    common = {"settings": settings, "positive": args.positive_label, "look": look}
    if mode == canary_report.TRAFFIC_SPLIT:
        a, b = frame[frame["_arm"] == "control"], frame[frame["_arm"] == "candidate"]
        la, lb = labeled[labeled["arm"] == "control"], labeled[labeled["arm"] == "candidate"]
        return canary_report.traffic_split(
            control_pred=_text(a[args.prediction_column]).to_numpy(),
            candidate_pred=_text(b[args.prediction_column]).to_numpy(),
            control_score=_scores(a, args.score_column), candidate_score=_scores(b, args.score_column),
            labeled_control=(la["truth"].to_numpy(), la["pred"].to_numpy(), la["weight"].to_numpy(dtype=float)),
            labeled_candidate=(lb["truth"].to_numpy(), lb["pred"].to_numpy(), lb["weight"].to_numpy(dtype=float)),
            names=(args.control_arm, args.candidate_arm), **common)
    return canary_report.shadow(
        control_pred=_text(frame[args.prediction_column]).to_numpy(),
        candidate_pred=_text(frame[args.candidate_prediction_column]).to_numpy(),
        control_score=_scores(frame, args.score_column), candidate_score=_scores(frame, args.candidate_score_column),
        labeled=(labeled["truth"].to_numpy(), labeled["pred"].to_numpy(), labeled["pred_candidate"].to_numpy(),
                 labeled["weight"].to_numpy(dtype=float)),
        names=(args.prediction_column, args.candidate_prediction_column), **common)


def _join(labels: pd.DataFrame, frame: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """Labels joined to the partition's rows on the id: on the integers when the ids are integral (fast on
    millions of rows), on their text otherwise; `key` stays the id's text."""
    ids = frame[id_column]
    if pd.api.types.is_integer_dtype(ids):
        as_int = pd.to_numeric(labels["key"], errors="coerce")
        usable = labels[as_int.notna() & (as_int == as_int.round())].assign(_id=as_int.dropna().astype("int64"))
        return usable.merge(frame.rename(columns={id_column: "_id"}) if id_column != "_id" else frame,
                            on="_id", how="inner")
    return labels.merge(frame.assign(_key=ids.astype(str)), left_on="key", right_on="_key", how="inner")


def run(args: argparse.Namespace) -> int:
    from canary import report as canary_report
    from jobs.io import is_local
    from jobs.render import exposition
    from jobs.render.canary import HELP, canary_page, canary_samples

    settings = _settings(args)
    if bool(args.arm_column) == bool(args.candidate_prediction_column):
        raise UsageError("Give either --arm-column (traffic split) or --candidate-prediction-column (shadow).",
                         "traffic split: the arms served different rows; shadow: both models predicted every row")
    mode = canary_report.TRAFFIC_SPLIT if args.arm_column else canary_report.SHADOW
    if not is_local(args.output_root):
        raise UsageError(f"--output-root {args.output_root} is not a local folder.",
                         "write the canary's outputs and state to a local folder (the input may be a URI)")
    root = Path(args.output_root)
    partition = args.partition or Path(args.input.rstrip("/")).name
    if not partition or partition.startswith(("_", ".")):
        raise UsageError(f"Partition name {partition!r} is not usable.", "pass --partition NAME")
    cols = [args.id_column, args.prediction_column, args.arm_column, args.score_column,
            args.candidate_prediction_column, args.candidate_score_column]
    frame = _read(args, list(dict.fromkeys(c for c in cols if c)))
    if frame[args.id_column].duplicated().any():
        raise UsageError(f"Column {args.id_column} is not a row id: some values occur more than once.",
                         "choose a unique id column (--id-column)")
    labels = _labels(args)
    old, looks, earlier = read_state(root, STATE_COLUMNS)
    if earlier is not None and earlier != mode:
        raise UsageError(f"{root / STATE} holds the looks of a {earlier} canary, not a {mode} one.",
                         "use another --output-root for this canary")
    frame = _assign_arms(frame, args, mode)
    new = pd.DataFrame(columns=STATE_COLUMNS)
    unmatched = 0
    if labels is not None:
        joined = _join(labels, frame, args.id_column)
        unmatched = len(labels) - len(joined)
        new = pd.DataFrame({"partition": partition, "row_key": joined["key"], "arm": joined["_arm"],
                            "truth": joined["truth"], "pred": _text(joined[args.prediction_column]),
                            "pred_candidate": (_text(joined[args.candidate_prediction_column])
                                               if mode == canary_report.SHADOW else None),
                            "weight": joined["weight"].astype(float)}, columns=STATE_COLUMNS)
    kept = old[old["partition"] != partition] if len(old) else old
    labeled = pd.concat([kept, new], ignore_index=True) if len(kept) else new
    look = len(looks) + 1
    rep = _compare(frame, labeled, args, mode, settings, look)
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    doc = rep.document
    seq = doc["accuracy"]["sequence"]
    looks = looks + [{"look": look, "partition": partition, "run_time": now, "labeled": doc["accuracy"]["labeled"],
                      "labeled_this_partition": int(len(new)), "difference": seq["value"], "lower": seq["lower"],
                      "upper": seq["upper"], "decision": doc["verdict"]["decision"]}]
    doc.update({"partition": partition, "run_time": now, "input": args.input,
                "labels": {"source": (f"Label Studio project {args.label_studio_project}" if args.label_studio_project
                                      else args.labels),
                           "this_partition": int(len(new)), "not_in_partition": unmatched,
                           "all_looks": int(len(labeled))},
                "looks": looks})
    prom = exposition(canary_samples(doc, partition), HELP)
    summary = _summary(doc)
    target = write_folder(str(root / partition), {"canary.json": json_text(doc),
                                                  "canary.html": canary_page(doc, looks, partition),
                                                  "canary.prom": prom, "summary.txt": summary})
    write_state(root, labeled, looks, mode)       # the labeled rows, then looks.json naming them (the commit)
    if args.prometheus_textfile:
        write_file(args.prometheus_textfile, prom)
    sys.stdout.write(summary)
    print(f"written: {target}/{{canary.json, canary.html, canary.prom, summary.txt}}")
    return rep.verdict.exit_code


def _summary(doc: dict) -> str:
    v, acc = doc["verdict"], doc["accuracy"]
    seq = acc["sequence"]
    pts = lambda x: "n/a" if x is None else f"{100 * x:+.2f}"  # noqa: E731
    lines = [f"canary {doc['partition']}: {v['decision']} (look {doc['look']}, {doc['mode']}; "
             f"{doc['candidate']} - {doc['control']} accuracy {pts(seq['value'])} points, always-valid "
             f"{100 * seq['level']:.0f}% interval {pts(seq['lower'])} to {pts(seq['upper'])}; "
             f"{acc['labeled']} labeled rows)"]
    lines += [f"  - {r}" for r in v["reasons"]]
    return "\n".join(lines) + "\n"
