"""This person's recent nights, and what tonight looks like against them.

The detector does no I/O, so the baseline is handed to it (``DetectorSettings.baseline``):
the daemon builds it from the event log with ``Baseline.from_nights``; without one (the first
nights, or a replay) nothing is called intense and only periodic jerk runs make a night
unusual.

- A jerk is *intense* when its peak at the sensor is at least ``INTENSE_FACTOR`` times the
  median peak of this person's jerks of recent nights (the same bed and sensor, so the scale
  is comparable; between beds it is not).
- A night is *unusual* when its jerks are much stronger (median peak ``UNUSUAL_FACTOR`` times
  the baseline's) or much more frequent (per hour in bed, ``UNUSUAL_FACTOR`` times the
  baseline's, and at least ``MIN_JERKS`` of them) than usual, or when jerks came in a
  periodic run (``series``). The reasons are given in plain words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

INTENSE_FACTOR = 2.5
UNUSUAL_FACTOR = 2.0
MIN_JERKS = 4
MIN_NIGHTS = 3
#: Jerk peaks of tonight kept for the median (a night has tens).
MAX_PEAKS = 2000


@dataclass(frozen=True)
class Baseline:
    """Jerks on this person's recent nights.

    nights          how many nights it summarises
    jerk_peak_g     median peak of their jerks at the sensor, in g (None: no jerks)
    jerks_per_hour  median jerks per hour in bed
    """

    nights: int
    jerk_peak_g: float | None
    jerks_per_hour: float | None

    @staticmethod
    def from_nights(nights: Iterable[tuple[Iterable[float], float]]) -> Baseline | None:
        """From (jerk peaks in g, hours in bed) of each recent night; None if fewer than
        ``MIN_NIGHTS`` nights had any time in bed."""
        peaks: list[float] = []
        rates: list[float] = []
        for night_peaks, hours in nights:
            if hours <= 0:
                continue
            these = [float(p) for p in night_peaks]
            peaks += these
            rates.append(len(these) / hours)
        if len(rates) < MIN_NIGHTS:
            return None
        return Baseline(
            nights=len(rates),
            jerk_peak_g=float(np.median(peaks)) if peaks else None,
            jerks_per_hour=float(np.median(rates)),
        )

    def is_intense(self, peak_g: float) -> bool:
        return self.jerk_peak_g is not None and peak_g >= INTENSE_FACTOR * self.jerk_peak_g


class NightJerks:
    """Tonight's jerks, for the unusual-night flag."""

    def __init__(self) -> None:
        self.peaks_g: list[float] = []
        self.count = 0

    def add(self, peak_g: float) -> None:
        self.count += 1
        if len(self.peaks_g) < MAX_PEAKS:
            self.peaks_g.append(peak_g)

    def unusual(self, baseline: Baseline | None, hours_in_bed: float,
                longest_run: int) -> list[str]:
        """Plain-word reasons this night is unusual (empty: it is not)."""
        reasons: list[str] = []
        if baseline is not None and self.count >= MIN_JERKS:
            median = float(np.median(self.peaks_g))
            if baseline.jerk_peak_g and median >= UNUSUAL_FACTOR * baseline.jerk_peak_g:
                reasons.append(f"jerks {median / baseline.jerk_peak_g:.1f}x more intense than "
                               "your recent nights")
            if hours_in_bed > 0 and baseline.jerks_per_hour is not None:
                rate = self.count / hours_in_bed
                usual = max(baseline.jerks_per_hour, 0.5)
                if rate >= UNUSUAL_FACTOR * usual:
                    reasons.append(f"{rate / usual:.1f}x as many jerks as on your recent nights "
                                   f"({rate:.1f} an hour)")
        if longest_run:
            reasons.append(f"a run of {longest_run} periodic jerks")
        return reasons
