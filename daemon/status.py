"""A snapshot of how the monitor is doing, handed to the sinks about once a second.

It carries what the detector knows of the night (``Detector.summary()``), how the sensor is
doing, and the controls (paused, sensitivity). Sinks read it; they never reach back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hypnic.drivers.base import SensorHealth


@dataclass(frozen=True)
class Status:
    """wall          Unix time of the snapshot.
    wall_at_zero  Unix time of the sensor clock's zero: sensor seconds + this = Unix time.
    figures       the detector's night figures (see ``Detector.summary``).
    uptime_s      seconds since the daemon started."""

    wall: float
    wall_at_zero: float
    health: SensorHealth
    figures: Mapping[str, Any]
    paused: bool
    sensitivity: int
    uptime_s: float

    def figure(self, key: str) -> Any:
        """One figure, or None while the detector does not (yet) report it."""
        return self.figures.get(key)

    def sensor_wall(self, key: str) -> float | None:
        """A figure given in sensor seconds (e.g. ``sleep_onset_s``), as Unix time."""
        t_s = self.figures.get(key)
        return None if t_s is None else self.wall_at_zero + float(t_s)
