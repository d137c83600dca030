"""The noise floors that movement thresholds follow, learnt frame by frame.

A floor is the 20th percentile of the last five minutes of per-frame (2 s) envelope maxima.
Using the maxima means the floor sits above heartbeat pulses and noise spikes, not at their
mean; the low percentile keeps it from rising during a restless stretch. When the still
signal grows (someone lies down on an empty bed, whose heartbeat then sits above the empty
bed's noise) the five-minute percentile would follow only after four minutes, each heartbeat
a movement until then; so the floor is at least the same percentile of the last 40 s.

A quick, deep breath followed by a long pause (in and out in a second or two, then still for
three or four) leaves frames that hold no breath at all: the percentile then sits at the
pauses, and breath after breath crosses the threshold, a limb movement or a jerk each. So
the floor is also at least the percentile of the maxima over three frames (6 s, a breath and
its pause at 10 breaths a minute and up), scaled by 0.9: over steady noise those maxima run
7-14 % above the single frames', so scaled they stay under the floor there, and raise it
only where the still signal comes in heaves. (Only over the five minutes: over the last 40 s
as well, it followed deep breaths sooner after getting in, but cost faint jerks on ordinary
tuning nights.)

The floor is first known after five frames (10 s) and then recomputed every ten (20 s), each
time from the frames before, so a movement never raises its own threshold, and a pass of many
frames needs only a few percentiles. Each detection path has its own floor; they are learnt
together.

Frames are counted in blocks from the first sample, so the floor in force for a block is the
same however the stream was cut.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hypnic.daemon.detect.filters import F64, I64

FLOOR_WINDOW_FRAMES = 150
#: The percentile of the last 40 s is a lower bound on the floor.
RECENT_FRAMES = 20
FLOOR_PERCENTILE = 20.0
#: The floor is first computed after WARMUP_FRAMES frames, then every UPDATE_FRAMES.
WARMUP_FRAMES = 5
UPDATE_FRAMES = 10
#: Frames over which the maxima are taken for the breath floor (a breath and its pause).
BREATH_FRAMES = 3
#: The breath floor's share: under the 1.07-1.14 by which noise's three-frame maxima
#: exceed its one-frame maxima (empty and quiet beds, every chip).
BREATH_SHARE = 0.9


def _epoch(frame: I64) -> I64:
    """Which computation of the floor a frame's blocks use (-1: none yet)."""
    return np.where(frame < WARMUP_FRAMES, -1, (frame - WARMUP_FRAMES) // UPDATE_FRAMES)


def _first_frame(epoch: int) -> int:
    return WARMUP_FRAMES + epoch * UPDATE_FRAMES


class NoiseFloors:
    """Floors of ``paths`` envelopes at once."""

    def __init__(self, paths: int, window: int = FLOOR_WINDOW_FRAMES) -> None:
        self.window = window
        # Maxima of frames, in a ring indexed by frame id; nan: no outputs in that frame.
        self._maxima = np.full((paths, window), np.nan)
        self._frame_ids = np.full(window, -1, np.int64)
        self._open_frame = -1
        self._open_max = np.zeros(paths)
        self._floor_epoch = -1  # the floors below were computed for frames from epoch × 5 on
        self._floor = np.full(paths, np.nan)

    @property
    def current_g(self) -> F64:
        """The floors in force now (nan while warming up)."""
        return self._floor.copy()

    def frame_floors(self, frame: I64, envelopes_g: F64) -> tuple[F64, I64]:
        """The floors in force for each frame of the blocks given (paths x frames; nan while
        warming up) and how many of the blocks each frame has, given each block's frame
        (non-decreasing) and the envelopes (paths x blocks); then learn from the frames that
        are now complete. Per frame, not per block: thresholds worked out from them cost a
        hundredth."""
        paths = len(self._floor)
        if len(frame) == 0:
            return np.zeros((paths, 0)), np.zeros(0, np.int64)
        starts = np.concatenate([[0], np.flatnonzero(np.diff(frame)) + 1])
        ids = frame[starts]
        maxima = np.maximum.reduceat(envelopes_g, starts, axis=1)
        if ids[0] == self._open_frame:
            maxima[:, 0] = np.maximum(maxima[:, 0], self._open_max)
        elif self._open_frame >= 0:
            self._store(np.array([self._open_frame]), self._open_max[:, None])
        counts = np.diff(np.concatenate([starts, [len(frame)]]))
        epochs = _epoch(ids)
        floor_per_frame = np.repeat(self._floor[:, None], len(ids), axis=1)
        done, done_max = ids[:-1], maxima[:, :-1]  # every frame of this pass but the last
        changes = np.flatnonzero(epochs != np.concatenate([[self._floor_epoch], epochs[:-1]]))
        for first in changes:
            epoch = int(epochs[first])
            if epoch < 0:
                continue
            before = done < _first_frame(epoch)
            self._store(done[before], done_max[:, before])
            self._floor_epoch = epoch
            self._floor = self._percentile(_first_frame(epoch))
            floor_per_frame[:, first:] = self._floor[:, None]
        self._store(done, done_max)
        self._open_frame, self._open_max = int(ids[-1]), maxima[:, -1].copy()
        return floor_per_frame, counts

    def forget(self) -> None:
        """Drop everything learnt: the floors are unknown (no detection) until the frames
        after this have been seen, at the next update (at most UPDATE_FRAMES frames on)."""
        self._maxima[:] = np.nan
        self._frame_ids[:] = -1
        self._open_max[:] = 0.0
        self._floor = np.full(len(self._floor), np.nan)

    def _store(self, frame_ids: I64, values: F64) -> None:
        slots = frame_ids % self.window
        self._maxima[:, slots] = values
        self._frame_ids[slots] = frame_ids

    def _percentile(self, first_frame: int) -> F64:
        """FLOOR_PERCENTILE of the frames [first_frame - window, first_frame) seen so far."""
        # Each slot holds the one frame of the window it can hold, or an older one, or none
        # (-1); the ring's order does not matter to a percentile.
        ids = self._frame_ids
        known = (ids >= first_frame - self.window) & (ids < first_frame)
        known &= ~np.isnan(self._maxima).any(axis=0)
        if np.count_nonzero(known) < WARMUP_FRAMES:
            return np.full(len(self._floor), np.nan)
        recent = known & (ids >= first_frame - RECENT_FRAMES)
        floor = _percentile(self._maxima[:, known])
        if np.count_nonzero(recent) >= WARMUP_FRAMES:
            floor = np.maximum(floor, _percentile(self._maxima[:, recent]))
        breaths, whole = self._breath_maxima(known)
        # As many runs as the first frames make (the first floor is of WARMUP_FRAMES frames).
        if np.count_nonzero(whole) > WARMUP_FRAMES - BREATH_FRAMES:
            floor = np.maximum(floor, BREATH_SHARE * _percentile(breaths[:, whole]))
        return floor

    def _breath_maxima(self, known: NDArray[np.bool_]) -> tuple[F64, NDArray[np.bool_]]:
        """The maxima over each run of BREATH_FRAMES frames ending at a slot of the ring,
        and which slots end a run of known, consecutive frames."""
        ids = self._frame_ids
        maxima, whole = self._maxima.copy(), known.copy()
        for back in range(1, BREATH_FRAMES):
            maxima = np.maximum(maxima, np.roll(self._maxima, back, axis=1))
            whole &= np.roll(known, back) & (np.roll(ids, back) == ids - back)
        return maxima, whole


def _percentile(values: F64) -> F64:
    """FLOOR_PERCENTILE of each row: numpy's default (linear) percentile without its
    overhead."""
    ordered = np.sort(values, axis=1)
    pos = (ordered.shape[1] - 1) * (FLOOR_PERCENTILE / 100.0)
    lo = int(pos)
    hi = min(lo + 1, ordered.shape[1] - 1)
    return np.asarray(ordered[:, lo] + (ordered[:, hi] - ordered[:, lo]) * (pos - lo))
