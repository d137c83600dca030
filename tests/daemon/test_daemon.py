"""`hypnic run` as a person or systemd runs it: a real process, real signals, a real SQLite log."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hypnic.daemon.store import EventStore

EVENT_LINE = re.compile(r"INFO\s+(jerk|limb_movement|posture_change|bed_entry|bed_exit)\s+(\d\d:\d\d:\d\d\.\d{3})")


class Daemon:
    """A `hypnic run` child whose log lines can be awaited one by one."""

    def __init__(self, tmp_path: Path, *args: str, config: Path | None = None) -> None:
        cmd = [sys.executable, "-m", "hypnic.daemon", "run", "--sensor", "sim",
               "--data-dir", str(tmp_path / "data"), *args]
        if config is not None:
            cmd += ["--config", str(config)]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        self.lines: list[str] = []

    def wait_for(self, pattern: str, timeout_s: float = 30.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            m = re.search(pattern, line)
            if m:
                return m
        raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(self.lines)}")

    def finish(self, timeout_s: float = 10.0) -> str:
        out, _ = self.proc.communicate(timeout=timeout_s)
        self.lines.append(out)
        return "".join(self.lines)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for d in started:
        d.kill()


def event_lines(text: str) -> list[tuple[str, str]]:
    return EVENT_LINE.findall(text)


def test_run_logs_events_to_console_and_sqlite(tmp_path: Path, daemons: list[Daemon]) -> None:
    d = Daemon(tmp_path, "--speed", "0", "--duration", "1200")
    daemons.append(d)
    output = d.finish(timeout_s=60)
    assert d.proc.returncode == 0, output
    printed = event_lines(output)
    assert any(kind == "jerk" for kind, _ in printed), output
    with EventStore.open(tmp_path / "data", read_only=True) as store:
        stored = store.events()
        assert len(stored) == len(printed)
        assert [e.type for e in stored] == [kind for kind, _ in printed]
        # Run across the night boundary (noon), the 20 minutes fall in two nights.
        nights = store.nights()
        assert sum(n.monitored_s for n in nights) >= 1199
        assert sum(n.counts.get("jerk", 0) for n in nights) == sum(
            kind == "jerk" for kind, _ in printed)


def test_sigterm_stops_cleanly_and_keeps_the_log(tmp_path: Path, daemons: list[Daemon]) -> None:
    d = Daemon(tmp_path, "--speed", "60")
    daemons.append(d)
    d.wait_for(r"monitoring simulated night")
    time.sleep(1.0)
    sent = time.monotonic()
    d.proc.send_signal(signal.SIGTERM)
    output = d.finish(timeout_s=10)
    assert time.monotonic() - sent < 5.0
    assert d.proc.returncode == 0, output
    assert "stopping on SIGTERM" in output and "stopped cleanly" in output
    with EventStore.open(tmp_path / "data", read_only=True) as store:
        night = store.last_night()
        assert night is not None
        row = store.night(night)
        # The night row was flushed on the way out: it covers the minute-or-so simulated so far.
        assert row is not None and row.monitored_s > 30


def test_kill_9_mid_night_loses_no_logged_event(tmp_path: Path, daemons: list[Daemon]) -> None:
    d = Daemon(tmp_path, "--speed", "300")
    daemons.append(d)
    for _ in range(3):
        d.wait_for(EVENT_LINE.pattern, timeout_s=60)
    os.kill(d.proc.pid, signal.SIGKILL)
    d.proc.wait()
    printed = event_lines("".join(d.lines))
    db = tmp_path / "data" / "hypnic.sqlite3"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with EventStore.open(tmp_path / "data") as store:  # reopens for writing, as a restart would
        stored = store.events()
    # Every event the daemon announced had been committed before it was announced.
    assert [e.type for e in stored[: len(printed)]] == [kind for kind, _ in printed]
    assert len(stored) >= len(printed) >= 3


def test_sighup_rereads_the_config_and_survives_a_bad_one(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    config = tmp_path / "hypnic.toml"
    config.write_text("[detection]\nsensitivity = 5\n")
    d = Daemon(tmp_path, "--speed", "30", config=config)
    daemons.append(d)
    d.wait_for(r"monitoring simulated night")
    config.write_text("[detection]\nsensitivity = 9\n")
    d.proc.send_signal(signal.SIGHUP)
    d.wait_for(r"configuration reloaded: sensitivity 9")
    config.write_text("[detection]\nsensitivity = 99\n")
    d.proc.send_signal(signal.SIGHUP)
    m = d.wait_for(r"configuration not reloaded.*")
    assert "detection.sensitivity: expected an integer 1-10, got 99" in m.group(0)
    d.proc.send_signal(signal.SIGTERM)
    assert "stopped cleanly" in d.finish()
    assert d.proc.returncode == 0


def test_events_command_lists_what_run_logged(tmp_path: Path, daemons: list[Daemon]) -> None:
    d = Daemon(tmp_path, "--speed", "0", "--duration", "900")
    daemons.append(d)
    d.finish(timeout_s=60)
    listed = subprocess.run(
        [sys.executable, "-m", "hypnic.daemon", "events", "--data-dir", str(tmp_path / "data"),
         "--night", "last"],
        capture_output=True, text=True, check=True,
    ).stdout
    with EventStore.open(tmp_path / "data", read_only=True) as store:
        assert store.events()
        # Run across the night boundary (noon), the run falls in two nights: "last" is the
        # second, which may hold none of the events.
        last = store.last_night()
        stored = [e for e in store.events() if e.night == last]
    assert len(listed.strip().splitlines()) == max(1, len(stored))
    assert all(e.type in listed for e in stored) and (stored or "no events" in listed)
