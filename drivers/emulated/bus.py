"""An smbus2-shaped bus with emulated chips on it, and faults on demand.

Drivers cannot tell it from ``smbus2.SMBus``: the same calls, the same ``i2c_msg`` objects,
the same OSErrors (ENXIO for an empty address, EREMOTEIO for a NACK, EIO, ETIMEDOUT) and the
same 32-byte limit on SMBus block reads.
"""

from __future__ import annotations

import ctypes
import errno
import os
from dataclasses import dataclass
from typing import Any

from hypnic.drivers.emulated.base import EmulatedChip

I2C_M_RD = 0x0001
SMBUS_BLOCK_MAX = 32

#: Faults a test can inject, and the errno each raises.
FAULT_ERRNOS = {
    "nack": errno.EREMOTEIO,
    "eio": errno.EIO,
    "timeout": errno.ETIMEDOUT,
    "unplugged": errno.ENXIO,
}


@dataclass
class _Fault:
    kind: str
    remaining: int | None  # transfers left, or None for "until cleared"


class EmulatedBus:
    """Chips by address; ``inject`` makes the next transfers to an address fail."""

    def __init__(self, *chips: EmulatedChip) -> None:
        self.chips: dict[int, EmulatedChip] = {}
        self._faults: dict[int, _Fault] = {}
        self.slow_s = 0.0
        self.transfers = 0
        self.closed = False
        for chip in chips:
            self.attach(chip)

    def attach(self, chip: EmulatedChip) -> None:
        self.chips[chip.address] = chip

    # --- faults --------------------------------------------------------------------------------

    def inject(self, address: int, kind: str, transfers: int | None = 1) -> None:
        """Fail the next ``transfers`` transfers to ``address`` (None: until ``clear``).

        kinds: "nack", "eio", "timeout", "unplugged" (fail like that), "reset" (the chip
        loses power and comes back with its power-on registers), "wrong_id" (the identity
        register reads 0x00 from now on)."""
        chip = self.chips[address]
        if kind == "reset":
            chip.power_on_reset()
        elif kind == "wrong_id":
            chip.model = "?"
            chip.mem[chip.spec.id_register] = 0x00
        elif kind in FAULT_ERRNOS:
            self._faults[address] = _Fault(kind, transfers)
        else:
            raise ValueError(f"unknown fault {kind!r}")

    def clear(self, address: int) -> None:
        self._faults.pop(address, None)

    def _chip(self, address: int) -> EmulatedChip:
        if self.closed:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        self.transfers += 1
        fault = self._faults.get(address)
        if fault is not None:
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._faults[address]
            code = FAULT_ERRNOS[fault.kind]
            raise OSError(code, os.strerror(code))
        chip = self.chips.get(address)
        if chip is None:
            raise OSError(errno.ENXIO, os.strerror(errno.ENXIO))
        if self.slow_s:
            # A slow or stretched bus: the chip keeps sampling while the transfer crawls.
            chip.clock.sleep(self.slow_s)
        return chip

    # --- the smbus2.SMBus calls ------------------------------------------------------------

    def read_byte_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        return self._chip(i2c_addr).transfer_read(register, 1)[0]

    def write_byte_data(
        self, i2c_addr: int, register: int, value: int, force: bool | None = None
    ) -> None:
        self._chip(i2c_addr).transfer_write(register, bytes([value & 0xFF]))

    def read_i2c_block_data(
        self, i2c_addr: int, register: int, length: int, force: bool | None = None
    ) -> list[int]:
        if length > SMBUS_BLOCK_MAX:
            raise ValueError(f"Desired block length over {SMBUS_BLOCK_MAX} bytes")
        return list(self._chip(i2c_addr).transfer_read(register, length))

    def write_i2c_block_data(
        self, i2c_addr: int, register: int, data: list[int], force: bool | None = None
    ) -> None:
        if len(data) > SMBUS_BLOCK_MAX:
            raise ValueError(f"Data length cannot exceed {SMBUS_BLOCK_MAX} bytes")
        self._chip(i2c_addr).transfer_write(register, bytes(data))

    def i2c_rdwr(self, *i2c_msgs: Any) -> None:
        pointer: dict[int, int] = {}
        for msg in i2c_msgs:
            chip = self._chip(msg.addr)
            if msg.flags & I2C_M_RD:
                data = chip.transfer_read(pointer.get(msg.addr, 0), msg.len)
                ctypes.memmove(msg.buf, data, msg.len)
            else:
                payload = bytes(msg.buf[: msg.len])
                pointer[msg.addr] = payload[0]
                if len(payload) > 1:
                    chip.transfer_write(payload[0], payload[1:])

    def close(self) -> None:
        self.closed = True
