"""Ground-truth labels of the simulated night, and the scoring rules labels are derived by."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

#: Event types, named as the detector names them.
TRUTH_TYPES = ("jerk", "limb_movement", "posture_change", "bed_entry", "bed_exit")
#: Things that move the sensor but are not the sleeper's events: a detector must stay quiet.
DISTURBANCE_TYPES = ("partner", "footsteps", "door", "traffic", "fan", "washer", "gap")
#: AASM periodic limb movements: a series is at least this many limb movements in sleep...
PLM_MIN_COUNT = 4
#: ... whose onsets follow each other after 5 to 90 s.
PLM_INTERVAL_S = (5.0, 90.0)


@dataclass(frozen=True)
class TruthEvent:
    """One labelled movement of the simulated night (the ground truth a detector is scored on).

    onset_s, offset_s  start and end of the motion on the night clock (the sensor's t_s).
    peak_g             approximate peak of the movement's band-passed motion at the sensor,
                       all axes combined, in g.
    sleep_onset        a hypnic jerk of the wake-to-sleep transition.
    series             the periodic limb movement series the simulator put it in (1, 2, ...).
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


@dataclass(frozen=True)
class Disturbance:
    """Something that moved the sensor but is not the sleeper's event (a partner turning
    over, footsteps, a door, traffic, a fan or washing machine, a run of lost samples).

    peak_g is the peak of its motion at the sensor (0 for a gap); detail says more in words.
    """

    type: str
    onset_s: float
    offset_s: float
    peak_g: float = 0.0
    detail: str = ""

    def __post_init__(self) -> None:
        if self.type not in DISTURBANCE_TYPES:
            raise ValueError(f"unknown disturbance type {self.type!r}")

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "onset_s": round(self.onset_s, 4),
                "offset_s": round(self.offset_s, 4), "peak_g": round(self.peak_g, 6),
                "detail": self.detail}


def plm_series(onsets_s: Sequence[float], min_count: int = PLM_MIN_COUNT,
               interval_s: tuple[float, float] = PLM_INTERVAL_S) -> list[list[int]]:
    """The periodic limb movement series among limb movements with these onsets (in time
    order), as lists of indices: runs of at least ``min_count`` whose onset-to-onset intervals
    all lie within ``interval_s``. An interval outside it ends a run; the movement after it
    may start the next one.
    """
    series: list[list[int]] = []
    run: list[int] = []
    for i, onset in enumerate(onsets_s):
        if run and not interval_s[0] <= onset - onsets_s[run[-1]] <= interval_s[1]:
            if len(run) >= min_count:
                series.append(run)
            run = []
        run.append(i)
    if len(run) >= min_count:
        series.append(run)
    return series
