"""The cost of correlations and PCA reconstruction error in validate's pass (issue 14): whole `dqloop validate`
processes against the same baseline with and without its extended_statistics.json.

    .venv/bin/python bench/multivariate_bench.py [--data DIR] [--shapes numeric ml wide200] [--rows 2000000]
                                                 [--wide-rows 500000] [--repeat 3]

Per shape (bench/shapes.py; tables are read from --data, written there first if missing): a baseline of the
shape's training table (made untimed, with extended_statistics.json: quantiles, correlations of the first 32
numeric features, the PCA model), and a copy of it without that file, which validates exactly as before
issue 14 (no joint lane, no new check). Then `dqloop validate` of the measured table, alternating plain and
extended, --repeat times each, in one run: wall seconds and the process tree's CPU seconds (bench/peers_bench
.watch), the median of each and the ratio extended / plain. The 1-minute load average is printed beside.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from shapes_bench import DQLOOP, TRAIN_ROWS, _predictions, measure  # noqa: E402

OUT = REPO / "bench" / "_out" / "multivariate"


def tables(data: Path, shape: str, rows: int) -> tuple[Path, Path]:
    train, table = data / f"{shape}-train", data / f"{shape}-{rows}"
    if not (train / "_SUCCESS").exists() or not (table / "_SUCCESS").exists():
        from jobs.session import build_session
        from shapes import write_shape

        spark = build_session("bench-multivariate-data", "local[2]")
        try:
            write_shape(spark, shape, TRAIN_ROWS, 1, train)
            write_shape(spark, shape, rows, 2, table)
        finally:
            spark.stop()
    return train, table


def run_shape(data: Path, shape: str, rows: int, repeat: int) -> dict:
    train, table = tables(data, shape, rows)
    extended, plain = OUT / f"{shape}-extended", OUT / f"{shape}-plain"
    if not (extended / "extended_statistics.json").exists():
        shutil.rmtree(extended, ignore_errors=True)
        r = measure([DQLOOP, "baseline", "--input", str(train), "--output", str(extended), *_predictions(shape)])
        if r["rc"] != 0:
            raise SystemExit(f"baseline of {shape} failed: {r['stderr']}")
    shutil.rmtree(plain, ignore_errors=True)
    shutil.copytree(extended, plain)
    (plain / "extended_statistics.json").unlink()
    variants = [("plain", plain), ("extended", extended)]
    if (numeric := numeric_only(train, extended, OUT / f"{shape}-numeric")) is not None:
        variants.insert(1, ("numeric", numeric))
    runs: dict[str, list[dict]] = {kind: [] for kind, _ in variants}
    loads = [os.getloadavg()[0]]
    for i in range(repeat):
        for kind, base in variants:
            out = OUT / f"{shape}-{kind}-out"
            shutil.rmtree(out, ignore_errors=True)
            r = measure([DQLOOP, "validate", "--baseline", str(base), "--input", str(table), "--output", str(out),
                         "--no-history"])
            if r["rc"] not in (0, 1):
                raise SystemExit(f"validate {kind} of {shape} failed: {r['stderr']}")
            runs[kind].append(r)
            loads.append(os.getloadavg()[0])
            print(f"{shape} {kind} #{i + 1}: wall {r['wall']:.1f} s, cpu {r['cpu']:.1f} s, load {loads[-1]:.1f}",
                  flush=True)
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("wall", "cpu")} for k, v in runs.items()}
    return {"shape": shape, "rows": rows, "plain": med["plain"], "extended": med["extended"],
            "numeric": med.get("numeric"),
            "wall_ratio": med["extended"]["wall"] / med["plain"]["wall"],
            "cpu_ratio": med["extended"]["cpu"] / med["plain"]["cpu"],
            "categorical_cpu_ratio": med["extended"]["cpu"] / med["numeric"]["cpu"] if "numeric" in med else None,
            "load": (min(loads), max(loads))}


def numeric_only(train: Path, extended: Path, folder: Path) -> Path | None:
    """A copy of the `extended` baseline whose PCA is numeric only (module docstring); None when its PCA
    encodes no categorical column."""
    import json

    import numpy as np
    import pyarrow.parquet as pq

    from constraints.reconstruction import fit

    doc = json.loads((extended / "extended_statistics.json").read_text())
    model = doc.get("reconstruction") or {}
    if not model.get("categorical"):
        return None
    names = tuple(model["columns"])
    x = pq.read_table(train, columns=list(names)).to_pandas().to_numpy(dtype=np.float64, na_value=np.nan)
    rows = x[np.random.default_rng(0).choice(len(x), min(len(x), 16_384), replace=False)]
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(extended, folder)
    (folder / "extended_statistics.json").write_text(json.dumps({**doc, "reconstruction": fit(rows, names)}))
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO / "bench" / "_data" / "shapes")
    ap.add_argument("--shapes", nargs="+", default=["numeric", "ml", "wide200"])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--wide-rows", type=int, default=500_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    print("| shape | rows | plain wall s | extended wall s | wall ratio | plain CPU s | extended CPU s | CPU ratio "
          "| numeric-PCA CPU s | extended / numeric-PCA CPU | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for shape in args.shapes:
        r = run_shape(args.data, shape, args.wide_rows if shape == "wide200" else args.rows, args.repeat)
        print(f"| {shape} | {r['rows']:,} | {r['plain']['wall']:.1f} | {r['extended']['wall']:.1f} | "
              f"{r['wall_ratio']:.3f} | {r['plain']['cpu']:.1f} | {r['extended']['cpu']:.1f} | {r['cpu_ratio']:.3f} | "
              + (f"{r['numeric']['cpu']:.1f} | {r['categorical_cpu_ratio']:.3f} | " if r["numeric"] else "- | - | ")
              + f"{r['load'][0]:.1f}-{r['load'][1]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
