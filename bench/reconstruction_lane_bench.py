"""The reconstruction error lane's own CPU in validate's workers, with and without the categorical encoding.

    .venv/bin/python bench/reconstruction_lane_bench.py --encoded DIR --numeric DIR --table DIR [--rows 1000000]
    .venv/bin/python bench/reconstruction_lane_bench.py --fit TRAIN --table DIR [--categorical 0 4 8 16]

Reads the first --rows rows of a shape's Parquet table (bench/shapes.py) in Arrow batches of 10,000 rows,
as the pass hands them to a worker, and folds them with constraints.reconstruction.Errors built from two
baselines' extended_statistics.json: --encoded (a PCA with categorical columns) and --numeric (a
numeric-only PCA, e.g. bench/multivariate_bench.py's `numeric` copy). Prints the process CPU seconds (BLAS on one thread, as in Spark's workers) per
million rows of each (best of --repeat), alternating, and the load average. Whole processes are in
bench/multivariate_bench.py; this isolates the lane from the rest of the pass's noise.

--fit TRAIN: no baselines; the models are fitted here (constraints.reconstruction.fit) on 16,384 random rows
of the training table over its first 32 numeric columns and its first N string columns (N from
--categorical), to see how the lane's cost grows with the encoded columns on a wide table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("OMP_NUM_THREADS", "1")   # as Spark's Python workers have it (spark.task.cpus): one BLAS thread

import pyarrow as pa  # noqa: E402
import pyarrow.dataset as ds  # noqa: E402

from constraints.reconstruction import Errors, Model  # noqa: E402


def lane(baseline: Path) -> tuple[Errors, list[str]]:
    doc = json.loads((baseline / "extended_statistics.json").read_text())["reconstruction"]
    categorical = tuple(c["column"] for c in doc.get("categorical") or ())
    return Errors(tuple(doc["columns"]), Model.from_dict(doc), categorical), [*doc["columns"], *categorical]


def batches(table: Path, columns: list[str], rows: int) -> list[pa.RecordBatch]:
    out, seen = [], 0
    for b in ds.dataset(table, format="parquet").to_batches(columns=columns, batch_size=10_000):
        out.append(b.slice(0, rows - seen))
        seen += out[-1].num_rows
        if seen >= rows:
            break
    return out


def fitted(train: Path, table: Path, counts: list[int], rows: int, repeat: int) -> None:
    import numpy as np

    from constraints.correlation import BASELINE_SAMPLE_ROWS, MAX_COLUMNS
    from constraints.reconstruction import fit

    schema = ds.dataset(train, format="parquet").schema
    numeric = [f.name for f in schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)][:MAX_COLUMNS]
    strings = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    whole = ds.dataset(train, format="parquet").to_table(columns=numeric + strings[:max(counts)])
    s = whole.take(pa.array(np.random.default_rng(0).choice(whole.num_rows, BASELINE_SAMPLE_ROWS, replace=False)))
    x = np.column_stack([s.column(n).to_numpy(zero_copy_only=False).astype(np.float64) for n in numeric])
    data = batches(table, numeric + strings[:max(counts)], rows)
    for n in counts:
        doc = fit(x, tuple(numeric), [(c, s.column(c).to_pylist()) for c in strings[:n]])
        errors = Errors(tuple(numeric), Model.from_dict(doc), tuple(c["column"] for c in doc["categorical"]))
        best = float("inf")
        for _ in range(repeat):
            t0 = time.process_time()
            for b in data:
                errors.fold(b)
            best = min(best, time.process_time() - t0)
        print(f"{len(numeric)} numeric + {len(errors.categorical)} categorical columns: {errors.model.dimensions} "
              f"dimensions, {errors.model.components.shape[0]} components: "
              f"{best * 1e6 / sum(b.num_rows for b in data):.3f} CPU s per million rows; load {os.getloadavg()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--encoded", type=Path)
    ap.add_argument("--numeric", type=Path)
    ap.add_argument("--table", type=Path, required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--fit", type=Path, help="a training table: fit the models here (see above)")
    ap.add_argument("--categorical", type=int, nargs="+", default=[0, 4, 8, 16])
    args = ap.parse_args()
    if args.fit:
        fitted(args.fit, args.table, args.categorical, args.rows, args.repeat)
        return
    if not (args.encoded and args.numeric):
        ap.error("--encoded and --numeric (two baselines), or --fit TRAIN")
    lanes = {"encoded": lane(args.encoded), "numeric": lane(args.numeric)}
    data = batches(args.table, lanes["encoded"][1], args.rows)
    rows = sum(b.num_rows for b in data)
    best = {k: float("inf") for k in lanes}
    for _ in range(args.repeat):
        for kind, (errors, _) in lanes.items():
            t0 = time.process_time()
            for b in data:
                errors.fold(b)
            best[kind] = min(best[kind], time.process_time() - t0)
    for kind, (errors, _) in lanes.items():
        m = errors.model
        print(f"{kind}: {len(m.columns)} numeric + {len(m.categorical)} categorical columns, {m.dimensions} "
              f"dimensions, {m.components.shape[0]} components: {best[kind] * 1e6 / rows:.3f} CPU s per million rows")
    print(f"encoded / numeric: {best['encoded'] / best['numeric']:.2f}; rows {rows:,}; load {os.getloadavg()}")


if __name__ == "__main__":
    main()
