"""One person's breathing and heartbeat while in bed, as waveforms of time.

Breathing is a non-sinusoidal cycle whose rate drifts slowly (periods of minutes) and varies
breath to breath (periods of tens of seconds); heartbeats fall where the heart's phase
crosses a whole beat, with respiratory sinus arrhythmia and beat-to-beat jitter, and each
beat rings the bed for a few tenths of a second (the ballistocardiogram). Beat times are
drawn once for the whole span and kept (about 35 000 floats for 8 h); everything else is
closed-form, so any sample range renders the same however the night is cut up.

The amplitudes (and where they point) belong to the posture, not to the rhythm: the night
multiplies these unit waveforms by the posture state (see ``night``).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.sim.params import NightParams
from hypnic.drivers.sim.shapes import (
    CALM,
    Breathing,
    Heart,
    SlowSines,
    WakeBreathing,
    Wakefulness,
    beat_kernel,
    beat_kernel_norm,
)

F64 = NDArray[np.float64]

#: Slow drifts of breathing and heart rate: periods of a few to tens of minutes.
SLOW_PERIODS_S = (300.0, 2400.0)
#: Breath-to-breath variability: periods of a few breaths.
FAST_PERIODS_S = (15.0, 60.0)
#: Each heartbeat's ringing is cut off here (below 1 % of its peak).
_BEAT_SUPPORT_FACTOR = 1.4
#: The respiration and heart-rate labels are the mean rate over this window, centred.
RATE_WINDOW_S = 10.0
#: Awake breathing's extra swings of rate and of depth: periods of a few breaths.
WAKE_RATE_PERIODS_S = (8.0, 40.0)
WAKE_DEPTH_PERIODS_S = (8.0, 30.0)
#: A sigh deepens about one breath: a bump of this width (sigma) in depth.
SIGH_WIDTH_S = 1.5


def _joined(a: SlowSines, b: SlowSines) -> SlowSines:
    return SlowSines(np.concatenate([a.amp, b.amp]), np.concatenate([a.freq_hz, b.freq_hz]),
                     np.concatenate([a.phase, b.phase]))


def _wake_breathing(seed: int, key: int, p: NightParams,
                    sleep_intervals: list[tuple[float, float]], t_lo_s: float,
                    t_hi_s: float) -> WakeBreathing:
    """Awake breathing's irregularity for one person (see ``params``)."""
    rng = np.random.default_rng([seed, key, 2])
    scale = p.wake_breathing_scale
    n = len(sleep_intervals)
    wakefulness = Wakefulness(np.array([a for a, _ in sleep_intervals], dtype=np.float64),
                              np.array([b for _, b in sleep_intervals], dtype=np.float64),
                              rng.uniform(*p.breathing_settles_s, size=n))
    # A phase swing of A radians at f Hz swings the rate by A f Hz: rate swings that add up
    # to the drawn one, each turned into its sine's phase amplitude.
    rate_hz = scale * float(rng.uniform(*p.wake_breath_rate_jitter_bpm)) / 60.0
    rates = SlowSines.draw(rng, rate_hz, WAKE_RATE_PERIODS_S)
    phase = SlowSines(rates.amp / rates.freq_hz, rates.freq_hz, rates.phase)
    depth = SlowSines.draw(rng, scale * float(rng.uniform(*p.wake_breath_depth_jitter)),
                           WAKE_DEPTH_PERIODS_S)
    span_h = max(0.0, t_hi_s - t_lo_s) / 3600.0
    count = int(rng.poisson(scale * float(rng.uniform(*p.wake_sighs_per_h)) * span_h))
    sigh_s = np.sort(rng.uniform(t_lo_s, max(t_lo_s, t_hi_s), size=count))
    sigh_depth = rng.uniform(*p.sigh_depth, size=count)
    awake = wakefulness.value(sigh_s) > 0.5
    return WakeBreathing(wakefulness, phase, depth, sigh_s[awake], sigh_depth[awake],
                         SIGH_WIDTH_S)


class Rhythms:
    """Breathing and heartbeat of one person, drawn from the streams ``(seed, key)`` and
    ``(seed, key + 1)``; beats are kept for ``[t_lo_s, t_hi_s]``.

    ``start_s`` and ``rate_hz`` place sample index 0, so ``heartbeats`` can add each beat's
    ringing into a run of samples by index. With ``sleep_intervals`` the breathing is less
    regular while awake (drawn from ``(seed, key, 2)``); without, it is as in sleep
    throughout.
    """

    def __init__(self, seed: int, key: int, p: NightParams, t_lo_s: float, t_hi_s: float,
                 start_s: float, rate_hz: float,
                 sleep_intervals: list[tuple[float, float]] | None = None) -> None:
        self.start_s = start_s
        self.rate_hz = rate_hz
        rng = np.random.default_rng([seed, key])
        lo_hz, hi_hz = (r / 60.0 for r in p.breath_rate_bpm)
        # The slow drift and the breath-to-breath swing together stay inside the range.
        room_hz = (hi_hz - lo_hz) / 2
        slow_hz = min(rng.uniform(*p.breath_rate_swing_bpm) / 60.0, room_hz)
        fast_hz = min(rng.uniform(*p.breath_rate_jitter_bpm) / 60.0, room_hz - slow_hz)
        rate_swing = _joined(SlowSines.draw(rng, slow_hz, SLOW_PERIODS_S),
                             SlowSines.draw(rng, fast_hz, FAST_PERIODS_S))
        swing_hz = slow_hz + fast_hz
        self.breathing = Breathing.create(
            base_hz=float(rng.uniform(lo_hz + swing_hz, hi_hz - swing_hz)),
            rate_swing=rate_swing,
            depth_swing=SlowSines.draw(rng, float(rng.uniform(*p.breath_depth_swing)),
                                       SLOW_PERIODS_S),
            h2=float(rng.uniform(*p.breath_h2)),
            h3=float(rng.uniform(*p.breath_h3)),
            wake=(CALM if sleep_intervals is None
                  else _wake_breathing(seed, key, p, sleep_intervals, t_lo_s, t_hi_s)),
        )
        lo_bpm, hi_bpm = p.heart_rate_bpm
        rsa = float(rng.uniform(*p.heart_rsa_bpm))
        swing = min(float(rng.uniform(*p.heart_rate_swing_bpm)), (hi_bpm - lo_bpm) / 2 - rsa)
        swing = max(swing, 0.0)
        base_bpm = float(rng.uniform(lo_bpm + swing + rsa, hi_bpm - swing - rsa))
        # RSA in beats: theta gains rsa_beats*2*pi*f_breath*sin(phi) beats/s = rsa bpm / 60.
        rsa_beats = rsa / 60.0 / (2 * math.pi * self.breathing.base_hz)
        self.heart = Heart(base_bpm, SlowSines.draw(rng, swing, SLOW_PERIODS_S), rsa_beats,
                           self.breathing)
        self.bcg_freq_hz = float(rng.uniform(*p.bcg_freq_hz))
        # The ring falls to 2 % in bcg_ring_s.
        self._decay_s = p.bcg_ring_s / math.log(50.0)
        self._norm = beat_kernel_norm(self.bcg_freq_hz, self._decay_s)
        self.support_s = _BEAT_SUPPORT_FACTOR * p.bcg_ring_s

        # Per-beat jitter is indexed by absolute beat number, so it does not depend on which
        # span of the night is rendered.
        n_beats = math.ceil((max(t_hi_s, 0.0) + 60.0) * hi_bpm * 1.2 / 60.0) + 10
        draws = np.random.default_rng([seed, key + 1]).standard_normal((n_beats, 2))
        jitter = np.clip(draws[:, 0] * p.heart_jitter_beats, -0.25, 0.25)
        if t_hi_s > t_lo_s:
            self.beat_s = self.heart.beat_times(t_lo_s, t_hi_s, jitter)
        else:
            self.beat_s = np.zeros(0)
        # Beat strength follows breathing (+-10 %) and varies beat to beat.
        k = np.rint(self.heart.beats(self.beat_s)).astype(np.int64)
        phi = self.breathing.phase(self.beat_s)
        self.beat_amp = (1.0 + 0.1 * np.sin(phi)) * np.exp(p.bcg_amplitude_jitter * draws[k, 1])

    def breath(self, t_s: F64) -> tuple[F64, F64]:
        """(displacement-shaped, acceleration-shaped) breathing, each peaking near +-1."""
        disp, acc, _ = self.breathing.waveforms(t_s)
        return disp, acc

    def heartbeats(self, t_s: F64, first_index: int) -> F64:
        """Sum of the beat responses (peak about 1 each) at samples ``first_index`` ...,
        whose times are ``t_s``."""
        n = len(t_s)
        if n == 0:
            return np.zeros(0)
        lo = int(np.searchsorted(self.beat_s, t_s[0] - self.support_s))
        hi = int(np.searchsorted(self.beat_s, t_s[-1], side="right"))
        if hi <= lo:
            return np.zeros(n)
        beats = self.beat_s[lo:hi]
        span_n = math.ceil(self.support_s * self.rate_hz) + 2
        first = np.ceil((beats - self.start_s) * self.rate_hz).astype(np.int64) - first_index
        idx = first[:, None] + np.arange(span_n)[None, :]
        inside = (idx >= 0) & (idx < n)
        safe = np.clip(idx, 0, n - 1)
        dt = t_s[safe] - beats[:, None]
        keep = inside & (dt >= 0.0) & (dt < self.support_s)
        values = self.beat_amp[lo:hi, None] * beat_kernel(dt, self.bcg_freq_hz, self._decay_s,
                                                          self._norm)
        summed = np.bincount(idx[keep], weights=values[keep], minlength=n)
        return np.asarray(summed, dtype=np.float64)

    def respiration_bpm(self, t_s: F64) -> F64:
        """Mean breathing rate over the ``RATE_WINDOW_S`` centred on each time."""
        h = RATE_WINDOW_S / 2
        turns = (self.breathing.phase(t_s + h) - self.breathing.phase(t_s - h)) / (2 * math.pi)
        return np.asarray(turns * 60.0 / RATE_WINDOW_S, dtype=np.float64)

    def heart_bpm(self, t_s: F64) -> F64:
        """Mean heart rate over the ``RATE_WINDOW_S`` centred on each time."""
        h = RATE_WINDOW_S / 2
        beats = self.heart.beats(t_s + h) - self.heart.beats(t_s - h)
        return np.asarray(beats * 60.0 / RATE_WINDOW_S, dtype=np.float64)
