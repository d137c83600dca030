"""What the detector reports: events, on the sensor's own clock.

Sinks turn the sensor-clock times into wall-clock times with the sensor's anchor; the
detector itself never looks at a clock.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

#: Every event type, in the order summaries list them.
EVENT_TYPES = ("jerk", "limb_movement", "posture_change", "bed_entry", "bed_exit")


def intensity_from_peak_g(peak_g: float) -> float:
    """hypnic's intensity scale, 0-10, logarithmic in the peak motion at the sensor.

    1 mg → 0, 10 mg → 3.3, 100 mg → 6.7, 1 g → 10 (each tenfold step adds 3.3). It describes the
    movement as the mattress passed it on, so compare intensities within one bed, not between
    beds.
    """
    if peak_g <= 0.001:
        return 0.0
    return round(min(10.0, 10.0 * math.log10(peak_g / 0.001) / 3.0), 2)


@dataclass(frozen=True)
class Event:
    """One detected movement.

    onset_s, offset_s  start and end on the sensor's clock (Block.t_s), in seconds.
    peak_g             largest motion (band-passed, all axes combined) during the event, in g.
    peak_jerk_g_s      largest rate of change of acceleration during the event, in g/s.
    intensity          0-10, see ``intensity_from_peak_g``.
    sleep_onset        a jerk at the wake-to-sleep transition (a hypnic jerk / sleep start).
    series             for a limb movement, the periodic limb movement series it belongs to
                       (1, 2, ... within the night); for a jerk, the run of repetitive jerks it
                       belongs to. Known only from the series' 4th member on, so the first
                       members of a series carry None (faint ones found on its beats once it
                       has formed are reported then, with it); the night summary lists whole
                       series.
    intense            for a jerk: much stronger than this person's jerks of recent nights.
    """

    type: str
    onset_s: float
    offset_s: float
    peak_g: float
    peak_jerk_g_s: float
    intensity: float
    sleep_onset: bool = False
    series: int | None = None
    intense: bool = False

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r}")

    @property
    def duration_s(self) -> float:
        return self.offset_s - self.onset_s

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["duration_s"] = round(self.duration_s, 3)
        return d
