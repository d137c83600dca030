"""Register-level emulators of the supported chips, behind an smbus2-shaped bus."""

from __future__ import annotations

from hypnic.drivers.emulated.adxl345 import EmulatedADXL345
from hypnic.drivers.emulated.adxl355 import EmulatedADXL355
from hypnic.drivers.emulated.base import EmulatedChip
from hypnic.drivers.emulated.lis3dh import EmulatedLIS3DH
from hypnic.drivers.emulated.lsm6ds3trc import EmulatedLSM6DS3TRC
from hypnic.drivers.emulated.lsm6dso import EmulatedLSM6DSO
from hypnic.drivers.emulated.mpu6050 import EmulatedMPU6050

#: An emulator for every chip in hypnic.drivers.chips.CHIPS, by the same key.
EMULATORS: dict[str, type[EmulatedChip]] = {
    "adxl345": EmulatedADXL345,
    "lis3dh": EmulatedLIS3DH,
    "mpu6050": EmulatedMPU6050,
    "adxl355": EmulatedADXL355,
    "lsm6dso": EmulatedLSM6DSO,
    "lsm6ds3trc": EmulatedLSM6DS3TRC,
}
