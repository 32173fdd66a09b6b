"""Association of categorical pairs: Cramér's V from contingency counts, in the baseline and per partition,
from the same one pass.

Baseline: a joint lane (`Contingency`) over the first MAX_COLUMNS string columns counts every pair's
value combinations per batch (each column dictionary-encoded, a pair's codes combined and counted with
numpy's bincount) while a pair has at most MAX_CELLS combinations; a pair with more is dropped (one of its
columns is not categorical). After the pass, pairs of two categorical columns keep their tables.

Validate: a joint lane (`KnownContingency`) looks each value up among the baseline's categories of that
pair (any other value is one more category, `other`; each column dictionary-encoded once per batch for
every lane that looks it up: constraints.tally.coded) and counts the pair's
(k_a + 1) x (k_b + 1) table: bounded by the baseline whatever the partition holds.

Cramér's V is scipy.stats.contingency.association(method="cramer") over the rows where both are present.
The drift check of a pair (association_drift_check) needs V's sampling distribution, which has no simple
closed form (V is biased upward in small samples and bounded below by 0): it is drawn by a parametric
bootstrap from the baseline's table (`BOOTSTRAP` multinomial tables at the partition's size and at the
baseline's, fixed seed), z = (V_partition - mean at m) / sqrt(sd at m ^ 2 + sd at n ^ 2); a pair fails when
|z| is beyond the per-pair alpha's normal quantile (Sidak over the pairs, as every check type) and V moved by
at least the minimum effect (0.1). The bootstrap is drawn only for pairs whose V moved that much: the others
pass whatever z (their details carry z None); the draws were most of the check's cost (6 s on the driver for
45 pairs of up to 54 x 75 categories, bench's categorical shape).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from constraints.tally import Coded, Joint, coded

__all__ = ["MAX_COLUMNS", "MAX_CELLS", "BOOTSTRAP", "Contingency", "KnownContingency", "cramers_v",
           "baseline_tables", "association_checks"]

MAX_COLUMNS = 10        # string columns paired (45 pairs)
MAX_CELLS = 10_000      # combinations per pair (100 x 100 categories)
BOOTSTRAP = 200
CHECK = "association_drift_check"


def _pairs(n: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


@dataclass(frozen=True)
class Contingency(Joint):
    """The baseline's lane: per pair of the string lanes `names`, {(a, b): count} (None: too many)."""

    names: tuple[str, ...]
    incremental = True   # handed the tally so far: a column all of whose pairs have too many cells is not encoded

    def fold(self, batch: pa.RecordBatch, so_far: dict | None = None) -> dict[tuple[int, int], dict | None]:
        pairs = _pairs(len(self.names))
        live = set(range(len(self.names))) if so_far is None else \
            {k for i, j in pairs if so_far[(i, j)] is not None for k in (i, j)}
        codes: list = [None] * len(self.names)
        for k in live:
            c = coded(batch, self.names[k])   # shared with the column's Strings lane
            codes[k] = (np.where(c.codes < 0, len(c.values), c.codes), c.values.to_pylist())   # null: last
        out: dict[tuple[int, int], dict | None] = {}
        for i, j in pairs:
            if codes[i] is None or codes[j] is None or (so_far is not None and so_far[(i, j)] is None):
                out[(i, j)] = None
                continue
            (a, va), (b, vb) = codes[i], codes[j]
            if len(va) * len(vb) > MAX_CELLS:
                out[(i, j)] = None
                continue
            counts = _crosstab(a, b, len(va), len(vb))
            out[(i, j)] = {(va[x], vb[y]): int(counts[x, y]) for x, y in zip(*np.nonzero(counts))}
        return out if so_far is None else self.merge(so_far, out)

    def merge(self, x, y):
        out = {}
        for key in x:
            a, b = x[key], y[key]
            if a is None or b is None:
                out[key] = None
                continue
            merged = dict(a)
            for k, n in b.items():
                merged[k] = merged.get(k, 0) + n
            out[key] = merged if len(merged) <= MAX_CELLS else None
        return out

    def close(self, t):
        return t


@dataclass(frozen=True)
class KnownContingency(Joint):
    """Validate's lane: per pair (lanes a and b, with the baseline's categories of each), the counts of
    (category or other) x (category or other) over the rows where both are present."""

    pairs: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...]
    index: tuple[int, ...] = ()      # each pair's place in the baseline's list

    def fold(self, batch: pa.RecordBatch) -> list[np.ndarray]:
        looked: dict = {}   # a column's values looked up once per batch, whatever its pairs

        def positions(column: str, known: tuple[str, ...]) -> np.ndarray:
            if (column, known) not in looked:
                looked[(column, known)] = _positions(coded(batch, column), known)
            return looked[(column, known)]

        return [_crosstab(positions(a, ka), positions(b, kb), len(ka) + 1, len(kb) + 1)   # categories and other
                for a, b, ka, kb in self.pairs]

    def merge(self, x, y):
        return [a + b for a, b in zip(x, y)]

    def close(self, t):
        return t


def _crosstab(a: np.ndarray, b: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Counts of the pairs (a, b) over the rows where both are present: a in 0..rows, b in 0..columns, the
    last of each meaning absent (one bincount, then the absent row and column dropped)."""
    counts = np.bincount(a * (columns + 1) + b, minlength=(rows + 1) * (columns + 1))
    return counts.reshape(rows + 1, columns + 1)[:-1, :-1]


def _positions(c: Coded, known: tuple[str, ...]) -> np.ndarray:
    """Each row's position among `known`: len(known) for any other value, len(known) + 1 when absent."""
    return c.positions(pa.array(known, pa.string()), other=len(known), null=len(known) + 1)


def cramers_v(table: np.ndarray) -> float | None:
    """Cramér's V of a contingency table (empty rows and columns dropped); None with fewer than 2 of either."""
    from scipy.stats.contingency import association

    t = np.asarray(table, dtype=np.int64)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return None
    return float(association(t, method="cramer"))


def baseline_tables(tally: dict, names: tuple[str, ...], categorical: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """The associations section of extended_statistics.json: the tables of the pairs of categorical columns."""
    pairs = []
    for (i, j), counts in sorted(tally.items()):
        a, b = names[i], names[j]
        if counts is None or a not in categorical or b not in categorical:
            continue
        ka, kb = list(categorical[a]), list(categorical[b])
        table = np.zeros((len(ka), len(kb)), dtype=np.int64)
        ia, ib = {v: k for k, v in enumerate(ka)}, {v: k for k, v in enumerate(kb)}
        for (x, y), n in counts.items():
            if x in ia and y in ib:
                table[ia[x], ib[y]] += n
        pairs.append({"columns": [a, b], "categories": [ka, kb], "counts": table.tolist(), "cramers_v": cramers_v(table)})
    return {"max_columns": MAX_COLUMNS, "max_cells": MAX_CELLS, "pairs": pairs}


def _null(table: np.ndarray, size: int, rng) -> tuple[float, float]:
    """Mean and sd of Cramér's V of multinomial tables of `size` rows drawn from `table`'s shares."""
    p = table.ravel() / table.sum()
    vs = _stacked_v(rng.multinomial(size, p, size=BOOTSTRAP).reshape(BOOTSTRAP, *table.shape))
    vs = vs[np.isfinite(vs)]
    return (float(vs.mean()), float(vs.std(ddof=1))) if len(vs) > 2 else (0.0, 0.0)


def _stacked_v(t: np.ndarray) -> np.ndarray:
    """Cramér's V of each table of a stack (B x r x c), as cramers_v computes it (empty rows and columns
    left out; NaN with fewer than 2 of either), vectorised for the bootstrap."""
    t = t.astype(np.float64)
    n = t.sum(axis=(1, 2))
    rows, cols = t.sum(axis=2), t.sum(axis=1)
    expected = rows[:, :, None] * cols[:, None, :] / n[:, None, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        chi2 = np.where(expected > 0, (t - expected) ** 2 / expected, 0.0).sum(axis=(1, 2))
        k = np.minimum((rows > 0).sum(axis=1), (cols > 0).sum(axis=1))
        return np.where(k >= 2, np.sqrt(chi2 / (n * (k - 1))), np.nan)


def association_checks(pairs: list[tuple[dict[str, Any], np.ndarray]], thresholds, min_effect: float = 0.1) -> list:
    """association_drift_check per pair (module docstring): (the baseline's pair, the partition's table)."""
    from scipy import stats

    from constraints.checks import FAILED, PASSED, CheckResult

    rng = np.random.default_rng(14)
    scored = []
    for pair, table in pairs:
        base = np.asarray(pair["counts"], dtype=np.int64)
        v0, v1 = pair["cramers_v"], cramers_v(table)
        if v0 is None or v1 is None:
            continue
        scored.append((pair, base, v0, v1, int(table.sum())))
    alpha = thresholds.feature_alpha(len(scored))
    critical = float(stats.norm.isf(alpha / 2))
    out = []
    for pair, base, v0, v1, m in scored:
        a, b = pair["columns"]
        if abs(v1 - v0) < min_effect:   # passes whatever z: the bootstrap (most of the check's cost) is not drawn
            mean_m = z = None
            text = (f"Cramér's V of {a} and {b} stayed: {v0:.3f} in the baseline, {v1:.3f} here ({m} rows), "
                    f"change {v1 - v0:+.3f} below the minimum effect {min_effect:g} (no test needed).")
            failed = False
        else:
            mean_m, sd_m = _null(base, m, rng)
            _, sd_n = _null(base, int(base.sum()), rng)
            se = math.sqrt(sd_m ** 2 + sd_n ** 2)
            z = (v1 - mean_m) / se if se > 0 else 0.0
            failed = abs(z) > critical
            text = (f"Cramér's V of {a} and {b} {'moved' if failed else 'stayed'}: {v0:.3f} in the baseline, "
                    f"{v1:.3f} here ({m} rows; {mean_m:.3f} expected at that size); z {z:.2f} against "
                    f"+-{critical:.2f} (alpha {alpha:.3g} over {len(scored)} pairs, sd from {BOOTSTRAP} bootstrap "
                    f"tables), change {v1 - v0:+.3f} against the minimum effect {min_effect:g}.")
        out.append(CheckResult(CHECK, f"{a} ~ {b}", FAILED if failed else PASSED, abs(v1 - v0), min_effect, text,
                               details={"method": "cramers_v", "columns": [a, b], "baseline": v0, "partition": v1,
                                        "change": v1 - v0, "expected": mean_m, "z": z, "critical_z": critical,
                                        "alpha": alpha, "rows": m, "pairs": len(scored)}))
    return out
