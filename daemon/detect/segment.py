"""Find where movements start and end in the envelope, with hysteresis and a hold time.

A movement opens when the envelope rises above the on-threshold, stays open while the envelope
is above the off-threshold, and closes once it has stayed below for ``hold_s`` (so the dips of
one limb movement do not split it). The samples of an open movement are kept, up to
``max_event_s``, so its shape can be measured when it closes.

A closed movement is held back for ``GRAVITY_AFTER_S`` more so the gravity direction after it
can be compared with the one before it: turning over tilts the mattress, a limb movement
does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from hypnic.daemon.detect.filters import Filtered

# Gravity is averaged over these windows before the onset and after the last activity; the
# margins keep the movement's own motion (and the ±0.5 s low-pass smear) out of the average.
GRAVITY_BEFORE_S = (-2.0, -0.6)
GRAVITY_AFTER_S = (0.6, 2.5)


@dataclass
class Movement:
    """The samples of one movement, from the first envelope sample above the off-threshold."""

    parts: list[Filtered] = field(default_factory=list)
    last_active_s: float = float("nan")
    n: int = 0
    truncated: bool = False
    threshold_on_g: float = 0.0
    gravity_before_g: NDArray[np.float64] | None = None
    _after_sum_g: NDArray[np.float64] = field(default_factory=lambda: np.zeros(3))
    _after_n: int = 0

    @property
    def gravity_after_g(self) -> NDArray[np.float64] | None:
        return self._after_sum_g / self._after_n if self._after_n else None

    def join(self) -> Filtered:
        """All samples up to the last active one."""
        columns = zip(*(_fields(p) for p in self.parts), strict=True)
        f = Filtered(*(np.concatenate(column) for column in columns))
        end = int(np.searchsorted(f.t_s, self.last_active_s, side="right"))
        return _part(f, 0, end)


def _fields(f: Filtered) -> tuple[NDArray[np.float64], ...]:
    return (f.t_s, f.lowpass_g, f.motion_g, f.envelope_g, f.jerk_g_s)


class Segmenter:
    def __init__(self, rate_hz: float, hold_s: float = 0.5, max_event_s: float = 60.0) -> None:
        self.hold_n = max(1, round(hold_s * rate_hz))
        self.max_n = round(max_event_s * rate_hz)
        self.open: Movement | None = None
        self._quiet_n = 0  # samples below the off-threshold since the open movement's last activity
        self._settling: list[Movement] = []
        self._recent_t_s: NDArray[np.float64] = np.zeros(0)
        self._recent_lowpass_g: NDArray[np.float64] = np.zeros((0, 3))

    def process(self, f: Filtered, on_g: float, off_g: float) -> list[Movement]:
        """Feed front-end outputs with this frame's thresholds; return the movements that are
        complete (closed, and with the gravity after them measured)."""
        closed: list[Movement] = []
        above_on = f.envelope_g > on_g
        above_off = f.envelope_g > off_g
        pos = 0
        n = len(f)
        while pos < n:
            if self.open is None:
                starts = np.flatnonzero(above_on[pos:])
                if len(starts) == 0:
                    break
                first_on = pos + int(starts[0])
                # The movement began where the envelope last rose above the off-threshold.
                quiet_before = np.flatnonzero(~above_off[pos:first_on])
                onset = pos + int(quiet_before[-1]) + 1 if len(quiet_before) else pos
                self.open = Movement(
                    threshold_on_g=on_g,
                    gravity_before_g=self._gravity_before(f, float(f.t_s[onset])),
                )
                self._quiet_n = 0
                pos = onset
                continue
            active = np.flatnonzero(above_off[pos:]) + pos
            # Index of the last active sample before pos (possibly in an earlier frame).
            prev = pos - 1 - self._quiet_n
            edges = np.concatenate([[prev], active])
            long_quiet = np.flatnonzero(np.diff(edges) > self.hold_n)
            # The movement's last active sample; negative when it lies in an earlier frame.
            end: int | None = None
            if len(long_quiet):
                end = int(edges[long_quiet[0]])
            elif n - 1 - edges[-1] >= self.hold_n:
                end = int(edges[-1])
            if end is not None:
                if end >= pos:
                    self._append(_part(f, pos, end + 1), above_off[pos : end + 1])
                closed.append(self._close())
                # The movement may have ended in an earlier frame: look for the next one from
                # the start of this frame at the earliest.
                pos = max(end + 1, 0)
                continue
            self._append(_part(f, pos, n), above_off[pos:n])
            self._quiet_n = n - 1 - int(edges[-1])
            if self.open.n >= self.max_n:
                self.open.truncated = True
                closed.append(self._close())
            break
        self._settling.extend(closed)
        self._remember(f)
        return self._settled(f)

    def close_now(self) -> list[Movement]:
        """Close everything at once (end of stream, or a gap in the samples)."""
        if self.open is not None:
            self._settling.append(self._close())
        done, self._settling = self._settling, []
        self._recent_t_s, self._recent_lowpass_g = np.zeros(0), np.zeros((0, 3))
        return done

    def _gravity_before(self, f: Filtered, onset_s: float) -> NDArray[np.float64] | None:
        t = np.concatenate([self._recent_t_s, f.t_s])
        lowpass = np.concatenate([self._recent_lowpass_g, f.lowpass_g])
        lo, hi = onset_s + GRAVITY_BEFORE_S[0], onset_s + GRAVITY_BEFORE_S[1]
        inside = (t >= lo) & (t <= hi)
        return lowpass[inside].mean(axis=0) if inside.any() else None

    def _remember(self, f: Filtered) -> None:
        keep_s = -GRAVITY_BEFORE_S[0]
        t = np.concatenate([self._recent_t_s, f.t_s])
        lowpass = np.concatenate([self._recent_lowpass_g, f.lowpass_g])
        if len(t):
            recent = t >= t[-1] - keep_s
            self._recent_t_s, self._recent_lowpass_g = t[recent], lowpass[recent]

    def _settled(self, f: Filtered) -> list[Movement]:
        if not self._settling or not len(f):
            return []
        done: list[Movement] = []
        waiting: list[Movement] = []
        for movement in self._settling:
            lo = movement.last_active_s + GRAVITY_AFTER_S[0]
            hi = movement.last_active_s + GRAVITY_AFTER_S[1]
            inside = (f.t_s >= lo) & (f.t_s <= hi)
            if self.open is not None and self.open.parts:
                # Samples of a movement that has already begun say nothing of rest after this one.
                inside &= f.t_s < self.open.parts[0].t_s[0]
            movement._after_sum_g += f.lowpass_g[inside].sum(axis=0)
            movement._after_n += int(inside.sum())
            (done if f.t_s[-1] >= hi else waiting).append(movement)
        self._settling = waiting
        return done

    def _append(self, part: Filtered, active: NDArray[np.bool_]) -> None:
        assert self.open is not None
        if len(part):
            self.open.parts.append(part)
            self.open.n += len(part)
            if active.any():
                self.open.last_active_s = float(part.t_s[np.flatnonzero(active)[-1]])

    def _close(self) -> Movement:
        assert self.open is not None
        movement, self.open, self._quiet_n = self.open, None, 0
        return movement


def _part(f: Filtered, start: int, end: int) -> Filtered:
    return Filtered(*(a[start:end] for a in _fields(f)))
