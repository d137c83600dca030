"""The sleep-onset estimate, fed by hand: stillness, the sleep-start cluster, the fallbacks."""

from __future__ import annotations

import pytest

from hypnic.daemon.detect.settling import (
    IRREGULARITY_FLOOR,
    KEPT_EPOCHS,
    SettlingLog,
    irregularity,
)
from hypnic.daemon.detect.sleep import CHAIN_GAP_S, SleepTracker
from hypnic.daemon.detect.vitals import Breath

MIN = 60.0


def in_bed_at(t_s: float = 100.0, entry_s: float | None = 95.0) -> SleepTracker:
    tracker = SleepTracker()
    tracker.begin(t_s, entry_s)
    return tracker


def test_onset_is_two_minutes_before_the_last_sleep_start() -> None:
    tracker = in_bed_at()
    flags = [tracker.jerk(t) for t in (600.0, 900.0, 1100.0)]
    assert flags == [True, True, True]
    # Past 12 min from the first, a sleep start must come within 5 min of the one before.
    tracker.advance(1100.0 + 5 * MIN - 1.0)
    assert tracker.first_onset_s is None  # the cluster may still grow
    tracker.advance(1100.0 + 5 * MIN)
    assert tracker.first_onset_s == 1100.0 - 2 * MIN
    assert tracker.first_latency_s == pytest.approx(1100.0 - 2 * MIN - 95.0)



def test_a_sleep_start_nine_minutes_before_the_next_belongs_to_the_same_transition() -> None:
    # Drowsiness can last ten minutes: the first sleep start may come that long before the
    # ones that crowd the moment of falling asleep.
    tracker = in_bed_at()
    assert tracker.jerk(600.0) and tracker.jerk(600.0 + 9 * MIN)
    tracker.advance(600.0 + 9 * MIN + CHAIN_GAP_S)
    assert tracker.first_onset_s == 600.0 + 9 * MIN - 2 * MIN

def test_a_jerk_while_settling_in_is_no_sign_of_sleep_yet() -> None:
    tracker = in_bed_at()
    assert tracker.jerk(160.0)  # a minute in bed
    tracker.advance(160.0 + CHAIN_GAP_S)
    # A lone jerk: ten still minutes, as without one (and never under five minutes in bed).
    assert tracker.first_onset_s == 100.0 + 10 * MIN


@pytest.mark.parametrize(("jerks", "onset_s"), [((900.0,), 803.0 + 10 * MIN),
                                                 ((900.0, 1000.0), 1000.0 - 2 * MIN)])
def test_a_lone_jerk_puts_the_onset_no_sooner_than_ten_still_minutes(
        jerks: tuple[float, ...], onset_s: float) -> None:
    # Shifting about at 800 s, then a jerk 100 s later: through the mattress a brief fidget
    # can look like a jerk, so a lone one is no sign of sleep before ten still minutes. Two
    # sleep starts are a transition, and the onset is 2 min before the last.
    tracker = in_bed_at()
    tracker.movement("limb_movement", 800.0, 803.0)
    assert all(tracker.jerk(t) for t in jerks)
    tracker.advance(jerks[-1] + CHAIN_GAP_S)
    assert tracker.first_onset_s == onset_s


def test_jerks_after_the_transition_are_not_sleep_starts() -> None:
    tracker = in_bed_at()
    assert tracker.jerk(600.0)
    assert tracker.jerk(700.0)  # within 3 min of the onset (2 min before this one)
    assert not tracker.jerk(700.0 + 20 * MIN)


def test_sparse_sleep_starts_span_at_most_twelve_minutes() -> None:
    tracker = in_bed_at()
    flags = [tracker.jerk(600.0 + k * 5.5 * MIN) for k in range(4)]
    assert flags == [True, True, True, False]


def test_sleep_starts_that_keep_coming_thick_extend_the_transition_to_twenty_minutes() -> None:
    # Someone whose sleep starts keep waking them falls asleep after the last of them.
    tracker = in_bed_at()
    flags = [tracker.jerk(600.0 + k * 3 * MIN) for k in range(8)]
    assert flags == [True] * 7 + [False]
    tracker.advance(600.0 + 21 * MIN + CHAIN_GAP_S)
    assert tracker.first_onset_s == 600.0 + 18 * MIN - 2 * MIN


def test_a_jerk_in_sleep_soon_after_the_sleep_starts_does_not_delay_the_onset() -> None:
    # Sleep starts from 6 min before falling asleep to 2 min after, then a jerk in sleep
    # 8 min later: within the chain gap of the last sleep start, but 16 min after the first.
    tracker = in_bed_at()
    assert all(tracker.jerk(t) for t in (1000.0, 1300.0, 1480.0))
    assert not tracker.jerk(1480.0 + 8 * MIN)
    tracker.advance(1480.0 + 8 * MIN + CHAIN_GAP_S)
    assert tracker.first_onset_s == 1480.0 - 2 * MIN


def test_turning_over_before_sleep_starts_the_stillness_again() -> None:
    tracker = in_bed_at()
    tracker.movement("posture_change", 795.0, 800.0)  # before the provisional onset: awake
    tracker.movement("posture_change", 1240.0, 1250.0)
    tracker.advance(1250.0 + 39 * MIN)
    assert tracker.first_onset_s is None
    tracker.advance(1250.0 + 40 * MIN)
    assert tracker.first_onset_s == 1250.0 + 10 * MIN


def test_shifting_about_while_lying_awake_starts_the_stillness_again() -> None:
    tracker = in_bed_at()
    tracker.movement("limb_movement", 800.0, 804.0)  # before the provisional onset: awake
    tracker.movement("limb_movement", 1200.0, 1202.0)
    # A quarter of an hour later the stillness was sleep: this one is a movement in sleep.
    tracker.movement("limb_movement", 1202.0 + 16 * MIN, 1204.0 + 16 * MIN)
    tracker.advance(1202.0 + 40 * MIN)
    assert tracker.first_onset_s == 1202.0 + 10 * MIN


def series_after_a_shift(first_s: float, found_before_s: tuple[float, ...] = ()) -> float | None:
    """A shift about at 800 s (awake), then a periodic series 25 s apart from ``first_s``
    (and faint movements of it found late, once it formed): the sleep onset."""
    tracker = in_bed_at()
    tracker.movement("limb_movement", 800.0, 803.0)
    onsets = [first_s + 25.0 * k for k in range(4)]
    for onset in onsets[:3]:
        tracker.movement("limb_movement", onset, onset + 2.0)
    tracker.series(onsets[0], onsets[3] + 2.0, found_before_s)  # the fourth makes a series
    tracker.movement("limb_movement", onsets[3], onsets[3] + 2.0, in_series=True)
    return tracker.first_onset_s


def test_a_periodic_series_that_starts_in_the_stillness_is_sleep_not_fidgeting() -> None:
    assert series_after_a_shift(900.0) == 900.0


def test_a_series_found_late_to_have_begun_faint_is_sleep_from_its_first_movement() -> None:
    # Two faint ones on the beats before, found once the series formed; one further back
    # came before the shift at 800 s, when the sleeper was awake.
    assert series_after_a_shift(950.0, (775.0, 900.0, 925.0)) == 900.0


def test_limb_movements_and_turning_after_the_onset_do_not_delay_it() -> None:
    tracker = in_bed_at()
    tracker.jerk(540.0)
    tracker.jerk(600.0)
    tracker.movement("limb_movement", 648.0, 650.0)
    tracker.movement("posture_change", 690.0, 700.0)  # after the provisional onset (480 s)
    tracker.advance(600.0 + CHAIN_GAP_S)
    assert tracker.first_onset_s == 600.0 - 2 * MIN


def test_without_jerks_onset_is_a_typical_latency_after_getting_in() -> None:
    tracker = in_bed_at()
    tracker.advance(100.0 + 39 * MIN)
    assert tracker.first_onset_s is None  # a sleep-start cluster could still come
    tracker.advance(100.0 + 40 * MIN)
    assert tracker.first_onset_s == 95.0 + 15 * MIN


def test_getting_back_into_bed_sleeps_sooner() -> None:
    tracker = in_bed_at()
    tracker.advance(100.0 + 40 * MIN)
    tracker.end(5000.0)
    tracker.begin(5100.0, 5095.0)
    tracker.advance(5100.0 + 40 * MIN)
    # No typical latency holds it back: 10 min into the stillness.
    assert tracker.stay is not None and tracker.stay.onset_s == 5100.0 + 10 * MIN
    # Asleep 95 + 15 min .. 5000 s, then from 5100 + 10 min on.
    asleep = tracker.asleep_s(8000.0)
    assert asleep == pytest.approx((5000.0 - 95.0 - 15 * MIN) + (8000.0 - 5100.0 - 10 * MIN))


def test_back_in_bed_a_turn_six_minutes_into_the_stillness_is_one_in_sleep() -> None:
    tracker = in_bed_at()
    tracker.advance(100.0 + 40 * MIN)
    tracker.end(5000.0)
    tracker.begin(5100.0, 5095.0)
    tracker.movement("posture_change", 5200.0, 5210.0)  # settling back in: awake
    # A restless sleeper turns over every few minutes.
    for k in range(1, 5):
        at_s = 5210.0 + k * 6 * MIN
        tracker.movement("posture_change", at_s, at_s + 10.0)
    tracker.advance(5210.0 + 40 * MIN)
    assert tracker.stay is not None and tracker.stay.onset_s == 5210.0 + 10 * MIN


def test_a_periodic_limb_movement_series_means_asleep() -> None:
    tracker = in_bed_at()
    tracker.series(400.0, now_s=500.0)
    assert tracker.first_onset_s == 400.0


def test_periodic_limb_movements_count_once_the_onset_is_known() -> None:
    tracker = in_bed_at()
    for t in (300.0, 1500.0, 1600.0):
        tracker.count_if_asleep(t)
    assert tracker.counted_asleep == 0
    tracker.advance(100.0 + 40 * MIN)  # onset 95 s + 15 min = 995 s
    assert tracker.counted_asleep == 2
    tracker.count_if_asleep(3000.0)
    assert tracker.counted_asleep == 3


def test_out_of_bed_nothing_is_a_sleep_start() -> None:
    tracker = SleepTracker()
    assert not tracker.jerk(100.0)
    assert tracker.asleep_s(200.0) is None


def _breathe(tracker: SleepTracker, lo_s: float, hi_s: float, irregular: float,
             wobble: float = 0.2) -> None:
    """One breathing estimate a minute, its irregularity wobbling by ``wobble`` (relative)."""
    for i, t in enumerate(range(int(lo_s), int(hi_s), 60)):
        tracker.breathing(float(t), irregular * (1.0 + wobble * ((i % 3) - 1)))
        tracker.advance(float(t))


@pytest.mark.parametrize("awake_min", [35, 45])
def test_onset_is_where_the_breathing_settled_in_the_stillness(awake_min: int) -> None:
    # Lying awake and still from getting in: stillness alone would say 15 min in bed. The
    # breathing stayed irregular (several hundredths off steady) until 35 min in, or 45 (past
    # the 40 still minutes when no sleep start can come any more), then settled.
    tracker = in_bed_at()
    _breathe(tracker, 100.0, 100.0 + awake_min * MIN, 0.06)
    _breathe(tracker, 100.0 + awake_min * MIN, 100.0 + 70 * MIN, 0.01)
    assert tracker.first_onset_s is not None
    settled = 100.0 + awake_min * MIN  # the first estimate of steady breathing
    assert tracker.first_onset_s == settled - 2 * MIN


@pytest.mark.parametrize("late", [0.06, 0.03])
def test_breathing_that_never_settles_leaves_the_onset_to_stillness(late: float) -> None:
    # The same throughout, or merely a little steadier later: no sign of when sleep came.
    tracker = in_bed_at()
    _breathe(tracker, 100.0, 100.0 + 35 * MIN, 0.06)
    _breathe(tracker, 100.0 + 35 * MIN, 100.0 + 60 * MIN, late)
    assert tracker.first_onset_s == 95.0 + 15 * MIN
    # ... decided once the breathing has had a quarter of an hour more to settle.
    tracker = in_bed_at()
    _breathe(tracker, 100.0, 100.0 + 55 * MIN - 1.0, 0.06)
    assert tracker.first_onset_s is None
    _breathe(tracker, 100.0 + 55 * MIN, 100.0 + 56 * MIN, 0.06)
    assert tracker.first_onset_s == 95.0 + 15 * MIN


def test_irregularity_is_the_autocorrelation_shortfall_undone_of_noise() -> None:
    # Swinging 21 times the noise's power, noise alone takes a twentieth off the peak.
    assert irregularity(Breath(15.0, 0.95 * 20.0 / 21.0, 21.0)) == pytest.approx(0.05)
    assert irregularity(Breath(15.0, 1.0, 50.0)) == IRREGULARITY_FLOOR
    # Too faint against the noise to tell, or no rate at all: no measure.
    assert irregularity(Breath(15.0, 0.7, 5.0)) is None
    assert irregularity(Breath(None, 0.0, 40.0)) is None


def test_the_settling_log_keeps_a_bounded_number_of_epochs() -> None:
    log = SettlingLog()
    for i in range(3 * KEPT_EPOCHS):
        log.add(60.0 * i, 0.06 if i < 2 * KEPT_EPOCHS + 100 else 0.01)
    assert len(log) == KEPT_EPOCHS
    # The latest epochs are the ones kept, so the step is still found.
    assert log.settled_s(0.0) == 60.0 * (2 * KEPT_EPOCHS + 100)


def test_jerks_minutes_after_the_breathing_settled_are_in_sleep() -> None:
    # Two sleep starts, then breathing settles; sporadic jerks every 4 min afterwards would
    # otherwise keep the transition open (each within 5 min of the one before) and pull the
    # onset 20 min late.
    tracker = in_bed_at()
    _breathe(tracker, 100.0, 100.0 + 20 * MIN, 0.06)
    assert tracker.jerk(100.0 + 19 * MIN) and tracker.jerk(100.0 + 20 * MIN)
    _breathe(tracker, 100.0 + 20 * MIN, 100.0 + 29 * MIN, 0.01)
    assert tracker.first_onset_s is None  # the cluster may still grow
    flags = [tracker.jerk(100.0 + m * MIN) for m in (29, 33, 37, 41)]
    assert flags == [False] * 4
    assert tracker.first_onset_s == 100.0 + 18 * MIN
