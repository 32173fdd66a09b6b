"""The reconstruction error lane's own CPU in validate's workers, with and without the categorical encoding.

    .venv/bin/python bench/reconstruction_lane_bench.py --encoded DIR --numeric DIR --table DIR [--rows 1000000]

Reads the first --rows rows of a shape's Parquet table (bench/shapes.py) in Arrow batches of 10,000 rows,
as the pass hands them to a worker, and folds them with constraints.reconstruction.Errors built from two
baselines' extended_statistics.json: --encoded (a PCA with categorical columns) and --numeric (a
numeric-only PCA, e.g. bench/multivariate_bench.py's `numeric` copy). Prints the process CPU seconds (BLAS on one thread, as in Spark's workers) per
million rows of each (best of --repeat), alternating, and the load average. Whole processes are in
bench/multivariate_bench.py; this isolates the lane from the rest of the pass's noise.
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--encoded", type=Path, required=True)
    ap.add_argument("--numeric", type=Path, required=True)
    ap.add_argument("--table", type=Path, required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
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
