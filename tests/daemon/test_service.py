"""The run loop: a failing sink degrades alone, and every event it lost is reported."""

from __future__ import annotations

import logging

import pytest

from hypnic.daemon.config import GpioConfig, SensorConfig
from hypnic.daemon.detect import Detector
from hypnic.daemon.detect.baseline import Baseline
from hypnic.daemon.events import Event
from hypnic.daemon.sensors import open_sensor
from hypnic.daemon.service import Service, Signals


class Collecting:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.closed = False

    def on_event(self, event: Event, onset_wall: float) -> None:
        self.events.append(event)

    def on_samples(self, first_wall: float, last_wall: float, covered_s: float, lost: int) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class DiskFull(Collecting):
    def on_event(self, event: Event, onset_wall: float) -> None:
        raise OSError(28, "No space left on device")


def test_a_failing_sink_loses_nothing_elsewhere_and_names_every_lost_event(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sensor = open_sensor(SensorConfig(type="sim", sim_speed=0), GpioConfig())
    good, full = Collecting(), DiskFull()
    service = Service(sensor, Detector(), [full, good], max_duration_s=900)
    with caplog.at_level(logging.ERROR, logger="hypnic"):
        service.run(Signals())
    assert good.events and good.closed and full.closed
    assert service.unsaved == {"DiskFull": len(good.events)}
    lost_lines = [r for r in caplog.records if "did not take" in r.getMessage()]
    assert len(lost_lines) == len(good.events)
    assert any(f"{len(good.events)} events could not be passed to DiskFull" in r.getMessage()
               for r in caplog.records)


def test_at_the_night_boundary_the_detector_starts_a_new_night_with_a_fresh_baseline() -> None:
    sensor = open_sensor(SensorConfig(type="sim", sim_speed=0), GpioConfig())
    wall0 = sensor.wall_time_at_zero or 0.0
    asked: list[int] = []

    def baseline() -> Baseline:
        asked.append(1)
        return Baseline(nights=7, jerk_peak_g=0.01, jerks_per_hour=2.0)

    sink = Collecting()
    service = Service(sensor, Detector(), [sink], max_duration_s=300,
                      night_of=lambda wall: "one" if wall < wall0 + 200 else "two",
                      baseline=baseline)
    service.run(Signals())
    late = [e for e in sink.events if e.onset_s >= 200]
    early = [e for e in sink.events if e.onset_s < 190]
    assert early and late
    assert asked == [1]  # once, at the change
    assert service.detector.settings.baseline == baseline()
    counts = service.detector.night.counts
    assert sum(counts.values()) <= len(sink.events) - len(early)
    assert "tonight" in service._status_line()
