"""The drawn night's timeline: posture states of the people in the bed, and the schedule.

Small objects, drawn once per night by ``schedule`` and ``disturbances`` and read by
``night`` when it renders samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.sim.body import Body
from hypnic.drivers.sim.room import Hum, Knocks
from hypnic.drivers.sim.shapes import Motion
from hypnic.drivers.sim.truth import Disturbance, TruthEvent

F64 = NDArray[np.float64]

#: Length of the posture state vector: tilt (2, sines of the surface tilt), breathing tilt
#: amplitude (2, radians), breathing vertical amplitude (1, g), heartbeat vector (3, g).
STATE_N = 8
#: Anything that moves the sensor over a span of time: the sleeper's movements, a partner's,
#: the room's knocks and hums.
Waveform = Motion | Knocks | Hum


@dataclass
class Track:
    """One person's posture states over the night: ``states[0]`` holds before the first
    transition, ``states[j + 1]`` after transition j (from ``lo_s[j]`` to ``hi_s[j]``, eased
    with a smoothstep). A state is STATE_N numbers; all zero is "not in the bed"."""

    lo_s: list[float] = field(default_factory=list)
    hi_s: list[float] = field(default_factory=list)
    states: list[F64] = field(default_factory=lambda: [np.zeros(STATE_N)])

    def at(self, t: F64) -> F64:
        """The state at each time (len(t) x STATE_N); t sorted."""
        lo, hi = np.array(self.lo_s), np.array(self.hi_s)
        done = int(np.searchsorted(hi, t[0], side="right"))
        state = np.tile(self.states[done], (len(t), 1))
        j = done
        while j < len(lo) and lo[j] <= t[-1]:
            u = np.clip((t - lo[j]) / (hi[j] - lo[j]), 0.0, 1.0)
            step = u * u * (3.0 - 2.0 * u)
            state += step[:, None] * (self.states[j + 1] - self.states[j])
            j += 1
        return state

    @property
    def span_s(self) -> tuple[float, float] | None:
        """From the first transition's start to the last one's end (None: no transitions)."""
        return (self.lo_s[0], self.hi_s[-1]) if self.lo_s else None


@dataclass
class Schedule:
    """The drawn night: timeline, labelled movements with their waveforms, posture states,
    and the disturbances. With an empty bed (``occupied=False``) the sleeper's times are
    None and the sleeper's lists are empty."""

    start_s: float
    end_s: float
    bed_entry_s: float | None
    bed_exit_s: float | None
    sleep_onset_s: float | None
    body: Body
    #: The floor small jerks are measured against: sensor noise or the heartbeat, in g.
    floor_g: float = 0.0
    #: The sleeper in bed: from each entry's onset to the next exit's onset ...
    bed_intervals: list[tuple[float, float]] = field(default_factory=list)
    #: ... and lying there, from each entry's end to the next exit's onset.
    settled_intervals: list[tuple[float, float]] = field(default_factory=list)
    #: The sleeper asleep.
    sleep_intervals: list[tuple[float, float]] = field(default_factory=list)
    #: (label, waveform) pairs sorted by onset, including any outside the rendered span.
    movements: list[tuple[TruthEvent, Motion]] = field(default_factory=list)
    sleeper: Track = field(default_factory=Track)
    #: The partner's posture states and (entry onset, exit offset), when there is one.
    partner: Track | None = None
    partner_in_bed_s: tuple[float, float] | None = None
    #: (label, waveform or None for a gap in the samples), sorted by onset.
    disturbances: list[tuple[Disturbance, Waveform | None]] = field(default_factory=list)
    #: Runs of samples lost (FIFO overruns): (from, to) on the night clock.
    gaps_s: list[tuple[float, float]] = field(default_factory=list)
