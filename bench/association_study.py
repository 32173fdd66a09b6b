"""association_drift_check (Cramér's V of categorical pairs) checked by simulation (issue 14).

    .venv/bin/python bench/association_study.py [--partitions 200]

Three categorical pairs with Cramér's V about 0.05 (nearly independent), 0.3 and 0.6 in a baseline of 100,000
rows (4 x 5 categories, skewed shares). Partitions of 1,000 / 5,000 / 100,000 rows drawn from the baseline's
joint distribution (false alarms: the share of partitions with any failed pair, against the family alpha
0.05), and with the strongest pair's association halved (power: the share where that pair fails). The
tables are multinomial draws, as validate's pass would count them; the check is
constraints.association.association_checks with the default Thresholds.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from constraints.association import association_checks, cramers_v  # noqa: E402
from constraints.thresholds import Thresholds  # noqa: E402

A, B = 4, 5


def joint(strength: float) -> np.ndarray:
    """Shares of a 4 x 5 table: skewed margins, mixed with a diagonal-ish dependence of `strength`."""
    pa_, pb = np.array([.4, .3, .2, .1]), np.array([.3, .25, .2, .15, .1])
    independent = np.outer(pa_, pb)
    dependent = np.zeros((A, B))
    for i in range(A):
        dependent[i, i] = pa_[i]
    return (1 - strength) * independent + strength * dependent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--partitions", type=int, default=200)
    args = ap.parse_args()
    print("load", os.getloadavg())
    rng = np.random.default_rng(15)
    strengths = (0.05, 0.35, 0.65)
    base = [rng.multinomial(100_000, joint(s).ravel()).reshape(A, B) for s in strengths]
    docs = [{"columns": [f"a{k}", f"b{k}"], "categories": [list("abcd"), list("vwxyz")], "counts": t.tolist(),
             "cramers_v": cramers_v(t)} for k, t in enumerate(base)]
    print("baseline V:", [round(d["cramers_v"], 3) for d in docs])
    t = Thresholds()
    for m in (1_000, 5_000, 100_000):
        for label, top in (("null", strengths[-1]), ("halved", strengths[-1] / 2)):
            n = args.partitions if label == "null" else max(args.partitions // 4, 50)
            any_failed = strongest = 0
            for _ in range(n):
                tables = [rng.multinomial(m, joint(s).ravel()).reshape(A, B) for s in (*strengths[:-1], top)]
                padded = [np.pad(x, ((0, 1), (0, 1))) for x in tables]   # validate's tables have an `other` row and column
                results = association_checks(list(zip(docs, padded)), t)
                failed = [r.feature for r in results if r.failed]
                any_failed += bool(failed)
                strongest += "a2 ~ b2" in failed
            print(f"m={m} {label}: partitions {n}, any pair failed {any_failed / n:.3f}, strongest pair failed "
                  f"{strongest / n:.3f}", flush=True)
    print("load", os.getloadavg())


if __name__ == "__main__":
    main()
