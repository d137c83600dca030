"""The night's schedule: when the sleeper gets in, falls asleep, moves, gets up in the night
and gets up in the morning; then what else moves the bed (``disturbances``).

Everything here is drawn once from the seed when a night is made and is small (tens to a
few hundred items). Each kind of event has its own random stream, so switching one kind off
(e.g. ``jerk_rate_scale=0``) leaves the others where they were unless they would have
collided; disturbances are placed after all the sleeper's movements, so adding them moves
none of those. Movements are placed with at least ``min_gap_s`` of quiet between any two
labelled movements (and short disturbances), and never across the start or end of the
rendered span.

Times are on the night clock: 0 is the start of an "evening" night.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.sim.body import Body
from hypnic.drivers.sim.disturbances import add_disturbances
from hypnic.drivers.sim.draw import (
    Occupancy,
    log_uniform,
    new_tilt,
    per_night,
    stochastic_round,
    uniform,
    unit,
)
from hypnic.drivers.sim.params import NightParams, Range
from hypnic.drivers.sim.shapes import BandMotion, JerkMotion, Motion
from hypnic.drivers.sim.timeline import STATE_N, Schedule, Track
from hypnic.drivers.sim.truth import TruthEvent

F64 = NDArray[np.float64]

#: A night started at "onset" begins this long before sleep onset.
ONSET_LEAD_S = 150.0
#: Counts "per 8 h" are scaled by the night's length against this.
REFERENCE_NIGHT_S = 8 * 3600.0
#: A chip's output filter passes up to about this fraction of its output rate: the room's
#: vibration above it (a floor's higher modes, a machine's harmonics) is left out rather than
#: aliased.
PASSBAND_FRACTION = 0.45


class _Builder:
    def __init__(self, seed: int, p: NightParams, start: str, duration_s: float,
                 noise_rms_g: float, rate_hz: float) -> None:
        self.seed = seed
        self.rate_hz = rate_hz
        self.p = p
        self.noise_rms_g = noise_rms_g
        self.occ = Occupancy(p.min_gap_s)
        self.frac = duration_s / REFERENCE_NIGHT_S
        self.body = Body.draw(seed, p)
        # Drawn from their own stream, so the nights of the scenarios stay as they were.
        mattress = np.random.default_rng([seed, 40])
        self.sideways_freq_ratio = uniform(mattress, p.jerk_sideways_freq_ratio)
        self.limb_sideways_weight = uniform(mattress, p.limb_sideways_weight)
        #: Limb movements that move the surface's tilt (``limb_tilt_deg``): (onset, offset).
        self.limb_tilts: list[tuple[float, float]] = []

        if not p.occupied:
            if start != "evening":
                raise ValueError('an empty bed has no sleep onset: use start="evening"')
            self.sched = Schedule(0.0, duration_s, None, None, None, self.body,
                                  floor_g=noise_rms_g)
            self.occ.take(0.0, 0.0)
            self.occ.take(duration_s, duration_s)
            self.in_bed = (0.0, duration_s)
            return

        rng = np.random.default_rng([seed, 1])
        entry_delay = uniform(rng, p.bed_entry_after_start_s)
        entry_dur = uniform(rng, p.bed_entry_duration_s)
        latency = uniform(rng, p.sleep_latency_s)
        exit_margin = uniform(rng, p.bed_exit_before_end_s)
        exit_dur = uniform(rng, p.bed_exit_duration_s)
        if start == "evening":
            # A short night still gets in and out of bed, a fifth of the way in and out.
            entry_delay = min(entry_delay, 0.2 * duration_s)
            start_s = 0.0
        else:
            start_s = entry_delay + latency - ONSET_LEAD_S
        exit_margin = min(exit_margin, 0.2 * duration_s)
        self.entry = (entry_delay, entry_delay + entry_dur)
        self.sleep_onset_s = entry_delay + latency
        end_s = start_s + duration_s
        self.exit = (end_s - exit_margin - exit_dur, end_s - exit_margin)
        # Small jerks are sized against what hides them: the noise, or on a quiet chip the
        # heartbeat's ringing (half the largest beat this body can give).
        floor_g = max(noise_rms_g, 0.5 * p.bcg_peak_g[1] * self.body.heartbeat_scale)
        self.sched = Schedule(start_s, end_s, self.entry[0], self.exit[0], self.sleep_onset_s,
                              self.body, floor_g=floor_g)
        if self.exit[0] < max(self.entry[1], start_s) + 2 * p.min_gap_s + 10.0:
            raise ValueError(f"duration_s={duration_s:g} is too short for this night's timeline")
        # Keep every movement clear of the rendered span's edges so none is cut in half.
        self.occ.take(start_s, start_s)
        self.occ.take(end_s, end_s)
        self.occ.take(*self.entry)
        self.occ.take(*self.exit)
        # Placement windows: in bed and inside the rendered span.
        self.in_bed = (max(self.entry[1], start_s), min(self.exit[0], end_s))
        # Getting up in the night: (exit onset, exit offset, entry onset, entry offset).
        self.trips: list[tuple[float, float, float, float]] = []
        self.resleep_s: list[float] = []

    # --- placement ------------------------------------------------------------------------

    def _place(self, rng: np.random.Generator, lo: float, hi: float, duration_s: float,
               extra: list[tuple[float, float]] | None = None, tries: int = 60) -> float | None:
        if hi - lo < duration_s:
            return None
        for _ in range(tries):
            t = float(rng.uniform(lo, hi - duration_s))
            if self.occ.free(t, t + duration_s, extra):
                self.occ.take(t, t + duration_s)
                return t
        return None

    def _add(self, event: TruthEvent, motion: Motion) -> None:
        self.sched.movements.append((event, motion))

    # --- shapes -------------------------------------------------------------------------

    def _jerk_shape(self, rng: np.random.Generator) -> tuple[float, float, float, F64]:
        """A jerk rings the body-mattress resonance, shifted a little by where the body
        lies; damping is raised where needed so the ring is over within jerk_ring_max_s."""
        p, body = self.p, self.body
        pulse = uniform(rng, p.jerk_pulse_s)
        spread = p.jerk_freq_spread
        freq = body.resonance_hz * float(rng.uniform(1.0 - spread, 1.0 + spread))
        damping = body.damping * float(rng.uniform(0.8, 1.25))
        damping = max(damping, math.log(20.0) / (p.jerk_ring_max_s * 2 * math.pi * freq))
        damping = min(damping, 0.9)
        lateral = rng.normal(0.0, p.jerk_lateral, size=2)
        sign = 1.0 if rng.random() < 0.5 else -1.0
        direction = unit(np.array([lateral[0], lateral[1], sign]))
        return pulse, freq, damping, direction

    def _jerk_peak(self, rng: np.random.Generator, small_fraction: float) -> float:
        p = self.p
        if rng.random() < small_fraction:
            return max(uniform(rng, p.small_jerk_noise_multiple) * self.sched.floor_g, 0.001)
        return log_uniform(rng, p.jerk_peak_g) * self.body.coupling

    def _sporadic_jerk(self, rng: np.random.Generator, lo: float, hi: float,
                       peak_g: float) -> None:
        pulse, freq, damping, direction = self._jerk_shape(rng)
        ring = math.log(20.0) / (damping * 2 * math.pi * freq)
        at = self._place(rng, lo, hi, pulse + ring)
        if at is None:
            return
        motion = JerkMotion.create(at, pulse, freq, damping, direction, peak_g,
                                   freq * self.sideways_freq_ratio)
        self._add(TruthEvent("jerk", at, at + pulse + ring, peak_g), motion)

    def _limb(self, rng: np.random.Generator, at: float, duration_s: float,
              series: int | None) -> None:
        p = self.p
        at, duration_s = float(at), float(duration_s)
        peak = log_uniform(rng, p.limb_peak_g) * self.body.coupling
        weight = rng.uniform(0.3, 1.0, size=3)
        weight[:2] *= self.limb_sideways_weight
        motion = BandMotion.draw(rng, at, duration_s, p.limb_band_hz, peak,
                                 ramp_s=uniform(rng, p.limb_ramp_s), axis_weight=weight,
                                 response=self.body.response)
        self._add(TruthEvent("limb_movement", at, at + duration_s, peak, series=series), motion)
        if p.limb_tilt_deg[1] > 0.0:
            self.limb_tilts.append((at, at + duration_s))

    def _big_motion(self, rng: np.random.Generator, kind: str, lo: float, hi: float,
                    peak_range: Range) -> tuple[TruthEvent, BandMotion]:
        p = self.p
        peak = log_uniform(rng, peak_range) * self.body.coupling
        ramp = uniform(rng, p.posture_ramp_s if kind == "posture_change" else p.bed_ramp_s)
        motion = BandMotion.draw(rng, lo, hi - lo, p.posture_band_hz, peak, ramp_s=ramp,
                                 axis_weight=rng.uniform(0.5, 1.0, size=3), n_components=24,
                                 response=self.body.response)
        return TruthEvent(kind, lo, hi, peak), motion

    # --- the night ----------------------------------------------------------------------

    def build(self) -> Schedule:
        p = self.p
        s = self.sched
        if p.occupied:
            rng = np.random.default_rng([self.seed, 9])
            entry = self._big_motion(rng, "bed_entry", *self.entry, p.bed_entry_peak_g)
            exit_ = self._big_motion(rng, "bed_exit", *self.exit, p.bed_exit_peak_g)
            s.movements += [entry, exit_]
            trip_changes = self._bathroom_trips()
            self._onset_jerks()
            self._plm_series()
            postures = self._posture_changes()
            self._sporadic_jerks()
            self._isolated_limbs()
            self._wake_fidgets()
            s.movements.sort(key=lambda m: m[0].onset_s)
            s.sleeper = self._states(
                [(self.entry[0], self.entry[1], p.bed_entry_tilt_deg), *postures,
                 *trip_changes, (self.exit[0], self.exit[1], None)])
            self._tilt_with_limbs(s.sleeper)
            self._intervals()
        add_disturbances(self.seed, p, s, self.occ, self.in_bed, self.frac,
                         PASSBAND_FRACTION * self.rate_hz)
        return s

    def _intervals(self) -> None:
        """In bed from each entry to the next exit; asleep from sleep onset, and again a
        while after each return to bed."""
        s = self.sched
        entries = [self.entry[0]] + [t[2] for t in self.trips]
        settled = [self.entry[1]] + [t[3] for t in self.trips]
        exits = [t[0] for t in self.trips] + [self.exit[0]]
        s.bed_intervals = list(zip(entries, exits, strict=True))
        s.settled_intervals = list(zip(settled, exits, strict=True))
        starts = [self.sleep_onset_s, *self.resleep_s]
        s.sleep_intervals = [(a, b) for a, b in zip(starts, exits, strict=True) if b > a]

    def _bathroom_trips(self) -> list[tuple[float, float, Range | None]]:
        """Getting out of bed in the night and back in: both are labelled, the time out of
        bed is kept clear of everything, and sleep comes back after a while."""
        p = self.p
        rng = np.random.default_rng([self.seed, 16])
        n = per_night(rng, p.bathroom_trips_per_8h, 1.0, self.frac)
        # Not in the first 20 min of sleep, nor in the last 20 min before getting up.
        lo = self.sleep_onset_s + 1200.0
        hi = self.in_bed[1] - 1200.0
        changes: list[tuple[float, float, Range | None]] = []
        for _ in range(n):
            exit_dur = uniform(rng, p.bed_exit_duration_s)
            out = uniform(rng, p.bathroom_out_s)
            entry_dur = uniform(rng, p.bed_entry_duration_s)
            latency = uniform(rng, p.resleep_latency_s)
            at = self._place(rng, lo, hi, exit_dur + out + entry_dur)
            if at is None:
                continue
            trip = (at, at + exit_dur, at + exit_dur + out, at + exit_dur + out + entry_dur)
            self.trips.append(trip)
            self.resleep_s.append(trip[3] + latency)
            self.sched.movements += [
                self._big_motion(rng, "bed_exit", trip[0], trip[1], p.bed_exit_peak_g),
                self._big_motion(rng, "bed_entry", trip[2], trip[3], p.bed_entry_peak_g),
            ]
            changes += [(trip[0], trip[1], None), (trip[2], trip[3], p.bed_entry_tilt_deg)]
        order = np.argsort([t[0] for t in self.trips])
        self.trips = [self.trips[i] for i in order]
        self.resleep_s = [self.resleep_s[i] for i in order]
        return changes

    def _onset_jerks(self) -> None:
        p = self.p
        rng = np.random.default_rng([self.seed, 10])
        n = round(float(rng.integers(p.onset_jerks[0], p.onset_jerks[1] + 1)) * p.jerk_rate_scale)
        before, after = p.onset_jerk_window_s
        lo, hi = self.in_bed
        for _ in range(n):
            pulse, freq, damping, direction = self._jerk_shape(rng)
            length = pulse + math.log(20.0) / (damping * 2 * math.pi * freq)
            peak = self._jerk_peak(rng, p.small_onset_jerk_fraction)
            for _ in range(60):
                # Sleep starts crowd the transition: 30 % fall in the minutes after onset,
                # the rest before it at -|before| * u^2, densest just before onset.
                if rng.random() < 0.3:
                    at = self.sleep_onset_s + float(rng.uniform(0.0, after - length))
                else:
                    at = self.sleep_onset_s + before * float(rng.random()) ** 2
                if lo <= at and at + length <= hi and self.occ.free(at, at + length):
                    self.occ.take(at, at + length)
                    motion = JerkMotion.create(at, pulse, freq, damping, direction, peak,
                                               freq * self.sideways_freq_ratio)
                    self._add(TruthEvent("jerk", at, at + length, peak, True), motion)
                    break

    def _plm_series(self) -> None:
        p = self.p
        rng = np.random.default_rng([self.seed, 11])
        lo = max(self.in_bed[0], self.sleep_onset_s + p.plm_after_onset_s)
        hi = self.in_bed[1]
        n_series = per_night(rng, p.plm_series_per_8h, p.limb_rate_scale, self.frac)
        placed: list[list[tuple[float, float]]] = []
        for _ in range(n_series):
            count = int(rng.integers(p.plm_count[0], p.plm_count[1] + 1))
            typical = uniform(rng, p.plm_typical_interval_s)
            gaps = typical * (1.0 + p.plm_interval_jitter * rng.standard_normal(count - 1))
            gaps = np.clip(gaps, *p.plm_interval_s)
            durs = [log_uniform(rng, p.limb_duration_s) for _ in range(count)]
            starts = np.concatenate([[0.0], np.cumsum(gaps)])
            # A series longer than the sleep left is cut short; fewer than 4 is not a series.
            fits = starts + durs <= hi - lo
            count = int(fits.sum()) if fits.all() else int(np.argmin(fits))
            if count < p.plm_count[0]:
                continue
            starts, durs = starts[:count], durs[:count]
            span = float(starts[-1] + durs[-1])
            for _ in range(40):
                t0 = float(rng.uniform(lo, hi - span))
                items = [(t0 + a, t0 + a + d) for a, d in zip(starts, durs, strict=True)]
                if all(self.occ.free(a, b) for a, b in items):
                    for a, b in items:
                        self.occ.take(a, b)
                    placed.append(items)
                    break
        for series_no, items in enumerate(sorted(placed), start=1):
            for a, b in items:
                self._limb(rng, a, b - a, series_no)

    def _posture_changes(self) -> list[tuple[float, float, Range | None]]:
        p = self.p
        rng = np.random.default_rng([self.seed, 12])
        n = per_night(rng, p.posture_changes_per_8h, p.posture_rate_scale, self.frac)
        quiet_before, quiet_after = p.posture_quiet_around_onset_s
        quiet = [(self.sleep_onset_s - quiet_before, self.sleep_onset_s + quiet_after)]
        out: list[tuple[float, float, Range | None]] = []
        for _ in range(n):
            dur = uniform(rng, p.posture_duration_s)
            at = self._place(rng, *self.in_bed, dur, extra=quiet)
            if at is None:
                continue
            event, motion = self._big_motion(rng, "posture_change", at, at + dur,
                                             p.posture_peak_g)
            self._add(event, motion)
            out.append((at, at + dur, p.posture_tilt_deg))
        return out

    def _sporadic_jerks(self) -> None:
        p = self.p
        rng = np.random.default_rng([self.seed, 13])
        lo = max(self.in_bed[0], self.sleep_onset_s + p.onset_jerk_window_s[1])
        hi = self.in_bed[1]
        if hi <= lo:
            return
        n = stochastic_round(
            rng, uniform(rng, p.sporadic_jerks_per_h) * (hi - lo) / 3600.0 * p.jerk_rate_scale)
        for _ in range(n):
            self._sporadic_jerk(rng, lo, hi, self._jerk_peak(rng, p.small_jerk_fraction))

    def _isolated_limbs(self) -> None:
        p = self.p
        rng = np.random.default_rng([self.seed, 14])
        lo = max(self.in_bed[0], self.sleep_onset_s + p.onset_jerk_window_s[1])
        n = per_night(rng, p.isolated_limb_per_8h, p.limb_rate_scale, self.frac)
        for _ in range(n):
            dur = log_uniform(rng, p.limb_duration_s)
            at = self._place(rng, lo, self.in_bed[1], dur)
            if at is not None:
                self._limb(rng, at, dur, None)

    def _wake_fidgets(self) -> None:
        """Small movements while lying awake, from getting into bed until a few still minutes
        before falling asleep (each time), placed after everything else so they move nothing."""
        p = self.p
        rng = np.random.default_rng([self.seed, 17])
        rate_per_s = uniform(rng, p.wake_fidgets_per_h) * p.wake_fidget_rate_scale / 3600.0
        awake = [(self.entry[1], self.sleep_onset_s)]
        awake += [(trip[3], onset) for trip, onset in zip(self.trips, self.resleep_s,
                                                          strict=True)]
        for settled_s, onset_s in awake:
            lo = max(settled_s, self.in_bed[0])
            hi = min(onset_s - uniform(rng, p.wake_still_before_onset_s), self.in_bed[1])
            if hi <= lo:
                continue
            for _ in range(stochastic_round(rng, rate_per_s * (hi - lo))):
                dur = log_uniform(rng, p.limb_duration_s)
                at = self._place(rng, lo, hi, dur)
                if at is not None:
                    self._limb(rng, at, dur, None)

    # --- posture states -----------------------------------------------------------------

    def _tilt_with_limbs(self, track: Track) -> None:
        """Let each limb movement in ``limb_tilts`` move the surface's tilt, and nothing else
        of the posture; drawn from a stream of its own, so the postures stay as they were."""
        rng = np.random.default_rng([self.seed, 42])
        for lo, hi in sorted(self.limb_tilts):
            j = int(np.searchsorted(track.lo_s, lo))
            before = track.states[j]
            if not before[2:].any():
                continue  # nobody in bed: nothing to tilt
            shift = new_tilt(rng, before[:2], self.p.limb_tilt_deg, self.p.max_tilt_deg)
            shift -= before[:2]
            # The tilt stays moved through every posture after it, until the bed is empty.
            for later in track.states[j + 1:]:
                if not later[2:].any():
                    break
                later[:2] += shift
            state = before.copy()
            state[:2] += shift
            track.lo_s.insert(j, lo)
            track.hi_s.insert(j, hi)
            track.states.insert(j + 1, state)

    def _states(self, changes: list[tuple[float, float, Range | None]]) -> Track:
        """One state per posture, in time order; ``None`` as the tilt range means "empty"."""
        p = self.p
        body = self.body
        rng = np.random.default_rng([self.seed, 6])
        deg = math.pi / 180.0
        empty = np.zeros(STATE_N)
        empty[:2] = uniform(rng, p.empty_tilt_deg) * deg * unit(rng.standard_normal(2))
        track = Track(states=[empty])
        for lo, hi, tilt_range in sorted(changes, key=lambda c: c[0]):
            state = np.zeros(STATE_N)
            if tilt_range is None:
                state[:] = empty
            else:
                if not track.states[-1][2:].any():
                    # Lying down: a heavier body presses the mattress further.
                    tilt_range = (tilt_range[0] * body.tilt_scale,
                                  tilt_range[1] * body.tilt_scale)
                state[:2] = new_tilt(rng, track.states[-1][:2], tilt_range, p.max_tilt_deg)
                amp = uniform(rng, p.breath_tilt_deg) * deg * body.coupling
                state[2:4] = amp * unit(rng.standard_normal(2))
                state[4] = uniform(rng, p.breath_vertical_g) * body.coupling
                bcg = unit(rng.standard_normal(3) * np.array([1.0, 0.5, 0.8]))
                state[5:8] = uniform(rng, p.bcg_peak_g) * body.heartbeat_scale * bcg
            track.lo_s.append(lo)
            track.hi_s.append(hi)
            track.states.append(state)
        return track


def build_schedule(seed: int, params: NightParams, start: str, duration_s: float,
                   noise_rms_g: float, rate_hz: float = math.inf) -> Schedule:
    """Draw the whole night's schedule from the seed (``rate_hz``: the chip's output rate,
    whose low-pass removes room vibration above about half of it)."""
    return _Builder(seed, params, start, duration_s, noise_rms_g, rate_hz).build()
