"""The detector's front end: band-pass, combined-axes motion, envelope and jerk, per frame.

All filters are centred moving averages computed from one cumulative sum over the frame and a
short history, so they are linear-phase (no smearing of onsets), exactly streaming, and cost a
handful of numpy calls per frame. The high-pass window is 1 s rather than shorter because a
centred mean lets a strong jerk leak into the samples before it (about 2.5 % of its peak at
1 s, 5 % at 0.5 s), which would pull onsets early.

- ``lowpass_g``   1 s mean of each axis: gravity plus posture, with breathing mostly averaged.
- ``motion_g``    |short mean - 1 s mean| over all three axes: everything faster than about
                  1 Hz (jerks, limb movements, heartbeat, noise), free of gravity and breathing,
                  whatever way the sensor is mounted.
- ``envelope_g``  RMS of ``motion_g`` over 0.1 s: a smooth measure of how much is moving.
- ``jerk_g_s``    magnitude of the rate of change of the lightly smoothed acceleration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

HIGHPASS_WINDOW_S = 1.0
SMOOTH_WINDOW_S = 0.025
ENVELOPE_WINDOW_S = 0.1


def _odd_samples(window_s: float, rate_hz: float, minimum: int = 1) -> int:
    n = max(minimum, round(window_s * rate_hz))
    return n if n % 2 else n + 1


@dataclass(frozen=True)
class Filtered:
    """Front-end outputs for consecutive samples, each stamped with its own time."""

    t_s: NDArray[np.float64]
    lowpass_g: NDArray[np.float64]
    motion_g: NDArray[np.float64]
    envelope_g: NDArray[np.float64]
    jerk_g_s: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.t_s)


class FrontEnd:
    """Streaming front end. Outputs lag the input by ``delay_n`` samples (the filters are
    centred); ``flush`` returns that tail at the end of a stream or before a gap."""

    def __init__(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        self._long_half = _odd_samples(HIGHPASS_WINDOW_S, rate_hz, 3) // 2
        self._short_half = _odd_samples(SMOOTH_WINDOW_S, rate_hz, 3) // 2
        self._env_half = _odd_samples(ENVELOPE_WINDOW_S, rate_hz, 3) // 2
        self.delay_n = self._long_half + self._env_half
        # Enough history to produce the envelope (and one earlier smoothed sample, for the
        # derivative) for every output sample.
        self._history_n = 2 * self.delay_n + 1
        self._x: NDArray[np.float64] | None = None
        self._t: NDArray[np.float64] = np.zeros(0)
        self._real_n = 0

    def reset(self) -> None:
        """Forget the past, e.g. after a gap: the next sample starts a fresh stream."""
        self._x = None
        self._real_n = 0

    def process(self, t_s: NDArray[np.float64], acc_g: NDArray[np.float64]) -> Filtered:
        """Feed consecutive samples; get the outputs that are now complete."""
        if len(t_s) == 0:
            return _empty()
        if self._x is None:
            # Start as if the sensor had rested at its first reading: no step enters the filters.
            self._x = np.repeat(acc_g[:1], self._history_n, axis=0)
            self._t = np.full(self._history_n, np.nan)
        x = np.concatenate([self._x, acc_g])
        t = np.concatenate([self._t, t_s])
        real_before = min(self._real_n, self._history_n)
        self._real_n += len(t_s)
        self._x, self._t = x[-self._history_n :], t[-self._history_n :]
        out = self._compute(t, x, len(t_s))
        # Drop outputs centred on the padding laid down at a (re)start.
        first_real = self._history_n - real_before
        centre0 = self._history_n - self.delay_n
        skip = max(0, first_real - centre0)
        return _slice(out, skip) if skip else out

    def flush(self) -> Filtered:
        """Complete the last ``delay_n`` outputs by holding the last sample, then reset."""
        if self._x is None or self._real_n == 0:
            self.reset()
            return _empty()
        hold_n = self.delay_n
        x = np.concatenate([self._x, np.repeat(self._x[-1:], hold_n, axis=0)])
        t = np.concatenate([self._t, np.full(hold_n, np.nan)])
        out = self._compute(t, x, hold_n)
        real_left = min(self._real_n, self.delay_n)
        self.reset()
        return _slice(out, len(out) - real_left)

    def _compute(self, t: NDArray[np.float64], x: NDArray[np.float64], n_out: int) -> Filtered:
        """Outputs centred on the ``n_out`` samples ending ``delay_n`` before the newest."""
        lh, sh, eh = self._long_half, self._short_half, self._env_half
        cs = np.concatenate([np.zeros((1, 3)), np.cumsum(x, axis=0)])
        # Centres for the smoothed signal: the outputs, widened by the envelope half-window
        # and one earlier sample for the derivative.
        first = len(x) - self.delay_n - n_out - eh - 1
        c = np.arange(first, len(x) - self.delay_n + eh)
        long_mean = (cs[c + lh + 1] - cs[c - lh]) / (2 * lh + 1)
        short_mean = (cs[c + sh + 1] - cs[c - sh]) / (2 * sh + 1)
        band = short_mean - long_mean
        motion = np.sqrt(np.einsum("ij,ij->i", band, band))
        jerk = np.sqrt(np.einsum("ij,ij->i", d := np.diff(short_mean, axis=0), d)) * self.rate_hz
        sq = np.concatenate([[0.0], np.cumsum(motion[1:] ** 2)])
        w = 2 * eh + 1
        env = np.sqrt(np.maximum(sq[w:] - sq[:-w], 0.0) / w)
        keep = slice(eh + 1, eh + 1 + n_out)
        return Filtered(
            t_s=t[c[keep]],
            lowpass_g=long_mean[keep],
            motion_g=motion[keep],
            envelope_g=env,
            jerk_g_s=jerk[eh : eh + n_out],
        )


def _empty() -> Filtered:
    z = np.zeros(0)
    return Filtered(z, np.zeros((0, 3)), z, z, z)


def _slice(f: Filtered, start: int) -> Filtered:
    return Filtered(
        f.t_s[start:], f.lowpass_g[start:], f.motion_g[start:], f.envelope_g[start:],
        f.jerk_g_s[start:],
    )
