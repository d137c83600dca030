"""The night as the detector sees it: counts, coverage, and the settling windows.

A jerk is flagged as a sleep start (``sleep_onset``) when it comes within
``SETTLING_WINDOW_S`` of the last big movement (turning over, getting into bed) or of the start
of monitoring: that is the wake-to-sleep transition, where hypnic jerks happen, and after
turning over in the night a person drifts off again through the same transition. Later jerks
are jerks during sleep (nocturnal myoclonus). First version: the detection-science work
replaces it with a sleep-onset estimate from quiescence and breathing regularity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypnic.daemon.events import EVENT_TYPES

SETTLING_WINDOW_S = 15 * 60.0
BIG_MOVEMENTS = ("posture_change", "bed_entry")


@dataclass
class NightTracker:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EVENT_TYPES, 0))
    samples: int = 0
    lost_samples: int = 0
    gaps: int = 0
    first_t_s: float | None = None
    last_t_s: float | None = None
    settling_since_s: float | None = None

    def observe(self, first_t_s: float, last_t_s: float, n: int) -> None:
        if self.first_t_s is None:
            self.first_t_s = first_t_s
            self.settling_since_s = first_t_s
        self.last_t_s = last_t_s
        self.samples += n

    def is_sleep_start(self, onset_s: float) -> bool:
        since = self.settling_since_s
        return since is not None and 0.0 <= onset_s - since <= SETTLING_WINDOW_S

    def record(self, event_type: str, offset_s: float) -> None:
        self.counts[event_type] += 1
        if event_type in BIG_MOVEMENTS:
            self.settling_since_s = offset_s

    def summary(self) -> dict[str, Any]:
        duration = 0.0
        if self.first_t_s is not None and self.last_t_s is not None:
            duration = self.last_t_s - self.first_t_s
        return {
            "duration_s": round(duration, 3),
            "samples": self.samples,
            "lost_samples": self.lost_samples,
            "gaps": self.gaps,
            "counts": dict(self.counts),
        }
