"""The segmenter on hand-made envelopes: where movements open and close across passes."""

from __future__ import annotations

import numpy as np

from hypnic.daemon.detect.segment import Segmenter

RATE = 200
ON_G, OFF_G = 0.01, 0.005


def burst(start: int, end: int) -> np.ndarray:
    e = np.zeros(RATE)
    e[start:end] = 0.02
    return e


def segment(envelopes: list[np.ndarray]) -> list:
    seg = Segmenter(RATE)  # holds 0.5 s = 100 quiet blocks before closing
    out = []
    for k, e in enumerate(envelopes):
        t = k + np.arange(len(e)) / RATE
        seg.process(t, e > ON_G, e > OFF_G, np.full(len(e), ON_G))
        out += seg.settled(float(t[-1]))
    return out + seg.close_now()


def test_a_movement_after_one_that_closed_in_the_previous_pass_is_found() -> None:
    # The first movement's quiet tail starts at the end of pass 1 and reaches the hold time
    # in pass 2, where a second burst follows (found by review: it used to be skipped).
    quiet = np.zeros(RATE)
    movements = segment([quiet, burst(100, 191), burst(150, 171), quiet, quiet, quiet, quiet])
    assert len(movements) == 2
    assert movements[0].onset_s == 1.5
    assert movements[0].last_active_s == 1 + 190 / RATE
    assert movements[1].onset_s == 2.75
    assert movements[1].last_active_s == 2 + 170 / RATE


def test_dips_shorter_than_the_hold_do_not_split_a_movement() -> None:
    e = burst(20, 60) + burst(120, 180)  # a 60-block dip: shorter than the 100-block hold
    movements = segment([np.zeros(RATE), e, np.zeros(RATE), np.zeros(RATE)])
    assert len(movements) == 1
    assert movements[0].last_active_s == 1 + 179 / RATE


def test_a_movement_longer_than_the_limit_is_cut_and_marked() -> None:
    loud = np.full(RATE, 0.02)
    movements = segment([np.zeros(RATE)] + [loud] * 65 + [np.zeros(RATE)] * 3)
    assert movements[0].truncated
    assert movements[0].n >= 60 * RATE


def test_a_rise_that_began_in_the_previous_pass_keeps_its_onset() -> None:
    # Above the off-threshold from 0.9 s, above the on-threshold only from 1.1 s: the movement
    # began at 0.9 s, in the pass before the one where it is recognised.
    e = np.zeros(2 * RATE)
    e[int(0.9 * RATE) :] = 0.007
    e[int(1.1 * RATE) : int(1.3 * RATE)] = 0.02
    whole = segment([e, np.zeros(RATE), np.zeros(RATE)])
    cut = segment([e[:RATE], e[RATE:], np.zeros(RATE), np.zeros(RATE)])
    assert len(whole) == len(cut) == 1
    assert whole[0].onset_s == 0.9
    assert cut[0].onset_s == 0.9
