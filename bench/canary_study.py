"""Does `dqloop canary` keep its error rate when checked after every look, and catch a real drop?

For each simulated canary, labels arrive in equal batches; after each of --looks batches the canary is judged
on all labels so far (canary.judge, the code the command runs). Reported:

  null      candidate exactly as accurate as control: share of canaries rolled back at any look (<= alpha)
  margin    candidate worse by exactly the margin: share promoted at any look (<= alpha)
  power     candidate worse by --drop: labels = what the report says is needed to catch that drop
            (Labeled.labels_to_detect_drop, planned at the control's accuracy); share rolled back by the last
            look (>= the stated power)
  fixed     for contrast, a fixed-sample 95% Newcombe interval checked at every look: share of null canaries
            wrongly declared worse at some look

Traffic split (unpaired) and shadow (paired, the candidate's answers differ from control's on --discordance
of the rows) both. Usage:

    .venv/bin/python bench/canary_study.py --canaries 1000 --looks 10
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from canary import judge  # noqa: E402


def unpaired_run(rng, p_control: float, p_candidate: float, total: int, looks: int, s: judge.Settings,
                 share: float = 0.5) -> tuple[str | None, bool]:
    """First decision over the looks (None: never decided) and whether a fixed interval ever excluded 0 below."""
    n_b = int(round(total * share))
    a = (rng.random(total - n_b) < p_control).astype(float)
    b = (rng.random(n_b) < p_candidate).astype(float)
    fixed_worse = False
    for k in range(1, looks + 1):
        ia, ib = int(len(a) * k / looks), int(len(b) * k / looks)
        lab = judge.unpaired(a[:ia], np.ones(ia), b[:ib], np.ones(ib), s)
        fixed_worse |= bool(lab.fixed.upper < 0)
        if lab.sequence.upper < 0:
            return judge.ROLL_BACK, fixed_worse
        if lab.sequence.lower > -s.margin:
            return judge.PROMOTE, fixed_worse
    return None, fixed_worse


def paired_run(rng, p_control: float, drop: float, discordance: float, total: int, looks: int,
               s: judge.Settings) -> str | None:
    """Per row: with probability `discordance` exactly one model is right; the candidate's share of those is
    chosen so that its accuracy is p_control - drop."""
    disc = rng.random(total) < discordance
    cand_wins = rng.random(total) < (0.5 - drop / (2 * discordance))
    both = rng.random(total) < (p_control - discordance / 2 + drop / 2) / (1 - discordance)
    ca = np.where(disc, ~cand_wins, both)
    cb = np.where(disc, cand_wins, both)
    for k in range(1, looks + 1):
        i = int(total * k / looks)
        lab = judge.paired(ca[:i], cb[:i], np.ones(i), s)
        if lab.sequence.upper < 0:
            return judge.ROLL_BACK
        if lab.sequence.lower > -s.margin:
            return judge.PROMOTE
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--canaries", type=int, default=1000)
    ap.add_argument("--looks", type=int, default=10)
    ap.add_argument("--accuracy", type=float, default=0.85)
    ap.add_argument("--drop", type=float, default=0.02)
    ap.add_argument("--discordance", type=float, default=0.15)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    s = judge.Settings(detectable_drop=args.drop)
    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    p = args.accuracy
    # the sample sizes the report states, planned at the control's accuracy (as judge.unpaired does once >= 30 labels)
    right = np.arange(1000) < round(p * 1000)          # exactly the control's accuracy
    plan = judge.unpaired(right.astype(float), np.ones(1000), right.astype(float), np.ones(1000), s)
    flip = np.arange(1000) < round(args.discordance * 1000)     # exactly the discordance
    plan_paired = judge.paired(right, np.where(flip, ~right, right), np.ones(1000), s)
    n_detect, n_promote = plan.labels_to_detect_drop, plan.labels_to_promote
    n_detect_p, n_promote_p = plan_paired.labels_to_detect_drop, plan_paired.labels_to_promote
    out = {}
    res = [unpaired_run(rng, p, p, n_promote, args.looks, s) for _ in range(args.canaries)]
    out["unpaired null: rolled back"] = np.mean([r[0] == judge.ROLL_BACK for r in res])
    out["unpaired null: promoted"] = np.mean([r[0] == judge.PROMOTE for r in res])
    out["unpaired null: fixed 95% interval says worse at some look"] = np.mean([r[1] for r in res])
    res = [unpaired_run(rng, p, p - s.margin, n_promote, args.looks, s)[0] for _ in range(args.canaries)]
    out["unpaired worse by the margin: promoted"] = np.mean([r == judge.PROMOTE for r in res])
    res = [unpaired_run(rng, p, p - args.drop, n_detect, args.looks, s)[0] for _ in range(args.canaries)]
    out[f"unpaired drop {args.drop}: rolled back (power)"] = np.mean([r == judge.ROLL_BACK for r in res])
    res = [paired_run(rng, p, 0.0, args.discordance, n_promote_p, args.looks, s) for _ in range(args.canaries)]
    out["paired null: rolled back"] = np.mean([r == judge.ROLL_BACK for r in res])
    out["paired null: promoted"] = np.mean([r == judge.PROMOTE for r in res])
    res = [paired_run(rng, p, s.margin, args.discordance, n_promote_p, args.looks, s) for _ in range(args.canaries)]
    out["paired worse by the margin: promoted"] = np.mean([r == judge.PROMOTE for r in res])
    res = [paired_run(rng, p, args.drop, args.discordance, n_detect_p, args.looks, s) for _ in range(args.canaries)]
    out[f"paired drop {args.drop}: rolled back (power)"] = np.mean([r == judge.ROLL_BACK for r in res])
    for acc in (0.85, 0.95, 0.99):          # few labels per look: the normal approximation's weak spot
        for per_look in (20, 100):
            res = [unpaired_run(rng, acc, acc, 2 * per_look * args.looks, args.looks, s)[0] for _ in range(args.canaries)]
            out[f"unpaired null, accuracy {acc}, {per_look} labels per arm per look: rolled back"] = np.mean(
                [r == judge.ROLL_BACK for r in res])
    print(f"canaries {args.canaries}, looks {args.looks}, control accuracy {p}, alpha {s.alpha}, margin {s.margin}, "
          f"drop {args.drop}, power {s.power}, mixture sd {s.tau}, paired discordance {args.discordance}, seed {args.seed}")
    print(f"labels the report says are needed (both arms): unpaired to detect the drop {n_detect:,}, to promote "
          f"{n_promote:,}; paired to detect {n_detect_p:,}, to promote {n_promote_p:,}")
    half = 1.96 * np.sqrt(1 / args.canaries * 0.05 * 0.95)
    for k, v in out.items():
        print(f"  {k:<75} {v:.3f}")
    print(f"(Monte Carlo s.e. at 0.05: {half / 1.96:.3f}; {time.time() - t0:.0f} s; python {platform.python_version()}, "
          f"numpy {np.__version__}, {platform.machine()})")


if __name__ == "__main__":
    main()
