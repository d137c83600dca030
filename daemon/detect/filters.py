"""The detector's front end: samples → 20 ms blocks → motion envelope, streaming and exact.

Detection runs on blocks of ``d`` samples (about 50 blocks a second whatever the chip's rate),
which is what makes a night replay fast: every later stage handles a quarter (at 200 Hz) of
the samples. Onsets are still timed to the sample: when a movement ends, ``fine_filter``
re-filters its raw samples at the full rate (see ``classify.measure``).

Block sums are added in a fixed order and rounded to 0.1 µg before any running sum, and every
running sum is over integers, so each output is the same number however the stream was cut
into Blocks and however many frames one numpy pass handles. That is what keeps the detector
block-size invariant while it processes many seconds per pass.

Per block:

- ``mean_g``      the block's mean acceleration per axis: gravity, posture and breathing.
- ``envelope_g``  RMS over 0.1 s of the motion |block mean - 1 s mean| over all three axes:
                  everything faster than about 1 Hz (jerks, limb movements, heartbeat, noise),
                  free of gravity and breathing, whatever way the sensor is mounted; a smooth
                  measure of how much is moving.
- ``vertical_g``  RMS over 0.1 s of the same motion along gravity. A jerk kicks the body into
                  the mattress, so nearly all of it is vertical, while the sensor's noise is
                  spread over three axes: along one axis a faint jerk stands out more.
- ``slow_g``      RMS over 0.5 s of |100 ms mean - 1 s mean|: the 1-5 Hz band of a limb
                  movement (a leg hardly moves faster), averaged over its
                  length, where noise averages down further.
- ``bcg_g``       the 4-15 Hz band per axis (40 ms mean - 0.2 s mean), where the heartbeat's
                  ring through the mattress lies; it feeds the heart-rate estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

BLOCK_RATE_HZ = 50.0
HIGHPASS_WINDOW_S = 1.0
BCG_HIGHPASS_WINDOW_S = 0.2
ENVELOPE_WINDOW_S = 0.1
SLOW_SMOOTH_S = 0.1
SLOW_ENVELOPE_S = 0.5
# Fine (full-rate) filters used to time a movement's edges.
FINE_SMOOTH_WINDOW_S = 0.025
#: Block sums are rounded to this many g before integer running sums.
QUANTUM_G = 1e-7
#: Squared motion is rounded to this many g² before its running sum.
POWER_QUANTUM_G2 = 1e-12


def odd_samples(window_s: float, rate_hz: float, minimum: int = 1) -> int:
    n = max(minimum, round(window_s * rate_hz))
    return n if n % 2 else n + 1


def block_size(rate_hz: float) -> int:
    """Samples per block: about 20 ms."""
    return max(1, round(rate_hz / BLOCK_RATE_HZ))


@dataclass(frozen=True)
class Blocks:
    """Front-end outputs for consecutive blocks, each stamped with its own time."""

    t_s: F64
    index: I64
    mean_g: F64
    envelope_g: F64
    vertical_g: F64
    slow_g: F64
    bcg_g: F64

    def __len__(self) -> int:
        return len(self.t_s)

    def part(self, start: int, end: int | None = None) -> Blocks:
        s = slice(start, end)
        return Blocks(self.t_s[s], self.index[s], self.mean_g[s], self.envelope_g[s],
                      self.vertical_g[s], self.slow_g[s], self.bcg_g[s])


def empty_blocks() -> Blocks:
    z = np.zeros(0)
    return Blocks(z, np.zeros(0, np.int64), np.zeros((0, 3)), z, z, z, np.zeros((0, 3)))


class FrontEnd:
    """Streaming front end. Outputs lag the input by ``delay`` blocks (the filters are
    centred); ``flush`` returns that tail at the end of a stream or before a gap."""

    def __init__(self, rate_hz: float) -> None:
        self.d = block_size(rate_hz)
        self.block_rate_hz = rate_hz / self.d
        self._long_half = odd_samples(HIGHPASS_WINDOW_S, self.block_rate_hz, 3) // 2
        self._bcg_half = odd_samples(BCG_HIGHPASS_WINDOW_S, self.block_rate_hz, 3) // 2
        self._env_half = odd_samples(ENVELOPE_WINDOW_S, self.block_rate_hz, 3) // 2
        self._slow_half = odd_samples(SLOW_SMOOTH_S, self.block_rate_hz, 3) // 2
        self._slow_env_half = odd_samples(SLOW_ENVELOPE_S, self.block_rate_hz, 3) // 2
        self.delay = self._long_half + self._slow_env_half
        self._history_n = 2 * self.delay
        self._to_units = 1.0 / QUANTUM_G
        self.blocks_made = 0
        self.reset()

    def reset(self) -> None:
        """Forget the past, e.g. after a gap: the next sample starts a fresh stream."""
        self._q: I64 | None = None
        self._t: F64 = np.zeros(0)
        self._i: I64 = np.zeros(0, np.int64)
        self._real_n = 0
        self._left_t: F64 = np.zeros(0)
        self._left_x: F64 = np.zeros((0, 3))

    def process(self, t_s: F64, acc_g: F64) -> Blocks:
        """Feed consecutive samples; get the outputs that are now complete."""
        if len(t_s) == 0:
            return empty_blocks()
        if len(self._left_t):
            t_s = np.concatenate([self._left_t, t_s])
            acc_g = np.concatenate([self._left_x, acc_g])
        d = self.d
        m = len(t_s) // d
        whole = m * d
        self._left_t, self._left_x = t_s[whole:], acc_g[whole:]
        if m == 0:
            return empty_blocks()
        total = acc_g[0:whole:d].copy()
        for k in range(1, d):
            total += acc_g[k:whole:d]
        q = np.rint(total * self._to_units).astype(np.int64)
        t_block = (t_s[0:whole:d] + t_s[d - 1 : whole : d]) * 0.5
        index = np.arange(self.blocks_made, self.blocks_made + m, dtype=np.int64)
        self.blocks_made += m
        return self._blocks(t_block, index, q)

    def flush(self) -> Blocks:
        """Complete the last ``delay`` outputs by holding the mean of the last second, then
        reset. (Holding the last block instead would turn its noise into a step that reads as
        motion.) Samples that did not fill a block are left out: they are too few to matter."""
        if self._q is None or self._real_n == 0:
            self.reset()
            return empty_blocks()
        hold = self.delay
        recent = self._q[-min(self._real_n, 2 * self._long_half + 1, len(self._q)) :]
        level = np.rint(recent.sum(axis=0) / len(recent)).astype(np.int64)
        q = np.repeat(level[None, :], hold, axis=0)
        out = self._compute(
            np.concatenate([self._t, np.full(hold, np.nan)]),
            np.concatenate([self._i, np.full(hold, -1, np.int64)]),
            np.concatenate([self._q, q]),
            hold,
        )
        real_left = min(self._real_n, self.delay)
        self.reset()
        return out.part(len(out) - real_left)

    def _blocks(self, t: F64, index: I64, q: I64) -> Blocks:
        if self._q is None:
            # Start as if the sensor had rested at its first reading: no step enters the filters.
            self._q = np.repeat(q[:1], self._history_n, axis=0)
            self._t = np.full(self._history_n, np.nan)
            self._i = np.full(self._history_n, -1, np.int64)
        all_q = np.concatenate([self._q, q])
        all_t = np.concatenate([self._t, t])
        all_i = np.concatenate([self._i, index])
        real_before = min(self._real_n, self._history_n)
        self._real_n += len(t)
        h = self._history_n
        self._q, self._t, self._i = all_q[-h:], all_t[-h:], all_i[-h:]
        out = self._compute(all_t, all_i, all_q, len(t))
        # Drop outputs centred on the padding laid down at a (re)start.
        skip = max(0, (h - real_before) - (h - self.delay))
        return out.part(skip) if skip else out

    def _compute(self, t: F64, index: I64, q: I64, n_out: int) -> Blocks:
        """Outputs centred on the ``n_out`` blocks ending ``delay`` before the newest."""
        lh, bh, d = self._long_half, self._bcg_half, self.d
        eh, sh, seh = self._env_half, self._slow_half, self._slow_env_half
        n = len(q)
        cs = np.zeros((n + 1, 3), np.int64)
        np.cumsum(q, axis=0, out=cs[1:])
        o_lo, o_hi = n - self.delay - n_out, n - self.delay
        # Every block any envelope needs: the outputs widened by the widest half-window.
        k_lo, k_hi = o_lo - seh, o_hi + seh
        long_w, slow_w = 2 * lh + 1, 2 * sh + 1
        long_sum = cs[k_lo + lh + 1 : k_hi + lh + 1] - cs[k_lo - lh : k_hi - lh]
        band_g = (q[k_lo:k_hi] * long_w - long_sum) * (QUANTUM_G / (d * long_w))
        slow_sum = cs[k_lo + sh + 1 : k_hi + sh + 1] - cs[k_lo - sh : k_hi - sh]
        slow_g = (slow_sum * long_w - long_sum * slow_w) * (QUANTUM_G / (d * long_w * slow_w))
        gravity = long_sum.astype(np.float64)
        gravity /= np.sqrt(_power(gravity))[:, None]
        vertical = band_g[:, 0] * gravity[:, 0] + band_g[:, 1] * gravity[:, 1] \
            + band_g[:, 2] * gravity[:, 2]
        m2 = _power(band_g)
        inner = slice(seh - eh, len(m2) - (seh - eh))
        bcg_w = 2 * bh + 1
        pair = q[o_lo:o_hi] + q[o_lo - 1 : o_hi - 1]
        bcg = pair * bcg_w - 2 * (cs[o_lo + bh + 1 : o_hi + bh + 1] - cs[o_lo - bh : o_hi - bh])
        bcg_g = bcg * (QUANTUM_G / (2 * d * bcg_w))
        return Blocks(
            t_s=t[o_lo:o_hi],
            index=index[o_lo:o_hi],
            mean_g=q[o_lo:o_hi].astype(np.float64) * (QUANTUM_G / d),
            envelope_g=_rms(m2[inner], eh),
            vertical_g=_rms(vertical[inner] * vertical[inner], eh),
            slow_g=_rms(_power(slow_g), seh),
            bcg_g=bcg_g,
        )


def _rms(power_g2: F64, half: int) -> F64:
    """Root of the centred mean over 2 * half + 1 values (rounded to POWER_QUANTUM_G2 first,
    so the running sum is exact): len(power_g2) - 2 * half outputs."""
    quantised = np.rint(power_g2 * (1.0 / POWER_QUANTUM_G2)).astype(np.int64)
    cs = np.zeros(len(quantised) + 1, np.int64)
    np.cumsum(quantised, out=cs[1:])
    w = 2 * half + 1
    return np.asarray(np.sqrt((cs[w:] - cs[:-w]) * (POWER_QUANTUM_G2 / w)), np.float64)


def running_mean(x: F64, window: int) -> F64:
    """The mean over ``window`` values centred on each, along the last axis (over fewer at
    the ends, so nothing is padded in). Not exact across cuts: for stretches fixed by time,
    such as a movement's or a still stretch's."""
    n = x.shape[-1]
    csum = np.zeros((*x.shape[:-1], n + 1))
    np.cumsum(x, axis=-1, out=csum[..., 1:])
    idx = np.arange(n)
    lo = np.maximum(idx - window // 2, 0)
    hi = np.minimum(idx + window // 2 + 1, n)
    return np.asarray((csum.take(hi, axis=-1) - csum.take(lo, axis=-1)) / (hi - lo))


def _power(x: F64) -> F64:
    """Squared length of each row, summed in a fixed order (einsum's order may vary)."""
    return x[:, 0] * x[:, 0] + x[:, 1] * x[:, 1] + x[:, 2] * x[:, 2]


@dataclass(frozen=True)
class Fine:
    """Full-rate filter outputs over a stretch of raw samples (to time a movement's edges)."""

    t_s: F64
    band_g: F64
    motion_g: F64
    envelope_g: F64
    jerk_g_s: F64
    #: The same in the slow band (the 100 ms mean less the 1 s mean), where a faint limb
    #: movement stands out that the broadband hides in noise.
    slow_band_g: F64
    slow_motion_g: F64
    slow_envelope_g: F64

    def __len__(self) -> int:
        return len(self.t_s)

    def part(self, keep: NDArray[np.bool_]) -> Fine:
        return Fine(self.t_s[keep], self.band_g[keep], self.motion_g[keep],
                    self.envelope_g[keep], self.jerk_g_s[keep], self.slow_band_g[keep],
                    self.slow_motion_g[keep], self.slow_envelope_g[keep])

    def slow_band(self) -> Fine:
        """The same stretch with the slow band in place of the broadband."""
        return Fine(self.t_s, self.slow_band_g, self.slow_motion_g, self.slow_envelope_g,
                    self.jerk_g_s, self.slow_band_g, self.slow_motion_g, self.slow_envelope_g)


def fine_filter(t_s: F64, acc_g: F64, rate_hz: float) -> Fine:
    """The same band-pass (per axis, and its length) and envelope as the blocks, at the full
    sample rate, over a stretch of samples (edges held). Also the jerk: the rate of change of
    the 25 ms mean, in g/s.

    Used only on the few seconds around a movement, so its float running sums are fine: the
    stretch is fixed by the movement, whatever the Blocks were."""
    lh = odd_samples(HIGHPASS_WINDOW_S, rate_hz, 3) // 2
    sh = odd_samples(FINE_SMOOTH_WINDOW_S, rate_hz, 3) // 2
    slh = odd_samples(SLOW_SMOOTH_S, rate_hz, 3) // 2
    eh = odd_samples(ENVELOPE_WINDOW_S, rate_hz, 3) // 2
    pad = lh + eh + 1
    x = np.concatenate([np.repeat(acc_g[:1], pad, axis=0), acc_g,
                        np.repeat(acc_g[-1:], pad, axis=0)])
    cs = np.concatenate([np.zeros((1, 3)), np.cumsum(x, axis=0)])
    c = np.arange(pad - eh - 1, pad + len(t_s) + eh)
    long_mean = (cs[c + lh + 1] - cs[c - lh]) / (2 * lh + 1)
    short_mean = (cs[c + sh + 1] - cs[c - sh]) / (2 * sh + 1)
    band = short_mean - long_mean
    slow_band = (cs[c + slh + 1] - cs[c - slh]) / (2 * slh + 1) - long_mean
    diff = np.diff(short_mean, axis=0)
    jerk = np.sqrt(np.einsum("ij,ij->i", diff, diff)) * rate_hz
    motion, env = _motion_envelope(band, eh)
    slow_motion, slow_env = _motion_envelope(slow_band, eh)
    n = len(t_s)
    own = slice(eh + 1, eh + 1 + n)
    return Fine(t_s, band[own], motion[own], env, jerk[eh : eh + n], slow_band[own],
                slow_motion[own], slow_env)


def _motion_envelope(band_g: F64, half: int) -> tuple[F64, F64]:
    """Length of each band-passed sample, and its RMS over 2 * half + 1 samples (one output
    for each sample but the first half + 1 and the last half)."""
    motion = np.sqrt(np.einsum("ij,ij->i", band_g, band_g))
    sq = np.concatenate([[0.0], np.cumsum(motion[1:] ** 2)])
    w = 2 * half + 1
    return motion, np.sqrt(np.maximum(sq[w:] - sq[:-w], 0.0) / w)
