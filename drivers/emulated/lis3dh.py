"""Register-level LIS3DH emulator (``shared/reference/sensors.md`` §2, emulator notes §2.9).

Modelled:
- WHO_AM_I 0x33 and the power-on values (CTRL_REG1 = 0x07, CTRL_REG0 = 0x10, others 0 [?]).
- I2C addressing: b7 of the register byte asks for auto-increment and is stripped for
  addressing; without it every byte of a multi-byte read (or write) is the same register [2].
- Measuring whenever CTRL_REG1.ODR ≠ 0; the ODR table incl. the low-power-only codes.
- High-resolution (12-bit), normal (10-bit) and low-power (8-bit) output, left-justified in a
  little-endian int16, 1/2/4/12 mg per digit in HR at ±2/4/8/16 g and ×4 / ×16 in the others.
- The 32-sample FIFO: on only with CTRL_REG5.FIFO_EN and FM ≠ bypass; bypass empties it and
  the output registers then show the newest sample; FIFO mode stops when full, stream (and
  stream-to-FIFO, whose trigger is not modelled) overwrites the oldest.
- FIFO_SRC_REG: WTM when the level ≥ FTH (datasheet §5.1), OVRN_FIFO when all 32 slots are
  full, EMPTY, and FSS saturating at 31 — a full FIFO reads FSS = 31 with OVRN_FIFO set.
- Reading OUT_Z_H pops one FIFO entry; an auto-increment burst past OUT_Z_H while the FIFO
  is on wraps to OUT_X_L and returns the next sample (Klipper's multi-sample read, [1],
  inferred, untested on hardware — the driver does not rely on it).
- STATUS_REG: ZYXDA while unread data wait, ZYXOR while the FIFO is full.
- INT1: I1_WTM, I1_OVERRUN and I1_ZYXDA sources; CTRL_REG6.INT_POLARITY.
- Self-test: ST = 01 adds ``self_test_g``; BOOT self-clears and changes nothing else.

Not modelled: ST = 10 (negative self-test), the high-pass filter, BDU and BLE (the FIFO path
does not need them), the inertial/click generators and INT2, the 7/ODR settling after
switching to 12-bit mode, the auxiliary ADC and temperature sensor.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.chips.lis3dh import (
    AUTO_INCREMENT,
    DIGIT_MG,
    LOW_POWER_ODR_HZ,
    MODE_BITS,
    REGS,
    SPEC,
)
from hypnic.drivers.emulated.base import EmulatedChip

_DATA = range(REGS.address("OUT_X_L"), REGS.address("OUT_Z_H") + 1)
_ENTRY = len(_DATA)
_ADDRESS_MASK = 0x7F  # the SUB byte addresses with b6:0; b7 is the increment flag
_FSS_MAX = (1 << REGS["FIFO_SRC_REG"].field("FSS").width) - 1
_CTRL_REG1, _CTRL_REG3, _CTRL_REG5, _FIFO_CTRL_REG = (
    REGS.address(name) for name in ("CTRL_REG1", "CTRL_REG3", "CTRL_REG5", "FIFO_CTRL_REG")
)


class EmulatedLIS3DH(EmulatedChip):
    spec = SPEC
    regs = REGS
    # ST = 01 deflects every axis positively (the 17…360-digit limits are all positive);
    # these sit well inside 0.068…1.44 g and keep Z (1 g + 0.5 g) inside ±2 g.
    self_test_g = (0.3, 0.3, 0.5)

    def power_on_reset(self) -> None:
        # What the output registers show once the FIFO has nothing newer (a left-justified
        # word per axis).
        self._last_out = np.zeros(3, dtype=np.int64)
        self._decoded_key = b""
        self._decoded_value = (0.0, False, 0)
        super().power_on_reset()

    # --- register helpers -----------------------------------------------------------------

    def _decoded(self) -> tuple[float, bool, int]:
        """(output rate, FIFO on, FTH), decoded again only when their registers change: the
        sample clock and the INT1 line ask on every transfer."""
        key = bytes((self.mem[_CTRL_REG1], self.mem[_CTRL_REG5], self.mem[_FIFO_CTRL_REG]))
        if key != self._decoded_key:
            fifo_on = (self._flag("CTRL_REG5", "FIFO_EN")
                       and self._get("FIFO_CTRL_REG", "FM") != "bypass")
            self._decoded_key = key
            self._decoded_value = (self._decode_odr(), fifo_on,
                                   int(self._get("FIFO_CTRL_REG", "FTH")))
        return self._decoded_value

    def _fifo_on(self) -> bool:
        return self._decoded()[1]

    def _mode(self) -> str:
        if self._flag("CTRL_REG1", "LPEN"):
            return "low_power"  # LPen with HR is not allowed; the chip is taken as low-power
        return "high_resolution" if self._flag("CTRL_REG4", "HR") else "normal"

    # --- what the base class asks ---------------------------------------------------------

    def odr_hz(self) -> float:
        return self._decoded()[0]

    def _decode_odr(self) -> float:
        code = self.regs["CTRL_REG1"].field("ODR").raw(self.mem[_CTRL_REG1])
        if self._flag("CTRL_REG1", "LPEN") and code in LOW_POWER_ODR_HZ:
            return LOW_POWER_ODR_HZ[code]
        rate = self._get("CTRL_REG1", "ODR")
        return float(rate) if isinstance(rate, float) else 0.0

    def encode(self, acc_g: NDArray[np.float64]) -> NDArray[np.int64]:
        mode = self._mode()
        bits = MODE_BITS[mode]
        lsb_g = DIGIT_MG[mode][self._get("CTRL_REG4", "FS")] / 1000.0
        top = 2 ** (bits - 1)
        counts = np.clip(np.round(acc_g / lsb_g), -top, top - 1).astype(np.int64)
        return counts << (16 - bits)  # left-justified in the 16-bit word

    def self_test_on(self) -> bool:
        return bool(self._get("CTRL_REG4", "ST") == "positive")

    def keeps_newest(self) -> bool:
        return bool(self._get("FIFO_CTRL_REG", "FM") != "fifo")

    def _push(self, codes: NDArray[np.int64], skipped: int) -> None:
        if self._fifo_on():
            super()._push(codes, skipped)
        elif len(codes):
            # Bypass: no FIFO, the output registers simply hold the newest sample.
            self.pop(self.fifo_count)
            super()._push(codes[-1:], 0)
            self.overrun = False

    def _full(self) -> bool:
        return self._fifo_on() and self.fifo_count >= self.fifo_slots

    def _fifo_src(self) -> int:
        _, fifo_on, fth = self._decoded()
        level = self.fifo_count if fifo_on else 0
        return self.regs.compose(
            "FIFO_SRC_REG",
            WTM=int(fifo_on and level >= fth),
            OVRN_FIFO=int(self._full()),
            EMPTY=int(level == 0),
            FSS=min(level, _FSS_MAX),  # 5 bits: a full FIFO (32) reads 31
        )

    def _status(self) -> int:
        ready = int(self.fifo_count > 0)
        return self.regs.compose(
            "STATUS_REG", ZYXDA=ready, ZDA=ready, YDA=ready, XDA=ready,
            ZYXOR=int(self._full()),
        )

    def int_active(self) -> bool:
        r, reg3 = self.regs, self.mem[_CTRL_REG3]
        src = self._fifo_src() if reg3 else 0  # nothing routed: the line only shows polarity
        asserted = bool(reg3) and (
            (r.flag("CTRL_REG3", reg3, "I1_WTM") and r.flag("FIFO_SRC_REG", src, "WTM"))
            or (r.flag("CTRL_REG3", reg3, "I1_OVERRUN")
                and r.flag("FIFO_SRC_REG", src, "OVRN_FIFO"))
            or (r.flag("CTRL_REG3", reg3, "I1_ZYXDA") and self.fifo_count > 0)
        )
        return asserted != bool(self._get("CTRL_REG6", "INT_POLARITY") == "low")

    # --- the bus side -----------------------------------------------------------------------

    def _output_bytes(self, offset: int, length: int) -> bytes:
        """``length`` bytes of the output registers from OUT_X_L + ``offset``, running on
        into the following FIFO entries; every OUT_Z_H byte read pops one entry."""
        if offset == 0 and length == _ENTRY and self.fifo_count:
            # The read every FIFO sample takes: one entry, popped without index arrays.
            word: NDArray[np.int64] = self.fifo[self.fifo_head].copy()
            self.fifo_head = (self.fifo_head + 1) % self.fifo_slots
            self.fifo_count -= 1
            self._last_out = word
            return word.astype("<i2").tobytes()
        end = offset + length
        entries = -(-end // _ENTRY)  # entries the bytes touch
        pops = end // _ENTRY  # OUT_Z_H bytes among them
        have = min(entries, self.fifo_count)
        idx = (self.fifo_head + np.arange(have)) % self.fifo_slots
        words = np.empty((entries, 3), dtype=np.int64)
        words[:have] = self.fifo[idx]
        # Past the end of the FIFO the output registers keep the last sample they showed.
        fill = words[have - 1] if have else self._last_out
        words[have:] = fill
        if pops:
            self._last_out = words[pops - 1].copy()
            self.pop(min(pops, have))
        return words.astype("<i2").tobytes()[offset:end]

    def _register(self, address: int) -> int:
        r = self.regs
        if address == r.address("FIFO_SRC_REG"):
            return self._fifo_src()
        if address == r.address("STATUS_REG"):
            return self._status()
        return self.mem[address]

    def read(self, register: int, length: int) -> bytes:
        address = register & _ADDRESS_MASK
        if not register & AUTO_INCREMENT:
            # No increment: one register, repeated (a data register pops as one read would).
            byte = self._output_bytes(address - _DATA.start, 1) if address in _DATA else (
                bytes([self._register(address)])
            )
            return byte * length
        out = bytearray()
        while len(out) < length:
            left = length - len(out)
            if address in _DATA:
                # With the FIFO on, the address wraps OUT_Z_H → OUT_X_L [1] (see the module).
                n = left if self._fifo_on() else min(left, _DATA.stop - address)
                out += self._output_bytes(address - _DATA.start, n)
                address = _DATA.stop
            else:
                out.append(self._register(address))
                address = (address + 1) & _ADDRESS_MASK
        return bytes(out)

    def write(self, register: int, data: bytes) -> None:
        address = register & _ADDRESS_MASK
        step = 1 if register & AUTO_INCREMENT else 0
        for value in data:
            self._write_one(address, value)
            address = (address + step) & _ADDRESS_MASK

    def _write_one(self, address: int, value: int) -> None:
        r = self.regs
        reg = r.at(address)
        if reg is None or not reg.writable:
            return
        if address == r.address("CTRL_REG1"):
            old = r["CTRL_REG1"].field("ODR").raw(self.mem[address])
            new = r["CTRL_REG1"].field("ODR").raw(value)
            if old != new:
                self.set_measuring(False)  # the samples due at the old rate are in
            self.mem[address] = value
            self.set_measuring(new != 0)
            return
        if address == r.address("CTRL_REG5"):
            value &= ~r["CTRL_REG5"].field("BOOT").mask  # BOOT reloads trim and clears itself
        was_on = self._fifo_on()
        self.mem[address] = value
        if was_on and not self._fifo_on():
            # Bypass (or FIFO_EN = 0) resets the FIFO; the newest sample stays on show.
            if self.fifo_count:
                self._last_out = self.fifo[(self.fifo_head + self.fifo_count - 1)
                                           % self.fifo_slots].copy()
            self.pop(self.fifo_count)
            self.overrun = False
