"""sd_notify messages, read from a real NOTIFY_SOCKET datagram socket the test opens."""

from __future__ import annotations

import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hypnic.daemon.config import GpioConfig, SensorConfig
from hypnic.daemon.detect import Detector
from hypnic.daemon.events import Event
from hypnic.daemon.sensors import open_sensor
from hypnic.daemon.service import Service, Signals
from hypnic.daemon.sinks import ConsoleSink
from hypnic.daemon.systemd import Notifier


class NotifySocket:
    """A datagram socket standing in for systemd's; records each message and when it came."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.received: list[tuple[float, str]] = []
        self._stop = False
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.received.append((time.monotonic(), data.decode()))

    def wait_for(self, text: str, timeout_s: float = 30.0) -> str:
        deadline = time.monotonic() + timeout_s
        seen = 0
        while time.monotonic() < deadline:
            for _, message in self.received[seen:]:
                seen += 1
                if text in message:
                    return message
            time.sleep(0.02)
        raise AssertionError(f"no {text!r} in {[m for _, m in self.received][:20]}")

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        self.sock.close()


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify")
    yield sock
    sock.close()


def test_daemon_tells_systemd_ready_watchdog_reload_and_stop(
    tmp_path: Path, notify: NotifySocket
) -> None:
    env = {**os.environ, "NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "400000"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hypnic.daemon", "run", "--sensor", "sim", "--speed", "30",
         "--data-dir", str(tmp_path / "data")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        ready = notify.wait_for("READY=1")
        assert "STATUS=monitoring simulated night" in ready
        time.sleep(1.5)
        pings = [t for t, m in notify.received if m == "WATCHDOG=1"]
        assert len(pings) >= 4  # every 0.2 s: half the 0.4 s watchdog
        proc.send_signal(signal.SIGHUP)
        notify.wait_for("RELOADING=1")
        after = len(notify.received)
        notify.wait_for("READY=1")
        assert any("READY=1" in m for _, m in notify.received[after - 1 :])
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        notify.wait_for("STOPPING=1")
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - sent < 5.0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class StallOnce:
    """A sink that blocks the loop once, as a hung disk write would."""

    def __init__(self) -> None:
        self.calls = 0

    def on_event(self, event: Event, onset_wall: float) -> None:
        pass

    def on_samples(self, first_wall: float, last_wall: float, covered_s: float, lost: int) -> None:
        self.calls += 1
        if self.calls == 200:
            time.sleep(1.0)

    def close(self) -> None:
        pass


def test_a_stalled_loop_stops_the_watchdog_pings(
    notify: NotifySocket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify.path))
    notifier = Notifier(env={"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "100000"})
    sensor = open_sensor(SensorConfig(type="sim", sim_speed=0), GpioConfig())
    Service(sensor, Detector(), [StallOnce()], max_duration_s=600,
            notifier=notifier).run(Signals())
    time.sleep(0.3)
    pings = [t for t, m in notify.received if m == "WATCHDOG=1"]
    gaps = sorted(b - a for a, b in itertools.pairwise(pings))
    assert len(pings) > 10
    # While the loop was stuck no ping went out; otherwise they came every 0.05 s.
    assert gaps[-1] >= 0.9
    assert gaps[len(gaps) // 2] < 0.2


def test_events_carry_journal_fields(caplog: pytest.LogCaptureFixture) -> None:
    event = Event("jerk", 10.0, 10.3, 0.052, 2.7, 5.7, sleep_onset=True)
    with caplog.at_level(logging.INFO, logger="hypnic"):
        ConsoleSink().on_event(event, 1_800_000_000.0)
    record = caplog.records[-1]
    assert record.HYPNIC_EVENT == "jerk"  # type: ignore[attr-defined]
    assert record.HYPNIC_PEAK_G == "0.05200"  # type: ignore[attr-defined]
    assert record.HYPNIC_INTENSITY == "5.70"  # type: ignore[attr-defined]
    assert record.HYPNIC_SLEEP_ONSET == 1  # type: ignore[attr-defined]
    assert record.HYPNIC_ONSET.startswith("20")  # type: ignore[attr-defined]


def test_outside_systemd_nothing_is_sent(notify: NotifySocket) -> None:
    notifier = Notifier(env={})
    notifier.ready("x")
    notifier.watchdog()
    notifier.stopping()
    time.sleep(0.3)
    assert not notifier.enabled and notify.received == []
