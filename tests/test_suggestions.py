"""Suggested constraints survive the next batch: held-out checking, relaxing and dropping."""

from __future__ import annotations

import numpy as np
import pytest

from constraints.columns import Column
from constraints.profile import ColumnProfile, Profile, SplitStats
from constraints.rules import wilson_lower
from constraints.suggest import suggest
from constraints.suite import HasCompleteness, IsInDomain, IsInRange, IsUnique, Suite
from constraints.verification import verify
from helpers import run_baseline, write_parquet
from jobs.sample_data import make_frame


@pytest.mark.parametrize("seed", [1, 2])
def test_suite_from_one_half_passes_on_the_other_half(spark, tmp_path, seed):
    frame = make_frame(20_000, seed=seed)
    rng = np.random.default_rng(seed)
    first = rng.random(len(frame)) < 0.5
    train, other = frame[first], frame[~first]
    docs = run_baseline(spark, write_parquet(train, tmp_path / "a"), tmp_path / "baseline",
                        predictions=["score", "predicted_label"])
    suite = Suite.from_dict(docs["suite.json"])
    kinds = {c.kind for c in (s.constraint for s in suite.constraints)}
    assert {"has_completeness", "has_type", "is_non_negative", "is_in_range", "is_unique", "is_in_domain",
            "has_length_between"} <= kinds
    results = verify(spark, spark.read.parquet(str(write_parquet(other, tmp_path / "b"))), suite)
    failed = [(r.constraint.describe(), r.message) for r in results if not r.passed]
    assert failed == []
    assert len(results) == len(suite.constraints)


def test_verification_catches_a_bad_batch(spark, tmp_path):
    frame = make_frame(5_000, seed=3)
    docs = run_baseline(spark, write_parquet(frame, tmp_path / "a"), tmp_path / "baseline")
    suite = Suite.from_dict(docs["suite.json"])
    bad = make_frame(2_000, seed=4)
    bad.loc[:99, "region"] = "atlantis"          # 5% unseen category
    bad.loc[:, "age"] = bad["age"] + 200          # out of range
    bad.loc[:9, "id"] = 0                         # duplicates
    batch = spark.read.parquet(str(write_parquet(bad, tmp_path / "bad")))
    results = {(r.constraint.kind, r.constraint.column): r for r in verify(spark, batch, suite)}
    assert not results[("is_in_domain", "region")].passed
    assert not results[("is_in_range", "age")].passed
    assert not results[("is_unique", "id")].passed
    assert results[("has_completeness", "plan")].passed


def _profile(train: SplitStats, holdout: SplitStats, inferred: str = "String", spark_type: str = "string") -> Profile:
    column = Column("c", "c0", spark_type, inferred)
    p = ColumnProfile(column, num_present=train.num_present + holdout.num_present,
                      num_missing=train.rows + holdout.rows - train.num_present - holdout.num_present,
                      train=train, holdout=holdout)
    return Profile(train.rows + holdout.rows, train.rows, holdout.rows, (p,))


def test_domain_relaxed_when_holdout_has_a_rare_unseen_value():
    train = SplitStats(1000, 1000, categories={"a": 600, "b": 400}, min_length=1, max_length=1)
    holdout = SplitStats(1000, 1000, categories={"a": 590, "b": 405, "zz": 5}, min_length=1, max_length=2)
    suite = suggest(_profile(train, holdout))
    domain = next(s for s in suite.constraints if isinstance(s.constraint, IsInDomain))
    assert domain.holdout == "relaxed" and "zz" in domain.reason
    assert domain.constraint.values == ("a", "b")
    assert domain.constraint.at_least == pytest.approx(wilson_lower(995, 1000), abs=1e-4)
    assert domain.constraint.at_least < 0.995


def test_domain_dropped_when_holdout_is_mostly_unseen():
    train = SplitStats(100, 100, categories={"a": 60, "b": 40})
    holdout = SplitStats(100, 100, categories={"a": 30, "c": 70})
    suite = suggest(_profile(train, holdout))
    assert not any(isinstance(s.constraint, IsInDomain) for s in suite.constraints)
    dropped = [d for d in suite.dropped if isinstance(d.constraint, IsInDomain)]
    assert len(dropped) == 1 and "held-out" in dropped[0].reason


def test_range_relaxed_to_cover_holdout_and_uniqueness_dropped():
    train = SplitStats(1000, 1000, minimum=0.0, maximum=100.0, max_multiplicity=1)
    holdout = SplitStats(1000, 1000, minimum=0.0, maximum=150.0, max_multiplicity=2)
    suite = suggest(_profile(train, holdout, "Integral", "bigint"))
    assert not any(isinstance(s.constraint, IsUnique) for s in suite.constraints)
    assert any(isinstance(d.constraint, IsUnique) for d in suite.dropped)
    # unique in training -> treated as an identifier: no range at all
    assert not any(isinstance(s.constraint, IsInRange) for s in suite.constraints)

    train = SplitStats(1000, 1000, minimum=0.0, maximum=100.0, max_multiplicity=3)
    suite = suggest(_profile(train, holdout, "Integral", "bigint"))
    rng = next(s for s in suite.constraints if isinstance(s.constraint, IsInRange))
    assert rng.holdout == "relaxed"
    assert rng.constraint.upper > 150.0 and rng.constraint.lower == 0.0


def test_completeness_bound_allows_for_estimation_and_batch_noise():
    train = SplitStats(2000, 1900)
    holdout = SplitStats(500, 470)
    suite = suggest(_profile(train, holdout))
    c = next(s for s in suite.constraints if isinstance(s.constraint, HasCompleteness))
    assert c.holdout == "passed"
    p, n, m, z = 0.95, 2000, 1000, 2.576
    # Wilson's lower bound at 99%, recomputed here from its textbook formula ...
    lower = (p + z * z / (2 * n) - z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)
    # ... less the 99% sampling allowance of a 1,000-row batch
    q = 1 - lower
    assert c.constraint.at_least == pytest.approx(1 - q - z * np.sqrt(q * (1 - q) / m), abs=1e-4)
    # a fresh 1,000-row batch at the training completeness (95%) passes with room to spare
    assert c.constraint.at_least < 0.95 - 2 * np.sqrt(0.95 * 0.05 / 1000)


def test_suite_round_trips_through_json(spark, tmp_path):
    frame = make_frame(3_000, seed=5)
    docs = run_baseline(spark, write_parquet(frame, tmp_path / "a"), tmp_path / "baseline")
    text = (tmp_path / "baseline" / "suite.json").read_text()
    suite = Suite.from_json(text)
    assert Suite.from_json(suite.to_json()) == suite
    assert len(suite.constraints) == len(docs["suite.json"]["constraints"])


def test_hand_edited_suite_with_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown constraint kind"):
        Suite.from_dict({"format_version": 1, "columns": [], "constraints": [{"kind": "is_pretty", "column": "x"}]})
    with pytest.raises(ValueError, match="format_version"):
        Suite.from_dict({"format_version": 99})
