"""StoreSink keeps each night's summary row right across the boundary and across restarts."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest

from hypnic.daemon.sinks import StoreSink
from hypnic.daemon.store import EventStore


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
