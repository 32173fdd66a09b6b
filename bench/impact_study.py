"""Does `dqloop impact`'s interval cover a known effect, and how often does it report one that is not there?

Generated metric histories like tests/test_impact.py's (60 points, intervention at point 45, noise s.d. 0.004
around a level that wanders as a random walk shared with a control series, or stays put): with an injected shift of --effect, the share of series whose
95% interval for the average effect covers it, and the share detected; with none, the share wrongly
detected. Runs causal.estimate (the code `dqloop impact` runs).

    .venv/bin/python bench/impact_study.py --series 200
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from causal import Settings, estimate  # noqa: E402


def series(rng, effect: float, n: int, start: int, control: bool, drift: float) -> pd.DataFrame:
    base = np.cumsum(rng.normal(0, drift, n)) + 0.85
    y = base + rng.normal(0, 0.004, n) + np.where(np.arange(n) >= start, effect, 0.0)
    frame = pd.DataFrame({"y": y})
    if control:
        frame["x"] = 0.9 * base + rng.normal(0, 0.002, n)
    return frame


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=200)
    ap.add_argument("--effect", type=float, default=-0.03)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--prior-level-sd", type=float, nargs="+", default=[0.01, 0.1])
    args = ap.parse_args()
    n, start = 60, 45
    t0 = time.time()
    print(f"{args.series} series per row, {n} points, intervention at {start}, 95% intervals, "
          f"bsts-causalimpact {metadata.version('bsts-causalimpact')}, niter 5000 / burn-in 500")
    for drift, control in ((0.003, True), (0.003, False), (0.0, False)):
        for sd in args.prior_level_sd:
            rng = np.random.default_rng(args.seed)
            for effect in (args.effect, 0.0):
                covered = detected = 0
                for i in range(args.series):
                    doc = estimate(series(rng, effect, n, start, control, drift), start,
                                   Settings(seed=i + 1, prior_level_sd=sd)).document
                    a = doc["average"]
                    covered += a["absolute_effect_lower"] <= effect <= a["absolute_effect_upper"]
                    detected += doc["effect_detected"]
                label = (f"{'wandering (step s.d. 0.003)' if drift else 'stable'}, {'with' if control else 'no'} "
                         f"control, prior.level.sd {sd}, effect {effect:+.3f}")
                print(f"  {label:<78} covered {covered / args.series:.3f}  detected {detected / args.series:.3f}")
    print(f"({time.time() - t0:.0f} s; python {platform.python_version()}, {platform.machine()})")


if __name__ == "__main__":
    main()
