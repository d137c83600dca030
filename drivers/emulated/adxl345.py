"""Register-level ADXL345 emulator (``shared/reference/sensors.md`` §1.9).

Modelled: DEVID; power-on values; I2C auto-increment on every multi-byte access; MEASURE
starting the sample clock; full-resolution and 10-bit formats, right-justified; the FIFO in
bypass, FIFO and stream modes with 32 entries plus the output registers (ENTRIES up to 33);
a 6-byte burst from DATAX0 popping one entry; WATERMARK/DATA_READY/OVERRUN in INT_SOURCE
following the FIFO level and clearing as it drains; INT_ENABLE/INT_MAP gating INT1 (active
high unless INT_INVERT); the self-test deflection.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.chips.adxl345 import REGS, SPEC
from hypnic.drivers.emulated.base import EmulatedChip

_DATA = range(REGS.address("DATAX0"), REGS.address("DATAZ1") + 1)


class EmulatedADXL345(EmulatedChip):
    spec = SPEC
    regs = REGS
    # Typical deflection at 3.3 V: well inside the limits the driver judges against.
    self_test_g = (0.8, -0.8, 1.2)

    @property
    def fifo_slots(self) -> int:
        return self.spec.fifo_capacity + 1  # the output registers hold one more

    def odr_hz(self) -> float:
        # Codes outside the declared table follow the datasheet's 3200 Hz / 2^(15 - code).
        rate = self._get("BW_RATE", "RATE")
        return float(rate) if isinstance(rate, float) else 3200.0 / 2 ** (15 - int(rate))

    def _lsb_g(self) -> tuple[float, int]:
        """Scale and bits of the output codes in the current format."""
        g = self._get("DATA_FORMAT", "RANGE")
        assert isinstance(g, int)
        if self._flag("DATA_FORMAT", "FULL_RES"):
            return 1.0 / 256.0, {2: 10, 4: 11, 8: 12, 16: 13}[g]
        return g / 512.0, 10

    def encode(self, acc_g: NDArray[np.float64]) -> NDArray[np.int64]:
        lsb, bits = self._lsb_g()
        top = 2 ** (bits - 1)
        return np.clip(np.round(acc_g / lsb), -top, top - 1).astype(np.int64)

    def self_test_on(self) -> bool:
        return self._flag("DATA_FORMAT", "SELF_TEST")

    def _fifo_enabled(self) -> bool:
        """Any FIFO mode but bypass (which keeps the FIFO empty)."""
        return bool(self._get("FIFO_CTL", "FIFO_MODE") != "bypass")

    def keeps_newest(self) -> bool:
        return bool(self._get("FIFO_CTL", "FIFO_MODE") != "fifo")

    def _int_source(self) -> int:
        at_watermark = self._fifo_enabled() and self.fifo_count >= self._get("FIFO_CTL", "SAMPLES")
        return self.regs.compose(
            "INT_SOURCE",
            DATA_READY=int(self.fifo_count > 0),
            WATERMARK=int(at_watermark),
            OVERRUN=int(self.overrun),
        )

    def int_active(self) -> bool:
        r = self.regs
        pending = self._int_source() & self.mem[r.address("INT_ENABLE")]
        on_int1 = pending & ~self.mem[r.address("INT_MAP")] & 0xFF
        inverted = self._flag("DATA_FORMAT", "INT_INVERT")
        return bool(on_int1) != inverted

    def read(self, register: int, length: int) -> bytes:
        r = self.regs
        out = bytearray()
        head = self.peek()
        entry = (
            np.asarray(head, dtype="<i2").tobytes() if head is not None else bytes(6)
        )
        popped = False
        for address in range(register, register + length):
            address &= 0xFF
            if address in _DATA:
                out.append(entry[address - _DATA.start])
                if address == _DATA.stop - 1 and head is not None and not popped:
                    self.pop(1)
                    popped = True
                    if self.fifo_count < self.fifo_slots:
                        self.overrun = False  # cleared by reading the FIFO
            elif address == r.address("FIFO_STATUS"):
                out.append(r.compose("FIFO_STATUS", ENTRIES=min(self.fifo_count, 33)))
            elif address == r.address("INT_SOURCE"):
                out.append(self._int_source())
            else:
                out.append(self.mem[address])
        return bytes(out)

    def write(self, register: int, data: bytes) -> None:
        r = self.regs
        for offset, value in enumerate(data):
            address = (register + offset) & 0xFF
            reg = r.at(address)
            if reg is None or not reg.writable:
                continue
            self.mem[address] = value
            if address == r.address("POWER_CTL"):
                self.set_measuring(r.flag("POWER_CTL", value, "MEASURE"))
            elif address == r.address("FIFO_CTL") and not self._fifo_enabled():
                self.pop(self.fifo_count)  # bypass empties the FIFO
                self.overrun = False
