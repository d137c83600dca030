"""StoreSink keeps each night's summary row right across the boundary and across restarts."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path

import pytest

from hypnic.daemon.events import Event
from hypnic.daemon.sinks import NIGHT_MESSAGE_ID, ConsoleSink, StoreSink
from hypnic.daemon.status import Status
from hypnic.daemon.store import EventStore
from hypnic.drivers.base import SensorHealth


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def wall(text: str) -> float:
    return datetime.fromisoformat(text + "+00:00").timestamp()


def feed(sink: StoreSink, start: str, seconds: int) -> None:
    t0 = wall(start)
    for i in range(seconds):
        sink.on_samples(t0 + i, t0 + i + 0.995, 1.0, 0)


def test_rows_split_at_the_boundary_and_continue_after_a_restart(tmp_path: Path) -> None:
    sink = StoreSink(EventStore.open(tmp_path), "test", "12:00")
    feed(sink, "2027-01-15T11:59:00", 120)  # a minute each side of noon
    sink.close()
    # A restart later the same night carries the totals on.
    sink = StoreSink(EventStore.open(tmp_path), "test", "12:00")
    feed(sink, "2027-01-15T23:00:00", 30)
    sink.close()
    with EventStore.open(tmp_path, read_only=True) as store:
        before, after = store.night("2027-01-14"), store.night("2027-01-15")
    assert before is not None and before.monitored_s == pytest.approx(60.0)
    assert after is not None and after.monitored_s == pytest.approx(90.0)
    assert after.first_seen == wall("2027-01-15T12:00:00")


def test_one_summary_line_per_finished_night(caplog: pytest.LogCaptureFixture) -> None:
    sink = ConsoleSink("12:00")
    with caplog.at_level(logging.INFO, logger="hypnic"):
        feed_console = wall("2027-01-15T11:00:00")
        for i in range(7200):  # 11:00 to 13:00: the night of the 14th ends at noon
            sink.on_samples(feed_console + i, feed_console + i + 0.995, 1.0, 0)
            if i in (10, 20, 30):
                sink.on_event(Event("jerk", 0.0, 0.2, 0.05, 3.0, 5.7), feed_console + i)
        sink.close()
    nights = [r for r in caplog.records if getattr(r, "MESSAGE_ID", None) == NIGHT_MESSAGE_ID]
    assert len(nights) == 1
    record = nights[0]
    assert record.HYPNIC_NIGHT == "2027-01-14"  # type: ignore[attr-defined]
    assert record.HYPNIC_COUNT_JERK == 3  # type: ignore[attr-defined]
    assert record.HYPNIC_MONITORED_S == "3600"  # type: ignore[attr-defined]
    assert record.getMessage() == "night 2027-01-14: 3 jerk in 1.0 h monitored"


def status_at(wall_at_zero: float, figures: dict) -> Status:
    return Status(wall=wall_at_zero + 100.0, wall_at_zero=wall_at_zero,
                  health=SensorHealth("TEST", 200.0), figures=figures, paused=False, sensitivity=5,
                  uptime_s=100.0)


def test_a_restart_within_the_night_keeps_the_earlier_runs_figures(tmp_path: Path) -> None:
    """The detector starts afresh after a restart; what it knew of the night before (the
    sleep onset, the time in bed) stays in the log beside the new run's figures."""
    start = wall("2027-01-15T22:00:00")
    sink = StoreSink(EventStore.open(tmp_path), "test", "12:00")
    sink.on_status(status_at(start, {"sleep_onset_s": 1200.0, "time_in_bed_s": 3000.0}))
    feed(sink, "2027-01-15T22:00:00", 30)
    sink.close()
    restart = wall("2027-01-16T01:00:00")
    sink = StoreSink(EventStore.open(tmp_path), "test", "12:00")
    feed(sink, "2027-01-16T01:00:00", 10)
    sink.close()  # no figures yet from the new run: the stored ones are kept as they were
    with EventStore.open(tmp_path, read_only=True) as store:
        row = store.night("2027-01-15")
    assert row is not None and row.figures["sleep_onset_wall"] == start + 1200.0
    sink = StoreSink(EventStore.open(tmp_path), "test", "12:00")
    sink.on_status(status_at(restart, {"sleep_onset_s": None, "time_in_bed_s": 600.0}))
    feed(sink, "2027-01-16T01:00:10", 10)
    sink.close()
    with EventStore.open(tmp_path, read_only=True) as store:
        row = store.night("2027-01-15")
    assert row is not None
    assert row.figures["time_in_bed_s"] == 600.0 and row.figures["sleep_onset_wall"] is None
    (earlier,) = row.figures["earlier_runs"]
    assert earlier["sleep_onset_wall"] == start + 1200.0 and earlier["time_in_bed_s"] == 3000.0
