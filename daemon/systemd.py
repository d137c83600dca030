"""systemd integration: readiness, status and watchdog (sd_notify), and journald logging.

Outside systemd (no ``NOTIFY_SOCKET``, no ``INVOCATION_ID``) everything here does nothing, so
``hypnic run`` in a terminal behaves as before.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from hypnic.daemon.logsetup import limit_repeats

log = logging.getLogger("hypnic")

def under_systemd(env: Mapping[str, str] | None = None) -> bool:
    """True when started by systemd (as a service, its output going to the journal)."""
    env = os.environ if env is None else env
    return bool(env.get("INVOCATION_ID") or env.get("JOURNAL_STREAM"))


def _sd_notify() -> Callable[[str], Any] | None:
    try:
        from systemd import daemon
    except ImportError:  # not on Linux, or systemd-python missing: nothing to tell
        return None
    notify: Callable[[str], Any] = daemon.notify
    return notify


class Notifier:
    """Tells systemd how the daemon is doing. The watchdog is pinged from the processing loop
    (``watchdog`` is called once per Block), never from a side thread: a stalled loop stops
    the pings and systemd restarts the service."""

    def __init__(
        self, env: Mapping[str, str] | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        env = os.environ if env is None else env
        self._send_fn = _sd_notify() if env.get("NOTIFY_SOCKET") else None
        usec = int(env.get("WATCHDOG_USEC", "0") or 0)
        pid = env.get("WATCHDOG_PID")
        if pid and int(pid) != os.getpid():
            usec = 0  # the watchdog is someone else's
        # Ping at half the timeout, as sd_watchdog_enabled(3) advises.
        self.watchdog_interval_s = usec / 2e6 if usec else None
        self._clock = clock
        self._last_ping_s = -float("inf")
        self._status: str | None = None
        self.ready_sent = False

    @property
    def enabled(self) -> bool:
        return self._send_fn is not None

    def _send(self, message: str) -> None:
        if self._send_fn is not None:
            self._send_fn(message)

    def ready(self, status: str) -> None:
        if not self.ready_sent:
            self.ready_sent = True
            self._status = status
            self._send(f"READY=1\nSTATUS={status}")

    def status(self, text: str) -> None:
        if text != self._status:
            self._status = text
            self._send(f"STATUS={text}")

    def watchdog(self) -> None:
        if self.watchdog_interval_s is None:
            return
        now = self._clock()
        if now - self._last_ping_s >= self.watchdog_interval_s:
            self._last_ping_s = now
            self._send("WATCHDOG=1")

    def reloading(self) -> None:
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self._send(f"RELOADING=1\nMONOTONIC_USEC={usec}")

    def reloaded(self) -> None:
        self._send("READY=1")

    def stopping(self) -> None:
        self._send("STOPPING=1")


def setup_journal_logging(level: str) -> bool:
    """Send log records to journald with their fields; False if systemd-python is missing.

    Extra fields given to a log call (``extra={"HYPNIC_EVENT": "jerk"}``) become journal
    fields, so ``journalctl -u hypnic HYPNIC_EVENT=jerk`` lists jerks. A fault that repeats
    is logged a few times a minute, then counted (hypnic.daemon.logsetup)."""
    try:
        from systemd.journal import JournalHandler
    except ImportError:
        return False
    handler = limit_repeats(JournalHandler(SYSLOG_IDENTIFIER="hypnic"))
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    return True
