"""A fixed-length memory of the most recent samples (or blocks), looked up by time.

The detector keeps the last minute or two of raw samples, to measure a movement at the full
rate once it has ended, and of blocks, for gravity and the breathing and heart rhythms. The
memory is allocated once: the night's length never changes it.
"""

from __future__ import annotations

import numpy as np

from hypnic.daemon.detect.filters import F64


class History:
    """The newest ``capacity`` rows of a stream with its times; older rows are forgotten."""

    def __init__(self, capacity: int, columns: int) -> None:
        self.capacity = capacity
        # Twice the capacity, so appending shifts the rows back only once per ``capacity``.
        self._t = np.full(2 * capacity, np.nan)
        self._x = np.zeros((2 * capacity, columns))
        self._end = 0

    def __len__(self) -> int:
        return min(self._end, self.capacity)

    def push(self, t_s: F64, x: F64) -> None:
        n = len(t_s)
        if n == 0:
            return
        if n >= self.capacity:
            self._t[: self.capacity] = t_s[-self.capacity :]
            self._x[: self.capacity] = x[-self.capacity :]
            self._end = self.capacity
            return
        if self._end + n > len(self._t):
            keep = self.capacity - n
            self._t[:keep] = self._t[self._end - keep : self._end]
            self._x[:keep] = self._x[self._end - keep : self._end]
            self._end = keep
        self._t[self._end : self._end + n] = t_s
        self._x[self._end : self._end + n] = x
        self._end += n

    def clear(self) -> None:
        self._end = 0

    @property
    def t_s(self) -> F64:
        """Times of the rows held, oldest first (a view: do not keep it across a push)."""
        return self._t[max(0, self._end - self.capacity) : self._end]

    @property
    def x(self) -> F64:
        return self._x[max(0, self._end - self.capacity) : self._end]

    def between(self, lo_s: float, hi_s: float) -> tuple[F64, F64]:
        """Rows with lo_s <= t <= hi_s (views)."""
        t = self.t_s
        a = int(np.searchsorted(t, lo_s, side="left"))
        b = int(np.searchsorted(t, hi_s, side="right"))
        return t[a:b], self.x[a:b]
