"""The JSON hypnic publishes: one message per event, the running state, the finished night.

Pure functions of what the log and the detector hold, so tests can read them without a
broker. Times are ISO 8601 with the local offset (``2026-11-23T23:41:02.315+01:00``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hypnic.daemon.status import Status
from hypnic.daemon.store import NightRow, StoredEvent


def iso(wall: float | None) -> str | None:
    """Unix time as local ISO 8601 with its offset, milliseconds kept; None stays None."""
    if wall is None:
        return None
    return datetime.fromtimestamp(wall).astimezone().isoformat(timespec="milliseconds")


def event_payload(event: StoredEvent) -> dict[str, Any]:
    """One event, as published on ``event``. ``event_type`` is what Home Assistant's event
    entity fires on; the other keys become its attributes."""
    return {
        "event_type": event.type,
        "id": event.id,
        "night": event.night,
        "onset": iso(event.onset_wall),
        "duration_s": round(event.duration_s, 3),
        "peak_g": round(event.peak_g, 5),
        "peak_jerk_g_s": round(event.peak_jerk_g_s, 3),
        "intensity": round(event.intensity, 2),
        "sleep_onset": event.sleep_onset,
        "intense": event.intense,
        "series": event.series,
    }


def _rounded(value: Any, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def state_payload(
    status: Status,
    night: str,
    counts: dict[str, int],
    jerks_last_hour: int,
    last_event: StoredEvent | None,
    last_jerk: StoredEvent | None,
) -> dict[str, Any]:
    """The retained ``state`` message: tonight so far, the detector's figures, diagnostics.
    Figures the detector does not know (yet) are null."""
    h = status.health
    floor_g = status.figure("noise_floor_g")
    time_in_bed_s = status.figure("time_in_bed_s")
    return {
        "night": night,
        "counts": dict(counts),
        "jerks_tonight": counts.get("jerk", 0),
        "limb_movements_tonight": counts.get("limb_movement", 0),
        "jerks_last_hour": jerks_last_hour,
        "last_event": None if last_event is None else event_payload(last_event),
        "last_jerk_intensity": None if last_jerk is None else round(last_jerk.intensity, 2),
        "in_bed": status.figure("in_bed"),
        "time_in_bed_min": _rounded(
            None if time_in_bed_s is None else float(time_in_bed_s) / 60.0, 1
        ),
        "sleep_onset": iso(status.sensor_wall("sleep_onset_s")),
        "plm_index": _rounded(status.figure("plm_index"), 1),
        "restlessness": _rounded(status.figure("restlessness"), 1),
        "respiration_rate_bpm": _rounded(status.figure("respiration_rate_bpm"), 1),
        "heart_rate_bpm": _rounded(status.figure("heart_rate_bpm"), 1),
        "unusual": bool(status.figure("unusual") or False),
        "unusual_reasons": list(status.figure("unusual_reasons") or []),
        "paused": status.paused,
        "sensitivity": status.sensitivity,
        "sensor": f"{h.model} {h.rate_hz:.0f} Hz",
        "sensor_state": h.state,
        "noise_floor_mg": _rounded(None if floor_g is None else float(floor_g) * 1000.0, 2),
        "i2c_errors": h.i2c_errors,
        "dropped_samples": h.lost_samples,
        "uptime_s": round(status.uptime_s),
    }


def night_payload(row: NightRow, paused_s: float) -> dict[str, Any]:
    """The retained ``night`` message: a completed night's summary."""
    d = row.as_dict()
    d["first_seen"] = iso(row.first_seen)
    d["last_seen"] = iso(row.last_seen)
    d["paused_s"] = round(paused_s, 1)
    return d
