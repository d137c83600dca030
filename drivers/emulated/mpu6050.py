"""Register-level MPU-6050 / MPU-6500 / MPU-9250 emulator (``shared/reference/sensors.md`` §3).

``model=`` picks the part: its WHO_AM_I, its FIFO size (1024 or 512 bytes), its PWR_MGMT_1
power-on value (0x40 asleep, or 0x01) and the form of its self-test trim codes.

Modelled: power-on values; auto-increment on every register access except FIFO_R_W (0x74),
where a burst serves successive FIFO bytes (and repeats the last one once the FIFO is empty);
SLEEP (no samples until woken) and DEVICE_RESET (cleared at once, back to power-on values);
the sample rate from SMPLRT_DIV and DLPF_CFG (1 kHz or 8 kHz internal); AFS_SEL ranges,
big-endian int16 in ACCEL_XOUT_H.. (the newest sample, with a constant temperature and zero
gyro); the FIFO as bytes, fed with frames in register order (accel, temp, gyro X/Y/Z as
FIFO_EN selects) while USER_CTRL.FIFO_EN is set, dropping its oldest bytes when full — so an
overflow leaves a partial frame at the head, as on the chip — or, on the 6500/9250 with CONFIG
FIFO_MODE, dropping new frames; FIFO_COUNT latched by reading its high byte; FIFO_RESET only
while USER_CTRL.FIFO_EN is 0; INT_STATUS clear-on-read (any read with INT_RD_CLEAR); the INT
line latched or pulsed, active high or low; the self-test deflection per enabled axis, sized
from the part's trim codes.

Not modelled: gyro and temperature signals, the DMP, the I2C master and its slave data in the
FIFO, cycle (low-power) mode, axis standby in PWR_MGMT_2, the 4 kHz / 32 kHz FCHOICE paths,
host writes into FIFO_R_W, and the DLPF's filtering and delay (samples are the source's).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.chips.mpu6050 import (
    COUNTS_PER_RANGE,
    FIFO_BYTES,
    FRAME_BYTES,
    INTERNAL_RATE_DLPF_OFF_HZ,
    INTERNAL_RATE_HZ,
    MODEL_6050,
    REGS,
    SPEC,
    factory_trim_g,
    trim_codes,
)
from hypnic.drivers.emulated.base import EmulatedChip, SampleSource, resting
from hypnic.drivers.timebase import Clock

A = REGS.address
_FIFO_R_W = A("FIFO_R_W")
_INT_STATUS = A("INT_STATUS")
_DATA_FIRST = A("ACCEL_XOUT_H")
#: Words per sample in register order: accel X/Y/Z, temperature, gyro X/Y/Z.
_WORDS = 7
#: FIFO_EN bit → the words it puts in each frame (register order is the FIFO order, §3.5).
_FIFO_WORDS = (("ACCEL", (0, 1, 2)), ("TEMP", (3,)), ("XG", (4,)), ("YG", (5,)), ("ZG", (6,)))
#: 25 °C as each part encodes it: 6050 T = code/340 + 36.53; 6500/9250 T = code/333.87 + 21.
_TEMP_CODE_6050 = round((25.0 - 36.53) * 340.0)
_TEMP_CODE_6500 = round((25.0 - 21.0) * 333.87)
#: ACCEL_CONFIG's three self-test enables.
_ST_BITS = REGS.compose("ACCEL_CONFIG", XA_ST=1, YA_ST=1, ZA_ST=1)
#: PWR_MGMT_1 at power-on (§3.1, §3.9): the 6050 asleep, the others awake with CLKSEL 1.
_PWR_MGMT_1_RESET_6500 = 0x01
#: Factory trim codes this emulated part was "shipped" with: SELF_TEST_X/Y/Z/A bytes (6050:
#: accel codes 13, 15 and 17 split 3+2 bits, with gyro codes in the low bits), or whole 8-bit
#: accel codes (6500/9250).
TRIM_BYTES_6050 = bytes([(0b011 << 5) | 0x0E, (0b011 << 5) | 0x10, (0b100 << 5) | 0x0C,
                         (0b01 << 4) | (0b11 << 2) | 0b01])
TRIM_BYTES_6500 = bytes([112, 116, 122])
#: A good part's self-test response is within a few % of its factory trim.
SELF_TEST_GAIN = 1.02
#: A part whose trim code reads 0 still deflects, by a typical amount (g).
SELF_TEST_UNTRIMMED_G = 0.5


class EmulatedMPU6050(EmulatedChip):
    spec = SPEC
    regs = REGS
    # Unused: the deflection is per enabled axis and sized from the trim codes (see encode).
    self_test_g: ClassVar[tuple[float, float, float]] = (0.0, 0.0, 0.0)

    def __init__(
        self,
        clock: Clock,
        source: SampleSource = resting,
        address: int | None = None,
        rate_error: float = 0.0,
        int_pin: Any = None,
        model: str | None = None,
    ) -> None:
        part = model or next(iter(SPEC.ids.values()))
        # The part's hardware, fixed at build: a later "wrong identity" fault renames the model.
        self.part = part
        self.fifo_bytes = FIFO_BYTES[part]
        self._fbuf = np.zeros(self.fifo_bytes, dtype=np.uint8)
        self._abs_head = 0  # byte position of the head since the last FIFO reset
        self._fcount = 0
        self._frame_bytes = FRAME_BYTES
        self._spoilt_upto = 0  # frames before this one are already counted as dropped
        self._count_latch = 0
        self._last_fifo_byte = 0
        self._words = np.zeros(_WORDS, dtype=">i2")
        #: SELF_TEST_X.. as the factory programmed them (OTP: a reset does not change them).
        self.trim_bytes = TRIM_BYTES_6050 if part == MODEL_6050 else TRIM_BYTES_6500
        super().__init__(clock, source, address, rate_error, int_pin, part)

    # --- state ---------------------------------------------------------------------------

    @property
    def fifo_slots(self) -> int:
        # Samples it takes to fill the FIFO with accel-only frames, plus the partial one.
        return self.fifo_bytes // FRAME_BYTES + 1

    @property
    def fifo_level(self) -> int:
        """Bytes in the FIFO now."""
        return self._fcount

    def power_on_reset(self) -> None:
        super().power_on_reset()
        self._abs_head = self._fcount = self._count_latch = self._last_fifo_byte = 0
        self._spoilt_upto = 0
        self._words[:] = 0
        first = A("SELF_TEST_X")
        self.mem[first : first + len(self.trim_bytes)] = self.trim_bytes
        if self.part != MODEL_6050:
            self.mem[A("PWR_MGMT_1")] = _PWR_MGMT_1_RESET_6500
            self.set_measuring(True)
        self._update_int()

    def odr_hz(self) -> float:
        dlpf = int(self._get("CONFIG", "DLPF_CFG"))
        div = int(self._get("SMPLRT_DIV", "DIV"))
        if 1 <= dlpf <= 6:
            return INTERNAL_RATE_HZ / (1 + div)
        if self.part != MODEL_6050:
            return INTERNAL_RATE_DLPF_OFF_HZ  # the 6500's divider needs DLPF_CFG 1-6 [1 RM]
        return INTERNAL_RATE_DLPF_OFF_HZ / (1 + div)

    def _range_g(self) -> int:
        g = self._get("ACCEL_CONFIG", "AFS_SEL")
        assert isinstance(g, int)
        return g

    def _self_test_deflection_g(self) -> NDArray[np.float64]:
        if self.self_test_broken:
            return np.zeros(3)
        first = A("SELF_TEST_X")
        codes = trim_codes(self.part, bytes(self.mem[first : first + 4]))
        on = [self._flag("ACCEL_CONFIG", f) for f in ("XA_ST", "YA_ST", "ZA_ST")]
        response = [SELF_TEST_GAIN * factory_trim_g(self.part, c) if c else SELF_TEST_UNTRIMMED_G
                    for c in codes]
        return np.where(on, response, 0.0)

    def encode(self, acc_g: NDArray[np.float64]) -> NDArray[np.int64]:
        if self.mem[A("ACCEL_CONFIG")] & _ST_BITS:
            acc_g = acc_g + self._self_test_deflection_g()
        lsb = self._range_g() / COUNTS_PER_RANGE
        return np.clip(np.rint(acc_g / lsb), -COUNTS_PER_RANGE, COUNTS_PER_RANGE - 1).astype(
            np.int64
        )

    # --- samples into the data registers and the FIFO ---------------------------------------

    def _fifo_on(self) -> bool:
        return self._flag("USER_CTRL", "FIFO_EN") and self.mem[A("FIFO_EN")] != 0

    def _raise(self, source: str) -> None:
        """Set an INT_STATUS bit, if its interrupt is enabled ([?]: the RM's wording suggests
        status bits follow enabled sources only; the strict reading is modelled)."""
        r = self.regs
        bit = r.compose("INT_STATUS", **{source: 1})
        if not self.mem[A("INT_ENABLE")] & bit:
            return
        self.mem[_INT_STATUS] |= bit
        if self.int_pin is not None and not self._flag("INT_PIN_CFG", "LATCH_INT_EN"):
            # Unlatched: a 50 µs pulse, over before anyone polling the line could see it.
            low = self._flag("INT_PIN_CFG", "INT_LEVEL")
            (self.int_pin.drive_low if low else self.int_pin.drive_high)()
            (self.int_pin.drive_high if low else self.int_pin.drive_low)()

    def _push(self, codes: NDArray[np.int64], skipped: int) -> None:
        n = len(codes)
        if n == 0:
            return
        words = np.empty((n, _WORDS), dtype=">i2")
        words[:, :3] = codes
        words[:, 3] = _TEMP_CODE_6050 if self.part == MODEL_6050 else _TEMP_CODE_6500
        words[:, 4:] = 0
        self._words = words[-1].copy()
        self.mem[_DATA_FIRST : _DATA_FIRST + 2 * _WORDS] = self._words.tobytes()
        self._raise("DATA_RDY")
        if not self._fifo_on():
            return
        fifo_en = self.mem[A("FIFO_EN")]
        cols = [c for name, cs in _FIFO_WORDS if self.regs.flag("FIFO_EN", fifo_en, name)
                for c in cs]
        if not cols:
            return  # only slave data enabled: not modelled
        frames = np.ascontiguousarray(words[:, cols]).view(np.uint8).reshape(n, -1)
        self._frame_bytes = frames.shape[1]
        if skipped:
            # Never rendered: they were overwritten long before anyone could read them.
            self._overflow(skipped)
        if self._stops_when_full():
            # Frames that do not fit are not written ([?]: whole frames assumed; the RM only
            # says "additional writes will not be written"). ``sync`` rendered the oldest.
            fit = max(0, (self.fifo_bytes - self._fcount) // self._frame_bytes)
            if fit < n:
                self._overflow(n - fit)
            self._append(frames[:fit].reshape(-1))
            return
        self._append(frames.reshape(-1))

    def _stops_when_full(self) -> bool:
        """CONFIG.FIFO_MODE = 1 on a 6500/9250: stop writing when full (§3.9)."""
        return self.part != MODEL_6050 and self._flag("CONFIG", "FIFO_MODE")

    def sync(self, now_s: float) -> None:
        # The base renders only the newest samples of a long stretch, which is right for a
        # FIFO that keeps the newest. One that stops when full keeps the oldest: render those.
        if not (self.measuring and self._stops_when_full() and self._fifo_on()):
            super().sync(now_s)
            return
        assert self._measure_start_s is not None
        due = int((now_s - self._measure_start_s) * self.true_rate_hz)
        new = due - self._made_since_start
        if new <= 0:
            return
        keep = min(new, self.fifo_slots + 1)
        acc = np.asarray(self.source(self.samples_made, keep), dtype=np.float64)
        self._push(self.encode(acc), 0)
        if new > keep:
            self._overflow(new - keep)  # made after the FIFO had long filled: not written
        self._made_since_start = due
        self.samples_made += new
        self._update_int()

    def _append(self, data: NDArray[np.uint8]) -> None:
        """Bytes in at the tail; whatever no longer fits goes from the head, byte by byte,
        whole frame or not (stream-style, §3.5). Positions count bytes since the last reset."""
        k = len(data)
        if k == 0:
            return
        head, tail = self._abs_head, self._abs_head + self._fcount
        over = max(0, tail + k - head - self.fifo_bytes)
        if over:
            self._overflow(self._frames_spoilt(head, head + over))
        new_head = head + over
        first = max(tail, new_head)  # the first position of ``data`` still in the FIFO
        kept = data[first - tail :]
        self._fbuf[(first + np.arange(len(kept))) % self.fifo_bytes] = kept
        self._abs_head = new_head
        self._fcount = tail + k - new_head

    def _frames_spoilt(self, start: int, stop: int) -> int:
        """Frames that lose a byte when positions [start, stop) go unread, counted once."""
        if stop <= start:
            return 0
        fb = self._frame_bytes
        first = max(start // fb, self._spoilt_upto)
        last = (stop - 1) // fb + 1
        self._spoilt_upto = max(self._spoilt_upto, last)
        return max(0, last - first)

    def _overflow(self, frames_lost: int) -> None:
        self.overrun = True
        self.samples_dropped += frames_lost
        self._raise("FIFO_OFLOW")

    def _pop_bytes(self, k: int) -> bytes:
        """``k`` bytes from FIFO_R_W; past the end, the last byte again (§3.5 [1 RM])."""
        take = min(k, self._fcount)
        idx = (self._abs_head + np.arange(take)) % self.fifo_bytes
        out = self._fbuf[idx]
        self._abs_head += take
        self._fcount -= take
        if take:
            self._last_fifo_byte = int(out[-1])
        if take < k:
            out = np.concatenate([out, np.full(k - take, self._last_fifo_byte, dtype=np.uint8)])
        return out.tobytes()

    def _clear_fifo(self) -> None:
        """FIFO_RESET: what was still in it is lost (counted as dropped)."""
        self.samples_dropped += self._frames_spoilt(self._abs_head,
                                                    self._abs_head + self._fcount)
        self._abs_head = self._fcount = self._spoilt_upto = 0

    # --- interrupt line ---------------------------------------------------------------------

    def int_active(self) -> bool:
        pending = bool(self.mem[_INT_STATUS] & self.mem[A("INT_ENABLE")])
        held = pending and self._flag("INT_PIN_CFG", "LATCH_INT_EN")
        return held != self._flag("INT_PIN_CFG", "INT_LEVEL")

    # --- the bus side -------------------------------------------------------------------------

    def read(self, register: int, length: int) -> bytes:
        out = bytearray()
        address = register & 0xFF
        status_read = False
        for i in range(length):
            if address == _FIFO_R_W:
                # The pointer stays on FIFO_R_W: the rest of the burst is FIFO bytes.
                out += self._pop_bytes(length - i)
                break
            if address == _INT_STATUS:
                out.append(self.mem[_INT_STATUS])
                status_read = True
            elif address == A("FIFO_COUNTH"):
                self._count_latch = self._fcount  # reading the high byte latches both
                out.append((self._count_latch >> 8) & 0xFF)
            elif address == A("FIFO_COUNTL"):
                out.append(self._count_latch & 0xFF)
            else:
                out.append(self.mem[address])
            address = (address + 1) & 0xFF
        if status_read or self._flag("INT_PIN_CFG", "INT_RD_CLEAR"):
            self.mem[_INT_STATUS] = 0
        return bytes(out)

    def write(self, register: int, data: bytes) -> None:
        r = self.regs
        address = register & 0xFF
        for value in data:
            if address == _FIFO_R_W:
                return  # host writes into the FIFO: not modelled
            reg = r.at(address)
            if reg is not None and reg.writable and self._write_one(address, value):
                return  # the chip reset: the rest of the burst went nowhere
            address = (address + 1) & 0xFF

    def _write_one(self, address: int, value: int) -> bool:
        """Store one register; True when the chip reset and the rest of the burst is void."""
        r = self.regs
        if address == A("PWR_MGMT_1"):
            if r.flag("PWR_MGMT_1", value, "DEVICE_RESET"):
                self.power_on_reset()  # self-clearing; the emulated reset takes no time
                return True
            self.mem[address] = value
            self.set_measuring(not r.flag("PWR_MGMT_1", value, "SLEEP"))
        elif address == A("USER_CTRL"):
            if r.flag("USER_CTRL", value, "FIFO_RESET") and not r.flag(
                "USER_CTRL", value, "FIFO_EN"
            ):
                self._clear_fifo()  # ignored while FIFO_EN stays set (§3.5)
            # The reset bits clear themselves.
            self.mem[address] = value & ~r.compose(
                "USER_CTRL", FIFO_RESET=1, I2C_MST_RESET=1, SIG_COND_RESET=1
            )
        elif address == A("SIGNAL_PATH_RESET"):
            self.mem[address] = 0  # write-only strobes
        elif address in (A("SMPLRT_DIV"), A("CONFIG")):
            before = self.odr_hz()
            self.mem[address] = value
            if self.measuring and self.odr_hz() != before:
                # New rate: the sample clock restarts from now at it.
                self.set_measuring(False)
                self.set_measuring(True)
        else:
            self.mem[address] = value
        return False
