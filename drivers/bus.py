"""I2C access for chip drivers: single registers, burst reads of any length, and faults.

The bus is anything shaped like ``smbus2.SMBus`` (a real one on a Pi, an emulated one in
tests). Burst reads go through one combined ``i2c_rdwr`` transfer — a write of the register
address, a repeated start, then a read of N bytes — because the kernel's SMBus block read
stops at 32 bytes and a FIFO burst is longer.
"""

from __future__ import annotations

import errno
from typing import Any, Protocol

from smbus2 import i2c_msg

#: The kernel's I2C_RDWR takes at most 42 messages (I2C_RDWR_IOCTL_MAX_MSGS).
MAX_MESSAGES = 42

#: errno values a flaky or unplugged I2C device produces on Linux.
BUS_ERRNOS = {
    errno.EIO: "I/O error",
    errno.ENXIO: "no device answered",
    errno.ETIMEDOUT: "bus timed out",
    errno.EREMOTEIO: "device did not acknowledge",
    errno.EAGAIN: "bus busy",
    errno.ENODEV: "bus adapter gone",
}


class BusError(OSError):
    """An I2C transfer failed; ``errno`` says how. Drivers retry and re-initialise on it."""

    def __init__(self, address: int, what: str, cause: OSError) -> None:
        code = cause.errno or errno.EIO
        reason = BUS_ERRNOS.get(code, cause.strerror or "bus error")
        super().__init__(code, f"I2C 0x{address:02X}: {what}: {reason}")
        self.address = address


class SMBusLike(Protocol):
    """The part of smbus2.SMBus that drivers use."""

    def read_byte_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int: ...

    def write_byte_data(
        self, i2c_addr: int, register: int, value: int, force: bool | None = None
    ) -> None: ...

    def read_i2c_block_data(
        self, i2c_addr: int, register: int, length: int, force: bool | None = None
    ) -> list[int]: ...

    def write_i2c_block_data(
        self, i2c_addr: int, register: int, data: list[int], force: bool | None = None
    ) -> None: ...

    def i2c_rdwr(self, *i2c_msgs: Any) -> None: ...


class Device:
    """One chip at one address. ``burst_flag`` is OR-ed into the register byte of a burst
    (the LIS3DH only auto-increments when bit 7 of the address byte is set)."""

    def __init__(self, bus: SMBusLike, address: int, burst_flag: int = 0x00) -> None:
        self.bus = bus
        self.address = address
        self.burst_flag = burst_flag
        self.transfers = 0
        self.bytes_read = 0
        self._repeat_msgs: dict[tuple[int, int], list[Any]] = {}

    def read(self, register: int) -> int:
        try:
            value = self.bus.read_byte_data(self.address, register)
        except OSError as exc:
            raise BusError(self.address, f"read 0x{register:02X}", exc) from exc
        self.transfers += 1
        self.bytes_read += 1
        return int(value) & 0xFF

    def write(self, register: int, value: int) -> None:
        try:
            self.bus.write_byte_data(self.address, register, value & 0xFF)
        except OSError as exc:
            raise BusError(self.address, f"write 0x{register:02X}", exc) from exc
        self.transfers += 1

    def read_burst(self, register: int, length: int) -> bytes:
        """``length`` bytes from ``register`` on, in one transfer with a repeated start."""
        if length <= 0:
            return b""
        write = i2c_msg.write(self.address, [register | self.burst_flag])
        read = i2c_msg.read(self.address, length)
        try:
            self.bus.i2c_rdwr(write, read)
        except OSError as exc:
            raise BusError(self.address, f"burst read 0x{register:02X}+{length}", exc) from exc
        self.transfers += 1
        self.bytes_read += length
        return bytes(read.buf[:length])

    def read_repeated(self, register: int, length: int, times: int) -> bytes:
        """``times`` reads of ``length`` bytes from ``register``, each its own transaction
        (a chip that pops one FIFO entry per burst), packed into as few ioctls as possible.
        The messages are built once and reused: this runs several times a second all night."""
        key = (register, length)
        if key not in self._repeat_msgs:
            pairs = []
            for _ in range(MAX_MESSAGES // 2):
                pairs += [
                    i2c_msg.write(self.address, [register | self.burst_flag]),
                    i2c_msg.read(self.address, length),
                ]
            self._repeat_msgs[key] = pairs
        msgs = self._repeat_msgs[key]
        out = bytearray()
        done = 0
        while done < times:
            n = min(MAX_MESSAGES // 2, times - done)
            try:
                self.bus.i2c_rdwr(*msgs[: 2 * n])
            except OSError as exc:
                raise BusError(
                    self.address, f"burst read 0x{register:02X}+{length}x{n}", exc
                ) from exc
            for read in msgs[1 : 2 * n : 2]:
                out += read.buf[:length]
            self.transfers += 1
            self.bytes_read += n * length
            done += n
        return bytes(out)
