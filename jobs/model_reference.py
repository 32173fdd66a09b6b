"""The baseline's model reference: `dqloop baseline ... --target COLUMN [--reference PATH]` writes
model_reference.json beside statistics.json and constraints.json (which stay as they are).

The reference rows carry the target and the model's outputs and must be rows the model did NOT train on (a
validation or test set, or a first production window with labels): on its own training rows a model is
over-confident, and a calibration learnt there makes every later estimate too optimistic. Without
--reference the baseline's --input is used, with a warning. From the reference: the calibration map of the
score (isotonic, scikit-learn; per class for probability columns), class priors, the confusion matrix and
the realized metrics (labeling.reference). At most --reference-max-rows rows go to the driver (a random
sample beyond).
"""

from __future__ import annotations

import argparse
import logging

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import NumericType, StringType

from constraints.errors import EmptyInput, UsageError
from jobs.io import as_table, json_text, source_name

log = logging.getLogger("dqloop.baseline")
FILE = "model_reference.json"
TRAINING_WARNING = ("the reference is the training data (--input): a model is over-confident on rows it trained on, "
                    "so the calibration and every label-free estimate will be optimistic; pass held-out rows with "
                    "--reference")


def _names(value: str) -> list[str]:
    return [v for v in (s.strip() for s in value.split(",")) if v]


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "model reference (label-free estimates and the model-assisted accuracy)",
        "Rows with the target and the model's outputs that the model did NOT train on (validation or test set, "
        "or a first labeled production window). Writes model_reference.json: calibration map, class priors, "
        "confusion matrix.")
    g.add_argument("--target", metavar="COL", help="the true class (or value, regression) column of the reference rows")
    g.add_argument("--model-task", default="classification", choices=["classification", "regression"],
                   help="classification (calibration map) or regression (a LightGBM loss model of the error; "
                        "--prediction-column is the predicted number)")
    g.add_argument("--loss-features", type=_names, metavar="A,B",
                   help="regression: inputs of the loss model (default: the reference's numeric columns, and its "
                        "string columns of at most 200 values as categorical ones, other than the target, --exclude "
                        "and --predictions), plus the prediction")
    g.add_argument("--reference", metavar="PATH",
                   help="held-out reference rows (Parquet or CSV): NOT the model's training data (default: --input, "
                        "with a warning)")
    g.add_argument("--reference-format", default="auto", choices=["auto", "parquet", "csv"])
    g.add_argument("--prediction-column", metavar="COL",
                   help="predicted class (default: the non-fractional column of --predictions)")
    g.add_argument("--score-column", metavar="COL",
                   help="binary model: probability of the positive class (default: the fractional column of "
                        "--predictions)")
    g.add_argument("--probability-columns", type=_names, default=[], metavar="A,B",
                   help="multiclass model: one probability column per class, named <prefix><class>")
    g.add_argument("--positive-label", help="positive class of a binary model (default: 1/true/yes/positive, else "
                                            "the rarer class)")
    g.add_argument("--reference-max-rows", type=int, default=1_000_000, metavar="N",
                   help="rows of the reference used at most (a random sample beyond; default 1,000,000)")


def _class_of(column: str, classes: list[str]) -> str:
    """The class a probability column belongs to: the longest class name it ends with."""
    hits = [c for c in classes if column.endswith(c)]
    if not hits:
        raise UsageError(f"Probability column {column} names no class of {', '.join(classes)}.",
                         "name them <prefix><class>, e.g. p_cat, p_dog")
    return max(hits, key=len)


def check_arguments(args: argparse.Namespace) -> None:
    """Usage errors before any data is read."""
    if getattr(args, "reference", None) and not getattr(args, "target", None):
        raise UsageError("--reference needs --target.", "name the true class column with --target")
    if getattr(args, "target", None) and getattr(args, "reference_max_rows", 1) <= 0:
        raise UsageError("--reference-max-rows must be positive.", "e.g. 1000000")


def files(spark: SparkSession, args: argparse.Namespace) -> dict[str, str]:
    """{"model_reference.json": text}, or {} without --target."""
    from labeling import reference as ref_mod

    check_arguments(args)
    if not getattr(args, "target", None):
        return {}
    path = args.reference or args.input
    warnings = [] if args.reference else [TRAINING_WARNING]
    table = as_table(spark, path, args.reference_format if args.reference else args.format)
    path = source_name(path)
    df = table.df
    fields = {f.name: f.dataType for f in df.schema.fields}
    if getattr(args, "model_task", "classification") == "regression":
        return _regression(df, fields, args, path, warnings, table.partition_columns)
    fractional = [c for c in args.predictions if c in fields and fields[c].typeName() in ("double", "float", "decimal")]
    pred_col = args.prediction_column or next((c for c in args.predictions if c not in fractional), None)
    probs = list(args.probability_columns)
    score_col = args.score_column or (None if probs else next(iter(fractional), None))
    if pred_col is None:
        raise UsageError("The model reference needs the predicted class column.", "give --prediction-column")
    if not probs and score_col is None:
        raise UsageError("The model reference needs the model's score.",
                         "give --score-column (binary) or --probability-columns (multiclass)")
    needed = [args.target, pred_col, *([score_col] if not probs else probs)]
    missing = [c for c in needed if c not in fields]
    if missing:
        raise UsageError(f"Column(s) {', '.join(missing)} not in the reference {path}.",
                         f"choose among: {', '.join(df.columns)}")
    for c in needed[2:]:
        if not isinstance(fields[c], NumericType):
            raise UsageError(f"Score column {c} is {fields[c].simpleString()}, not numeric.", "name the score column")
    data = df.select(*[F.col(c).cast("string").alias(c) if c in (args.target, pred_col) else F.col(c).cast("double")
                       for c in needed]).na.drop()
    rows = data.count()
    if rows == 0:
        raise EmptyInput(f"The reference {path} has no row with {', '.join(needed)} all present.",
                         "check --target and the prediction columns")
    if rows > args.reference_max_rows:
        data = data.sample(fraction=min(1.0, 1.1 * args.reference_max_rows / rows), seed=args.seed) \
            .limit(args.reference_max_rows)
    frame = data.toPandas()
    target, predicted = frame[args.target].to_numpy(dtype=str), frame[pred_col].to_numpy(dtype=str)
    classes = sorted(set(target) | set(predicted))
    positive = None
    if probs:
        by_class = {_class_of(c, classes): c for c in probs}
        if set(by_class) != set(classes):
            raise UsageError(f"--probability-columns cover classes {sorted(by_class)}, the reference has {classes}.",
                             "give one probability column per class")
        probs = [by_class[c] for c in classes]
        scores = frame[probs].to_numpy(dtype=float)
    else:
        if len(classes) != 2:
            raise UsageError(f"A single --score-column fits a binary model; the reference has {len(classes)} classes.",
                             "give --probability-columns, one per class")
        positive = args.positive_label or next((c for c in classes if c.lower() in ("1", "true", "yes", "positive")),
                                               None) or min(classes, key=lambda c: ((target == c).sum(), c))
        if positive not in classes:
            raise UsageError(f"--positive-label {positive} is not a class of the reference ({', '.join(classes)}).",
                             "choose one of them")
        scores = frame[score_col].to_numpy(dtype=float)
    ref = ref_mod.build(target, predicted, scores, classes, prediction_column=pred_col, target_column=args.target,
                        score_column=None if probs else score_col, probability_columns=tuple(probs),
                        positive=positive, source=path)
    ref = type(ref)(**{**ref.__dict__, "warnings": tuple(warnings) + ref.warnings})
    for w in ref.warnings:
        log.warning("model reference: %s", w)
    return {FILE: json_text(ref.to_dict())}


def _regression(df, fields, args: argparse.Namespace, path: str, warnings: list[str], partition_columns) -> dict[str, str]:
    from labeling import loss_model

    pred_col = args.prediction_column or next(iter(args.predictions), None)
    if pred_col is None:
        raise UsageError("A regression model reference needs the predicted value column.", "give --prediction-column")
    numeric = [c for c, t in fields.items() if isinstance(t, NumericType) or t.typeName() == "boolean"]
    strings = [c for c, t in fields.items() if isinstance(t, StringType)]
    features = args.loss_features if args.loss_features is not None else [
        c for c in numeric + strings
        if c not in {args.target, pred_col, *args.exclude, *args.predictions, *partition_columns}]
    needed = [args.target, pred_col, *features]
    missing = [c for c in needed if c not in fields]
    if missing:
        raise UsageError(f"Column(s) {', '.join(missing)} not in the reference {path}.",
                         f"choose among: {', '.join(df.columns)}")
    for c in (args.target, pred_col):
        if not isinstance(fields[c], NumericType):
            raise UsageError(f"Column {c} is {fields[c].simpleString()}; a regression model needs numbers.",
                             "check --target and --prediction-column, or use --model-task classification")
    data = df.select(*[F.col(c) if c in strings else F.col(c).cast("double") for c in dict.fromkeys(needed)]) \
        .where(F.col(args.target).isNotNull() & F.col(pred_col).isNotNull())
    rows = data.count()
    if rows > args.reference_max_rows:
        data = data.sample(fraction=min(1.0, 1.1 * args.reference_max_rows / rows), seed=args.seed) \
            .limit(args.reference_max_rows)
    frame = data.toPandas()
    categorical = [c for c in features if c in strings]
    if args.loss_features is None:   # a default string input with too many values is not categorical: left out
        wide = [c for c in categorical if frame[c].nunique() > loss_model.MAX_CATEGORIES]
        for c in wide:
            log.info("model reference: %s has more than %d values; not an input of the loss model", c,
                     loss_model.MAX_CATEGORIES)
        features = [c for c in features if c not in wide]
        categorical = [c for c in categorical if c not in wide]
    try:
        model = loss_model.fit(frame, features, pred_col, args.target, source=path, categorical=categorical)
    except ValueError as exc:
        raise EmptyInput(f"The reference {path} cannot train the loss model: {exc}.", "give more reference rows") from None
    model = loss_model.LossModel(**{**model.__dict__, "warnings": tuple(warnings)})
    for w in warnings:
        log.warning("model reference: %s", w)
    return {FILE: json_text(model.to_dict())}
