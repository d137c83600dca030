"""The outbox, settings and pauses of the event log (schema v3)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from hypnic.daemon.events import Event
from hypnic.daemon.schema import MIGRATIONS
from hypnic.daemon.store import EventStore, StoreError

T0 = 1_795_000_000.0
NIGHT = "2026-11-18"


def ev(onset_s: float, series: int | None = None, intense: bool = False) -> Event:
    return Event("jerk", onset_s, onset_s + 0.25, 0.05, 3.0, 5.67, series=series, intense=intense)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with EventStore.open(tmp_path) as s:
        yield s


def test_outbox_holds_only_queued_events_in_detection_order(store: EventStore) -> None:
    first = store.add_event(ev(5), T0 + 5, NIGHT, outbox=True)
    store.add_event(ev(3), T0 + 3, NIGHT)  # logged while MQTT was off: never queued
    second = store.add_event(ev(1), T0 + 1, NIGHT, outbox=True)
    assert [e.id for e in store.unpublished()] == [first, second]
    assert [e.id for e in store.unpublished(after_id=first)] == [second]
    assert [e.id for e in store.unpublished(limit=1)] == [first]
    store.mark_published([first])
    assert [e.id for e in store.unpublished()] == [second]
    assert store.outbox_size() == 1
    assert len(store.events()) == 3  # publishing never removes an event from the log


def test_outbox_survives_reopening(tmp_path: Path) -> None:
    with EventStore.open(tmp_path) as s:
        eid = s.add_event(ev(1, series=2, intense=True), T0, NIGHT, outbox=True)
    with EventStore.open(tmp_path) as s:
        [e] = s.unpublished()
        assert (e.id, e.series, e.intense) == (eid, 2, True)


def test_a_failed_event_write_queues_nothing(store: EventStore) -> None:
    with pytest.raises(ValueError):
        store.add_event(ev(1), T0, "not a night", outbox=True)
    assert store.outbox_size() == 0 and store.events() == []


def test_settings_round_trip_and_removal(store: EventStore) -> None:
    assert store.setting("sensitivity") is None
    store.save_setting("sensitivity", "7")
    store.save_setting("sensitivity", "8")
    assert store.setting("sensitivity") == "8"
    store.save_setting("sensitivity", None)
    assert store.setting("sensitivity") is None


def test_pauses_are_recorded_and_counted(store: EventStore) -> None:
    assert store.open_pause() is None
    store.start_pause(T0 + 100)
    store.start_pause(T0 + 150)  # already paused: the first start stands
    assert store.open_pause() == T0 + 100
    assert store.paused_s(T0, T0 + 200) == pytest.approx(100)  # open: counts up to the end
    assert store.end_pause(T0 + 400) == pytest.approx(300)
    assert store.end_pause(T0 + 500) == 0.0
    assert store.open_pause() is None
    assert store.paused_s(T0, T0 + 1000) == pytest.approx(300)
    assert store.paused_s(T0 + 300, T0 + 1000) == pytest.approx(100)  # clipped to the window
    assert store.paused_s(T0 + 500, T0 + 1000) == 0.0


def test_v2_log_gains_the_outbox_keeping_its_events(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "hypnic.sqlite3")
    for script in MIGRATIONS[:2]:
        conn.executescript(script)
    conn.execute("PRAGMA user_version = 2")
    conn.execute(
        "INSERT INTO events (night, type, onset_wall, duration_s, peak_g, peak_jerk_g_s,"
        " intensity, sleep_onset, created_at) VALUES (?, 'jerk', ?, 0.2, 0.05, 3, 5, 0, ?)",
        (NIGHT, T0, T0),
    )
    conn.commit()
    conn.close()
    with EventStore.open(tmp_path) as s:
        [old] = s.events()
        assert (old.series, old.intense) == (None, False)
        # Events from before MQTT existed are not suddenly published.
        assert s.unpublished() == []


def test_closed_store_refuses_outbox_work(tmp_path: Path) -> None:
    s = EventStore.open(tmp_path)
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.unpublished()
