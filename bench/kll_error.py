"""How far Deequ's KLL sketch CDF is from the exact CDF, at the sizes the drift study uses.

    .venv/bin/python bench/kll_error.py [--sizes 1000 5000 50000 1000000] [--seeds 3]

For each size and seed: a column of normal values and one of Poisson integers (ties) is profiled by
the real Deequ run (constraints.profile.profile, sketch size 2048, shrinking factor 0.64); the
sketch's CDF (constraints.distance.Sketch) is compared with the exact empirical CDF at every
distinct value: max |F_sketch - F_exact|. Prints one line per (size, column) with the largest error
over seeds and the number of sketch levels. The result sets thresholds.KLL_RANK_ERROR.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from constraints.columns import plan_columns, projection  # noqa: E402
from constraints.deequ import shutdown_callback_server  # noqa: E402
from constraints.distance import Sketch  # noqa: E402
from constraints.deequ_profile import profile  # noqa: E402
from constraints.profile import ProfileOptions  # noqa: E402
from jobs.session import build_session  # noqa: E402


def sketch_error(spark, frame: pd.DataFrame) -> dict[str, tuple[float, int]]:
    df = spark.createDataFrame(frame)
    columns, _ = plan_columns(df.schema)
    prof = profile(spark, projection(df, columns), columns, options=ProfileOptions(splits=False,
                                                                                   categorical=frozenset()))
    out = {}
    for p in prof.columns:
        s = Sketch.from_levels(p.kll.data)
        x = np.sort(frame[p.column.name].to_numpy(dtype=float))
        grid = np.unique(x)
        exact = np.searchsorted(x, grid, side="right") / len(x)
        out[p.column.name] = (float(np.max(np.abs(s.cdf(grid) - exact))), len(p.kll.data))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 50_000, 1_000_000])
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    spark = build_session("kll-error", "local[2]")
    try:
        for n in args.sizes:
            worst: dict[str, list] = {}
            for seed in range(args.seeds):
                rng = np.random.default_rng(seed)
                frame = pd.DataFrame({"normal": rng.normal(0, 1, n), "poisson": rng.poisson(30, n).astype("int64")})
                for name, (err, levels) in sketch_error(spark, frame).items():
                    worst.setdefault(name, []).append((err, levels))
            for name, errs in worst.items():
                print(f"n={n:>9,} {name:8s} max|F_sketch-F_exact| over {args.seeds} seeds: "
                      f"{max(e for e, _ in errs):.5f} (each: {', '.join(f'{e:.5f}' for e, _ in errs)}); "
                      f"levels {max(lv for _, lv in errs)}", flush=True)
    finally:
        shutdown_callback_server(spark)
        spark.stop()


if __name__ == "__main__":
    main()
