"""Closed-form waveforms of what the room does to the bed: knocks and machine hums.

Like ``shapes``, each is a pure function of time. They reach the sensor through the floor
and the bed frame, not through the sleeper's body, so they ring at the floor's and frame's
frequencies (10-40 Hz), not at the body-mattress resonance, and push mostly vertically.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
TWO_PI = 2.0 * math.pi
#: A knock's ring is cut off where it has decayed to this fraction.
_RING_CUTOFF = 1e-3


@dataclass(frozen=True)
class Knocks:
    """Impacts through the floor (footsteps, a door slam): at each time a ring made of a
    few decaying sines (the floor's and frame's modes), scaled so one knock of amplitude 1
    peaks at 1."""

    times_s: F64
    amp_g: F64
    freq_hz: F64
    decay_s: F64
    weight: F64
    direction: F64
    norm: float

    @staticmethod
    def create(times_s: F64, amp_g: F64, freq_hz: F64, damping: F64, weight: F64,
               direction: F64) -> Knocks:
        decay = 1.0 / (damping * TWO_PI * freq_hz)
        unit = Knocks(times_s[:1] * 0.0, np.ones(1), freq_hz, decay, weight, direction, 1.0)
        grid = np.arange(0.0, unit.ring_s, 1.0 / 8000.0)
        norm = float(np.abs(unit._ring(grid[:, None])).max())
        return Knocks(times_s, amp_g, freq_hz, decay, weight, direction, norm)

    @property
    def ring_s(self) -> float:
        return float(self.decay_s.max()) * math.log(1.0 / _RING_CUTOFF)

    @property
    def support_lo_s(self) -> float:
        return float(self.times_s[0])

    @property
    def support_hi_s(self) -> float:
        return float(self.times_s[-1]) + self.ring_s

    def _ring(self, dt: F64) -> F64:
        """One knock's ring at delays dt (any shape); zero before the knock."""
        out = np.zeros(dt.shape)
        for f, d, w in zip(self.freq_hz, self.decay_s, self.weight, strict=True):
            out += w * np.exp(-np.maximum(dt, 0.0) / d) * np.sin(TWO_PI * f * dt)
        return np.where((dt >= 0.0) & (dt < self.ring_s), out, 0.0)

    def accel(self, t_s: F64) -> F64:
        dt = t_s[:, None] - self.times_s[None, :]
        scalar = (self._ring(dt) * self.amp_g).sum(axis=1) / self.norm
        return np.asarray(scalar[:, None] * self.direction, dtype=np.float64)


@dataclass(frozen=True)
class Hum:
    """A rotating machine with an out-of-balance mass (a fan, a washing machine's spin).

    Its speed ramps up linearly to ``freq_hz`` over ``ramp_up_s``, holds for ``hold_s`` and
    ramps down over ``ramp_down_s``; the force, and so the amplitude, grows with the square
    of the speed. The phase is the analytic integral of that speed profile. ``harmonics`` are
    the weights of the 1st, 2nd, ... multiples of the speed.
    """

    onset_s: float
    ramp_up_s: float
    hold_s: float
    ramp_down_s: float
    freq_hz: float
    harmonics: F64
    phases: F64
    direction: F64
    peak_g: float

    @property
    def support_lo_s(self) -> float:
        return self.onset_s

    @property
    def support_hi_s(self) -> float:
        return self.onset_s + self.ramp_up_s + self.hold_s + self.ramp_down_s

    def _speed_and_turns(self, t_s: F64) -> tuple[F64, F64]:
        """Speed as a fraction of full speed, and turns made since the onset."""
        up, hold, down, f = self.ramp_up_s, self.hold_s, self.ramp_down_s, self.freq_hz
        tau = np.clip(t_s - self.onset_s, 0.0, up + hold + down)
        a = np.minimum(tau, up)
        b = np.clip(tau - up, 0.0, hold)
        c = np.clip(tau - up - hold, 0.0, down)
        speed = np.where(tau < up, a / up, 1.0) - c / down
        turns = f * (a * a / (2.0 * up) + b + c - c * c / (2.0 * down))
        return np.asarray(speed, dtype=np.float64), np.asarray(turns, dtype=np.float64)

    def accel(self, t_s: F64) -> F64:
        speed, turns = self._speed_and_turns(t_s)
        k = np.arange(1, len(self.harmonics) + 1)
        wave = (self.harmonics * np.sin(TWO_PI * turns[:, None] * k + self.phases)).sum(axis=1)
        scalar = self.peak_g / float(self.harmonics.sum()) * speed * speed * wave
        return np.asarray(scalar[:, None] * self.direction, dtype=np.float64)
