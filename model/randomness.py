"""Named, counter-based random streams: common random numbers across scenarios.

Every draw is a pure function of (run seed, stream name, individual id, counter), for
example (seed, "overstay", worker 812, day 403). Two scenarios run with the same seed
therefore draw the same number for the same individual and purpose, whatever else
differs between them and in whatever order the model asks: until their policies
differ, their runs are identical, and afterwards the difference is the policy's effect
rather than noise. A draw is SplitMix64's finalizer (Steele et al. 2014) of the id's
word, compiled with Numba (``draw``): the compiled worker rules
(``model.worker_kernels``) draw one worker at a time the same numbers that
``Streams.uniform`` draws for a whole array.
"""

from __future__ import annotations

import hashlib

import numpy as np
from numba import njit

_GOLDEN_INT = 0x9E3779B97F4A7C15
_GOLDEN = np.uint64(_GOLDEN_INT)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_COUNTER_MIX_INT = 0xD6E8FEB86659FD93
_MASK64 = 2**64 - 1
_TO_UNIT = 1.0 / float(2**53)


_S11, _S27, _S30, _S31 = (np.uint64(k) for k in (11, 27, 30, 31))


@njit(inline="always")
def draw(i: int, addend: np.uint64) -> float:
    """Uniform in [0, 1) for id ``i`` of the stream and counter behind ``addend``
    (``Streams.addend``): the top 53 bits of the finalizer of (i + 1) * golden + base."""
    x = np.uint64(i) * _GOLDEN + addend
    x ^= x >> _S30
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    return np.float64(x >> _S11) * _TO_UNIT


@njit(cache=True)
def _uniform_of(ids: np.ndarray, addend: np.uint64) -> np.ndarray:
    out = np.empty(len(ids), dtype=np.float64)
    for k in range(len(ids)):
        out[k] = draw(ids[k], addend)
    return out


def _stream_key(seed: int, name: str) -> np.uint64:
    """A 64-bit key for (seed, stream name), stable across processes and platforms."""
    digest = hashlib.blake2b(f"{seed}:{name}".encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


class Streams:
    """The random streams of one run, derived from its seed."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._keys: dict[str, np.uint64] = {}

    def _key(self, name: str) -> np.uint64:
        key = self._keys.get(name)
        if key is None:
            key = self._keys[name] = _stream_key(self.seed, name)
        return key

    def addend(self, name: str, counter: int = 0) -> np.uint64:
        """The word that, added to id * golden, starts the draw of stream ``name`` at
        ``counter``: (id + 1) * golden + base is id * golden + (golden + base) mod 2**64."""
        # Python ints: numpy scalars warn on wrap-around.
        base = int(self._key(name)) ^ ((int(counter) * _COUNTER_MIX_INT) & _MASK64)
        return np.uint64((_GOLDEN_INT + base) & _MASK64)

    def uniform(self, name: str, ids: np.ndarray | int, counter: int = 0) -> np.ndarray:
        """Uniform draws in [0, 1), one per id, for stream ``name`` at ``counter``."""
        addend = self.addend(name, counter)
        if np.ndim(ids) == 0:
            return _uniform_of(np.array([ids], dtype=np.int64), addend)[0]
        return _uniform_of(np.asarray(ids, dtype=np.int64), addend)

    def normal(self, name: str, ids: np.ndarray | int, counter: int = 0) -> np.ndarray:
        """Standard normal draws (inverse CDF of ``uniform``, so still one draw per id)."""
        from scipy.special import ndtri

        u = self.uniform(name, ids, counter)
        return ndtri(np.clip(u, 1e-12, 1 - 1e-12))

    def integers(self, name: str, ids: np.ndarray | int, high: int, counter: int = 0) -> np.ndarray:
        """Integers in [0, high), one per id."""
        return np.minimum((self.uniform(name, ids, counter) * high).astype(np.int64), high - 1)

    def exponential_days(
        self, name: str, ids: np.ndarray, rate_per_day: float, counter: int = 0
    ) -> np.ndarray:
        """Whole days until an event of a Poisson process with the given daily rate (>= 1)."""
        u = self.uniform(name, ids, counter)
        if rate_per_day <= 0:
            return np.full(len(u), 2**30, dtype=np.int64)
        wait = -np.log1p(-u) / rate_per_day
        return np.minimum(np.ceil(wait), 2**30).astype(np.int64).clip(min=1)
