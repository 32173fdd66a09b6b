"""R's random numbers in numpy, to rebuild the data of R examples that are published only as code.

R's default generator is the Mersenne Twister (MT19937, the same recurrence and tempering as numpy's) seeded
by `set.seed(s)`: the seed is scrambled by 50 steps of the LCG s = 69069 s + 1, the next 625 steps fill the
state (the first is the position, reset to 624), and unif_rand() is the 32-bit output times 2.328306437e-10
kept inside (0, 1). rnorm() uses inversion on a 57-bit uniform built from two draws,
qnorm((floor(2^27 u1) + u2) / 2^27). Checked against R's own figures: set.seed(1); runif(3) is 0.2655087,
0.3721239, 0.5728534 and set.seed(1); rnorm(3) is -0.6264538, 0.1836433, -0.8356286.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri

_BIG = 134217728            # 2^27
_I2_32M1 = 2.328306437080797e-10


class RRandom:
    def __init__(self, seed: int):
        s = np.uint32(seed)
        state = []
        with np.errstate(over="ignore"):
            for _ in range(50):
                s = np.uint32(69069) * s + np.uint32(1)
            for _ in range(625):
                s = np.uint32(69069) * s + np.uint32(1)
                state.append(s)
        self._bg = np.random.MT19937()
        self._bg.state = {"bit_generator": "MT19937",
                          "state": {"key": np.array(state[1:], dtype=np.uint32), "pos": 624}}

    def runif(self, n: int) -> np.ndarray:
        u = self._bg.random_raw(n).astype(np.float64) * 2.3283064365386963e-10
        u[u <= 0.0] = 0.5 * _I2_32M1
        u[1.0 - u <= 0.0] = 1.0 - 0.5 * _I2_32M1
        return u

    def rnorm(self, n: int) -> np.ndarray:
        u = self.runif(2 * n).reshape(n, 2)
        return ndtri((np.floor(_BIG * u[:, 0]) + u[:, 1]) / _BIG)

    def arima_sim_ar1(self, phi: float, n: int) -> np.ndarray:
        """arima.sim(model = list(ar = phi), n): burn-in n.start = 1 + ceiling(6 / log(1 / |phi|)) innovations
        drawn first, then n; filtered recursively from 0; the burn-in dropped."""
        n_start = 1 + math.ceil(6 / math.log(1 / abs(phi)))
        e = np.concatenate([self.rnorm(n_start), self.rnorm(n)])
        x, prev = np.empty_like(e), 0.0
        for i, v in enumerate(e):
            prev = v + phi * prev
            x[i] = prev
        return x[n_start:]
