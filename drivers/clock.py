"""Sample count → time: each sample's timestamp from how many came before it.

A chip's real output rate is a few percent off its nominal rate, so stamping sample k at
k / nominal drifts by minutes over a night. Instead the clock keeps the last few minutes of
(sample index, time the FIFO read finished) pairs and fits a straight line through them: the
slope is the real sample period, and samples are stamped along that line. Reads finish a few
milliseconds after their last sample was taken, which only shifts the line by that latency;
the slope, and so the stamps an hour later, are unaffected. Times are on the monotonic clock,
so setting the system clock (or NTP stepping it) moves nothing.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

#: Reads kept for the fit; at a read every 0.16 s that is about 80 s of history.
FIT_WINDOW = 512
#: Below this much history the nominal rate is trusted more than a fit.
MIN_FIT_SPAN_S = 2.0


class SampleClock:
    def __init__(self, nominal_rate_hz: float) -> None:
        self.nominal_rate_hz = nominal_rate_hz
        self.rate_hz = nominal_rate_hz
        self._index = np.zeros(FIT_WINDOW)
        self._arrival = np.zeros(FIT_WINDOW)
        self._reads = 0
        self._next_sample = 0
        self._last_t: float | None = None

    def restart(self) -> None:
        """Forget the history (the chip was re-initialised); the rate estimate is kept."""
        self._reads = 0
        self._next_sample = 0
        self._last_t = None

    def stamp(
        self, count: int, arrival_s: float, overrun: bool = False
    ) -> tuple[NDArray[np.float64], int]:
        """Timestamps for ``count`` samples that a read finishing at ``arrival_s`` returned.

        With ``overrun`` the FIFO overflowed before this read: the samples lost are estimated
        from the time that passed and skipped, so the stamps stay true. Returns the stamps and
        the number of samples lost."""
        lost = 0
        if overrun and self._reads > 0:
            expected_last = self._index_at(arrival_s)
            lost = max(0, round(expected_last - (self._next_sample + count - 1)))
        first = self._next_sample + lost
        last = first + count - 1
        slot = self._reads % FIT_WINDOW
        self._index[slot], self._arrival[slot] = last, arrival_s
        self._reads += 1
        self._next_sample = last + 1
        slope, intercept = self._fit(last, arrival_s)
        t = intercept + slope * np.arange(first, last + 1, dtype=np.float64)
        if self._last_t is not None and count and t[0] <= self._last_t:
            # A refit can move the line by a hair; never let time run backwards.
            t += self._last_t + 0.5 * slope - t[0]
        if count:
            self._last_t = float(t[-1])
        return t, lost

    def _index_at(self, time_s: float) -> float:
        slope, intercept = self._fit(None, None)
        return (time_s - intercept) / slope

    def _fit(self, last: int | None, arrival_s: float | None) -> tuple[float, float]:
        n = min(self._reads, FIT_WINDOW)
        x, y = self._index[:n], self._arrival[:n]
        if n >= 2 and float(y.max() - y.min()) >= MIN_FIT_SPAN_S:
            xm, ym = x.mean(), y.mean()
            slope = float(((x - xm) * (y - ym)).sum() / ((x - xm) ** 2).sum())
            self.rate_hz = 1.0 / slope
            return slope, float(ym - slope * xm)
        slope = 1.0 / self.rate_hz
        # Too little history: anchor the newest read at its arrival, nominal spacing before.
        anchor_i = last if last is not None else x[(self._reads - 1) % FIT_WINDOW]
        anchor_t = arrival_s if arrival_s is not None else y[(self._reads - 1) % FIT_WINDOW]
        return slope, float(anchor_t - slope * anchor_i)
