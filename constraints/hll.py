"""Distinct counts of strings as a HyperLogLog counted in validate's pass.

Spark's approx_count_distinct is an imperative aggregate: one in a plain aggregation turns off code
generation for all of that aggregation's functions, and two of them more than doubled validate's aggregation
(bench/RESULTS.md). The same sketch comes out of validate's pass for little: Spark hashes each value
(`hashed`), the pass's Python workers turn the hashes into registers (constraints.tally): the top PRECISION
bits of a 64-bit hash pick the register, the leading zeros of the rest plus one are the rank, and a
register keeps its largest rank.

  hashed     the Spark expression of a value's 64-bit hash (xxhash64 of a string or a long)
  ranks      the registers of an array of hashes: the largest rank per register (0: none)
  estimate   the distinct count from the registers: HyperLogLog's estimate with linear counting for small
             counts (Flajolet et al. 2007; Heule et al. 2013 for the 64-bit hash, which needs no large-range
             correction); relative standard error 1.04 / sqrt(2**PRECISION)
"""

from __future__ import annotations

import math

import numpy as np
from pyspark.sql import Column as SparkColumn
from pyspark.sql import functions as F

PRECISION = 11                      # 2048 registers: relative standard error 2.3% (Spark's default is 5%)
REGISTERS = 1 << PRECISION
WIDTH = 64 - PRECISION              # bits of the hash below the register's


def hashed(x: SparkColumn) -> SparkColumn:
    """xxhash64 of a string or long value (constraints.direct computes the same in Python); null for null."""
    return F.when(x.isNotNull(), F.xxhash64(x))


def ranks(hashes: np.ndarray) -> np.ndarray:
    """The largest rank per register (int8, REGISTERS long) of 64-bit hashes."""
    h = hashes.astype(np.int64, copy=False).view(np.uint64)
    register = (h >> np.uint64(WIDTH)).astype(np.intp)
    rest = h & np.uint64((1 << WIDTH) - 1)
    # rank = leading zeros of `rest` within WIDTH bits, plus one = WIDTH + 1 - its bit length; rest < 2**53
    # is exact as a double, whose binary exponent (frexp: rest = m * 2**e, 0.5 <= m < 1) is that bit length
    _, bits = np.frexp(rest.astype(np.float64))
    out = np.zeros(REGISTERS, np.int8)
    np.maximum.at(out, register, (WIDTH + 1 - bits).astype(np.int8))
    return out


def estimate(ranks: np.ndarray) -> int:
    """Distinct values from each register's largest rank (0: an empty register)."""
    m = REGISTERS
    r = np.asarray(ranks, dtype=np.float64)
    zeros = int((r == 0).sum())
    raw = 0.7213 / (1 + 1.079 / m) * m * m / float(np.exp2(-r).sum())
    if raw <= 2.5 * m and zeros:
        return round(m * math.log(m / zeros))
    return round(raw)
