"""The labeled comparison of the two models' accuracy and the canary's verdict.

    unpaired(...)   traffic split: arm accuracies (Hajek, Kish effective n), Newcombe's interval for the
                    difference, the always-valid confidence sequence, labels still needed
    paired(...)     shadow mode: the same on the per-row difference (McNemar's exact test beside it)
    verdict(...)    promote / keep watching / roll back, with the reasons

Decision rule (difference d = candidate accuracy - control accuracy, margin m > 0, the always-valid
sequence at level 1 - alpha, see canary.sequential):

    roll back       the sequence's upper bound is below 0: the candidate is worse
    promote         its lower bound is above -m: the candidate is non-inferior at margin m
    keep watching   neither yet (or no labels in an arm): labels still needed are reported

Because the sequence covers d at every look with probability >= 1 - alpha, checking every hour keeps each
wrong decision's probability at or below alpha: rolling back a candidate that is not worse (d >= 0), and
promoting one that is worse by more than the margin (d <= -m).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from canary import sequential
from canary.intervals import Difference, newcombe
from labeling import quality

PROMOTE, WATCH, ROLL_BACK = "promote", "keep watching", "roll back"


@dataclass(frozen=True)
class Settings:
    alpha: float = 0.05            # each wrong decision's probability, over all looks
    margin: float = 0.01           # non-inferiority margin (accuracy, absolute)
    detectable_drop: float = 0.02  # the drop the labels-needed figure plans for
    power: float = 0.8
    mixture_sd: float | None = None  # tau of the confidence sequence (default: detectable_drop)
    level: float = 0.95            # fixed-sample intervals shown beside the sequence
    min_share: float = 0.02        # label-free signals: smallest share difference worth flagging
    min_distance: float = 0.05     # ... smallest KS distance / mean |delta p|

    @property
    def tau(self) -> float:
        return self.mixture_sd if self.mixture_sd else self.detectable_drop

    def as_dict(self) -> dict:
        return {"alpha": self.alpha, "margin": self.margin, "detectable_drop": self.detectable_drop,
                "power": self.power, "mixture_sd": self.tau, "level": self.level, "min_share": self.min_share,
                "min_distance": self.min_distance}


@dataclass(frozen=True)
class Arm:
    accuracy: float
    labeled: int
    effective: float      # Kish's effective number of labels
    lower: float
    upper: float

    def as_dict(self) -> dict:
        return {"accuracy": _f(self.accuracy), "labeled": self.labeled, "effective_labeled": _f(self.effective),
                "lower": _f(self.lower), "upper": _f(self.upper)}


@dataclass(frozen=True)
class Labeled:
    mode: str                                # "unpaired" or "paired"
    control: Arm
    candidate: Arm
    fixed: Difference                        # fixed-sample interval (one look only)
    sequence: sequential.Sequence            # always-valid: what the verdict uses
    labels_to_promote: int | None            # total labels at which a candidate no worse than control is promoted
    labels_to_detect_drop: int | None        # ... at which a drop of detectable_drop is caught, with power
    mcnemar: quality.Comparison | None = None

    @property
    def labeled(self) -> int:
        return self.control.labeled + (self.candidate.labeled if self.mode == "unpaired" else 0)

    def as_dict(self) -> dict:
        out = {"mode": self.mode, "control": self.control.as_dict(), "candidate": self.candidate.as_dict(),
               "difference": self.fixed.as_dict(), "sequence": self.sequence.as_dict(), "labeled": self.labeled,
               "labels_needed": {"to_promote_if_equal": self.labels_to_promote,
                                 "to_detect_drop": self.labels_to_detect_drop,
                                 "still_needed_to_promote_if_equal": _left(self.labels_to_promote, self.labeled),
                                 "still_needed_to_detect_drop": _left(self.labels_to_detect_drop, self.labeled)}}
        if self.mcnemar is not None:
            m = self.mcnemar
            out["mcnemar"] = {"control_only_correct": m.a_only_correct, "candidate_only_correct": m.b_only_correct,
                              "exact_p_value": m.p_value}
        return out


def _left(needed: int | None, have: int) -> int | None:
    return None if needed is None else max(0, needed - have)


def _f(x):
    return None if x is None or not math.isfinite(x) else float(x)


def _arm(correct: np.ndarray, w: np.ndarray, level: float) -> Arm:
    n = len(correct)
    if n == 0:
        return Arm(float("nan"), 0, 0.0, float("nan"), float("nan"))
    p = float(np.sum(w * correct) / np.sum(w))
    n_eff = float(np.sum(w) ** 2 / np.sum(w * w))
    lo, hi = quality.wilson(p, n_eff, level)
    return Arm(p, n, n_eff, lo, hi)


def unpaired(correct_control: np.ndarray, weight_control: np.ndarray, correct_candidate: np.ndarray,
             weight_candidate: np.ndarray, s: Settings) -> Labeled:
    ca, cb = np.asarray(correct_control, dtype=float), np.asarray(correct_candidate, dtype=float)
    a = _arm(ca, np.asarray(weight_control, dtype=float), s.level)
    b = _arm(cb, np.asarray(weight_candidate, dtype=float), s.level)
    fixed = newcombe(a.accuracy, a.effective, b.accuracy, b.effective, s.level)
    v = sequential.unpaired_variance(a.accuracy, a.effective, b.accuracy, b.effective)
    seq = sequential.sequence(b.accuracy - a.accuracy, v, s.tau, s.alpha)
    share = b.labeled / (a.labeled + b.labeled) if a.labeled + b.labeled else 0.5
    share = min(max(share, 0.05), 0.95)
    p = a.accuracy if math.isfinite(a.accuracy) and a.labeled >= 30 else 0.8
    p = min(max(p, s.detectable_drop + 0.01), 0.99)

    def per_label(pa: float, pb: float) -> float:
        return pa * (1 - pa) / (1 - share) + pb * (1 - pb) / share

    promote = sequential.labels_needed(per_label(p, p), s.margin, s.tau, s.alpha, s.power)
    detect = sequential.labels_needed(per_label(p, p - s.detectable_drop), s.detectable_drop, s.tau, s.alpha, s.power)
    return Labeled("unpaired", a, b, fixed, seq, promote, detect)


def paired(correct_control: np.ndarray, correct_candidate: np.ndarray, weight: np.ndarray, s: Settings,
           flip_rate: float | None = None) -> Labeled:
    """Both models judged on the same labeled rows; `flip_rate` (share of all rows predicted differently)
    plans the labels needed while few rows are labeled."""
    ca, cb = np.asarray(correct_control, dtype=bool), np.asarray(correct_candidate, dtype=bool)
    w = np.asarray(weight, dtype=float)
    n = len(w)
    a, b = _arm(ca.astype(float), w, s.level), _arm(cb.astype(float), w, s.level)
    d = cb.astype(float) - ca.astype(float)
    if n >= 2:
        mc = _mcnemar(ca, cb, w, s.level)
        dbar = float(np.sum(w * d) / np.sum(w))
        n_eff = a.effective
        var_d = float(np.sum(w * (d - dbar) ** 2) / np.sum(w))
        var_d = max(var_d, 1.0 / (n_eff + 2))          # no discordant pair yet is not proof of no difference
        seq = sequential.sequence(dbar, var_d / n_eff, s.tau, s.alpha)
        fixed = Difference(dbar, mc.difference.lower, mc.difference.upper, s.level, "paired (weighted mean of "
                           "per-row differences, t interval)")
        discordant = float(np.sum(w * (d != 0)) / np.sum(w))
    else:
        mc, seq = None, sequential.sequence(float("nan"), float("nan"), s.tau, s.alpha)
        fixed = Difference(float("nan"), float("nan"), float("nan"), s.level, "paired")
        discordant = float("nan")
    q = discordant if n >= 30 and discordant > 0 else (flip_rate if flip_rate and flip_rate > 0 else 0.1)
    q = max(q, s.detectable_drop + 1e-3)
    promote = sequential.labels_needed(q, s.margin, s.tau, s.alpha, s.power)
    detect = sequential.labels_needed(q - s.detectable_drop ** 2, s.detectable_drop, s.tau, s.alpha, s.power)
    return Labeled("paired", a, b, fixed, seq, promote, detect, mc)


def _mcnemar(ca: np.ndarray, cb: np.ndarray, w: np.ndarray, level: float) -> quality.Comparison:
    """labeling.quality.mcnemar on correctness (truth 1, model a right or not, model b right or not); it reports
    control minus candidate, turned here into candidate minus control."""
    truth = np.ones(len(ca), dtype=int)
    # superpopulation view (the models' accuracy on future traffic, not on this partition's rows): inclusion
    # probabilities scaled toward 0 drop the finite-population factor (1 - pi); the ratio is scale-free
    c = quality.mcnemar(truth, ca.astype(int), cb.astype(int), 1e-9 / w, level)
    d = c.difference
    flipped = quality.Estimate(-d.value, d.standard_deviation, -d.upper, -d.lower, d.level)
    return quality.Comparison(c.rows, c.a_only_correct, c.b_only_correct, c.p_value, flipped)


@dataclass(frozen=True)
class Verdict:
    decision: str
    reasons: tuple[str, ...]

    @property
    def exit_code(self) -> int:
        return 1 if self.decision == ROLL_BACK else 0


def _pts(x: float) -> str:
    return f"{100 * x:+.2f} points"


def verdict(labeled: Labeled | None, signals: list, s: Settings, look: int) -> Verdict:
    reasons: list[str] = []
    decision = WATCH
    level = f"{100 * (1 - s.alpha):.0f}%"
    if labeled is None or labeled.control.labeled == 0 or labeled.candidate.labeled == 0:
        reasons.append("no labeled rows yet" + ("" if labeled is None else " in " + " and ".join(
            n for n, arm in (("control", labeled.control), ("candidate", labeled.candidate)) if arm.labeled == 0))
                       + ": accuracy cannot be compared; keep the canary small and label its predictions")
    else:
        q = labeled.sequence
        span = f"always-valid {level} interval {_pts(q.lower)} to {_pts(q.upper)} at look {look}"
        if q.upper < 0:
            decision = ROLL_BACK
            reasons.append(f"candidate is less accurate than control: difference {_pts(q.value)} ({span}, "
                           f"entirely below 0)")
        elif q.lower > -s.margin:
            decision = PROMOTE
            reasons.append(f"candidate is non-inferior at the margin of {100 * s.margin:.2f} points: difference "
                           f"{_pts(q.value)} ({span}, above {_pts(-s.margin)})")
        else:
            left = _left(labeled.labels_to_promote, labeled.labeled)
            drop = _left(labeled.labels_to_detect_drop, labeled.labeled)
            reasons.append(f"not decided yet: difference {_pts(q.value)} ({span}) spans both 0 and "
                           f"{_pts(-s.margin)}")
            reasons.append("labels still needed (both arms together): "
                           + (f"about {left:,} more to promote a candidate as accurate as control" if left is not None
                              else "promotion out of reach at this margin")
                           + (f", about {drop:,} more to catch a drop of {100 * s.detectable_drop:.1f} points with "
                              f"{100 * s.power:.0f}% power" if drop is not None else ""))
        if labeled.mcnemar is not None:
            m = labeled.mcnemar
            reasons.append(f"on the same rows: {m.b_only_correct} only the candidate got right, {m.a_only_correct} "
                           f"only control (McNemar exact p = {m.p_value:.3g}, a single-look test)")
    for sig in signals:
        if sig.flagged:
            reasons.append(f"{sig.name} differ between the models: {sig.statistic} {sig.value:.3g} "
                           f"(p = {sig.p_value:.2g}); a signal to look at, not a verdict by itself")
    return Verdict(decision, tuple(reasons))
