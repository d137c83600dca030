"""A chip on an I2C bus as a Sensor: wait for data, read the FIFO, stamp it, survive faults.

The loop is the same for every chip. It never crashes on the bus: a failed transfer, a chip
that stops answering, one that answers with the wrong identity or one that has reset itself
to defaults all lead to the same recovery — back off (50 ms doubling to 1 s, so streaming
resumes within a second or so of the bus coming back), identify the chip again, configure it
again, and carry on, marking the samples lost as a gap so the detector does not read the hole
as a movement.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import numpy as np

from hypnic.drivers.base import Block, SensorHealth
from hypnic.drivers.bus import BusError
from hypnic.drivers.chip import ChipDriver, ChipFault
from hypnic.drivers.clock import SampleClock
from hypnic.drivers.irq import DataWaiter, PollingWaiter
from hypnic.drivers.timebase import Clock

log = logging.getLogger("hypnic.sensor")

BACKOFF_FIRST_S = 0.05
BACKOFF_MAX_S = 1.0
#: With no data for this long the chip is asked whether it is still configured.
SILENCE_CHECK_S = 1.0


class Accelerometer:
    """Streams Blocks from one chip. ``status`` is told every change of state in words a
    person reads (``streaming``, ``sensor lost, retrying (3)``)."""

    def __init__(
        self,
        driver: ChipDriver,
        clock: Clock,
        waiter: DataWaiter | None = None,
        status: Callable[[str], None] | None = None,
    ) -> None:
        self.driver = driver
        self.clock = clock
        self.period_s = driver.watermark / driver.rate_hz
        self.waiter = waiter or PollingWaiter(clock, self.period_s)
        self._status = status
        self.sample_clock = SampleClock(driver.rate_hz)
        self.state = "starting"
        self.i2c_errors = 0
        self.recoveries = 0
        self.lost_samples = 0
        self.overruns = 0
        self._closed = False
        self._wall0 = time.time() - clock.monotonic()

    @property
    def description(self) -> str:
        d = self.driver
        return f"{d.model}@0x{d.device.address:02X} {d.rate_hz:g} Hz"

    @property
    def nominal_rate_hz(self) -> float:
        return self.driver.rate_hz

    @property
    def wall_time_at_zero(self) -> float:
        return self._wall0

    def health(self) -> SensorHealth:
        d = self.driver
        return SensorHealth(
            model=d.model, rate_hz=self.sample_clock.rate_hz, state=self.state,
            i2c_errors=self.i2c_errors, recoveries=self.recoveries, overruns=self.overruns,
            lost_samples=self.lost_samples,
        )

    def close(self) -> None:
        """Stop streaming and release the interrupt line and the bus."""
        if not self._closed:
            self._closed = True
            self.waiter.close()
            close_bus = getattr(self.driver.device.bus, "close", None)
            if close_bus is not None:
                close_bus()

    def blocks(self) -> Iterator[Block]:
        setup_needed = True
        failures = 0
        last_t: float | None = None
        resumed = False
        overrun_pending = False  # an overrun reported by a read that returned no samples
        last_data_s = self.clock.monotonic()
        while not self._closed:
            if setup_needed:
                try:
                    self._setup()
                except (BusError, ChipFault) as exc:
                    failures += 1
                    self._trouble(exc, failures)
                    yield self._heartbeat()
                    continue
                setup_needed, failures = False, 0
                last_data_s = self.clock.monotonic()
                resumed = last_t is not None
                self._set_state("streaming")
            self.waiter.wait(2.0 * self.period_s)
            try:
                read = self.driver.read_fifo()
                if len(read) == 0:
                    overrun_pending |= read.overrun
                    if self.clock.monotonic() - last_data_s >= SILENCE_CHECK_S:
                        last_data_s = self.clock.monotonic()
                        if not self.driver.is_configured():
                            raise ChipFault("the chip lost its configuration (reset?)")
                    continue
            except (BusError, ChipFault, ValueError) as exc:
                # ValueError: a reply that does not decode (garbled bytes, a count out of range)
                failures += 1
                setup_needed = True
                self._trouble(exc, failures)
                yield self._heartbeat()
                continue
            last_data_s = self.clock.monotonic()
            overrun = read.overrun or overrun_pending
            overrun_pending = False
            t, lost = self.sample_clock.stamp(len(read), last_data_s, overrun)
            if resumed and last_t is not None:
                # Whatever the chip measured while we were reconnecting is gone.
                lost += max(0, round((t[0] - last_t) * self.sample_clock.rate_hz) - 1)
            self.overruns += overrun
            self.lost_samples += lost
            gap = np.zeros(len(t), dtype=bool)
            gap[0] = bool(lost) or resumed
            resumed = False
            last_t = float(t[-1])
            yield Block(t, read.acc_g, self.sample_clock.rate_hz, gap, lost)

    def _heartbeat(self) -> Block:
        """An empty Block: no samples, but the consumer gets control back during an outage
        (to notice a stop request, to ping a watchdog)."""
        return Block(np.zeros(0), np.zeros((0, 3)), self.sample_clock.rate_hz)

    def _setup(self) -> None:
        d = self.driver
        model = d.identify(d.device)
        if model is None:
            found = d.device.read(d.spec.id_register)
            raise ChipFault(
                f"no {d.spec.name} at 0x{d.device.address:02X}: identity register reads "
                f"0x{found:02X}, expected one of "
                + ", ".join(f"0x{v:02X}" for v in d.spec.ids)
            )
        d.model = model
        d.configure(interrupt=not isinstance(self.waiter, PollingWaiter))
        self.sample_clock.restart()

    def _trouble(self, exc: Exception, failures: int) -> None:
        if isinstance(exc, BusError):
            self.i2c_errors += 1
        if failures == 1:
            self.recoveries += 1
        self._set_state(f"sensor lost, retrying ({failures})")
        # The first failure and then every tenth: a long outage does not flood the log.
        if failures == 1 or failures % 10 == 0:
            log.warning("%s: %s; retrying (%d)", self.description, exc, failures)
        self.clock.sleep(min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** min(failures - 1, 16)))

    def _set_state(self, state: str) -> None:
        if state != self.state:
            if state == "streaming" and self.state.startswith("sensor lost"):
                log.info("%s: streaming again", self.description)
            self.state = state
            if self._status is not None:
                self._status(state)
