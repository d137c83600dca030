"""Random draws and interval bookkeeping for building the schedule."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.sim.params import Range

F64 = NDArray[np.float64]


def uniform(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(r[0], r[1]))


def log_uniform(rng: np.random.Generator, r: Range) -> float:
    return float(math.exp(rng.uniform(math.log(r[0]), math.log(r[1]))))


def stochastic_round(rng: np.random.Generator, x: float) -> int:
    """x rounded up with probability frac(x): right on average, so fractional counts work."""
    whole = math.floor(x)
    return int(whole + (rng.random() < x - whole))


def per_night(rng: np.random.Generator, r: tuple[int, int], scale: float, frac: float) -> int:
    """A count drawn from an 8-hour range, scaled by a rate knob and the night's length."""
    return stochastic_round(rng, float(rng.integers(r[0], r[1] + 1)) * scale * frac)


def unit(v: F64) -> F64:
    return np.asarray(v / np.linalg.norm(v), dtype=np.float64)


class Occupancy:
    """Intervals already taken; a new one must keep ``gap_s`` clear of all of them."""

    def __init__(self, gap_s: float) -> None:
        self.gap_s = gap_s
        self.taken: list[tuple[float, float]] = []

    def free(self, lo: float, hi: float, extra: list[tuple[float, float]] | None = None) -> bool:
        g = self.gap_s
        return all(lo >= b + g or hi <= a - g for a, b in self.taken + (extra or []))

    def take(self, lo: float, hi: float) -> None:
        self.taken.append((lo, hi))


def new_tilt(rng: np.random.Generator, tilt: F64, change_deg: Range, max_tilt_deg: float) -> F64:
    """``tilt`` (sines of the surface slope) moved by a log-uniform angle in a random
    direction, redrawn (up to 8 times) while that would tip it past ``max_tilt_deg``."""
    deg = math.pi / 180.0
    size = log_uniform(rng, change_deg) * deg
    limit = max_tilt_deg * deg
    candidates = [tilt + size * unit(rng.standard_normal(2)) for _ in range(8)]
    for c in candidates:
        if np.linalg.norm(c) <= limit:
            return np.asarray(c, dtype=np.float64)
    return np.asarray(min(candidates, key=lambda c: float(np.linalg.norm(c))),
                      dtype=np.float64)
