"""Periodic series of movements, as sleep scoring defines them, counted as they happen.

A periodic limb movement (PLM) series is at least four limb movements in a row whose onsets
are 5 to 90 s apart (AASM) or 10 to 90 s apart (WASM). An interval outside that range ends
the series, and the movement after it may start the next. The same rule, applied to jerks,
finds runs of repetitive jerks.

Only the current run is kept while it is shorter than four, so memory does not grow with the
night; a movement learns its series id once the series has four members, so the first three
are reported without it, and the night summary lists every series with its full count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: Onset-to-onset intervals of a series, by scoring rule.
RULES = {"aasm": (5.0, 90.0), "wasm": (10.0, 90.0)}
MIN_COUNT = 4
#: Series listed in the night summary at most (a night has a handful).
MAX_LISTED = 500


@dataclass
class Series:
    id: int
    start_s: float
    end_s: float
    count: int

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3),
                "count": self.count}


class SeriesTracker:
    def __init__(self, rule: str = "aasm") -> None:
        if rule not in RULES:
            raise ValueError(f"unknown series rule {rule!r}: expected one of {sorted(RULES)}")
        self.rule = rule
        self.shortest_s, self.longest_s = RULES[rule]
        self.series: list[Series] = []
        self.total = 0  # series made, including any not listed
        self._run: list[float] = []  # onsets of the run so far, while it is not yet a series
        self._run_end_s = 0.0
        self._current: Series | None = None
        self._last_onset_s: float | None = None
        #: End of the latest series that has ended (-inf: none has).
        self.ended_s = -math.inf

    def add(self, onset_s: float, offset_s: float) -> tuple[int | None, list[float]]:
        """One more movement. Returns its series id (None if it is in none yet) and the onsets
        of the movements that have just become series members (itself and, when the series
        has just reached four, the three before it)."""
        last = self._last_onset_s
        self._last_onset_s = onset_s
        if last is None or not self.shortest_s <= onset_s - last <= self.longest_s:
            if self._current is not None:
                self.ended_s = self._current.end_s
            self._current = None
            self._run, self._run_end_s = [onset_s], offset_s
            return None, []
        if self._current is not None:
            self._current.count += 1
            self._current.end_s = offset_s
            return self._current.id, [onset_s]
        self._run.append(onset_s)
        self._run_end_s = offset_s
        if len(self._run) < MIN_COUNT:
            return None, []
        self.total += 1
        series = Series(self.total, self._run[0], offset_s, len(self._run))
        members, self._run = self._run, []
        self._current = series
        if len(self.series) < MAX_LISTED:
            self.series.append(series)
        return series.id, members

    def take_in(self, series_id: int, onset_s: float) -> bool:
        """A movement found late on the beat of series ``series_id`` (starting before the end
        of its latest movement, or before its first) joins it if it is still the current
        series. Returns whether it did."""
        current = self._current
        if current is None or current.id != series_id or onset_s >= current.end_s:
            return False
        current.start_s = min(current.start_s, onset_s)
        current.count += 1
        return True

    @property
    def last_onset_s(self) -> float | None:
        """Onset of the latest movement added."""
        return self._last_onset_s

    @property
    def run_onsets(self) -> tuple[float, ...]:
        """Onsets of the run so far while it is not yet a series (empty once it is one)."""
        return tuple(self._run) if self._current is None else ()

    def listed(self) -> list[dict[str, Any]]:
        return [s.as_dict() for s in self.series]


class ClusterCounter:
    """Counts clusters: ``min_count`` or more events, each within ``gap_s`` of the one before."""

    def __init__(self, gap_s: float, min_count: int) -> None:
        self.gap_s = gap_s
        self.min_count = min_count
        self.clusters = 0
        self._run = 0
        self._last_s: float | None = None

    def add(self, onset_s: float) -> None:
        if self._last_s is None or onset_s - self._last_s > self.gap_s:
            self._run = 0
        self._run += 1
        self._last_s = onset_s
        if self._run == self.min_count:
            self.clusters += 1
