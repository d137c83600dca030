"""Where a periodic series skipped a beat: the places to look again for a faint movement.

Under a noisy sensor some limb movements of a periodic series rise barely above the noise:
missed, they break the series in two (or below four members), and the PLM index comes out
far too low. But a series keeps its rhythm: when a limb movement comes a whole number (two to
nine) of the series' intervals after the last one, a movement was due at each interval in
between. On a noisy sensor a run of faint ones can go missing in a row (the leg moves less
for a while), so the look back reaches over three of the longest intervals a series allows.
``SeriesGaps`` tracks the rhythm of the latest limb movements and names the windows where one
was due, and ``faint_spans`` looks there again, in the raw samples the detector still holds,
with a lower threshold (``FAINT_RATIO``: what the noise reaches by chance in
1-3 % of such windows on the tuning nights).

Only a rhythm that the movements themselves set is followed (two intervals that agree), and
only within ``MAX_GAP_S``, so nothing is looked for outside a series, and nothing is invented
after its last movement.

A series can also begin faint: its first movements missed, it is found only from the first
four that stood out, and its start is counted late; or a beat among those four was skipped
before their rhythm was known. So once a series forms, the detector looks again in its
whole-beat gaps (``skipped_beats``), and ``look_before`` walks back from its first movement,
a beat of its rhythm at a time, and looks on each beat for a faint one; it stops after
``LEAD_IN_MISSES`` beats in a row without one, and within ``MAX_GAP_S``.

Wherever it looks, a movement found must reach ``FAINT_PEAK_SHARE`` of the median peak of
the series' movements: a leg's strength varies within a series, but not twentyfold, while on
a quiet sensor the faint look can pick out a partner's or the breath's stir that small.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from hypnic.daemon.detect.filters import F64, running_mean
from hypnic.daemon.detect.segment import HOLD_S

#: A rhythm is set by two or more of the latest intervals between limb movements (of a
#: series' range, the last few in a row) that lie within MATCH of their median.
MIN_INTERVALS = 2
INTERVAL_RANGE_S = (5.0, 90.0)
#: A gap is this many intervals at most, and the gap's interval within MATCH of the rhythm's.
MAX_SKIPPED = 8
MATCH = 0.2
#: Looked back at most this far (the raw samples held must reach back this far): three of
#: the longest intervals (90 s), six to twelve of the usual 20-40 s.
MAX_GAP_S = 270.0
#: Where a movement was due: within this share of the interval of the due time.
WINDOW_SHARE = 0.3
#: The slow band's loudest half second (LOUDEST_S) there must stand this far above the
#: gap's median; the movement takes in what stays above EDGE_SHARE of the way from the
#: median to that threshold on either side of it.
FAINT_RATIO = 1.65
#: ... or above its upper quartile over FAINT_SPREAD, if higher: on noise alone the two are
#: within a few percent, but deep breathing swells the slow band for half of every breath,
#: and its swells are not movements.
FAINT_SPREAD = 1.1
LOUDEST_S = 0.5
EDGE_SHARE = 0.5
#: A jerk-like movement this close to the next beat (as a share of the interval) is taken
#: for the series' next limb movement (see ``Detector._event``), once the latest
#: ON_BEAT_AFTER limb movements make a series (three wake fidgets a minute apart are no
#: series, and the sleep start after them is a jerk).
ON_BEAT_SHARE = 0.15
ON_BEAT_AFTER = 4
LEAD_IN_MISSES = 2
FAINT_PEAK_SHARE = 0.1
ONSETS_KEPT = 5
SPANS_KEPT = 20

T = TypeVar("T")


class SeriesGaps:
    """The rhythm of the latest limb movements, and the movements of any kind nearby."""

    def __init__(self) -> None:
        self._onsets: deque[float] = deque(maxlen=ONSETS_KEPT)
        self._peaks_g: deque[float] = deque(maxlen=ONSETS_KEPT)
        self._spans: deque[tuple[float, float]] = deque(maxlen=SPANS_KEPT)

    def moved(self, onset_s: float, offset_s: float) -> None:
        """Any movement reported: no faint one is looked for over it."""
        self._spans.append((onset_s, offset_s))

    def limb(self, onset_s: float, peak_g: float) -> None:
        """A limb movement in bed (found at once or on a second look; one reported late,
        before the latest, is left out of the rhythm)."""
        if not self._onsets or onset_s > self._onsets[-1]:
            self._onsets.append(onset_s)
            self._peaks_g.append(peak_g)

    def least_faint_g(self) -> float:
        """The weakest peak a faint movement found in a gap of the series may have: a share
        (FAINT_PEAK_SHARE) of the latest limb movements' median peak."""
        return FAINT_PEAK_SHARE * float(np.median(self._peaks_g)) if self._peaks_g else 0.0

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

    def on_beat(self, onset_s: float) -> bool:
        """Whether a movement starting at ``onset_s`` comes on the next beat of the rhythm
        the latest limb movements keep (within ON_BEAT_SHARE of its interval), once they
        make a series (the latest ON_BEAT_AFTER each in a series' range of the one before)."""
        rhythm = self.rhythm_s()
        latest = list(self._onsets)[-ON_BEAT_AFTER:]
        lo, hi = INTERVAL_RANGE_S
        if rhythm is None or len(latest) < ON_BEAT_AFTER or not all(
                lo <= b - a <= hi for a, b in itertools.pairwise(latest)):
            return False
        return abs(onset_s - (self._onsets[-1] + rhythm)) <= ON_BEAT_SHARE * rhythm

    def due(self, onset_s: float) -> tuple[float, list[tuple[float, float]]]:
        """Windows (from, to) before a limb movement starting at ``onset_s`` where a movement
        of the series was due and none was found (none if there is no such gap), and the
        onset of the limb movement before the gap."""
        if not self._onsets:
            return onset_s, []
        last = self._onsets[-1]
        rhythm = self.rhythm_s()
        if rhythm is None or onset_s - last > MAX_GAP_S:
            return last, []
        return last, self.unmoved(skipped_beats(last, onset_s, rhythm))

    def unmoved(self, windows: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """The windows (from, to) that no movement kept overlaps."""
        return [(lo, hi) for lo, hi in windows
                if not any(a <= hi and b >= lo for a, b in self._spans)]


def skipped_beats(last_s: float, onset_s: float, rhythm_s: float) -> list[tuple[float, float]]:
    """Windows (from, to) between two movements ``last_s`` and ``onset_s`` of a series with
    interval ``rhythm_s`` where one was due: none unless the gap is a whole number (2 to
    MAX_SKIPPED + 1) of beats of about that interval."""
    gap = onset_s - last_s
    beats = round(gap / rhythm_s)
    step = gap / beats if beats else 0.0
    if not 2 <= beats <= MAX_SKIPPED + 1 or abs(step - rhythm_s) > MATCH * rhythm_s:
        return []
    half = WINDOW_SHARE * step
    return [(last_s + j * step - half, last_s + j * step + half) for j in range(1, beats)]


def look_before(first_s: float, rhythm_s: float, earliest_s: float,
                find: Callable[[float, float], tuple[float, T] | None],
                interval_s: tuple[float, float] = INTERVAL_RANGE_S) -> list[T]:
    """Walk back from a series' first movement (onset ``first_s``), a beat of ``rhythm_s`` at
    a time, no earlier than ``earliest_s``, asking ``find`` for a faint movement in each
    beat's window (from, to): its onset and what to keep of it, or None. One is kept only
    ``interval_s`` (the series rule's shortest and longest) before the one after it, and sets
    the beat from which the walk goes on; LEAD_IN_MISSES windows in a row without one end it.
    Returns what was kept, earliest first."""
    half = WINDOW_SHARE * rhythm_s
    anchor_s, misses = first_s, 0
    kept: list[T] = []
    while misses < LEAD_IN_MISSES:
        due_s = anchor_s - (misses + 1) * rhythm_s
        if due_s - half < earliest_s:
            break
        found = find(due_s - half, due_s + half)
        if found is None or not interval_s[0] <= anchor_s - found[0] <= interval_s[1]:
            misses += 1
            continue
        anchor_s, misses = found[0], 0
        kept.append(found[1])
    return kept[::-1]


def faint_spans(t_s: F64, slow_motion_g: F64, still: NDArray[np.bool_],
                windows: list[tuple[float, float]], rate_hz: float) -> list[tuple[int, int]]:
    """Where, in a gap's samples, a faint movement stands out in each window: index ranges
    (first, last) of the slow band's motion (``slow_motion_g``, one per sample) around its
    loudest half second, if that stands FAINT_RATIO above the ``still`` samples' level (their
    median, or their upper quartile over FAINT_SPREAD). A window may give none."""
    loud = np.sqrt(running_mean(slow_motion_g * slow_motion_g, round(LOUDEST_S * rate_hz)))
    median_g, upper_g = np.percentile(loud[still], [50.0, 75.0])
    level_g = float(max(median_g, upper_g / FAINT_SPREAD))
    edge_g = level_g * (1.0 + EDGE_SHARE * (FAINT_RATIO - 1.0))
    # A faint movement's strength dips now and then: dips shorter than the segmenter's hold
    # do not end it; the movements around it do.
    low = np.flatnonzero(~_bridged((loud >= edge_g) & still, round(HOLD_S * rate_hz)))
    spans = []
    for a_s, b_s in windows:
        inside = np.flatnonzero((t_s >= a_s) & (t_s <= b_s) & still)
        if not len(inside):
            continue
        peak = int(inside[np.argmax(loud[inside])])
        if loud[peak] < FAINT_RATIO * level_g:
            continue
        before, after = low[low < peak], low[low > peak]
        first = int(before[-1]) + 1 if len(before) else 0
        last = int(after[0]) - 1 if len(after) else len(loud) - 1
        spans.append((first, last))
    return spans


def _bridged(mask: NDArray[np.bool_], n: int) -> NDArray[np.bool_]:
    """``mask`` with its gaps of fewer than ``n`` False values between Trues filled."""
    out = mask.copy()
    edges = np.flatnonzero(np.diff(np.concatenate([[1], mask.astype(np.int8), [1]])))
    for a, b in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        if b - a < n and a > 0 and b < len(mask):
            out[a:b] = True
    return out
