"""Find where movements start and end in the block envelope, with hysteresis and a hold time.

A movement opens when the envelope rises above the on-threshold, stays open while the envelope
is above the off-threshold, and closes once it has stayed below for ``hold_s`` (so the dips of
one limb movement do not split it). Only the movement's span is kept here; its samples are
measured from the raw history when it is complete (``classify.measure``).

A closed movement is held back for ``GRAVITY_AFTER_S`` more so the gravity direction after it
can be compared with the one before it: turning over tilts the mattress, a limb movement
does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hypnic.daemon.detect.filters import F64, I64

# Gravity is averaged over these windows before the onset and after the last activity; the
# margins keep the movement's own motion (and the ±0.5 s high-pass smear) out of the average.
# They are long enough to take in a whole breath or more, which sways the tilt too.
GRAVITY_BEFORE_S = (-5.0, -0.6)
GRAVITY_AFTER_S = (0.6, 5.0)
#: A movement closes once its envelope has stayed below the off-threshold this long.
HOLD_S = 0.5


@dataclass
class Movement:
    """One movement's span in blocks (from the first block above the off-threshold)."""

    onset_s: float
    threshold_on_g: float
    last_active_s: float = float("nan")
    n: int = 0
    truncated: bool = False
    #: Set when the movement is closed: where the gravity after it may be averaged up to.
    after_until_s: float = float("inf")
    forced: bool = False
    #: Whether a fast path (broadband or along gravity) rose above its on-threshold in it;
    #: if not, only the slow band saw it.
    fast: bool = False


class Segmenter:
    def __init__(self, block_rate_hz: float, hold_s: float = HOLD_S,
                 max_event_s: float = 60.0) -> None:
        self.hold_n = max(1, round(hold_s * block_rate_hz))
        self.max_n = round(max_event_s * block_rate_hz)
        self.open: Movement | None = None
        self._quiet_n = 0  # blocks below the off-threshold since the open movement's last activity
        self._settling: list[Movement] = []
        # Where the envelope last rose above the off-threshold, if it is still above it at the
        # end of the previous pass: a movement opening now began there.
        self._rise_s: float | None = None
        self._fast_on: NDArray[np.bool_] = np.zeros(0, bool)

    def process(self, t_s: F64, above_on: NDArray[np.bool_], above_off: NDArray[np.bool_],
                on_g: F64, fast_on: NDArray[np.bool_] | None = None) -> list[Movement]:
        """Feed which blocks are above the on- and off-thresholds (and the on-threshold, kept
        with a movement that opens, and which blocks a fast path found: ``Movement.fast``);
        return the movements that closed (in order). They still wait for the gravity after
        them: see ``settled``."""
        self._fast_on = above_on if fast_on is None else fast_on
        closed: list[Movement] = []
        rise_before, self._rise_s = self._rise_s, None
        pos = 0
        n = len(t_s)
        while pos < n:
            if self.open is None:
                starts = np.flatnonzero(above_on[pos:])
                if len(starts) == 0:
                    break
                first_on = pos + int(starts[0])
                # The movement began where the envelope last rose above the off-threshold.
                quiet_before = np.flatnonzero(~above_off[pos:first_on])
                onset = pos + int(quiet_before[-1]) + 1 if len(quiet_before) else pos
                onset_s = float(t_s[onset])
                if onset == 0 and rise_before is not None:
                    onset_s = rise_before
                self.open = Movement(onset_s, float(on_g[first_on]))
                self._quiet_n = 0
                pos = onset
                continue
            active = np.flatnonzero(above_off[pos:]) + pos
            # Index of the last active block before pos (possibly in an earlier pass).
            prev = pos - 1 - self._quiet_n
            edges = np.concatenate([[prev], active])
            long_quiet = np.flatnonzero(np.diff(edges) > self.hold_n)
            # The movement's last active block; negative when it lies in an earlier pass.
            end: int | None = None
            if len(long_quiet):
                end = int(edges[long_quiet[0]])
            elif n - 1 - edges[-1] >= self.hold_n:
                end = int(edges[-1])
            if end is not None:
                if end >= pos:
                    self._extend(t_s, pos, end + 1, active)
                closed.append(self._close())
                # The movement may have ended in an earlier pass: look for the next one from
                # the start of this pass at the earliest.
                pos = max(end + 1, 0)
                continue
            self._extend(t_s, pos, n, active)
            self._quiet_n = n - 1 - int(edges[-1])
            if self.open.n >= self.max_n:
                self.open.truncated = True
                closed.append(self._close())
            break
        self._settling.extend(closed)
        if self.open is None and n and above_off[-1]:
            below = np.flatnonzero(~above_off)
            if len(below):
                self._rise_s = float(t_s[below[-1] + 1])
            elif not closed:
                self._rise_s = rise_before if rise_before is not None else float(t_s[0])
        return closed

    def settled(self, now_s: float) -> list[Movement]:
        """Closed movements whose gravity-after window has passed by ``now_s`` (in order). The
        window ends early where the next movement began."""
        done: list[Movement] = []
        while self._settling:
            movement = self._settling[0]
            hi = movement.last_active_s + GRAVITY_AFTER_S[1]
            nxt = self._settling[1].onset_s if len(self._settling) > 1 else (
                self.open.onset_s if self.open is not None else float("inf"))
            if now_s < hi and nxt > hi:
                break
            movement.after_until_s = min(hi, nxt)
            done.append(self._settling.pop(0))
        return done

    def close_now(self) -> list[Movement]:
        """Close everything at once (end of stream, or a gap in the samples)."""
        if self.open is not None:
            self._settling.append(self._close())
        done, self._settling = self._settling, []
        for i, movement in enumerate(done):
            hi = movement.last_active_s + GRAVITY_AFTER_S[1]
            nxt = done[i + 1].onset_s if i + 1 < len(done) else float("inf")
            movement.after_until_s = min(hi, nxt)
            movement.forced = True
        return done

    def _extend(self, t_s: F64, start: int, end: int, active: I64) -> None:
        assert self.open is not None
        self.open.n += end - start
        self.open.fast = self.open.fast or bool(self._fast_on[start:end].any())
        inside = active[(active >= start) & (active < end)]
        if len(inside):
            self.open.last_active_s = float(t_s[inside[-1]])

    def _close(self) -> Movement:
        assert self.open is not None
        movement, self.open, self._quiet_n = self.open, None, 0
        return movement
