"""Measure a closed movement and say what kind it was.

First version of the rules (the detection-science work refines them):

- longer than 10 s, or still going at 60 s          → posture_change (AASM limb movements
  last at most 10 s)
- a sharp rise (peak within 0.3 s of onset) and a short core (envelope above 30 % of its peak
  for at most 0.6 s), under 2 s in all                → jerk: a myoclonic burst is under
  0.25 s and the mattress rings for well under a second
- the gravity direction moved by 0.3° or more       → posture_change (the body's weight moved)
- shorter than 0.5 s                                 → jerk (too brief for a limb movement)
- otherwise                                          → limb_movement (0.5-10 s)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hypnic.daemon.detect.filters import Fine

LIMB_MOVEMENT_MAX_S = 10.0
LIMB_MOVEMENT_MIN_S = 0.5
JERK_MAX_RISE_S = 0.3
JERK_MAX_CORE_S = 0.6
JERK_MAX_DURATION_S = 2.0
POSTURE_TILT_DEG = 0.3
CORE_FRACTION = 0.3
EDGE_FRACTION = 0.1


@dataclass(frozen=True)
class Shape:
    """What a movement looked like."""

    onset_s: float
    offset_s: float
    peak_g: float
    peak_jerk_g_s: float
    rise_s: float
    core_s: float
    tilt_deg: float | None
    truncated: bool

    @property
    def duration_s(self) -> float:
        return self.offset_s - self.onset_s


def measure(
    samples: Fine,
    threshold_on_g: float,
    gravity_before_g: NDArray[np.float64] | None,
    gravity_after_g: NDArray[np.float64] | None,
    truncated: bool,
) -> Shape:
    """Onset and offset are where the motion first and last reaches 10 % of its peak (but at
    least the on-threshold), which is sharper than the envelope it was found in. The onset is
    looked for only in the envelope's unbroken rise to its peak, so a noise spike just before
    the movement cannot pull it early."""
    motion, env, t = samples.motion_g, samples.envelope_g, samples.t_s
    peak_g = float(motion.max())
    edge_g = min(max(threshold_on_g, EDGE_FRACTION * peak_g), peak_g)
    i_peak = int(np.argmax(env))
    # The rise that matters is the first one over the on-threshold: when two bursts were merged
    # into one movement, the first must not vanish behind a higher second.
    above_on = np.flatnonzero(env > threshold_on_g)
    i_first = int(above_on[0]) if len(above_on) else i_peak
    low_before = np.flatnonzero(env[:i_first] < max(threshold_on_g, EDGE_FRACTION * env[i_first]))
    rise_start = int(low_before[-1]) if len(low_before) else 0
    strong = np.flatnonzero(motion >= edge_g)
    rising = strong[strong >= rise_start]
    onset_s = float(t[rising[0]] if len(rising) else t[strong[0]])
    offset_s = max(onset_s, float(t[strong[-1]]))
    core = np.flatnonzero(env >= CORE_FRACTION * env[i_peak])
    return Shape(
        onset_s=onset_s,
        offset_s=offset_s,
        peak_g=peak_g,
        peak_jerk_g_s=float(samples.jerk_g_s.max()),
        rise_s=max(0.0, float(t[i_peak]) - onset_s),
        core_s=float(t[core[-1]] - t[core[0]]),
        tilt_deg=_angle_deg(gravity_before_g, gravity_after_g),
        truncated=truncated,
    )


def classify(shape: Shape) -> str:
    if shape.truncated or shape.duration_s > LIMB_MOVEMENT_MAX_S:
        return "posture_change"
    if (
        shape.rise_s <= JERK_MAX_RISE_S
        and shape.core_s <= JERK_MAX_CORE_S
        and shape.duration_s < JERK_MAX_DURATION_S
    ):
        return "jerk"
    if shape.tilt_deg is not None and shape.tilt_deg >= POSTURE_TILT_DEG:
        return "posture_change"
    if shape.duration_s < LIMB_MOVEMENT_MIN_S:
        return "jerk"
    return "limb_movement"


def _angle_deg(a: NDArray[np.float64] | None, b: NDArray[np.float64] | None) -> float | None:
    if a is None or b is None:
        return None
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 or nb == 0.0:
        return None
    cos = max(-1.0, min(1.0, float(np.dot(a, b)) / (na * nb)))
    return math.degrees(math.acos(cos))
