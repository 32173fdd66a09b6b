"""Distinct counts of strings as a HyperLogLog counted in validate's grouping pass.

Spark's approx_count_distinct is an imperative aggregate: one in a plain aggregation turns off code
generation for all of that aggregation's functions, and two of them more than doubled validate's aggregation
(bench/RESULTS.md). The same sketch comes out of validate's grouping pass for little: each value's
64-bit hash gives its register (the top PRECISION bits) and rank (leading zeros of the rest, plus one);
the pass groups by register and keeps the largest rank, a register's value.

  register_and_rank   the Spark expressions of a value's register and rank (rank <= 64 - PRECISION + 1)
  estimate            the distinct count from the registers: HyperLogLog's estimate with linear counting
                      for small counts (Flajolet et al. 2007; Heule et al. 2013 for the 64-bit hash, which
                      needs no large-range correction); relative standard error 1.04 / sqrt(2**PRECISION)
"""

from __future__ import annotations

import math

from pyspark.sql import Column as SparkColumn
from pyspark.sql import functions as F

PRECISION = 11                      # 2048 registers: relative standard error 2.3% (Spark's default is 5%)
REGISTERS = 1 << PRECISION


def register_and_rank(x: SparkColumn) -> tuple[SparkColumn, SparkColumn]:
    """The register and rank of `x` (a non-null value; xxhash64 of its string form)."""
    h = F.xxhash64(x.cast("string"))
    register = F.shiftrightunsigned(h, 64 - PRECISION)
    rest = F.shiftrightunsigned(F.shiftleft(h, PRECISION), PRECISION)      # the low 64 - PRECISION bits
    width = 64 - PRECISION
    # rank = leading zeros of `rest` within `width` bits, plus one; floor(log2) is the highest set bit
    rank = F.when(rest == 0, F.lit(width + 1)).otherwise(
        F.lit(width) - F.floor(F.log2(rest.cast("double"))).cast("long"))
    return register, rank


def estimate(ranks: dict[int, int]) -> int:
    """Distinct values from each register's largest rank (`ranks`: register -> rank; absent registers are 0)."""
    m = REGISTERS
    zeros = m - sum(1 for r in ranks.values() if r > 0)
    harmonic = zeros + sum(2.0 ** -r for r in ranks.values() if r > 0)
    raw = 0.7213 / (1 + 1.079 / m) * m * m / harmonic
    if raw <= 2.5 * m and zeros:
        return round(m * math.log(m / zeros))
    return round(raw)
