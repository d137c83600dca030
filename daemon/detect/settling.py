"""Breathing settles as sleep comes: when, in a stretch of stillness, did it grow regular?

Awake, even lying still, breath length and depth vary from breath to breath and a sigh comes
every few minutes; through stage N1 breathing grows regular, and by stable N2, a few minutes
after sleep onset, it is steady. Someone lying awake and still for half an hour looks asleep
to movement alone (actigraphy's known weakness); the breathing tells them apart where the
sensor hears it well.

The measure is the breathing autocorrelation's peak (``vitals.respiration``'s confidence),
undone of what sensor noise takes off it: with a swing ratio q (breathing plus noise against
noise alone) noise lowers the peak by (q - 1) / q. Its shortfall from 1 is the
*irregularity*: a few hundredths for steady breathing, several times that awake. Where the
sensor hears breathing poorly (q under ``CLEAR_SWING``, as on the noisiest chips) the
correction is too rough to tell, and the epoch is left out.

The settling is a step down in log-irregularity: the split of the stillness's epochs that
best separates an irregular part from a regular one (a two-sample t statistic), taken only
when the regular part is ``SETTLED_DROP`` times less irregular and the split stands out
(``SETTLED_SCORE``). Breathing that never changed gives no step, and the onset is left to
stillness alone.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from hypnic.daemon.detect.vitals import RESP_WINDOW_S, Breath

#: Epochs whose breathing swings less than this against noise alone are left out.
CLEAR_SWING = 20.0
#: Irregularity below this is measurement noise: all steady breathing looks the same.
IRREGULARITY_FLOOR = 0.005
#: Each side of the step needs this many epochs (breathing is estimated once a minute).
SIDE_EPOCHS = 4
#: The regular side is at least this many times less irregular ...
SETTLED_DROP = 2.5
#: ... and the split's t statistic at least this.
SETTLED_SCORE = 5.0
#: At most this many epochs are kept (an epoch a minute: four hours of stillness).
KEPT_EPOCHS = 240


def irregularity(breath: Breath) -> float | None:
    """How far from steady the breathing of one estimate was (None where the sensor did not
    hear it clearly enough to tell)."""
    q = breath.swing_ratio
    if breath.rate_bpm is None or not q >= CLEAR_SWING:
        return None
    regular = min(1.0, breath.confidence * q / (q - 1.0))
    return max(IRREGULARITY_FLOOR, 1.0 - regular)


class SettlingLog:
    """The irregularity of the latest epochs, and where it stepped down."""

    def __init__(self) -> None:
        self._t_s: list[float] = []
        self._log_irregularity: list[float] = []

    def __len__(self) -> int:
        return len(self._t_s)

    def add(self, t_s: float, value: float) -> None:
        if len(self._t_s) >= KEPT_EPOCHS:
            del self._t_s[0], self._log_irregularity[0]
        self._t_s.append(t_s)
        self._log_irregularity.append(math.log(value))

    def heard(self, since_s: float) -> bool:
        """Was the breathing heard clearly enough, since ``since_s``, for a step to show?"""
        return len(self._since(since_s)[0]) >= 2 * SIDE_EPOCHS

    def settled_s(self, since_s: float) -> float | None:
        """The time of the first regular epoch after ``since_s``, if breathing stepped from
        irregular to regular since then; else None."""
        t, x = self._since(since_s)
        n = len(x)
        if n < 2 * SIDE_EPOCHS:
            return None
        k = np.arange(SIDE_EPOCHS, n - SIDE_EPOCHS + 1)
        total = np.concatenate([[0.0], np.cumsum(x)])
        squares = np.concatenate([[0.0], np.cumsum(x * x)])
        before = total[k] / k
        after = (total[n] - total[k]) / (n - k)
        spread = (squares[n] - k * before**2 - (n - k) * after**2) / max(1, n - 2)
        drop = before - after
        score = drop / np.sqrt(np.maximum(spread, 1e-12) * (1.0 / k + 1.0 / (n - k)))
        best = int(np.argmax(score))
        if drop[best] < math.log(SETTLED_DROP) or score[best] < SETTLED_SCORE:
            return None
        # With few regular epochs yet, the split may take in an irregular one before them:
        # the first regular epoch is the first nearer the regular level.
        middle = (before[best] + after[best]) / 2.0
        first = k[best] + int(np.argmax(x[k[best]:] < middle))
        return float(t[first])

    def _since(self, since_s: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        t = np.array(self._t_s)
        # An epoch's minute must lie wholly in the stillness.
        inside = t >= since_s + RESP_WINDOW_S
        return t[inside], np.array(self._log_irregularity)[inside]
