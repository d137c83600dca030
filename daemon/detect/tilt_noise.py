"""How far the gravity direction seems to move while nothing moves.

A movement's tilt is the angle between the mean gravity of a few seconds before it and a
few seconds after it. Those means are not exact: breathing rocks the mattress (slow
breathing, a period longer than the window, hardly averages out), and a sensor's flicker
noise wanders. So the same two windows are measured on still stretches, where the true
tilt is nil, and the tilt a movement must show before it counts as the load shifting is
raised above what they give. On an ordinary night they give a few hundredths of a degree,
below the partner rule's 0.05°, and nothing changes.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from hypnic.daemon.detect.classify import PARTNER_TILT_DEG, angle_deg
from hypnic.daemon.detect.filters import F64
from hypnic.daemon.detect.segment import GRAVITY_AFTER_S, GRAVITY_BEFORE_S

#: The windows a movement's tilt compares, and the still time between them (a brief
#: movement's, with the margins either side of it).
WINDOW_S = GRAVITY_BEFORE_S[1] - GRAVITY_BEFORE_S[0]
GAPS_S = (GRAVITY_AFTER_S[0] - GRAVITY_BEFORE_S[1] + 1.0, 4.0, 8.0)
#: Still tilts kept: up to three every minute, so the last quarter of an hour of still time.
KEPT = 45
#: A shift of the load must tilt further than the still bed does nine times in ten. (1.2 or
#: 2 times the upper quartile did the same on the tuning nights.)
PERCENTILE = 90.0
#: Until this many still tilts are known, the fixed partner threshold stands.
LEAST = 5


class TiltNoise:
    """The tilt a still bed shows between two gravity windows, learnt as the night goes."""

    def __init__(self) -> None:
        self._tilts_deg: deque[float] = deque(maxlen=KEPT)

    def observe(self, t_s: F64, mean_g: F64, moving: F64) -> None:
        """Blocks (times, mean acceleration, moving flags) of a stretch: measure the still
        tilt in its longest run of still blocks, between its first window and windows after
        it."""
        bounds = np.concatenate([[-1], np.flatnonzero(moving), [len(t_s)]])
        longest = int(np.argmax(np.diff(bounds)))
        lo, hi = int(bounds[longest]) + 1, int(bounds[longest + 1])
        if hi - lo < 2:
            return
        t = t_s[lo:hi]
        starts_s = float(t[0]) + np.array([0.0, *(WINDOW_S + g for g in GAPS_S)])
        starts_s = starts_s[starts_s + WINDOW_S <= float(t[-1])]
        if len(starts_s) < 2:
            return
        sums = np.concatenate([np.zeros((1, 3)), np.cumsum(mean_g[lo:hi], axis=0)])
        first = np.searchsorted(t, starts_s)
        last = np.searchsorted(t, starts_s + WINDOW_S)
        means = (sums[last] - sums[first]) / np.maximum(1, last - first)[:, None]
        tilts = [angle_deg(means[0], after) for after in means[1:]]
        # A sensor reading nothing at all has no direction (None): nothing to learn.
        self._tilts_deg.extend(tilt for tilt in tilts if tilt is not None)

    @property
    def partner_tilt_deg(self) -> float:
        """The least tilt that says the load shifted (see ``classify.PARTNER_TILT_DEG``)."""
        if len(self._tilts_deg) < LEAST:
            return PARTNER_TILT_DEG
        return max(PARTNER_TILT_DEG, float(np.percentile(np.asarray(self._tilts_deg), PERCENTILE)))
