"""The labels of a simulated night as one JSON-ready record: what ``truth.json`` holds.

Beyond the labelled events it gives what an evaluation needs to score a whole night: when
the sleeper was in bed and asleep, the periodic limb movement index as a scorer would count
it (AASM: series of 4 or more limb movements during sleep 5-90 s apart, per hour of sleep),
the breathing and heart rate every ``VITALS_STEP_S`` while lying in bed (each the mean over
the 10 s around that time), and the disturbances, which no detector should report as
events. Times are on the night clock, as in the recording's ``t``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from hypnic.drivers.sim.truth import plm_series

if TYPE_CHECKING:
    from hypnic.drivers.sim.night import SimulatedNight

#: Breathing and heart rate are given every this many seconds while in bed ...
VITALS_STEP_S = 10.0
#: ... from this long after lying down to this long before getting up.
VITALS_MARGIN_S = 5.0


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(float(x), digits)


def _clip(intervals: list[tuple[float, float]], lo: float,
          hi: float) -> list[tuple[float, float]]:
    return [(max(a, lo), min(b, hi)) for a, b in intervals if min(b, hi) > max(a, lo)]


def truth_record(night: SimulatedNight) -> dict[str, Any]:
    s = night.schedule
    lo, hi = night.start_s, night.end_s
    sleep = _clip(s.sleep_intervals, lo, hi)
    sleep_h = sum(b - a for a, b in sleep) / 3600.0

    # Periodic limb movements as a scorer would count them: only those during sleep.
    limbs = [e for e in night.truth if e.type == "limb_movement"]
    asleep = [e for e in limbs if any(a <= e.onset_s < b for a, b in sleep)]
    series = plm_series([e.onset_s for e in asleep])
    series_of: dict[float, int] = {}
    series_out = []
    for no, members in enumerate(series, start=1):
        for i in members:
            series_of[asleep[i].onset_s] = no
        series_out.append({"id": no, "start_s": _r(asleep[members[0]].onset_s),
                           "end_s": _r(asleep[members[-1]].offset_s), "count": len(members)})
    plms = sum(len(m) for m in series)
    events = []
    for e in night.truth:
        d = e.as_dict()
        if e.type == "limb_movement":
            d["series"] = series_of.get(e.onset_s)
        events.append(d)

    times: list[float] = []
    for a, b in _clip(s.settled_intervals, lo, hi):
        first = math.ceil((a + VITALS_MARGIN_S) / VITALS_STEP_S) * VITALS_STEP_S
        times += np.arange(first, b - VITALS_MARGIN_S, VITALS_STEP_S).tolist()
    t = np.array(times)
    resp = night.rhythms.respiration_bpm(t) if len(t) else np.zeros(0)
    heart = night.rhythms.heart_bpm(t) if len(t) else np.zeros(0)
    body = night.body
    return {
        "seed": night.seed,
        "rate_hz": night.rate_hz,
        "true_rate_hz": night.true_rate_hz,
        "start_s": lo,
        "end_s": hi,
        "start": night.start,
        "sleep_onset_s": _r(night.sleep_onset_s) if night.sleep_onset_s is not None and
        lo <= night.sleep_onset_s <= hi else None,
        "bed_entry_s": _r(night.bed_entry_s),
        "bed_exit_s": _r(night.bed_exit_s),
        "bed_intervals": [[_r(a), _r(b)] for a, b in s.bed_intervals],
        "sleep_intervals": [[_r(a), _r(b)] for a, b in sleep],
        "time_asleep_s": round(sleep_h * 3600.0, 3),
        "plm_index": round(plms / sleep_h, 3) if sleep_h > 0 else None,
        "plm_series": series_out,
        "respiration": [[round(float(a), 3), round(float(b), 3)]
                        for a, b in zip(t, resp, strict=True)],
        "heart": [[round(float(a), 3), round(float(b), 3)] for a, b in zip(t, heart, strict=True)],
        "noise_rms_g": round(night.noise_rms_g, 7),
        "floor_g": round(s.floor_g, 7),
        "body": {"mass_kg": round(body.mass_kg, 1), "resonance_hz": round(body.resonance_hz, 2),
                 "damping": round(body.damping, 3), "coupling": round(body.coupling, 3)},
        "partner_in_bed": [_r(x) for x in s.partner_in_bed_s] if s.partner_in_bed_s else None,
        "events": events,
        "disturbances": [d.as_dict() for d in night.disturbances],
    }
