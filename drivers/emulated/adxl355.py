"""Register-level ADXL355 emulator (``shared/reference/sensors.md`` §4, §4.9).

Modelled: the identity block (DEVID_AD, DEVID_MST, PARTID, REVID); power-on values, with the
chip in STANDBY until POWER_CTL b0 is cleared; the soft reset (0x52 to RESET) restoring them,
NVM_BUSY for a moment afterwards and the factory trim in the shadow registers 0x50-0x54 (which
a test can make fail to reload); auto-increment on multi-byte accesses except at FIFO_DATA
(0x11), which is a port: a burst of 3·N bytes pops N entries; the FIFO as 96 single-axis
entries, X, Y, Z of each sample written together, the X entry marked in b0 of its third byte,
entries read from an empty FIFO flagged in b1; FIFO_ENTRIES counting entries; the 20-bit
left-justified big-endian format at ±2/4/8 g; the latest sample in XDATA3..ZDATA1; STATUS with
FIFO_FULL following the level against FIFO_SAMPLES, FIFO_OVR and DATA_RDY latched and cleared
by reading STATUS [? — §4.6, the clear rules were not retrieved]; INT_MAP routing to INT1 with
the polarity of RANGE.INT_POL; the self-test force with ST1 and ST2 both set; a constant
25 °C in TEMP2/TEMP1.

Chosen where the sources are silent [?]: when the FIFO is full the OLDEST entries are lost
(stream-like; the driver's timestamps depend on the samples read being the newest) and
FIFO_OVR is set; a burst that reaches 0x11 from below stays on the port; an entry is popped
once its third byte has been read; entering standby keeps the FIFO's contents. Not modelled:
the digital filters (low-pass, high-pass) and their settling, offsets, activity detection,
INT2 and the DRDY pin, external sync/clock, I2C high-speed mode, noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.chips.adxl355 import (
    AXES,
    ENTRY_BYTES,
    ENTRY_EMPTY,
    ENTRY_X_MARKER,
    FIFO_ENTRIES_MAX,
    LSB_PER_G,
    REGS,
    SAMPLE_BITS,
    SPEC,
    TEMP_LSB_AT_25C,
)
from hypnic.drivers.emulated.base import EmulatedChip, SampleSource, resting
from hypnic.drivers.timebase import Clock

_STATUS = REGS.address("STATUS")
_FIFO_ENTRIES = REGS.address("FIFO_ENTRIES")
_TEMP2 = REGS.address("TEMP2")
_TEMP1 = REGS.address("TEMP1")
_DATA = range(REGS.address("XDATA3"), REGS.address("ZDATA1") + 1)
_FIFO_DATA = REGS.address("FIFO_DATA")
_POWER_CTL = REGS.address("POWER_CTL")
_RESET = REGS.address("RESET")
_SHADOW = range(REGS.address("SHADOW0"), REGS.address("SHADOW4") + 1)
#: Registers the kernel only writes in standby (§4.3): counted when written while measuring.
_STANDBY_ONLY = frozenset(
    REGS.address(name)
    for name in ("FILTER", "RANGE", "OFFSET_X_H", "OFFSET_X_L", "OFFSET_Y_H", "OFFSET_Y_L",
                 "OFFSET_Z_H", "OFFSET_Z_L")
)
_VALUE_MASK = (1 << SAMPLE_BITS) - 1
_FLAG_BITS = 8 * ENTRY_BYTES - SAMPLE_BITS  # the nibble under the value holds the flags


def pack_entries(codes: NDArray[np.int64], flags: NDArray[np.int64]) -> NDArray[np.uint8]:
    """N signed 20-bit codes → N×3 bytes, big-endian and left-justified, ``flags`` in the
    low nibble of the third byte."""
    words = (((codes & _VALUE_MASK) << _FLAG_BITS) | flags).astype(">u4")
    return words.view(np.uint8).reshape(-1, 4)[:, 4 - ENTRY_BYTES :]


class EmulatedADXL355(EmulatedChip):
    """The FIFO here holds single-axis entries, so ``fifo_count`` counts entries (up to 96),
    not samples, and ``pop``/``peek`` work in entries."""

    spec = SPEC
    regs = REGS
    # Typical deflection [1 ADI EngineerZone]: inside the limits the driver judges against.
    self_test_g = (0.3, 0.3, 1.5)
    #: How long NVM_BUSY reads 1 after power-on or a soft reset [?]; the driver waits 5 ms.
    nvm_load_s = 0.002

    def __init__(
        self,
        clock: Clock,
        source: SampleSource = resting,
        address: int | None = None,
        rate_error: float = 0.0,
        int_pin: Any = None,
        model: str | None = None,
    ) -> None:
        # This part's factory trim, as the shadow registers show it.
        seed = address if address is not None else SPEC.addresses[0]
        self.trim = bytes((0x3C + 0x29 * i + seed) & 0xFF for i in range(len(_SHADOW)))
        #: Soft resets still to come that fail to reload the trim (a test sets it).
        self.trim_reload_failures = 0
        #: Writes to FILTER, RANGE or the offsets while measuring (the driver should make none).
        self.config_writes_while_measuring = 0
        self.soft_resets = 0
        super().__init__(clock, source, address, rate_error, int_pin, model)

    # --- state ----------------------------------------------------------------------------

    def power_on_reset(self) -> None:
        # The entry ring first: the base class drives the INT line at the end of its reset.
        self._codes = np.zeros(FIFO_ENTRIES_MAX, dtype=np.int64)
        self._marks = np.zeros(FIFO_ENTRIES_MAX, dtype=np.int64)
        self._latest = np.zeros(AXES, dtype=np.int64)
        self._data_ready = False
        self._nvm_busy_until = self.clock.monotonic() + self.nvm_load_s
        super().power_on_reset()
        self.mem[_SHADOW.start : _SHADOW.stop] = self.trim

    def _soft_reset(self) -> None:
        self.soft_resets += 1
        self.power_on_reset()
        if self.trim_reload_failures > 0:
            self.trim_reload_failures -= 1
            self.mem[_SHADOW.start] ^= 0xFF  # a trim byte that did not come back

    def odr_hz(self) -> float:
        rate = self._get("FILTER", "ODR_LPF")
        # Codes 11-15 are not in the table; continue the 4000 Hz / 2^code series for them.
        return float(rate) if isinstance(rate, float) else 4000.0 / 2 ** int(rate)

    def _range_g(self) -> int:
        g = self._get("RANGE", "RANGE")
        return g if g in LSB_PER_G else 2  # code 00 is reserved [?]: read it as ±2 g

    def encode(self, acc_g: NDArray[np.float64]) -> NDArray[np.int64]:
        top = 1 << (SAMPLE_BITS - 1)
        codes = np.round(acc_g * LSB_PER_G[self._range_g()])
        return np.clip(codes, -top, top - 1).astype(np.int64)

    def self_test_on(self) -> bool:
        # ST1 enables the self-test mode, ST2 applies the force (§4.7).
        return self._flag("SELF_TEST", "ST1") and self._flag("SELF_TEST", "ST2")

    def keeps_newest(self) -> bool:
        # The sheet does not say [?]: the oldest entries make way, and FIFO_OVR is set.
        return True

    # --- the entry FIFO ---------------------------------------------------------------------

    def _push(self, codes: NDArray[np.int64], skipped: int) -> None:
        """Samples in as X, Y, Z entries; when full the oldest entries are lost."""
        if len(codes) == 0:
            return
        flat = codes.reshape(-1)
        marks = np.zeros(len(flat), dtype=np.int64)
        marks[0::AXES] = ENTRY_X_MARKER
        room = FIFO_ENTRIES_MAX - self.fifo_count
        lost = AXES * skipped + max(0, len(flat) - room)
        if lost:
            self.overrun = True
            self.samples_dropped += -(-lost // AXES)
        if len(flat) > FIFO_ENTRIES_MAX:
            flat, marks = flat[-FIFO_ENTRIES_MAX:], marks[-FIFO_ENTRIES_MAX:]
        n = len(flat)
        drop = max(0, self.fifo_count + n - FIFO_ENTRIES_MAX)
        self.fifo_head = (self.fifo_head + drop) % FIFO_ENTRIES_MAX
        self.fifo_count -= drop
        tail = (self.fifo_head + self.fifo_count + np.arange(n)) % FIFO_ENTRIES_MAX
        self._codes[tail] = flat
        self._marks[tail] = marks
        self.fifo_count += n
        self._latest = codes[-1].copy()
        self._data_ready = True

    def _take(self, n: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        n = min(n, self.fifo_count)
        idx = (self.fifo_head + np.arange(n)) % FIFO_ENTRIES_MAX
        self.fifo_head = (self.fifo_head + n) % FIFO_ENTRIES_MAX
        self.fifo_count -= n
        return self._codes[idx], self._marks[idx]

    def pop(self, n: int) -> NDArray[np.int64]:
        """Take up to ``n`` of the oldest single-axis entries (their codes)."""
        return self._take(n)[0]

    def peek(self) -> NDArray[np.int64] | None:
        return self._codes[self.fifo_head : self.fifo_head + 1].copy() if self.fifo_count else None

    def _read_port(self, length: int) -> bytes:
        """A burst of ``length`` bytes from FIFO_DATA: whole entries are popped; entries past
        the end of the data come back flagged empty; a trailing partial entry is not popped."""
        whole, part = divmod(length, ENTRY_BYTES)
        codes, marks = self._take(whole)
        empty = whole - len(codes)
        if part:
            if self.fifo_count:  # the next entry, looked at but left in the FIFO
                head = self.fifo_head
                codes = np.append(codes, self._codes[head])
                marks = np.append(marks, self._marks[head])
            else:
                empty += 1
        if empty:
            codes = np.append(codes, np.zeros(empty, dtype=np.int64))
            marks = np.append(marks, np.full(empty, ENTRY_EMPTY, dtype=np.int64))
        return pack_entries(codes, marks).tobytes()[:length]

    # --- registers ------------------------------------------------------------------------

    def _fifo_full(self) -> bool:
        level = max(1, min(FIFO_ENTRIES_MAX, int(self._get("FIFO_SAMPLES", "SAMPLES"))))
        return bool(self.fifo_count >= level)

    def _status(self) -> int:
        return self.regs.compose(
            "STATUS",
            NVM_BUSY=int(self.clock.monotonic() < self._nvm_busy_until),
            FIFO_OVR=int(self.overrun),
            FIFO_FULL=int(self._fifo_full()),
            DATA_RDY=int(self._data_ready),
        )

    def int_active(self) -> bool:
        pending = (
            (self._flag("INT_MAP", "RDY_EN1") and self._data_ready)
            or (self._flag("INT_MAP", "FULL_EN1") and self._fifo_full())
            or (self._flag("INT_MAP", "OVR_EN1") and self.overrun)
        )
        # INT_POL 0 (reset) is active low: the line then idles high.
        return pending == self._flag("RANGE", "INT_POL")

    def _read_byte(self, address: int) -> int:
        if address == _STATUS:
            value = self._status()
            self.overrun = False  # [?] latched flags clear when STATUS is read
            self._data_ready = False
            return value
        if address == _FIFO_ENTRIES:
            return self.regs.compose("FIFO_ENTRIES", ENTRIES=self.fifo_count)
        if address in _DATA:
            entry = pack_entries(self._latest, np.zeros(AXES, dtype=np.int64)).reshape(-1)
            return int(entry[address - _DATA.start])
        if address == _TEMP2:
            return self.regs.compose("TEMP2", TEMP_HI=TEMP_LSB_AT_25C >> 8)
        if address == _TEMP1:
            return TEMP_LSB_AT_25C & 0xFF
        if address == _RESET:
            return 0x00
        return self.mem[address]

    def read(self, register: int, length: int) -> bytes:
        out = bytearray()
        address = register & 0xFF
        for done in range(length):
            if address == _FIFO_DATA:
                # The port does not auto-increment: the rest of the burst is FIFO entries.
                out += self._read_port(length - done)
                break
            out.append(self._read_byte(address))
            address = (address + 1) & 0xFF
        return bytes(out)

    def write(self, register: int, data: bytes) -> None:
        r = self.regs
        for offset, value in enumerate(data):
            address = (register + offset) & 0xFF
            reg = r.at(address)
            if reg is None or not reg.writable:
                continue
            if address == _RESET:
                if value == r.compose("RESET", CODE="reset"):
                    self._soft_reset()
                continue  # write-only: nothing is stored
            if address in _STANDBY_ONLY and self.measuring:
                self.config_writes_while_measuring += 1
            self.mem[address] = value
            if address == _POWER_CTL:
                self.set_measuring(not r.flag("POWER_CTL", value, "STANDBY"))
