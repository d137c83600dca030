"""The daemon builds this person's baseline from the recent nights in its log."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from hypnic.daemon.detect.baseline import MIN_NIGHTS
from hypnic.daemon.events import Event
from hypnic.daemon.run import recent_baseline
from hypnic.daemon.store import EventStore, night_of


def test_baseline_from_recent_nights_but_not_tonight(tmp_path: Path) -> None:
    with EventStore.open(tmp_path) as log:
        assert recent_baseline(log, "12:00") is None  # a new log: no baseline yet
        now = datetime.now().replace(hour=23, minute=0, second=0, microsecond=0)
        for days_ago in range(MIN_NIGHTS + 1):  # days_ago 0 may be tonight: left out
            start = (now - timedelta(days=days_ago)).timestamp()
            night = night_of(start, "12:00")
            for k, peak in enumerate((0.02, 0.04)):
                log.add_event(Event("jerk", 0, 0.3, peak, 1.0, 5.0), start + 60 * k, night)
            log.update_night(night, first_seen=start, last_seen=start + 7200,
                             monitored_s=7200, lost_samples=0, sensor="test")
        baseline = recent_baseline(log, "12:00")
    assert baseline is not None
    assert baseline.nights >= MIN_NIGHTS
    assert baseline.jerk_peak_g is not None and 0.02 <= baseline.jerk_peak_g <= 0.04
