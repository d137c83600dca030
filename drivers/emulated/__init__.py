"""Register-level emulators of the supported chips, behind an smbus2-shaped bus."""

from __future__ import annotations

from hypnic.drivers.emulated.adxl345 import EmulatedADXL345
from hypnic.drivers.emulated.base import EmulatedChip

#: An emulator for every chip in hypnic.drivers.chips.CHIPS, by the same key.
EMULATORS: dict[str, type[EmulatedChip]] = {
    "adxl345": EmulatedADXL345,
}
