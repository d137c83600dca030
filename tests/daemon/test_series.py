"""Periodic series (AASM / WASM) counted as the movements come, and jerk clusters."""

from __future__ import annotations

import pytest

from hypnic.daemon.detect.series import ClusterCounter, SeriesTracker


def feed(tracker: SeriesTracker, onsets: list[float]) -> list[int | None]:
    return [tracker.add(t, t + 1.0)[0] for t in onsets]


def test_four_movements_5_to_90_s_apart_make_a_series_from_the_fourth() -> None:
    tracker = SeriesTracker("aasm")
    ids = feed(tracker, [0.0, 20.0, 45.0, 70.0, 95.0, 300.0])
    assert ids == [None, None, None, 1, 1, None]
    assert tracker.listed() == [{"id": 1, "start_s": 0.0, "end_s": 96.0, "count": 5}]


def test_three_are_not_a_series_and_a_long_pause_ends_one() -> None:
    tracker = SeriesTracker("aasm")
    ids = feed(tracker, [0.0, 20.0, 40.0, 200.0, 220.0, 240.0, 260.0, 280.0, 500.0])
    assert ids == [None, None, None, None, None, None, 1, 1, None]
    assert [s["count"] for s in tracker.listed()] == [5]


def test_the_fourth_movement_reports_the_three_before_it_as_members() -> None:
    tracker = SeriesTracker("aasm")
    for t in (0.0, 30.0, 60.0):
        assert tracker.add(t, t + 1)[1] == []
    assert tracker.add(90.0, 91.0) == (1, [0.0, 30.0, 60.0, 90.0])
    assert tracker.add(120.0, 121.0) == (1, [120.0])


def test_the_run_so_far_is_known_until_it_becomes_a_series() -> None:
    tracker = SeriesTracker("aasm")
    assert tracker.run_onsets == () and tracker.last_onset_s is None
    feed(tracker, [0.0, 30.0, 200.0, 230.0])
    assert tracker.run_onsets == (200.0, 230.0) and tracker.last_onset_s == 230.0
    feed(tracker, [260.0, 290.0])
    assert tracker.run_onsets == () and tracker.last_onset_s == 290.0


@pytest.mark.parametrize(("rule", "expected"), [("aasm", [None, None, None, 1]),
                                                ("wasm", [None, None, None, None])])
def test_wasm_needs_10_s_between_onsets(rule: str, expected: list[int | None]) -> None:
    # 8 s apart: periodic under AASM (5-90 s), too close under WASM (10-90 s).
    assert feed(SeriesTracker(rule), [0.0, 8.0, 16.0, 24.0]) == expected


def test_an_interval_too_short_breaks_the_run() -> None:
    tracker = SeriesTracker("aasm")
    ids = feed(tracker, [0.0, 20.0, 22.0, 42.0, 62.0, 82.0])
    # 2 s after the one before: the run starts again from there.
    assert ids == [None, None, None, None, None, 1]
    assert tracker.listed()[0]["start_s"] == 20.0 + 2.0


def test_a_movement_found_late_on_a_series_beat_joins_it() -> None:
    tracker = SeriesTracker()
    for onset_s in (100.0, 150.0, 175.0, 200.0):
        series, _ = tracker.add(onset_s, onset_s + 1.0)
    assert series is not None
    assert tracker.take_in(series, 75.0)  # before its first: the series starts there
    assert tracker.take_in(series, 125.0)  # in a gap: one more
    assert tracker.listed() == [{"id": series, "start_s": 75.0, "end_s": 201.0, "count": 6}]
    assert not tracker.take_in(series, 230.0)  # not after its latest
    assert not tracker.take_in(series + 1, 50.0)  # no such series
    tracker.add(400.0, 401.0)  # a long pause ends the series
    assert not tracker.take_in(series, 50.0)


def test_unknown_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="aasm"):
        SeriesTracker("icsd")


def test_clusters_need_three_jerks_each_close_to_the_one_before() -> None:
    counter = ClusterCounter(gap_s=300.0, min_count=3)
    for t in (0.0, 100.0, 250.0, 260.0, 1000.0, 1200.0, 3000.0, 3100.0, 3200.0):
        counter.add(t)
    assert counter.clusters == 2
