"""Where a periodic series skipped a beat: the places to look again for a faint movement.

Under a noisy sensor some limb movements of a periodic series rise barely above the noise:
missed, they break the series in two (or below four members), and the PLM index comes out
far too low. But a series keeps its rhythm: when a limb movement comes a whole number (two to
four) of the series' intervals after the last one, a movement was due at each interval in
between. ``SeriesGaps`` tracks the rhythm of the latest limb movements and names the windows
where one was due; the detector looks there again, in the raw samples it still holds, with a
lower threshold (``FAINT_RATIO``: what the noise reaches by chance in 1-3 % of such windows).

Only a rhythm that the movements themselves set is followed (two intervals that agree), and
only within ``MAX_GAP_S``, so nothing is looked for outside a series, and nothing is invented
after its last movement.
"""

from __future__ import annotations

import itertools
from collections import deque

import numpy as np
from numpy.typing import NDArray

from hypnic.daemon.detect.filters import F64

#: A rhythm is set by two or more of the latest intervals between limb movements (of a
#: series' range, the last few in a row) that lie within MATCH of their median.
MIN_INTERVALS = 2
INTERVAL_RANGE_S = (5.0, 90.0)
#: A gap is this many intervals at most, and the gap's interval within MATCH of the rhythm's.
MAX_SKIPPED = 3
MATCH = 0.2
#: Looked back at most this far (the raw samples held must reach back this far).
MAX_GAP_S = 100.0
#: Where a movement was due: within this share of the interval of the due time.
WINDOW_SHARE = 0.3
#: The slow band's loudest half second there must stand this far above the gap's median.
FAINT_RATIO = 1.65
ONSETS_KEPT = 5
SPANS_KEPT = 20


class SeriesGaps:
    """The rhythm of the latest limb movements, and the movements of any kind nearby."""

    def __init__(self) -> None:
        self._onsets: deque[float] = deque(maxlen=ONSETS_KEPT)
        self._spans: deque[tuple[float, float]] = deque(maxlen=SPANS_KEPT)

    def moved(self, onset_s: float, offset_s: float) -> None:
        """Any movement reported: no faint one is looked for over it."""
        self._spans.append((onset_s, offset_s))

    def limb(self, onset_s: float) -> None:
        """A limb movement in bed (found at once or on a second look; one reported late,
        before the latest, is left out of the rhythm)."""
        if not self._onsets or onset_s > self._onsets[-1]:
            self._onsets.append(onset_s)

    def still(self, t_s: F64, margin_s: float = 1.0) -> NDArray[np.bool_]:
        """Which times lie clear of every movement kept (by ``margin_s``)."""
        clear = np.ones(len(t_s), bool)
        for a, b in self._spans:
            clear &= (t_s < a - margin_s) | (t_s > b + margin_s)
        return clear

    def rhythm_s(self) -> float | None:
        """The interval the latest limb movements keep, if they keep one."""
        onsets = list(self._onsets)
        intervals = [b - a for a, b in itertools.pairwise(onsets)]
        lo, hi = INTERVAL_RANGE_S
        recent: list[float] = []
        for interval in reversed(intervals):
            if not lo <= interval <= hi:
                break
            recent.append(interval)
        if len(recent) < MIN_INTERVALS:
            return None
        middle = float(np.median(recent))
        agreeing = [i for i in recent if abs(i - middle) <= MATCH * middle]
        return float(np.median(agreeing)) if len(agreeing) >= MIN_INTERVALS else None

    def due(self, onset_s: float) -> tuple[float, list[tuple[float, float]]]:
        """Windows (from, to) before a limb movement starting at ``onset_s`` where a movement
        of the series was due and none was found (none if there is no such gap), and the
        onset of the limb movement before the gap."""
        if not self._onsets:
            return onset_s, []
        last = self._onsets[-1]
        gap = onset_s - last
        rhythm = self.rhythm_s()
        if rhythm is None or gap > MAX_GAP_S:
            return last, []
        beats = round(gap / rhythm)
        step = gap / beats if beats else 0.0
        if not 2 <= beats <= MAX_SKIPPED + 1 or abs(step - rhythm) > MATCH * rhythm:
            return last, []
        half = WINDOW_SHARE * step
        windows = []
        for j in range(1, beats):
            lo, hi = last + j * step - half, last + j * step + half
            if not any(a <= hi and b >= lo for a, b in self._spans):
                windows.append((lo, hi))
        return last, windows
