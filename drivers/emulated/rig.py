"""An emulated chip on an emulated bus, with its driver: the bench a test or a demo runs on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypnic.drivers.acquire import Accelerometer
from hypnic.drivers.bus import Device
from hypnic.drivers.chip import ChipDriver
from hypnic.drivers.chips import CHIPS
from hypnic.drivers.emulated import EMULATORS
from hypnic.drivers.emulated.base import EmulatedChip, SampleSource, resting
from hypnic.drivers.emulated.bus import EmulatedBus
from hypnic.drivers.irq import PinWaiter
from hypnic.drivers.timebase import Clock


@dataclass
class Rig:
    clock: Clock
    bus: EmulatedBus
    chip: EmulatedChip
    driver: ChipDriver
    sensor: Accelerometer


def build_rig(
    key: str,
    clock: Clock,
    source: SampleSource = resting,
    rate_hz: float = 200.0,
    range_g: float = 2.0,
    rate_error: float = 0.0,
    address: int | None = None,
    int_pin: int | None = None,
    pin_factory: Any = None,
    model: str | None = None,
    status: Callable[[str], None] | None = None,
) -> Rig:
    """Emulated ``key`` chip fed by ``source``, its real driver, and the acquisition loop.

    With ``int_pin`` and a gpiozero ``pin_factory`` (a MockFactory) the chip drives that mock
    pin and the driver waits on it; without, the driver polls."""
    pin = None
    waiter = None
    if int_pin is not None and pin_factory is not None:
        pin = pin_factory.pin(int_pin)
        waiter = PinWaiter(clock, int_pin, pin_factory=pin_factory)
    chip = EMULATORS[key](clock, source, address=address, rate_error=rate_error, int_pin=pin,
                          model=model)
    bus = EmulatedBus(chip)
    driver = CHIPS[key](Device(bus, chip.address, CHIPS[key].burst_flag), rate_hz, range_g, clock)
    return Rig(clock, bus, chip, driver, Accelerometer(driver, clock, waiter, status))
