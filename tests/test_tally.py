"""constraints.tally and constraints.hll on their own (numpy, no Spark): each lane's tally against values
computed another way (pandas, a per-value loop). The pass as a whole is tested on Spark in test_scan.py."""

from __future__ import annotations

import collections

import numpy as np
import pandas as pd
import pyarrow as pa

from constraints import hll, tally, unseen


def _batches(values: list, size: int, type: pa.DataType) -> list[pa.RecordBatch]:
    return [pa.RecordBatch.from_pydict({"x": pa.array(values[i:i + size], type=type)})
            for i in range(0, len(values), size)]


def _tally(batches: list[pa.RecordBatch], lane: tally.Lane, partitions: int = 1):
    """Batches dealt to `partitions` partitions in turn, each tallied, then merged."""
    rows = [list(tally.tally_partition(iter(batches[p::partitions]), {"x": lane}))[0] for p in range(partitions)]
    return tally.merge_partitions(((r.column("rows")[0].as_py(), r.column("tallies")[0].as_py()) for r in rows),
                                  {"x": lane})


def test_numbers_equal_pandas_and_cells_equal_a_search_per_value():
    rng = np.random.default_rng(1)
    x = rng.normal(50, 10, 5000).round(1)
    values = [None if i % 17 == 0 else float("nan") if i % 29 == 0 else float(v) for i, v in enumerate(x)]
    grid = np.array([30.0, 40.0, 45.0, 45.0, 50.0, 61.3, 70.0])
    rows, merged = _tally(_batches(values, 700, pa.float64()), tally.Numbers(48.0, grid), partitions=3)
    t = merged["x"]
    finite = pd.Series([v for v in values if v is not None and not np.isnan(v)])
    assert rows == len(values)
    assert (t.present, t.nonfinite) == (len(finite), sum(1 for v in values if v is not None and np.isnan(v)))
    assert abs(48.0 + t.shifted / t.present - finite.mean()) < 1e-9
    assert abs(np.sqrt(t.squares / t.present - (t.shifted / t.present) ** 2) - finite.std(ddof=0)) < 1e-9
    assert (t.low, t.high) == (finite.min(), finite.max())
    per_value = collections.Counter(int((grid <= v).sum()) for v in finite)   # cell j: j points <= the value
    assert t.cells.tolist() == [per_value.get(j, 0) for j in range(len(grid) + 1)]


def test_integral_min_and_max_stay_exact_beyond_2_53():
    big = [2**62 + 1, 2**62 + 3, None, 2**62 + 2]
    _, merged = _tally(_batches(big, 2, pa.int64()), tally.Numbers(0.0))
    assert (merged["x"].low, merged["x"].high) == (2**62 + 1, 2**62 + 3)


def test_unique_values_settled_only_while_partition_ranges_do_not_overlap():
    ids = list(range(0, 3000)) + list(range(9000, 12000))   # two id ranges, read as three partitions
    batches = _batches(ids, 1000, pa.int64())
    lane = tally.Numbers(0.0, unique=True)
    _, apart = _tally(batches[:1] + batches[3:4] + batches[1:3] + batches[4:], lane, partitions=3)
    # partitions holding two id ranges each (0..999 with 2000..2999, ...): split at the wide gap, none overlaps
    assert tally.distinct_and_most(apart["x"].runs) == (6000, 1)
    with_repeat = ids + [5, 9500, 9500]
    _, repeated = _tally(_batches(with_repeat, 1000, pa.int64()), lane, partitions=1)
    assert tally.distinct_and_most(repeated["x"].runs) == (6000, 3)   # within one partition: exact
    _, shared = _tally(_batches(with_repeat, 1000, pa.int64()), lane, partitions=7)
    assert tally.distinct_and_most(shared["x"].runs) is None          # 5 and 9500 in two partitions each


def test_categories_count_known_values_others_and_nulls():
    rng = np.random.default_rng(2)
    known = ("a", "b", "é ü", "")
    values = [None if r < 0.1 else ["a", "b", "é ü", "", "zz", "A"][int(r * 60) % 6] for r in rng.random(2500)]
    _, merged = _tally(_batches(values, 600, pa.string()), tally.Categories(known), partitions=2)
    others = [v for v in values if v is not None and v not in known]
    expected = [sum(v is None for v in values), *[values.count(k) for k in known], len(others)]
    counts, sketched = merged["x"]
    assert counts.tolist() == expected
    summary = unseen.summary(sketched)   # the other values: exact counts while few
    assert (summary.count, summary.distinct, summary.exact) == (len(others), len(set(others)), True)
    assert {v: lo for v, lo, _ in summary.top} == {v: others.count(v) for v in set(others)}


def test_lengths_and_flags():
    lengths = [3, None, 17, 0, 5]
    _, merged = _tally(_batches(lengths, 2, pa.int32()), tally.Lengths(), partitions=2)
    assert merged["x"] == tally.LengthTally(4, 0, 17)
    _, merged = _tally(_batches([True, None, False, True, True], 2, pa.bool_()), tally.Flags())
    assert merged["x"] == 3


def test_registers_equal_a_per_hash_reference_and_estimate_distinct_counts():
    rng = np.random.default_rng(3)
    hashes = rng.integers(-2**63, 2**63 - 1, size=30_000, dtype=np.int64)
    hashes[:4] = [0, -1, 2**53 - 1, -2**63]
    reference = np.zeros(hll.REGISTERS, int)
    for h in hashes.tolist():
        u = h & (2**64 - 1)
        register, rest = u >> hll.WIDTH, u & ((1 << hll.WIDTH) - 1)
        reference[register] = max(reference[register], hll.WIDTH - rest.bit_length() + 1)
    assert hll.ranks(hashes).tolist() == reference.tolist()
    for n in (10, 1000, 30_000):   # distinct random hashes: within 4 standard errors (2.3%)
        assert abs(hll.estimate(hll.ranks(hashes[:n])) - n) <= max(1, 4 * 0.023 * n)
    assert hll.estimate(np.zeros(hll.REGISTERS, np.int8)) == 0


def _pairs_frame(n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    a = rng.choice(["x", "y", "z", "new", None], n, p=[0.4, 0.3, 0.15, 0.05, 0.1])
    b = rng.choice(["p", "q", "é", None], n, p=[0.5, 0.3, 0.1, 0.1])
    return pd.DataFrame({"a": a, "b": b})


def test_one_coding_per_column_and_batch_serves_every_lane_that_looks_it_up():
    """Categories, the pairs' tables (association.KnownContingency / Contingency), the baseline's Strings
    and the reconstruction's level codes share one dictionary encoding of a column per batch
    (tally.coded); each still equals a lookup done another way (pandas), nulls and unknown values included."""
    from constraints import association, reconstruction

    frame = _pairs_frame()
    batches = [pa.RecordBatch.from_pandas(frame.iloc[i:i + 700], preserve_index=False) for i in range(0, len(frame), 700)]
    ka, kb = ("x", "y", "z"), ("p", "q")
    lanes = {"a": tally.Categories(ka), "pairs": association.KnownContingency((("a", "b", ka, kb),)),
             "all": association.Contingency(("a", "b"))}
    rows = [list(tally.tally_partition(iter(batches[p::2]), lanes))[0] for p in range(2)]
    n, merged = tally.merge_partitions(((r.column("rows")[0].as_py(), r.column("tallies")[0].as_py()) for r in rows),
                                       lanes)
    assert n == len(frame)
    a = frame["a"]
    assert merged["a"][0].tolist() == [a.isna().sum(), *[(a == k).sum() for k in ka], a.notna().sum() - a.isin(ka).sum()]
    both = frame.dropna()
    other = both.assign(a=both["a"].where(both["a"].isin(ka), "other"), b=both["b"].where(both["b"].isin(kb), "other"))
    expected = pd.crosstab(other["a"], other["b"]).reindex(index=[*ka, "other"], columns=[*kb, "other"], fill_value=0)
    assert merged["pairs"][0].tolist() == expected.to_numpy().tolist()
    assert merged["all"][(0, 1)] == {k: int(v) for k, v in both.groupby(["a", "b"]).size().items()}

    levels = pa.array(["x", None, "y"], pa.string())   # a null level: nulls take it; z and new are other values
    got = reconstruction.level_codes(tally.Coded.of(pa.array(a, pa.large_string()).dictionary_encode()), levels)
    assert got.tolist() == [{"x": 0, "y": 2}.get(v, 1 if v is None else 3) for v in a]

    split = np.arange(len(frame)) % 4 == 0
    strings = tally.Strings(cap=10).fold(pa.array(a), split)
    for (lengths, counts), m in zip(strings, (~split, split)):
        part = a[m].dropna()
        assert counts == part.value_counts().to_dict() and lengths.present == len(part)
