"""Clocks a driver can run on: the real monotonic clock, or a simulated one.

A driver never calls ``time`` directly; it is handed a Clock. On a Pi that is
``SystemClock``. With an emulated chip it is a ``VirtualClock`` (time moves only when the
driver sleeps, so a night runs as fast as the CPU allows and tests are deterministic) or a
``PacedClock`` (the same, held to ``speed`` times real time, for demos).
Emulated chips subscribe to a simulated clock to produce samples, raise interrupt lines and
fill their FIFOs as time advances.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Clock:
    """Monotonic seconds and a way to wait. Subclasses say where the time comes from."""

    #: True when time passes on its own (a real or scaled clock): waiting on an interrupt
    #: line may then block in gpiozero instead of stepping the clock.
    runs_by_itself = True

    def __init__(self) -> None:
        self._listeners: list[Callable[[float], None]] = []

    def monotonic(self) -> float:
        raise NotImplementedError

    def sleep(self, seconds: float) -> None:
        raise NotImplementedError

    def on_advance(self, listener: Callable[[float], None]) -> None:
        """Call ``listener(now)`` whenever this clock has moved (emulated chips use it)."""
        self._listeners.append(listener)

    def _advanced(self) -> None:
        now = self.monotonic()
        for listener in self._listeners:
            listener(now)


class SystemClock(Clock):
    """The real monotonic clock: immune to the system clock being set or stepped by NTP."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock(Clock):
    """Time that moves only when someone sleeps: as fast as the CPU allows."""

    runs_by_itself = False

    def __init__(self, start_s: float = 0.0) -> None:
        super().__init__()
        self.now_s = start_s

    def monotonic(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        self.now_s += max(seconds, 0.0)
        self._advanced()


class PacedClock(VirtualClock):
    """Simulated time that moves only when someone sleeps, held to at most ``speed`` times
    real time. Like a VirtualClock, nothing happens between sleeps, so an emulated chip never
    overflows because the host was busy; unlike one, a demo runs at a watchable pace."""

    def __init__(self, speed: float, start_s: float = 0.0) -> None:
        super().__init__(start_s)
        self.speed = speed
        self._start_s = start_s
        self._real0 = time.monotonic()

    def sleep(self, seconds: float) -> None:
        self.now_s += max(seconds, 0.0)
        # Wait for real time to catch up, in short slices so a stop request is seen quickly.
        due = self._real0 + (self.now_s - self._start_s) / self.speed
        while (left := due - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))
        self._advanced()
