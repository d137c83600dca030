"""Closed-form waveforms of the simulated night, each a pure function of time.

Nothing here keeps state between calls: a waveform evaluated on any set of times gives the
same numbers for the same times, which is what lets the night be rendered in any chunks.
Continuous rhythms (breathing, heart) are written as phases that are analytic integrals of
slowly varying rates, so no integration over the night is ever needed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
TWO_PI = 2.0 * math.pi


@dataclass(frozen=True)
class SlowSines:
    """x(t) = sum_j amp_j * sin(2 pi freq_j t + phase_j), and its integral from 0 to t."""

    amp: F64
    freq_hz: F64
    phase: F64

    @staticmethod
    def draw(rng: np.random.Generator, total_amp: float, periods_s: tuple[float, float],
             n: int = 3) -> SlowSines:
        """A few sinusoids whose amplitudes add up to ``total_amp`` (so |x| <= total_amp)."""
        weights = rng.dirichlet(np.ones(n))
        periods = rng.uniform(*periods_s, size=n)
        return SlowSines(
            amp=total_amp * weights,
            freq_hz=1.0 / periods,
            phase=rng.uniform(0.0, TWO_PI, size=n),
        )

    def value(self, t_s: F64) -> F64:
        arg = TWO_PI * self.freq_hz * t_s[:, None] + self.phase
        return np.asarray((self.amp * np.sin(arg)).sum(axis=1), dtype=np.float64)

    def integral(self, t_s: F64) -> F64:
        arg = TWO_PI * self.freq_hz * t_s[:, None] + self.phase
        scale = self.amp / (TWO_PI * self.freq_hz)
        return np.asarray((scale * (np.cos(self.phase) - np.cos(arg))).sum(axis=1),
                          dtype=np.float64)

    def derivative(self, t_s: F64) -> F64:
        arg = TWO_PI * self.freq_hz * t_s[:, None] + self.phase
        scale = self.amp * TWO_PI * self.freq_hz
        return np.asarray((scale * np.cos(arg)).sum(axis=1), dtype=np.float64)


NO_SINES = SlowSines(np.zeros(0), np.ones(0), np.zeros(0))


@dataclass(frozen=True)
class Wakefulness:
    """How awake someone is: 1 awake, 0 asleep. Awake until each sleep interval starts, then
    settling into sleep over that interval's ``settle_s`` (a smooth step: breathing grows
    regular through stage N1 into N2), and awake again at once when it ends."""

    starts_s: F64
    ends_s: F64
    settle_s: F64

    def value(self, t_s: F64) -> F64:
        awake = np.ones(len(t_s))
        # A handful of intervals a night: the loop is over them, not over samples.
        for a, b, settle in zip(self.starts_s, self.ends_s, self.settle_s, strict=True):
            x = np.clip((t_s - a) / settle, 0.0, 1.0)
            awake -= np.where(t_s < b, x * x * (3.0 - 2.0 * x), 0.0)
        return awake


ALWAYS_ASLEEP = Wakefulness(np.array([-np.inf]), np.array([np.inf]), np.array([1.0]))


@dataclass(frozen=True)
class WakeBreathing:
    """What awake breathing has that sleeping breathing lacks, scaled by ``wakefulness``:
    a breath-to-breath swing of the phase (``phase``, radians, periods of a few breaths),
    a faster swing of depth (``depth``, relative), and sighs: single breaths deeper by
    ``sigh_depth`` at ``sigh_s``."""

    wakefulness: Wakefulness
    phase: SlowSines
    depth: SlowSines
    sigh_s: F64
    sigh_depth: F64
    sigh_width_s: float

    def extra_phase(self, t_s: F64) -> F64:
        if not len(self.phase.amp):
            return np.zeros(len(t_s))
        return np.asarray(self.wakefulness.value(t_s) * self.phase.value(t_s))

    def extra_rate_hz(self, t_s: F64) -> F64:
        if not len(self.phase.amp):
            return np.zeros(len(t_s))
        # The wakefulness changes over minutes: its own slope adds next to nothing.
        return np.asarray(self.wakefulness.value(t_s) * self.phase.derivative(t_s) / TWO_PI)

    def extra_depth(self, t_s: F64) -> tuple[F64, F64]:
        """What being awake adds to the depth of (displacement, acceleration). A sigh draws
        in two or three breaths' air over an inhale that lengthens about as the square root
        of its depth, so it tilts the mattress further while its acceleration hardly grows."""
        swing = (self.wakefulness.value(t_s) * self.depth.value(t_s) if len(self.depth.amp)
                 else np.zeros(len(t_s)))
        sighs = np.zeros(len(t_s))
        if len(self.sigh_s) and len(t_s):
            reach = 4.0 * self.sigh_width_s
            lo = int(np.searchsorted(self.sigh_s, t_s[0] - reach))
            hi = int(np.searchsorted(self.sigh_s, t_s[-1] + reach))
            for at, depth in zip(self.sigh_s[lo:hi], self.sigh_depth[lo:hi], strict=True):
                sighs += depth * np.exp(-0.5 * ((t_s - at) / self.sigh_width_s) ** 2)
        return np.asarray(swing + sighs), np.asarray(swing)


CALM = WakeBreathing(ALWAYS_ASLEEP, NO_SINES, NO_SINES, np.zeros(0), np.zeros(0), 1.0)


@dataclass(frozen=True)
class Breathing:
    """The breathing rhythm: phase, a non-sinusoidal shape, and a slowly varying depth.

    The rate is ``base_hz + rate_swing(t)``, so the phase is the analytic integral
    ``2 pi (base_hz t + integral of rate_swing)``, plus what being awake adds (``wake``). The
    shape adds 2nd and 3rd harmonics with positive weights, which makes the rise (inhale)
    quicker than the fall (exhale).
    """

    base_hz: float
    rate_swing: SlowSines
    depth_swing: SlowSines
    h2: float
    h3: float
    norm_disp: float
    norm_acc: float
    wake: WakeBreathing = CALM

    @staticmethod
    def create(base_hz: float, rate_swing: SlowSines, depth_swing: SlowSines, h2: float,
               h3: float, wake: WakeBreathing = CALM) -> Breathing:
        grid = np.linspace(0.0, TWO_PI, 2001)
        disp = np.sin(grid) + h2 * np.sin(2 * grid) + h3 * np.sin(3 * grid)
        acc = np.sin(grid) + 4 * h2 * np.sin(2 * grid) + 9 * h3 * np.sin(3 * grid)
        return Breathing(base_hz, rate_swing, depth_swing, h2, h3,
                         float(np.abs(disp).max()), float(np.abs(acc).max()), wake)

    def phase(self, t_s: F64) -> F64:
        return (TWO_PI * (self.base_hz * t_s + self.rate_swing.integral(t_s))
                + self.wake.extra_phase(t_s))

    def rate_hz(self, t_s: F64) -> F64:
        return self.base_hz + self.rate_swing.value(t_s) + self.wake.extra_rate_hz(t_s)

    def waveforms(self, t_s: F64) -> tuple[F64, F64, F64]:
        """(displacement-shaped, acceleration-shaped, phase), each peaking near +-1 x depth.

        The acceleration shape is the second time derivative of the displacement shape (the
        harmonics weighted by k^2, sign flipped), normalised to the same peak.
        """
        phi = self.phase(t_s)
        depth = 1.0 + self.depth_swing.value(t_s)
        awake_disp, awake_acc = self.wake.extra_depth(t_s)
        s1 = np.sin(phi)
        s2 = np.sin(2.0 * phi)
        s3 = np.sin(3.0 * phi)
        disp = (s1 + self.h2 * s2 + self.h3 * s3) * ((depth + awake_disp) / self.norm_disp)
        acc = (s1 + (4.0 * self.h2) * s2 + (9.0 * self.h3) * s3) * (
            -(depth + awake_acc) / self.norm_acc)
        return disp, acc, phi


@dataclass(frozen=True)
class Heart:
    """The heartbeat rhythm: a beat phase (in beats) whose integer crossings are the beats.

    theta(t) = (base_bpm t + integral of rate_swing) / 60 - rsa_beats cos(breath phase):
    the last term speeds the heart up while inhaling (respiratory sinus arrhythmia).
    """

    base_bpm: float
    rate_swing: SlowSines
    rsa_beats: float
    breathing: Breathing

    def beats(self, t_s: F64) -> F64:
        smooth = (self.base_bpm * t_s + self.rate_swing.integral(t_s)) / 60.0
        return smooth - self.rsa_beats * np.cos(self.breathing.phase(t_s))

    def beat_rate_hz(self, t_s: F64) -> F64:
        smooth = (self.base_bpm + self.rate_swing.value(t_s)) / 60.0
        phi = self.breathing.phase(t_s)
        return smooth + self.rsa_beats * np.sin(phi) * TWO_PI * self.breathing.rate_hz(t_s)

    def beat_times(self, t_lo_s: float, t_hi_s: float, jitter_beats: F64) -> F64:
        """Beat times in [t_lo_s, t_hi_s]: beat k falls where theta = k + jitter_beats[k].

        ``jitter_beats`` is indexed by the absolute beat number, so a beat keeps its jitter
        whatever span is asked for. The inverse of theta is found by Newton's method, which
        converges in a few steps because theta is nearly linear.
        """
        ends = self.beats(np.array([t_lo_s, t_hi_s]))
        k = np.arange(max(0, math.ceil(ends[0])), math.floor(ends[1]) + 1)
        k = k[k < len(jitter_beats)]
        if len(k) == 0:
            return np.zeros(0)
        target = k + jitter_beats[k]
        t = t_lo_s + (target - ends[0]) * (60.0 / self.base_bpm)
        for _ in range(50):
            step = (self.beats(t) - target) / self.beat_rate_hz(t)
            t = t - step
            if float(np.abs(step).max()) < 1e-9:
                break
        t = np.sort(t)
        return t[(t >= t_lo_s) & (t <= t_hi_s)]


def beat_kernel(dt_s: F64, freq_hz: float, decay_s: float, norm: float) -> F64:
    """One beat's ringing: a damped sine starting at dt = 0, peak 1 (with the given norm)."""
    return np.exp(-dt_s / decay_s) * np.sin(TWO_PI * freq_hz * dt_s) / norm


def beat_kernel_norm(freq_hz: float, decay_s: float) -> float:
    dt = np.linspace(0.0, 1.0 / freq_hz, 2001)
    return float(np.abs(np.exp(-dt / decay_s) * np.sin(TWO_PI * freq_hz * dt)).max())


@dataclass(frozen=True)
class JerkMotion:
    """A hypnic jerk: a half-sine force pulse driving a damped body-mattress resonance.

    The surface acceleration is the exact response of x'' + 2 z w x' + w^2 x = F(t) to
    F = sin(pi t / T) on [0, T]. That pulse is a causal sine plus the same sine delayed by T
    (they cancel after T), so the response is g(t) + g(t - T) with g the closed-form
    response to a causal sine (steady-state part plus a decaying transient that starts the
    motion from rest).

    With ``sideways_freq_hz`` the sideways part of the direction rings at that frequency
    instead (a mattress whose shear mode is softer than its bounce), so the motion leaves its
    line; the scale is set by the vertical ring.
    """

    onset_s: float
    pulse_s: float
    freq_hz: float
    damping: float
    direction: F64
    scale: float
    support_hi_s: float
    sideways_freq_hz: float | None = None

    @property
    def support_lo_s(self) -> float:
        return self.onset_s

    @staticmethod
    def create(onset_s: float, pulse_s: float, freq_hz: float, damping: float,
               direction: F64, peak_g: float,
               sideways_freq_hz: float | None = None) -> JerkMotion:
        sigma = damping * TWO_PI * min(freq_hz, sideways_freq_hz or freq_hz)
        # Beyond this the ringing is below 1e-4 of its start: far below the noise.
        support_hi = onset_s + pulse_s + math.log(1e4) / sigma
        unit = JerkMotion(onset_s, pulse_s, freq_hz, damping, direction, 1.0, support_hi)
        grid = np.arange(onset_s, support_hi, 1.0 / 4000.0)
        peak = float(np.abs(unit._scalar(grid)).max())
        return JerkMotion(onset_s, pulse_s, freq_hz, damping, direction, peak_g / peak,
                          support_hi, sideways_freq_hz)

    def ring_s(self, fraction: float) -> float:
        """Time after the pulse for the ringing envelope to fall to ``fraction``."""
        return math.log(1.0 / fraction) / (self.damping * TWO_PI * self.freq_hz)

    def _causal_sine_acc(self, tau: F64) -> F64:
        w = TWO_PI * self.freq_hz
        z = self.damping
        big_w = math.pi / self.pulse_s
        h = 1.0 / complex(w * w - big_w * big_w, 2.0 * z * w * big_w)
        s = complex(-z * w, w * math.sqrt(1.0 - z * z))
        c_re = -h.imag
        c_im = (c_re * s.real + big_w * h.real) / s.imag
        c = complex(c_re, c_im)
        steady = (-big_w * big_w * h * np.exp(1j * big_w * tau)).imag
        transient = (c * s * s * np.exp(s * tau)).real
        out = np.asarray(steady + transient, dtype=np.float64)
        return np.where(tau >= 0.0, out, 0.0)

    def _scalar(self, t_s: F64) -> F64:
        tau = t_s - self.onset_s
        return self._causal_sine_acc(tau) + self._causal_sine_acc(tau - self.pulse_s)

    def accel(self, t_s: F64) -> F64:
        if self.sideways_freq_hz is None or self.sideways_freq_hz == self.freq_hz:
            return (self.scale * self._scalar(t_s))[:, None] * self.direction
        sideways = replace(self, freq_hz=self.sideways_freq_hz)
        up = np.array([0.0, 0.0, self.direction[2]])
        return np.asarray(self.scale * (self._scalar(t_s)[:, None] * up
                                        + sideways._scalar(t_s)[:, None] * (self.direction - up)),
                          dtype=np.float64)


@dataclass(frozen=True)
class BandMotion:
    """Band-limited motion with a smooth envelope: limb movements, turning over, getting up.

    A sum of sinusoids at random frequencies in the band, with random amplitudes and phases
    per axis, under an envelope that rises from zero over ``ramp_s`` (a half cosine), holds,
    and falls back to zero over ``ramp_s`` (at most half the duration each).
    """

    onset_s: float
    duration_s: float
    ramp_s: float
    freq_hz: F64
    amp: F64
    phase: F64
    scale: float

    @property
    def support_lo_s(self) -> float:
        return self.onset_s

    @property
    def support_hi_s(self) -> float:
        return self.onset_s + self.duration_s

    @staticmethod
    def draw(rng: np.random.Generator, onset_s: float, duration_s: float, band_hz: tuple[
            float, float], peak_g: float, ramp_s: float, axis_weight: F64,
             n_components: int = 16,
             response: Callable[[F64], F64] | None = None) -> BandMotion:
        """``response`` (of frequency) shapes the spectrum, e.g. the mattress the motion
        passes through; the peak is ``peak_g`` whatever it does."""
        freq = np.sort(rng.uniform(*band_hz, size=n_components))
        amp = rng.rayleigh(1.0, size=(n_components, 3)) * axis_weight
        if response is not None:
            amp = amp * response(freq)[:, None]
        phase = rng.uniform(0.0, TWO_PI, size=(n_components, 3))
        unit = BandMotion(onset_s, duration_s, ramp_s, freq, amp, phase, 1.0)
        grid = np.linspace(onset_s, onset_s + duration_s, max(64, int(duration_s * 120)))
        peak = float(np.linalg.norm(unit.accel(grid), axis=1).max())
        return BandMotion(onset_s, duration_s, ramp_s, freq, amp, phase, peak_g / peak)

    def envelope(self, t_s: F64) -> F64:
        edge = np.minimum(t_s - self.onset_s, self.onset_s + self.duration_s - t_s)
        ramp = min(self.ramp_s, self.duration_s / 2.0)
        ramp_fraction = np.clip(edge / ramp, 0.0, 1.0)
        return np.asarray(0.5 * (1.0 - np.cos(math.pi * ramp_fraction)), dtype=np.float64)

    def accel(self, t_s: F64) -> F64:
        tau = t_s - self.onset_s
        arg = (TWO_PI * tau)[:, None, None] * self.freq_hz[None, :, None] + self.phase
        wave = (self.amp * np.sin(arg)).sum(axis=1)
        return np.asarray(wave * (self.scale * self.envelope(t_s))[:, None], dtype=np.float64)


Motion = JerkMotion | BandMotion
