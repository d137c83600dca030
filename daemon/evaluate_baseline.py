"""A naive detector to compare hypnic's with: a threshold on |a| minus its running median.

What anyone would try first. The magnitude of the acceleration |a| is compared with its
running median (the median of the last ``MEDIAN_S``, from quarter-second medians, so it is
cheap and causal); where the difference exceeds ``THRESHOLD_NOISE_MULTIPLE`` times the
recent noise (a robust sigma from the last minute) something moved. Crossings closer than
``MERGE_S`` are one event, and the event's duration alone says what it was: under 0.5 s a
jerk, up to 10 s a limb movement, longer a posture change. It knows nothing of getting in
or out of bed, sleep, breathing or the heart.

Streaming and vectorised like the real detector: samples are handled in whole quarter-second
sub-blocks counted from the first sample, so the events do not depend on the block size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from hypnic.daemon.events import EVENT_TYPES, Event, intensity_from_peak_g
from hypnic.drivers.base import Block
from hypnic.drivers.sim.truth import plm_series

F64 = NDArray[np.float64]

SUB_S = 0.25
MEDIAN_S = 2.0
NOISE_S = 60.0
#: A robust sigma from a median of absolute deviations (for Gaussian noise).
MAD_TO_SIGMA = 1.4826
THRESHOLD_NOISE_MULTIPLE = 6.0
MIN_THRESHOLD_G = 0.001
MERGE_S = 0.5
JERK_MAX_S = 0.5
LIMB_MAX_S = 10.0


def _classify(duration_s: float) -> str:
    if duration_s < JERK_MAX_S:
        return "jerk"
    return "limb_movement" if duration_s <= LIMB_MAX_S else "posture_change"


class BaselineDetector:
    """Feed Blocks in order, then call ``finish``; ``summary`` says what it can (little)."""

    def __init__(self) -> None:
        self._sub_n = 0
        self._t: F64 = np.zeros(0)
        self._mag: F64 = np.zeros(0)
        self._medians: F64 = np.zeros(0)  # the last MEDIAN_S of sub-block medians
        self._levels: F64 = np.zeros(0)  # the last NOISE_S of sub-block deviation levels
        self._median_n = 0
        self._noise_n = 0
        self._open: list[float] | None = None  # [onset, last above, peak]
        self.counts = dict.fromkeys(EVENT_TYPES, 0)
        self._limb_onsets: list[float] = []
        self._first_s: float | None = None
        self._last_s: float | None = None

    def feed(self, block: Block) -> list[Event]:
        if len(block) == 0:
            return []
        if self._sub_n == 0:
            self._sub_n = max(1, round(SUB_S * block.rate_hz))
            self._median_n = max(1, round(MEDIAN_S / SUB_S))
            self._noise_n = max(1, round(NOISE_S / SUB_S))
            self._medians = np.full(self._median_n, np.nan)
            self._levels = np.full(self._noise_n, np.nan)
            self._first_s = float(block.t_s[0])
        self._last_s = float(block.t_s[-1])
        self._t = np.concatenate([self._t, block.t_s])
        self._mag = np.concatenate([self._mag, np.linalg.norm(block.acc_g, axis=1)])
        m = len(self._t) // self._sub_n
        if m == 0:
            return []
        n = m * self._sub_n
        t, mag = self._t[:n], self._mag[:n].reshape(m, self._sub_n)
        self._t, self._mag = self._t[n:], self._mag[n:]
        return self._subblocks(t, mag)

    def finish(self) -> list[Event]:
        events = []
        if self._open is not None:
            events.append(self._close())
        return events

    def summary(self) -> dict[str, Any]:
        hours = 0.0
        if self._first_s is not None and self._last_s is not None:
            hours = (self._last_s - self._first_s) / 3600.0
        plms = sum(len(s) for s in plm_series(self._limb_onsets))
        return {
            "duration_s": round(hours * 3600.0, 3),
            "counts": dict(self.counts),
            "plm_index": plms / hours if hours > 0 else None,
            "in_bed": None, "sleep_onset_s": None,
            "respiration_rate_bpm": None, "heart_rate_bpm": None,
        }

    def _subblocks(self, t: F64, mag: F64) -> list[Event]:
        """Whole sub-blocks (m x sub_n): thresholds from the past only, then crossings."""
        m = len(mag)
        medians = np.median(mag, axis=1)
        history = np.concatenate([self._medians, medians])
        # Each sub-block's baseline is the median of the sub-block medians before it.
        baseline = _nanmedian_rows(sliding_window_view(history[:-1], self._median_n)[-m:])
        deviation = np.abs(mag - baseline[:, None])
        levels = np.median(deviation, axis=1)
        level_history = np.concatenate([self._levels, levels])
        noise = _nanmedian_rows(sliding_window_view(level_history[:-1], self._noise_n)[-m:])
        threshold = np.maximum(THRESHOLD_NOISE_MULTIPLE * MAD_TO_SIGMA * noise, MIN_THRESHOLD_G)
        threshold = np.where(np.isnan(threshold) | np.isnan(baseline), np.inf, threshold)
        self._medians = history[-self._median_n:]
        self._levels = level_history[-self._noise_n:]

        above = (deviation > threshold[:, None]).ravel()
        return self._crossings(t[above], deviation.ravel()[above], float(t[-1]))

    def _crossings(self, t_above: F64, dev_above: F64, now_s: float) -> list[Event]:
        events: list[Event] = []
        if len(t_above):
            # Split where crossings are more than MERGE_S apart.
            prev = np.concatenate([[self._open[1] if self._open else -np.inf], t_above[:-1]])
            starts = np.flatnonzero(t_above - prev > MERGE_S)
            ends = np.append(starts[1:], len(t_above))[: len(starts)]
            peaks = np.maximum.reduceat(dev_above, starts) if len(starts) else np.zeros(0)
            if self._open is not None:
                head = starts[0] if len(starts) else len(t_above)
                if head:
                    self._open[1] = float(t_above[head - 1])
                    self._open[2] = max(self._open[2], float(dev_above[:head].max()))
            for s, e, peak in zip(starts, ends, peaks, strict=True):
                if self._open is not None:
                    events.append(self._close())
                self._open = [float(t_above[s]), float(t_above[e - 1]), float(peak)]
        if self._open is not None and now_s - self._open[1] > MERGE_S:
            events.append(self._close())
        return events

    def _close(self) -> Event:
        assert self._open is not None
        onset, offset, peak = self._open
        self._open = None
        kind = _classify(offset - onset)
        self.counts[kind] += 1
        if kind == "limb_movement":
            self._limb_onsets.append(onset)
        return Event(kind, onset, offset, round(peak, 5), 0.0, intensity_from_peak_g(peak))


def _nanmedian_rows(x: F64) -> F64:
    """Row medians ignoring NaN (NaN where a row has nothing), without numpy's warning."""
    out = np.full(len(x), np.nan)
    full = ~np.isnan(x).any(axis=1)
    out[full] = np.median(x[full], axis=1)
    partial = ~full & ~np.isnan(x).all(axis=1)
    for i in np.flatnonzero(partial):  # only while warming up: the first NOISE_S
        out[i] = np.median(x[i][~np.isnan(x[i])])
    return out
