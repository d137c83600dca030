"""Waiting for the chip to have data: on its interrupt line, or by the clock.

With the interrupt pin wired (``gpio.int_pin``), the driver waits on it through gpiozero and
reads the FIFO as soon as the watermark is reached. Without it, the driver sleeps for the time
the FIFO takes to reach the watermark and then reads whatever is there: the same data, a few
milliseconds later on average, and a few more wake-ups.
"""

from __future__ import annotations

from typing import Any, Protocol

from gpiozero import DigitalInputDevice

from hypnic.drivers.timebase import Clock

#: A simulated clock is stepped in this fraction of the wait's timeout while watching a line.
SIMULATED_STEPS_PER_TIMEOUT = 16


class DataWaiter(Protocol):
    def wait(self, timeout_s: float) -> bool:
        """Return True when data is (probably) ready, False on timeout."""
        ...

    def close(self) -> None: ...


class PollingWaiter:
    """No interrupt line: sleep until the FIFO should have reached the watermark."""

    description = "polling"

    def __init__(self, clock: Clock, period_s: float) -> None:
        self.clock = clock
        self.period_s = period_s

    def wait(self, timeout_s: float) -> bool:
        self.clock.sleep(min(self.period_s, timeout_s))
        return True

    def close(self) -> None:
        pass


class PinWaiter:
    """Wait on the chip's interrupt line through gpiozero (any pin factory, mock included)."""

    def __init__(
        self, clock: Clock, pin: int, active_high: bool = True, pin_factory: Any = None
    ) -> None:
        self.clock = clock
        self.pin = pin
        self.device = DigitalInputDevice(
            pin, pull_up=None, active_state=active_high, pin_factory=pin_factory
        )
        self.description = f"interrupt on GPIO{pin}"
        self.edges_seen = 0

    def wait(self, timeout_s: float) -> bool:
        if self.clock.runs_by_itself:
            ready = bool(self.device.wait_for_active(timeout=timeout_s))
        else:
            # A simulated clock only moves when stepped: step it and look at the line.
            deadline = self.clock.monotonic() + timeout_s
            step_s = timeout_s / SIMULATED_STEPS_PER_TIMEOUT
            ready = bool(self.device.is_active)
            while not ready and self.clock.monotonic() < deadline:
                self.clock.sleep(step_s)
                ready = bool(self.device.is_active)
        self.edges_seen += ready
        return ready

    def close(self) -> None:
        self.device.close()
