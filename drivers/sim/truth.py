"""A ground-truth label of the simulated night."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

#: Event types, named as the detector names them.
TRUTH_TYPES = ("jerk", "limb_movement", "posture_change", "bed_entry", "bed_exit")


@dataclass(frozen=True)
class TruthEvent:
    """One labelled movement of the simulated night (the ground truth a detector is scored on).

    onset_s, offset_s  start and end of the motion on the night clock (the sensor's t_s).
    peak_g             approximate peak of the movement's band-passed motion at the sensor,
                       all axes combined, in g.
    sleep_onset        a hypnic jerk of the wake-to-sleep transition.
    series             the periodic limb movement series a limb movement belongs to (1, 2, ...).
    """

    type: str
    onset_s: float
    offset_s: float
    peak_g: float
    sleep_onset: bool = False
    series: int | None = None

    def __post_init__(self) -> None:
        if self.type not in TRUTH_TYPES:
            raise ValueError(f"unknown event type {self.type!r}")

    @property
    def duration_s(self) -> float:
        return self.offset_s - self.onset_s

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["duration_s"] = round(self.duration_s, 3)
        return d
