"""A simulated night at the sensor: physically plausible samples with ground-truth labels.

The sensor is taped under the mattress in a random orientation. Everything is modelled in
the mattress frame (z up, at rest the accelerometer reads +1 g up) and then turned into the
sensor's axes by the mounting rotation:

- gravity, tilted by the slope of the mattress surface under the sensor; the slope steps
  (smoothly, over the movement) when the sleeper gets in, turns over or gets up;
- breathing while in bed: a tilt modulation of a few hundredths of a degree plus a vertical
  acceleration of about a milligram, 12-20 breaths/min, non-sinusoidal, rate and depth
  drifting slowly, less regular and with sighs while awake;
- the ballistocardiogram while in bed: each heartbeat (50-70 bpm, respiratory sinus
  arrhythmia, beat-to-beat jitter) rings the bed at 5-10 Hz for ~0.3 s at 0.3-1 mg;
- labelled movements: hypnic jerks, limb movements (isolated and periodic series), posture
  changes, getting in and out of bed, at night too (see ``schedule`` and ``shapes``), all
  passed through the body-mattress resonance (``body``);
- disturbances, labelled but not events: a partner on the other side (their breathing,
  heartbeat and movements, attenuated), footsteps, door slams, traffic, a fan or washing
  machine (``disturbances``, ``room``), and runs of samples lost to FIFO overruns (rendered
  like any others; ``kept`` says which to leave out of a recording);
- sensor noise (white, at the chip's noise density, z axis optionally noisier; optionally
  flicker noise below a few hertz, a closed-form sum of sines) and quantisation to the
  chip's LSB.

Parameter ranges and their sources are in ``params``; named presets in ``scenarios``.

Rendering is a pure function of (seed, sample index): samples are computed in fixed internal
chunks of ``CHUNK_N`` samples, noise for chunk k comes from a generator keyed by
``(seed, 7, k)``, and every other component is a closed-form function of time, so any
request is served by slicing whole chunks and is bit-identical however the night is cut up.
The last two chunks are cached, so reading a night in small pieces costs no more than reading
it in big ones. Memory is constant over the night: the schedule and the heartbeat times
(about 35 000 floats for 8 h per person) are all that is kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.sim.params import NightParams
from hypnic.drivers.sim.rhythms import Rhythms
from hypnic.drivers.sim.schedule import build_schedule
from hypnic.drivers.sim.timeline import Track, Waveform
from hypnic.drivers.sim.truth import Disturbance, TruthEvent
from hypnic.drivers.sim.truth_json import truth_record

F64 = NDArray[np.float64]

#: Samples per internal chunk (20 s at 200 Hz).
CHUNK_N = 4096
#: Flicker noise: this many sines per axis, log-spaced over this band.
FLICKER_SINES = 24
FLICKER_BAND_HZ = (0.02, 5.0)


@dataclass(frozen=True)
class _Flicker:
    """1/f noise per axis: sines at log-spaced frequencies (0.02-5 Hz) of equal amplitude
    (equal power per octave is a 1/f spectrum) with random phases, so any stretch of the
    night renders on its own."""

    freq_hz: F64  # (FLICKER_SINES, 3)
    phase: F64
    amp_g: F64  # (3,)

    @staticmethod
    def draw(rng: np.random.Generator, ratio: tuple[float, float],
             sigma_g: F64) -> _Flicker | None:
        share = float(rng.uniform(*ratio))
        if share <= 0.0:
            return None
        edges = np.geomspace(FLICKER_BAND_HZ[0], FLICKER_BAND_HZ[1], FLICKER_SINES + 1)
        freq = np.exp(rng.uniform(np.log(edges[:-1])[:, None], np.log(edges[1:])[:, None],
                                  size=(FLICKER_SINES, 3)))
        phase = rng.uniform(0.0, 2 * math.pi, size=(FLICKER_SINES, 3))
        return _Flicker(freq, phase, share * sigma_g * math.sqrt(2.0 / FLICKER_SINES))

    def at(self, t_s: F64) -> F64:
        out = np.zeros((len(t_s), 3))
        for j in range(FLICKER_SINES):
            out += np.sin(2 * math.pi * self.freq_hz[j] * t_s[:, None] + self.phase[j])
        return np.asarray(out * self.amp_g, dtype=np.float64)


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

    After construction: ``truth`` (the labels of the rendered span), ``disturbances`` (what
    else moved the bed), ``start_s`` and ``end_s`` (the rendered span on the night clock),
    ``sleep_onset_s``, ``bed_entry_s`` and ``bed_exit_s`` (the onsets of the first getting
    in and the last getting out; with "onset" the entry lies before ``start_s``; all None
    for an empty bed), ``true_rate_hz``, ``n_samples``, ``mount_rotation`` (mattress to
    sensor axes), ``noise_rms_g`` (expected noise per axis, quantisation included) and
    ``body``. ``truth_record()`` gives all the labels as a JSON-ready dict.
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
        unit_scale = np.random.default_rng([seed, 8]).uniform(*p.noise_density_scale)
        sigma = p.noise_density_ug_rthz * 1e-6 * unit_scale * math.sqrt(self.true_rate_hz / 2)
        #: Noise rms of each sensor axis, before quantisation.
        self.noise_sigma_g = np.array([sigma, sigma, sigma * p.noise_z_ratio])
        #: Expected noise rms per axis (the axes' mean square), quantisation included.
        self.noise_rms_g = math.sqrt(float(np.mean(self.noise_sigma_g**2)) + p.lsb_g**2 / 12.0)
        self._flicker = _Flicker.draw(np.random.default_rng([seed, 41]), p.flicker_noise_ratio,
                                      self.noise_sigma_g)

        sched = build_schedule(seed, p, start, self.duration_s, self.noise_rms_g,
                               self.true_rate_hz)
        self.schedule = sched
        self.body = sched.body
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
        self._disturbances = [d for d, _ in sched.disturbances
                              if d.offset_s > self.start_s and d.onset_s < self.end_s]
        self._motions: list[Waveform] = [m for _, m in sched.movements]
        self._motions += [m for _, m in sched.disturbances if m is not None]
        self._motion_lo_s = np.array([m.support_lo_s for m in self._motions])
        self._motion_hi_s = np.array([m.support_hi_s for m in self._motions])
        self._gap_lo_s = np.array([g[0] for g in sched.gaps_s])
        self._gap_hi_s = np.array([g[1] for g in sched.gaps_s])
        # The partner is taken to be asleep throughout: their breathing stays regular.
        self.rhythms = self._rhythms(sched.sleeper, 4, sched.sleep_intervals)
        self.partner_rhythms = (self._rhythms(sched.partner, 24)
                                if sched.partner is not None else None)
        self._cache: dict[int, tuple[F64, F64]] = {}

    def _rhythms(self, track: Track, key: int,
                 sleep_intervals: list[tuple[float, float]] | None = None) -> Rhythms:
        span = track.span_s or (0.0, 0.0)
        lo = max(span[0], self.start_s - 2.0)
        hi = min(span[1], self.end_s + 1.0)
        return Rhythms(self.seed, key, self.params, lo, hi, self.start_s, self.true_rate_hz,
                       sleep_intervals)

    # --- public -------------------------------------------------------------------------

    @property
    def truth(self) -> list[TruthEvent]:
        """Every labelled movement of the rendered span, sorted by onset."""
        return list(self._truth)

    @property
    def disturbances(self) -> list[Disturbance]:
        """Everything else that moved the bed in the rendered span, sorted by onset."""
        return list(self._disturbances)

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

    def kept(self, t_s: F64) -> NDArray[np.bool_]:
        """False for the samples a FIFO overrun lost (leave them out of a recording)."""
        if len(self._gap_lo_s) == 0:
            return np.ones(len(t_s), dtype=bool)
        i = np.searchsorted(self._gap_lo_s, t_s, side="right") - 1
        lost = (i >= 0) & (t_s < self._gap_hi_s[np.maximum(i, 0)])
        return np.asarray(~lost, dtype=bool)

    def truth_record(self) -> dict[str, Any]:
        """All the labels of the rendered span, ready for truth.json (see ``truth_json``)."""
        return truth_record(self)

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
        first = k * CHUNK_N
        index = np.arange(first, first + CHUNK_N, dtype=np.float64)
        t = self.start_s + index / self.true_rate_hz
        tilt_a = np.zeros(CHUNK_N)
        tilt_b = np.zeros(CHUNK_N)
        vertical = np.zeros(CHUNK_N)
        local = np.zeros((CHUNK_N, 3))
        people = [(self.schedule.sleeper, self.rhythms)]
        if self.schedule.partner is not None and self.partner_rhythms is not None:
            people.append((self.schedule.partner, self.partner_rhythms))
        for track, rhythms in people:
            state = track.at(t)
            tilt_a += state[:, 0]
            tilt_b += state[:, 1]
            if not state[:, 2:].any():
                continue  # not in bed during this chunk
            disp, vert = rhythms.breath(t)
            tilt_a += state[:, 2] * disp
            tilt_b += state[:, 3] * disp
            vertical += state[:, 4] * vert
            local += state[:, 5:8] * rhythms.heartbeats(t, first)[:, None]
        local[:, 0] += tilt_a
        local[:, 1] += tilt_b
        local[:, 2] += np.sqrt(1.0 - tilt_a * tilt_a - tilt_b * tilt_b) + vertical

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
        if self._flicker is not None:
            acc += self._flicker.at(t)
        lsb = self.params.lsb_g
        if lsb > 0:
            acc = np.round(acc / lsb) * lsb
        return t, acc
