"""One module per supported chip: its register map, its facts and its driver."""

from __future__ import annotations

from hypnic.drivers.chip import ChipDriver
from hypnic.drivers.chips.adxl345 import ADXL345
from hypnic.drivers.chips.adxl355 import ADXL355
from hypnic.drivers.chips.lis3dh import LIS3DH
from hypnic.drivers.chips.lsm6ds3trc import LSM6DS3TRC
from hypnic.drivers.chips.lsm6dso import LSM6DSO
from hypnic.drivers.chips.mpu6050 import MPU6050

#: Every supported chip family by its config name, in the order auto-detection tries them.
CHIPS: dict[str, type[ChipDriver]] = {
    "adxl345": ADXL345,
    "lis3dh": LIS3DH,
    "mpu6050": MPU6050,
    "adxl355": ADXL355,
    "lsm6dso": LSM6DSO,
    "lsm6ds3trc": LSM6DS3TRC,
}
