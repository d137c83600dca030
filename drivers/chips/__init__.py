"""One module per supported chip: its register map, its facts and its driver."""

from __future__ import annotations

from hypnic.drivers.chip import ChipDriver
from hypnic.drivers.chips.adxl345 import ADXL345

#: Every supported chip family by its config name, in the order auto-detection tries them.
CHIPS: dict[str, type[ChipDriver]] = {
    "adxl345": ADXL345,
}
