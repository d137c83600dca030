"""A simulated night at the sensor: physically plausible samples with ground-truth labels.

The sensor is taped under the mattress in a random orientation. Everything is modelled in
the mattress frame (z up, at rest the accelerometer reads +1 g up) and then turned into the
sensor's axes by the mounting rotation:

- gravity, tilted by the slope of the mattress surface under the sensor; the slope steps
  (smoothly, over the movement) when the sleeper gets in, turns over or gets up;
- breathing while in bed: a tilt modulation of a few hundredths of a degree plus a vertical
  acceleration of about a milligram, 12-20 breaths/min, non-sinusoidal, rate and depth
  drifting slowly;
- the ballistocardiogram while in bed: each heartbeat (50-70 bpm, respiratory sinus
  arrhythmia, beat-to-beat jitter) rings the bed at 5-10 Hz for ~0.3 s at 0.3-1 mg;
- labelled movements: hypnic jerks, limb movements (isolated and periodic series), posture
  changes, getting in and out of bed (see ``schedule`` and ``shapes``);
- sensor noise (white, at a noise density) and quantisation to the chip's LSB.

Parameter ranges and their sources are in ``params``.

Rendering is a pure function of (seed, sample index): samples are computed in fixed internal
chunks of ``CHUNK_N`` samples, noise for chunk k comes from a generator keyed by
``(seed, 7, k)``, and every other component is a closed-form function of time, so any
request is served by slicing whole chunks and is bit-identical however the night is cut up.
The last two chunks are cached, so reading a night in small pieces costs no more than reading
it in big ones. Memory is constant over the night: the schedule and the heartbeat times
(about 35 000 floats for 8 h) are all that is kept.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.sim.params import NightParams
from hypnic.drivers.sim.schedule import build_schedule
from hypnic.drivers.sim.shapes import (
    Breathing,
    Heart,
    SlowSines,
    beat_kernel,
    beat_kernel_norm,
)
from hypnic.drivers.sim.truth import TruthEvent

F64 = NDArray[np.float64]

#: Samples per internal chunk (20 s at 200 Hz).
CHUNK_N = 4096
#: Each heartbeat's ringing is cut off here (below 1 % of its peak).
_BEAT_SUPPORT_FACTOR = 1.4
#: Slow drifts of breathing and heart rate: periods of a few to tens of minutes.
_SLOW_PERIODS_S = (300.0, 2400.0)


def _random_rotation(rng: np.random.Generator) -> F64:
    """A rotation drawn uniformly over all orientations (a normalised Gaussian quaternion)."""
    q = rng.standard_normal(4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


class SimulatedNight:
    """One simulated night, rendered on demand.

    seed        any non-negative integer; the same seed gives the same night, sample for sample.
    rate_hz     the nominal output rate; the chip's real rate ``true_rate_hz`` is off by up to
                ``params.rate_error_max`` (drawn from the seed).
    duration_s  the length of the rendered span, from ``start_s`` (at least 60 s).
    start       "evening": the night clock starts at 0 with an empty bed, the sleeper gets in
                after 1-2 min; "onset": the rendered span starts ``ONSET_LEAD_S`` (150 s)
                before sleep onset, the sleeper already in bed.
    params      a NightParams to change the physics or the event rates.

    After construction: ``truth`` (the labels of the rendered span), ``start_s`` and
    ``end_s`` (the rendered span on the night clock), ``sleep_onset_s``, ``bed_entry_s`` and
    ``bed_exit_s`` (the onsets of getting in and out; with "onset" the entry lies before
    ``start_s``), ``true_rate_hz``, ``n_samples``, ``mount_rotation`` (mattress to sensor axes)
    and ``noise_rms_g`` (expected noise per axis, quantisation included).
    """

    def __init__(self, seed: int = 1, rate_hz: float = 200.0, duration_s: float = 8 * 3600.0,
                 start: str = "evening", params: NightParams | None = None) -> None:
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be positive, got {rate_hz}")
        if not duration_s >= 60.0:
            raise ValueError(f"duration_s must be at least 60 s, got {duration_s}")
        if start not in ("evening", "onset"):
            raise ValueError(f'start must be "evening" or "onset", got {start!r}')
        self.seed = seed
        self.rate_hz = float(rate_hz)
        self.duration_s = float(duration_s)
        self.start = start
        self.params = params if params is not None else NightParams()
        p = self.params

        err = np.random.default_rng([seed, 2]).uniform(-p.rate_error_max, p.rate_error_max)
        self.true_rate_hz = self.rate_hz * (1.0 + float(err))
        self.mount_rotation = _random_rotation(np.random.default_rng([seed, 3]))
        #: Expected noise rms per axis, quantisation included.
        self.noise_sigma_g = p.noise_density_ug_rthz * 1e-6 * math.sqrt(self.true_rate_hz / 2)
        self.noise_rms_g = math.sqrt(self.noise_sigma_g**2 + p.lsb_g**2 / 12.0)

        sched = build_schedule(seed, p, start, self.duration_s, self.noise_rms_g)
        self.start_s = sched.start_s
        self.end_s = sched.end_s
        self.sleep_onset_s = sched.sleep_onset_s
        self.bed_entry_s = sched.bed_entry_s
        self.bed_exit_s = sched.bed_exit_s
        self.n_samples = max(0, math.ceil(self.duration_s * self.true_rate_hz - 1e-6))

        # Only what lies wholly inside the rendered span is labelled (with "onset" the
        # sleeper got into bed before it).
        self._truth = [e for e, _ in sched.movements
                       if e.onset_s >= self.start_s and e.offset_s <= self.end_s]
        self._motions = [m for _, m in sched.movements]
        self._motion_lo_s = np.array([m.support_lo_s for m in self._motions])
        self._motion_hi_s = np.array([m.support_hi_s for m in self._motions])
        self._tr_lo_s = np.array(sched.transition_lo_s)
        self._tr_hi_s = np.array(sched.transition_hi_s)
        self._states = np.array(sched.states)
        self._make_rhythms(sched.transition_lo_s[0], sched.transition_hi_s[-1])
        self._cache: dict[int, tuple[F64, F64]] = {}

    def _make_rhythms(self, in_bed_lo_s: float, in_bed_hi_s: float) -> None:
        p = self.params
        rng = np.random.default_rng([self.seed, 4])
        lo_hz, hi_hz = (r / 60.0 for r in p.breath_rate_bpm)
        swing_hz = min(rng.uniform(*p.breath_rate_swing_bpm) / 60.0, (hi_hz - lo_hz) / 2)
        self.breathing = Breathing.create(
            base_hz=float(rng.uniform(lo_hz + swing_hz, hi_hz - swing_hz)),
            rate_swing=SlowSines.draw(rng, swing_hz, _SLOW_PERIODS_S),
            depth_swing=SlowSines.draw(rng, float(rng.uniform(*p.breath_depth_swing)),
                                       _SLOW_PERIODS_S),
            h2=float(rng.uniform(*p.breath_h2)),
            h3=float(rng.uniform(*p.breath_h3)),
        )
        lo_bpm, hi_bpm = p.heart_rate_bpm
        rsa = float(rng.uniform(*p.heart_rsa_bpm))
        swing = min(float(rng.uniform(*p.heart_rate_swing_bpm)), (hi_bpm - lo_bpm) / 2 - rsa)
        swing = max(swing, 0.0)
        base_bpm = float(rng.uniform(lo_bpm + swing + rsa, hi_bpm - swing - rsa))
        # RSA in beats: theta gains rsa_beats*2*pi*f_breath*sin(phi) beats/s = rsa bpm / 60.
        rsa_beats = rsa / 60.0 / (2 * math.pi * self.breathing.base_hz)
        self.heart = Heart(base_bpm, SlowSines.draw(rng, swing, _SLOW_PERIODS_S), rsa_beats,
                           self.breathing)
        self.bcg_freq_hz = float(rng.uniform(*p.bcg_freq_hz))
        # The ring falls to 2 % in bcg_ring_s.
        self._bcg_decay_s = p.bcg_ring_s / math.log(50.0)
        self._bcg_norm = beat_kernel_norm(self.bcg_freq_hz, self._bcg_decay_s)
        self._bcg_support_s = _BEAT_SUPPORT_FACTOR * p.bcg_ring_s

        # Per-beat jitter is indexed by absolute beat number, so it does not depend on which
        # span of the night is rendered.
        n_beats = math.ceil((self.end_s + 60.0) * hi_bpm * 1.2 / 60.0) + 10
        draws = np.random.default_rng([self.seed, 5]).standard_normal((n_beats, 2))
        jitter = np.clip(draws[:, 0] * p.heart_jitter_beats, -0.25, 0.25)
        t_lo = max(in_bed_lo_s, self.start_s - self._bcg_support_s)
        t_hi = min(in_bed_hi_s, self.end_s + 1.0)
        self._beat_s = self.heart.beat_times(t_lo, t_hi, jitter)
        # Beat strength follows breathing (+-10 %) and varies beat to beat.
        k = np.rint(self.heart.beats(self._beat_s)).astype(np.int64)
        phi = self.breathing.phase(self._beat_s)
        self._beat_amp = (1.0 + 0.1 * np.sin(phi)) * np.exp(p.bcg_amplitude_jitter * draws[k, 1])

    # --- public -------------------------------------------------------------------------

    @property
    def truth(self) -> list[TruthEvent]:
        """Every labelled movement of the rendered span, sorted by onset."""
        return list(self._truth)

    def render(self, first_index: int, n: int) -> tuple[F64, F64]:
        """Samples ``first_index`` .. ``first_index + n - 1`` (counted from ``start_s``).

        Returns (t_s, acc_g): times ``start_s + index / true_rate_hz`` and N x 3 accelerations
        in g in the sensor's axes. Fresh arrays; the caller may keep or change them.
        """
        if first_index < 0 or n < 0 or first_index + n > self.n_samples:
            raise ValueError(
                f"samples {first_index}..{first_index + n - 1} are outside the night "
                f"(0..{self.n_samples - 1})"
            )
        t_out = np.empty(n)
        acc_out = np.empty((n, 3))
        pos = 0
        while pos < n:
            index = first_index + pos
            k, off = divmod(index, CHUNK_N)
            m = min(CHUNK_N - off, n - pos)
            t_c, acc_c = self._chunk(k)
            t_out[pos : pos + m] = t_c[off : off + m]
            acc_out[pos : pos + m] = acc_c[off : off + m]
            pos += m
        return t_out, acc_out

    # --- rendering ----------------------------------------------------------------------

    def _chunk(self, k: int) -> tuple[F64, F64]:
        hit = self._cache.get(k)
        if hit is None:
            hit = self._render_chunk(k)
            if len(self._cache) >= 2:
                self._cache.pop(next(iter(self._cache)))
            self._cache[k] = hit
        return hit

    def _render_chunk(self, k: int) -> tuple[F64, F64]:
        index = np.arange(k * CHUNK_N, (k + 1) * CHUNK_N, dtype=np.float64)
        t = self.start_s + index / self.true_rate_hz
        state = self._state(t)

        disp, vert, _ = self.breathing.waveforms(t)
        tilt_a = state[:, 0] + state[:, 2] * disp
        tilt_b = state[:, 1] + state[:, 3] * disp
        local = np.empty((CHUNK_N, 3))
        local[:, 0] = tilt_a
        local[:, 1] = tilt_b
        local[:, 2] = np.sqrt(1.0 - tilt_a * tilt_a - tilt_b * tilt_b) + state[:, 4] * vert
        local += state[:, 5:8] * self._heartbeats(t, k)[:, None]

        hits = np.nonzero((self._motion_lo_s <= t[-1]) & (self._motion_hi_s >= t[0]))[0]
        for i in hits:
            motion = self._motions[i]
            a = int(np.searchsorted(t, motion.support_lo_s))
            b = int(np.searchsorted(t, motion.support_hi_s, side="right"))
            local[a:b] += motion.accel(t[a:b])

        # The rotation is written out per axis: a BLAS product could round differently.
        r = self.mount_rotation
        acc = np.empty((CHUNK_N, 3))
        for j in range(3):
            acc[:, j] = r[j, 0] * local[:, 0] + r[j, 1] * local[:, 1] + r[j, 2] * local[:, 2]
        noise = np.random.default_rng([self.seed, 7, k]).standard_normal((CHUNK_N, 3))
        acc += self.noise_sigma_g * noise
        lsb = self.params.lsb_g
        if lsb > 0:
            acc = np.round(acc / lsb) * lsb
        return t, acc

    def _state(self, t: F64) -> F64:
        """The posture state (tilt, breathing and heartbeat vectors) at each time."""
        done = int(np.searchsorted(self._tr_hi_s, t[0], side="right"))
        state = np.tile(self._states[done], (len(t), 1))
        j = done
        while j < len(self._tr_lo_s) and self._tr_lo_s[j] <= t[-1]:
            lo, hi = self._tr_lo_s[j], self._tr_hi_s[j]
            u = np.clip((t - lo) / (hi - lo), 0.0, 1.0)
            step = u * u * (3.0 - 2.0 * u)
            state += step[:, None] * (self._states[j + 1] - self._states[j])
            j += 1
        return state

    def _heartbeats(self, t: F64, k: int) -> F64:
        """Sum of the beat responses overlapping the chunk, one scalar per sample."""
        lo = int(np.searchsorted(self._beat_s, t[0] - self._bcg_support_s))
        hi = int(np.searchsorted(self._beat_s, t[-1], side="right"))
        if hi <= lo:
            return np.zeros(len(t))
        beats = self._beat_s[lo:hi]
        span_n = math.ceil(self._bcg_support_s * self.true_rate_hz) + 2
        first = np.ceil((beats - self.start_s) * self.true_rate_hz).astype(np.int64) - k * CHUNK_N
        idx = first[:, None] + np.arange(span_n)[None, :]
        inside = (idx >= 0) & (idx < len(t))
        safe = np.clip(idx, 0, len(t) - 1)
        dt = t[safe] - beats[:, None]
        keep = inside & (dt >= 0.0) & (dt < self._bcg_support_s)
        values = self._beat_amp[lo:hi, None] * beat_kernel(
            dt, self.bcg_freq_hz, self._bcg_decay_s, self._bcg_norm)
        summed = np.bincount(idx[keep], weights=values[keep], minlength=len(t))
        return np.asarray(summed, dtype=np.float64)
