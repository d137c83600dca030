"""The noise floor that movement thresholds follow, learnt frame by frame.

The floor is the 20th percentile of the last five minutes of per-frame (1 s) envelope maxima.
Using the maxima means the floor sits above heartbeat pulses and noise spikes, not at their
mean; the low percentile keeps it from rising during a restless stretch. It is recomputed
every ten frames from the frames before, so a movement never raises its own threshold, and
a pass of many frames needs only a few percentiles.

Frames are counted in blocks from the first sample, so the floor in force for a block is the
same however the stream was cut.
"""

from __future__ import annotations

import numpy as np

from hypnic.daemon.detect.filters import F64, I64

FLOOR_WINDOW_FRAMES = 150
FLOOR_PERCENTILE = 20.0
#: The floor is recomputed every this many frames (and is unknown before the first time).
UPDATE_FRAMES = 5


class NoiseFloor:
    def __init__(self, window: int = FLOOR_WINDOW_FRAMES) -> None:
        self.window = window
        # Maxima of frames, in a ring indexed by frame id; nan: no outputs in that frame.
        self._maxima = np.full(window, np.nan)
        self._frame_ids = np.full(window, -1, np.int64)
        self._open_frame = -1
        self._open_max = 0.0
        self._floor_epoch = -1  # the floor below was computed for frames from epoch × 10 on
        self._floor = np.nan

    @property
    def current_g(self) -> float | None:
        """The floor in force now, or None while warming up."""
        return None if np.isnan(self._floor) else float(self._floor)

    def floors(self, frame: I64, envelope_g: F64) -> F64:
        """The floor in force for each block (nan while warming up), given each block's frame
        (non-decreasing) and envelope; then learn from the frames that are now complete."""
        if len(frame) == 0:
            return np.zeros(0)
        starts = np.concatenate([[0], np.flatnonzero(np.diff(frame)) + 1])
        ids = frame[starts]
        maxima = np.maximum.reduceat(envelope_g, starts)
        if ids[0] == self._open_frame:
            maxima[0] = max(maxima[0], self._open_max)
        elif self._open_frame >= 0:
            self._store(np.array([self._open_frame]), np.array([self._open_max]))
        counts = np.diff(np.concatenate([starts, [len(frame)]]))
        epochs = ids // UPDATE_FRAMES
        floor_per_frame = np.full(len(ids), self._floor)
        done, done_max = ids[:-1], maxima[:-1]  # every frame of this pass but the last
        changes = np.flatnonzero(epochs != np.concatenate([[self._floor_epoch], epochs[:-1]]))
        for first in changes:
            epoch = int(epochs[first])
            before = done < epoch * UPDATE_FRAMES
            self._store(done[before], done_max[before])
            self._floor_epoch = epoch
            self._floor = self._percentile(epoch * UPDATE_FRAMES)
            floor_per_frame[first:] = self._floor
        self._store(done, done_max)
        self._open_frame, self._open_max = int(ids[-1]), float(maxima[-1])
        return np.repeat(floor_per_frame, counts)

    def _store(self, frame_ids: I64, values: F64) -> None:
        self._maxima[frame_ids % self.window] = values
        self._frame_ids[frame_ids % self.window] = frame_ids

    def _percentile(self, first_frame: int) -> float:
        """FLOOR_PERCENTILE of the frames [first_frame - window, first_frame) seen so far."""
        ids = np.arange(first_frame - self.window, first_frame)
        values = self._maxima[ids % self.window]
        # A ring slot may still hold a frame older than the window, or none at all.
        stored = self._frame_ids[ids % self.window] == ids
        values = values[stored & ~np.isnan(values)]
        if len(values) < UPDATE_FRAMES:
            return np.nan
        # numpy's default (linear) percentile, without its overhead.
        ordered = np.sort(values)
        pos = (len(ordered) - 1) * (FLOOR_PERCENTILE / 100.0)
        lo = int(pos)
        hi = min(lo + 1, len(ordered) - 1)
        return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))
