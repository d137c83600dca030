"""What else moves the bed: a partner on the other side, the room, and lost samples.

None of these is the sleeper's event; each is labelled as a ``Disturbance`` so an evaluation
can count what a detector makes of it. Each kind draws from its own random stream after the
sleeper's movements are placed, so switching a kind on or off leaves the sleeper's night as
it was. Short ones (a partner's movement, footsteps, a door, a gap) keep ``min_gap_s`` clear
of the sleeper's labelled movements, so a detection near them is plainly a false alarm;
background ones (traffic, a fan, a washing machine) run regardless, as they would.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.sim.draw import (
    Occupancy,
    log_uniform,
    new_tilt,
    per_night,
    stochastic_round,
    uniform,
    unit,
)
from hypnic.drivers.sim.params import NightParams
from hypnic.drivers.sim.room import Hum, Knocks
from hypnic.drivers.sim.shapes import BandMotion
from hypnic.drivers.sim.timeline import STATE_N, Schedule, Track, Waveform
from hypnic.drivers.sim.truth import Disturbance

F64 = NDArray[np.float64]

#: A partner's movements pass the mattress to this side lower in frequency than one's own.
PARTNER_TURN_BAND_HZ = (0.2, 2.5)
PARTNER_LIMB_BAND_HZ = (0.5, 4.0)
#: ... and start and stop more gently.
PARTNER_RAMP_S = (0.5, 2.0)
#: The partner gets in and out of bed within the sleeper's time in bed, this far in.
PARTNER_IN_OUT_FRACTION = (0.05, 0.25)
#: Disturbances stay this far inside the rendered span (the detector warms up at the start).
EDGE_S = 30.0


class _Placer:
    def __init__(self, seed: int, p: NightParams, sched: Schedule, occ: Occupancy,
                 in_bed: tuple[float, float], frac: float, max_freq_hz: float) -> None:
        self.seed, self.p, self.sched, self.occ, self.frac = seed, p, sched, occ, frac
        self.max_freq_hz = max_freq_hz
        self.in_bed = in_bed
        self.span = (sched.start_s + EDGE_S, sched.end_s - EDGE_S)

    def rng(self, key: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, key])

    def place(self, rng: np.random.Generator, lo: float, hi: float, duration_s: float,
              clear: bool = True) -> float | None:
        """A start for something this long in [lo, hi]; with ``clear``, kept clear of the
        labelled movements and other short disturbances."""
        if hi - lo < duration_s:
            return None
        for _ in range(60):
            t = float(rng.uniform(lo, hi - duration_s))
            if not clear or self.occ.free(t, t + duration_s):
                if clear:
                    self.occ.take(t, t + duration_s)
                return t
        return None

    def add(self, label: Disturbance, motion: Waveform | None) -> None:
        self.sched.disturbances.append((label, motion))

    # --- a partner ---------------------------------------------------------------------

    def partner(self) -> None:
        p, s = self.p, self.sched
        if not (p.partner and p.occupied):
            return
        rng = self.rng(20)
        lo, hi = self.in_bed
        if hi - lo < 600.0:
            return
        atten = log_uniform(rng, p.partner_attenuation)
        rhythm = log_uniform(rng, p.partner_rhythm_attenuation)
        response = self.sched.body.response

        def far(freq_hz: F64) -> F64:
            # Across the mattress and back up to this side: through it twice.
            out = response(freq_hz)
            return np.asarray(out * out, dtype=np.float64)

        def motion(kind: str, at: float, dur: float, band: tuple[float, float],
                   peak_g: float) -> None:
            m = BandMotion.draw(rng, at, dur, band, peak_g, ramp_s=uniform(rng, PARTNER_RAMP_S),
                                axis_weight=rng.uniform(0.5, 1.0, size=3), response=far)
            self.add(Disturbance("partner", at, at + dur, peak_g, kind), m)

        span = hi - lo
        in_dur = uniform(rng, p.bed_entry_duration_s)
        out_dur = uniform(rng, p.bed_exit_duration_s)
        entry = self.place(rng, lo + PARTNER_IN_OUT_FRACTION[0] * span,
                           lo + PARTNER_IN_OUT_FRACTION[1] * span, in_dur)
        exit_ = self.place(rng, hi - PARTNER_IN_OUT_FRACTION[1] * span,
                           hi - PARTNER_IN_OUT_FRACTION[0] * span, out_dur)
        if entry is None or exit_ is None:
            return
        deg = math.pi / 180.0
        track = Track()
        state = np.zeros(STATE_N)
        state[:2] = new_tilt(rng, np.zeros(2), p.partner_tilt_deg, p.max_tilt_deg)
        state[2:4] = uniform(rng, p.breath_tilt_deg) * deg * rhythm * unit(
            rng.standard_normal(2))
        state[4] = uniform(rng, p.breath_vertical_g) * rhythm
        state[5:8] = uniform(rng, p.bcg_peak_g) * rhythm * unit(rng.standard_normal(3))
        track.lo_s.append(entry)
        track.hi_s.append(entry + in_dur)
        track.states.append(state)
        motion("getting in", entry, in_dur, PARTNER_TURN_BAND_HZ,
               log_uniform(rng, p.bed_entry_peak_g) * atten)

        hours = (exit_ - entry) / 3600.0
        n = stochastic_round(rng, uniform(rng, p.partner_movements_per_h) * hours)
        turns: list[tuple[float, float]] = []
        for _ in range(n):
            if rng.random() < 0.5:
                dur = uniform(rng, p.posture_duration_s)
                at = self.place(rng, entry + in_dur, exit_, dur)
                if at is not None:
                    motion("turning over", at, dur, PARTNER_TURN_BAND_HZ,
                           log_uniform(rng, p.posture_peak_g) * atten)
                    turns.append((at, at + dur))
            else:
                dur = log_uniform(rng, p.limb_duration_s)
                at = self.place(rng, entry + in_dur, exit_, dur)
                if at is not None:
                    motion("limb movement", at, dur, PARTNER_LIMB_BAND_HZ,
                           log_uniform(rng, p.limb_peak_g) * atten)
        for a, b in sorted(turns):
            state = track.states[-1].copy()
            state[:2] = new_tilt(rng, state[:2], p.partner_turn_tilt_deg, p.max_tilt_deg)
            track.lo_s.append(a)
            track.hi_s.append(b)
            track.states.append(state)
        motion("getting out", exit_, out_dur, PARTNER_TURN_BAND_HZ,
               log_uniform(rng, p.bed_exit_peak_g) * atten)
        track.lo_s.append(exit_)
        track.hi_s.append(exit_ + out_dur)
        track.states.append(np.zeros(STATE_N))
        s.partner = track
        s.partner_in_bed_s = (entry, exit_ + out_dur)

    # --- the room ----------------------------------------------------------------------

    def _floor_modes(self, rng: np.random.Generator) -> tuple[F64, F64, F64]:
        """A floor-and-frame ring: a main mode and a weaker higher one."""
        f = uniform(rng, self.p.floor_ring_hz)
        freq = np.array([f, f * float(rng.uniform(1.5, 2.5))])
        damping = rng.uniform(0.05, 0.2, size=2)
        weight = np.array([1.0, float(rng.uniform(0.2, 0.6))])
        return freq, damping, self._passed(freq, weight)

    def _passed(self, freq_hz: F64, weight: F64) -> F64:
        """The weights, zero where the chip's output filter removes the frequency (the
        strongest component is always kept)."""
        kept = np.where(freq_hz <= self.max_freq_hz, weight, 0.0)
        if not kept.any():
            kept[int(np.argmax(weight))] = weight.max()
        return np.asarray(kept, dtype=np.float64)

    def _vertical(self, rng: np.random.Generator) -> F64:
        return unit(np.array([*rng.normal(0.0, 0.3, size=2), 1.0]))

    def footsteps(self) -> None:
        p = self.p
        rng = self.rng(21)
        for _ in range(per_night(rng, p.footstep_walks_per_8h, 1.0, self.frac)):
            k = int(rng.integers(p.footsteps_per_walk[0], p.footsteps_per_walk[1] + 1))
            step_s = 1.0 / uniform(rng, p.footstep_rate_hz)
            offsets = np.concatenate([[0.0], np.cumsum(
                step_s * (1.0 + 0.05 * rng.standard_normal(k - 1)))])
            peak = log_uniform(rng, p.footstep_peak_g)
            # Louder as the walker passes the bed, softer as they come and go.
            amps = peak * np.sin(math.pi * (np.arange(k) + 0.5) / k) * rng.uniform(0.8, 1.0, k)
            freq, damping, weight = self._floor_modes(rng)
            probe = Knocks.create(offsets, amps, freq, damping, weight, self._vertical(rng))
            at = self.place(rng, *self.span, probe.support_hi_s)
            if at is None:
                continue
            knocks = Knocks(offsets + at, amps, probe.freq_hz, probe.decay_s, weight,
                            probe.direction, probe.norm)
            self.add(Disturbance("footsteps", at, knocks.support_hi_s, float(amps.max()),
                                 f"{k} steps"), knocks)

    def doors(self) -> None:
        p = self.p
        rng = self.rng(22)
        for _ in range(per_night(rng, p.door_slams_per_8h, 1.0, self.frac)):
            peak = log_uniform(rng, p.door_peak_g)
            freq, damping, weight = self._floor_modes(rng)
            probe = Knocks.create(np.zeros(1), np.array([peak]), freq, damping, weight,
                                  self._vertical(rng))
            at = self.place(rng, *self.span, probe.ring_s)
            if at is None:
                continue
            knock = Knocks(np.array([at]), probe.amp_g, probe.freq_hz, probe.decay_s, weight,
                           probe.direction, probe.norm)
            self.add(Disturbance("door", at, knock.support_hi_s, peak, "door slam"), knock)

    def traffic(self) -> None:
        p = self.p
        rng = self.rng(23)
        hours = (self.span[1] - self.span[0]) / 3600.0
        for _ in range(stochastic_round(rng, uniform(rng, p.traffic_per_h) * hours)):
            dur = uniform(rng, p.traffic_duration_s)
            at = self.place(rng, *self.span, dur, clear=False)
            if at is None:
                continue
            peak = log_uniform(rng, p.traffic_peak_g)
            weight = np.array([0.3, 0.3, 1.0]) * rng.uniform(0.5, 1.0, size=3)
            # A truck's rumble swells and fades over its whole passing.
            m = BandMotion.draw(rng, at, dur, p.traffic_band_hz, peak, ramp_s=dur / 2,
                                axis_weight=weight, n_components=32)
            self.add(Disturbance("traffic", at, at + dur, peak, "passing truck"), m)

    def fan(self) -> None:
        p = self.p
        rng = self.rng(26)
        if rng.random() >= p.fan_probability:
            return
        lo, hi = self.span
        on = float(rng.uniform(lo, lo + 0.3 * (hi - lo)))
        off = float(rng.uniform(hi - 0.3 * (hi - lo), hi))
        up, down = float(rng.uniform(3.0, 8.0)), float(rng.uniform(5.0, 15.0))
        hold = max(0.0, off - on - up - down)
        freq = uniform(rng, p.fan_freq_hz)
        peak = log_uniform(rng, p.fan_peak_g)
        harmonics = np.array([1.0, float(rng.uniform(0.1, 0.5)), float(rng.uniform(0.0, 0.2))])
        hum = Hum(on, up, hold, down, freq, self._passed(freq * np.arange(1.0, 4.0), harmonics),
                  rng.uniform(0.0, 2 * math.pi, size=3), self._vertical(rng), peak)
        self.add(Disturbance("fan", on, hum.support_hi_s, peak, f"{freq:.1f} Hz"), hum)

    def washer(self) -> None:
        p = self.p
        rng = self.rng(27)
        if rng.random() >= p.washer_probability:
            return
        # An interim spin and the final one, or the final one alone.
        for _ in range(int(rng.integers(1, 3))):
            up, down = float(rng.uniform(40.0, 120.0)), float(rng.uniform(20.0, 60.0))
            hold = uniform(rng, p.washer_spin_s)
            at = self.place(rng, *self.span, up + hold + down, clear=False)
            if at is None:
                continue
            freq = uniform(rng, p.washer_spin_hz)
            peak = log_uniform(rng, p.washer_peak_g)
            harmonics = np.array([1.0, float(rng.uniform(0.1, 0.4)),
                                  float(rng.uniform(0.0, 0.15))])
            hum = Hum(at, up, hold, down, freq, self._passed(freq * np.arange(1.0, 4.0), harmonics),
                      rng.uniform(0.0, 2 * math.pi, size=3), self._vertical(rng), peak)
            self.add(Disturbance("washer", at, hum.support_hi_s, peak, f"spin {freq:.1f} Hz"),
                     hum)

    # --- the sensor ----------------------------------------------------------------------

    def gaps(self) -> None:
        p = self.p
        rng = self.rng(28)
        for _ in range(per_night(rng, p.fifo_gaps_per_8h, 1.0, self.frac)):
            dur = log_uniform(rng, p.fifo_gap_s)
            at = self.place(rng, *self.span, dur)
            if at is not None:
                self.sched.gaps_s.append((at, at + dur))
                self.add(Disturbance("gap", at, at + dur, 0.0, "FIFO overrun"), None)
        self.sched.gaps_s.sort()


def add_disturbances(seed: int, p: NightParams, sched: Schedule, occ: Occupancy,
                     in_bed: tuple[float, float], frac: float,
                     max_freq_hz: float = math.inf) -> None:
    """Draw the night's disturbances into ``sched``, clear of what ``occ`` holds; vibration
    above ``max_freq_hz`` is left out (the chip filters it)."""
    placer = _Placer(seed, p, sched, occ, in_bed, frac, max_freq_hz)
    placer.partner()
    placer.footsteps()
    placer.doors()
    placer.traffic()
    placer.fan()
    placer.washer()
    placer.gaps()
    sched.disturbances.sort(key=lambda d: d[0].onset_s)
