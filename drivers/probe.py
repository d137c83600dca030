"""Find supported chips on a bus by their identity registers."""

from __future__ import annotations

from dataclasses import dataclass

from hypnic.drivers.bus import BusError, Device, SMBusLike
from hypnic.drivers.chip import ChipDriver
from hypnic.drivers.chips import CHIPS


@dataclass(frozen=True)
class Found:
    key: str
    model: str
    address: int

    def __str__(self) -> str:
        return f"{self.model} at 0x{self.address:02X}"


def probe(
    bus: SMBusLike, only: str | None = None, chips: dict[str, type[ChipDriver]] | None = None
) -> list[Found]:
    """Every supported chip answering on ``bus`` (at any of its addresses), in the order
    auto-detection prefers them. ``only`` limits the search to one chip family."""
    found = []
    for key, driver in (chips or CHIPS).items():
        if only is not None and key != only:
            continue
        for address in driver.spec.addresses:
            try:
                model = driver.identify(Device(bus, address, driver.burst_flag))
            except BusError:
                continue  # nothing at that address (or it is not answering)
            if model is not None:
                found.append(Found(key, model, address))
    return found
