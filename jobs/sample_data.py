"""dqloop sample-data: generate the embedded sample data set.

    dqloop sample-data --output data/sample [--rows 20000] [--seed 7]

Writes OUTPUT/train/ (a model's training data) and OUTPUT/production/chunk=NN/ (production
partitions: chunk=01 and 02 drawn like the training data, chunk=03 drifted), as Parquet. Twenty
columns: an id, numeric inputs with nulls, categorical inputs (with non-ASCII values), a date, a
flag, the model's score and its predicted label.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

REGIONS = ["north", "south", "east", "west", "central"]
PLANS = ["basic", "plus", "premium"]
CHANNELS = ["web", "app", "store", "phone"]
DEVICES = ["ios", "android", "desktop"]
COUNTRIES = ["Deutschland", "Österreich", "Česko", "España", "France", "Ελλάδα"]
SEGMENTS = ["a", "b", "c", "d"]


def make_frame(rows: int, seed: int, *, shift: float = 0.0, start_id: int = 0) -> pd.DataFrame:
    """A 20-column table; `shift` (0 = training distribution) moves numeric means and category shares."""
    rng = np.random.default_rng(seed)
    n = rows

    def with_nulls(values: np.ndarray, share: float) -> np.ndarray:
        values = values.astype("float64")
        values[rng.random(n) < share] = np.nan
        return values

    def pick(options: list[str], skew: float) -> np.ndarray:
        weights = np.linspace(1.0, 1.0 + 3 * skew, len(options))
        return rng.choice(options, n, p=weights / weights.sum())

    age = rng.normal(40 + 8 * shift, 12, n).clip(18, 95).round().astype("int32")
    income = with_nulls(rng.lognormal(10.5 + 0.3 * shift, 0.5, n), 0.05)
    tenure = rng.integers(0, 120, n).astype("int64")
    balance = rng.normal(1000 * (1 + shift), 800, n)
    products = rng.poisson(2 + shift, n).astype("int32")
    credit = with_nulls(rng.gamma(4, 2500, n), 0.1)
    utilization = rng.beta(2 + 2 * shift, 5, n)
    txns = rng.poisson(30, n).astype("int64")
    logit = -1.0 + 0.03 * (age - 40) + 0.4 * (products - 2) + 2.0 * (utilization - 0.3)
    score = 1 / (1 + np.exp(-(logit + rng.normal(0, 0.5, n))))
    frame = pd.DataFrame({
        "id": np.arange(start_id, start_id + n, dtype="int64"),
        "age": age,
        "income": income,
        "tenure_months": tenure,
        "balance": balance,
        "num_products": products,
        "credit_limit": credit,
        "utilization": utilization,
        "txn_count": txns,
        "region": pick(REGIONS, shift),
        "plan": pick(PLANS, shift),
        "channel": pick(CHANNELS, 0.0),
        "device": pick(DEVICES, shift),
        "country": pick(COUNTRIES, 0.0),
        "segment": pick(SEGMENTS, 0.0),
        "email_domain": [f"mail{d}.example" for d in rng.integers(0, 5000, n)],
        "signup_date": (pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D")).date,
        "is_active": rng.random(n) < 0.8,
        "score": score,
        "predicted_label": np.where(score >= 0.5, "churn", "stay"),
    })
    return frame


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output", default="data/sample", metavar="DIR", help="where to write (default: data/sample)")
    p.add_argument("--rows", type=int, default=20000, help="training rows (default: 20000)")
    p.add_argument("--partition-rows", type=int, default=5000, help="rows per production partition (default: 5000)")
    p.add_argument("--seed", type=int, default=7)


def write(output: Path, rows: int, partition_rows: int, seed: int) -> None:
    staging = output.with_name(f".{output.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "train").mkdir(parents=True)
    make_frame(rows, seed).to_parquet(staging / "train" / "part-00000.parquet", index=False)
    for i, shift in enumerate((0.0, 0.0, 0.6), start=1):
        part = staging / "production" / f"chunk={i:02d}"
        part.mkdir(parents=True)
        make_frame(partition_rows, seed + 100 * i, shift=shift, start_id=rows + i * partition_rows).to_parquet(
            part / "part-00000.parquet", index=False)
    shutil.rmtree(output, ignore_errors=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(output)


def run(args: argparse.Namespace) -> int:
    write(Path(args.output), args.rows, args.partition_rows, args.seed)
    print(f"sample data: {args.output}/train ({args.rows} rows), {args.output}/production/chunk=01..03 "
          f"({args.partition_rows} rows each; chunk=03 drifted)")
    return 0
