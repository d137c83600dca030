"""CPU the acquisition takes per hour of signal, per chip, through the emulated bus.

Prints figures; asserts nothing.

    .venv/bin/python bench/acquisition.py [--hours 1]

Each chip's real driver and the acquisition loop (FIFO reads, conversion, timestamps) read an
emulated chip on a VirtualClock, so an hour of signal takes seconds. The time spent inside the
emulated bus (the emulator: what a real chip does in silicon) is measured separately and
subtracted: "driver" is what a Pi would spend, less the kernel's I2C transfer time.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from hypnic.drivers.chips import CHIPS
from hypnic.drivers.emulated.rig import build_rig
from hypnic.drivers.timebase import VirtualClock


class Timed:
    """Wraps the emulated bus and counts the CPU seconds spent inside it."""

    def __init__(self, bus: Any) -> None:
        self.bus = bus
        self.cpu_s = 0.0
        for name in ("read_byte_data", "write_byte_data", "read_i2c_block_data",
                     "write_i2c_block_data", "i2c_rdwr"):
            setattr(self, name, self._wrap(getattr(bus, name)))

    def _wrap(self, method: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return method(*args, **kwargs)
            finally:
                self.cpu_s += time.process_time() - start

        return call

    def close(self) -> None:
        self.bus.close()


def measure(key: str, rate_hz: float, hours: float) -> tuple[float, float, float]:
    rig = build_rig(key, VirtualClock(), rate_hz=rate_hz)
    timed = Timed(rig.bus)
    rig.driver.device.bus = timed
    # The emulator also runs when the clock advances; count that as emulator time too.
    clock_cpu = [0.0]
    sleep = rig.clock.sleep

    def timed_sleep(seconds: float) -> None:
        start = time.process_time()
        sleep(seconds)
        clock_cpu[0] += time.process_time() - start

    rig.clock.sleep = timed_sleep  # type: ignore[method-assign]
    end_s = hours * 3600.0
    start = time.process_time()
    for block in rig.sensor.blocks():
        if len(block) and block.t_s[-1] >= end_s:
            break
    total = time.process_time() - start
    emulator = timed.cpu_s + clock_cpu[0]
    return total / hours, emulator / hours, rig.driver.rate_hz


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hours", type=float, default=1.0)
    args = p.parse_args()
    print(f"CPU seconds per hour of signal ({args.hours:g} h measured per row)")
    print(f"{'chip':<12} {'asked':>6} {'ODR':>8} {'total':>8} {'emulator':>9} {'driver':>8} "
          f"{'driver % of a core':>19}")
    for key in CHIPS:
        for rate in (200.0, 400.0):
            total, emulator, odr = measure(key, rate, args.hours)
            driver = total - emulator
            print(f"{key:<12} {rate:>6g} {odr:>8g} {total:>8.2f} {emulator:>9.2f} "
                  f"{driver:>8.2f} {driver / 36.0:>18.3f}%")


if __name__ == "__main__":
    main()
