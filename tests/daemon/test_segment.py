"""The segmenter on hand-made envelopes: where movements open and close across frames."""

from __future__ import annotations

import numpy as np

from hypnic.daemon.detect.filters import Filtered
from hypnic.daemon.detect.segment import Segmenter

RATE = 200
ON_G, OFF_G = 0.01, 0.005


def frame(k: int, envelope: np.ndarray) -> Filtered:
    t = k + np.arange(RATE) / RATE
    return Filtered(t, np.tile([0.0, 0.0, 1.0], (RATE, 1)), envelope.copy(), envelope,
                    envelope.copy())


def burst(start: int, end: int) -> np.ndarray:
    e = np.zeros(RATE)
    e[start:end] = 0.02
    return e


def segment(envelopes: list[np.ndarray]) -> list:
    seg = Segmenter(RATE)  # holds 0.5 s = 100 quiet samples before closing
    out = []
    for k, e in enumerate(envelopes):
        out += seg.process(frame(k, e), ON_G, OFF_G)
    return out + seg.close_now()


def test_a_movement_after_one_that_closed_in_the_previous_frame_is_found() -> None:
    # The first movement's quiet tail starts at the end of frame 1 and reaches the hold time
    # in frame 2, where a second burst follows (found by review: it used to be skipped).
    quiet = np.zeros(RATE)
    movements = segment([quiet, burst(100, 191), burst(150, 171), quiet, quiet, quiet])
    assert len(movements) == 2
    assert movements[0].parts[0].t_s[0] == 1.5
    assert movements[0].last_active_s == 1 + 190 / RATE
    assert movements[1].parts[0].t_s[0] == 2.75
    assert movements[1].last_active_s == 2 + 170 / RATE


def test_dips_shorter_than_the_hold_do_not_split_a_movement() -> None:
    e = burst(20, 60) + burst(120, 180)  # a 60-sample dip: shorter than the 100-sample hold
    movements = segment([np.zeros(RATE), e, np.zeros(RATE), np.zeros(RATE)])
    assert len(movements) == 1
    assert movements[0].last_active_s == 1 + 179 / RATE


def test_a_movement_longer_than_the_limit_is_cut_and_marked() -> None:
    loud = np.full(RATE, 0.02)
    movements = segment([np.zeros(RATE)] + [loud] * 65 + [np.zeros(RATE)] * 3)
    assert movements[0].truncated
    assert movements[0].n >= 60 * RATE
