"""The part of the LSM6DSO and LSM6DS3TR-C emulators that behaves the same on both chips.

Modelled here (``shared/reference/sensors.md`` §5, §6): power-on register values; CTRL3_C.IF_INC
deciding whether a multi-byte access steps to the next register (on at reset) and, when it
does, a burst that runs off the end of the FIFO data port starting over at its first byte, so
one burst serves successive FIFO words; SW_RESET restoring every register (WHO_AM_I is ROM),
emptying the FIFO, stopping the accelerometer and reading back as 0 at once; BOOT clearing at
once; ODR_XL ≠ 0 starting the sample clock, a change of rate restarting it; FS_XL and the
datasheet's mg per step, codes clipped to int16; OUTX/Y/Z holding the newest sample; the
positive self-test (ST_XL = 01) adding ``self_test_g``; INT1 active high unless H_LACTIVE.

The FIFO is a ring of *words*, not samples (each chip says what a word is and how it is read
out): words are stored as they are produced, a full FIFO in continuous mode loses its oldest
words one by one (so an LSM6DS3TR-C sample can lose its X and keep Y and Z), and bypass mode
empties it.

Not modelled: BDU (output registers are whole samples at all times), the gyroscope and the
temperature sensor, low-power/normal power modes (their noise), the filters, a FIFO batch rate
different from ODR_XL (words are batched at the output rate), the negative self-test, the
data-ready signals (STATUS_REG.XLDA just says the accelerometer has produced a sample, INT1
data-ready routing does nothing), the triggered FIFO modes (they behave as continuous) and
STOP_ON_WTM / STOP_ON_FTH.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.chips.lsm6ds_common import MG_PER_LSB
from hypnic.drivers.emulated.base import EmulatedChip

_OUT_BYTES = 6


class EmulatedLSM6DS(EmulatedChip):
    #: FIFO depth in words, and the int64 columns kept per stored word.
    fifo_words: ClassVar[int]
    word_columns: ClassVar[int]
    #: FIFO words one accelerometer sample takes.
    words_per_sample: ClassVar[int]
    #: Addresses of the FIFO data port; each read of its last byte pops one word.
    fifo_port: ClassVar[range]
    #: The first of the six output registers (OUTX_L).
    out_register: ClassVar[str]
    #: Typical positive self-test deflection: inside both chips' limits on every axis.
    self_test_g = (0.4, 0.4, 0.6)

    @property
    def fifo_slots(self) -> int:
        # Samples that fill the FIFO; the base class renders at most one more after a long
        # wait, enough to overflow it.
        return -(-self.fifo_words // self.words_per_sample)

    # --- state ---------------------------------------------------------------------------

    def power_on_reset(self) -> None:
        self.fifo = np.zeros((self.fifo_words, self.word_columns), dtype=np.int64)
        self.latest = np.zeros(3, dtype=np.int64)
        self.overrun_latched = False
        super().power_on_reset()

    def soft_reset(self) -> None:
        """SW_RESET: every register to its reset value except WHO_AM_I, which is not a
        register the reset touches."""
        who = self.mem[self.spec.id_register]
        self.power_on_reset()
        self.mem[self.spec.id_register] = who

    def odr_hz(self) -> float:
        rate = self._get("CTRL1_XL", "ODR_XL")
        return float(rate) if isinstance(rate, float) else 0.0  # undefined codes: off

    def encode(self, acc_g: NDArray[np.float64]) -> NDArray[np.int64]:
        lsb_g = MG_PER_LSB[self._get("CTRL1_XL", "FS_XL")] / 1000.0
        return np.clip(np.rint(acc_g / lsb_g), -32768, 32767).astype(np.int64)

    def self_test_on(self) -> bool:
        return bool(self._get("CTRL5_C", "ST_XL") == "positive")

    def data_dtype(self) -> str:
        """How a 16-bit output word is laid out in bytes."""
        return "<i2"

    # --- the FIFO as words ----------------------------------------------------------------

    @abstractmethod
    def batching(self) -> bool:
        """Whether new samples enter the FIFO."""

    @abstractmethod
    def words_for(self, codes: NDArray[np.int64], first: int) -> NDArray[np.int64]:
        """The FIFO words that samples ``first``, ``first + 1`` … (``codes``) become."""

    @abstractmethod
    def serialise(self, words: NDArray[np.int64]) -> NDArray[np.uint8]:
        """Words → the bytes the FIFO data port returns for each (one row per word)."""

    def _push(self, codes: NDArray[np.int64], skipped: int) -> None:
        if len(codes):
            self.latest = codes[-1].copy()
        if not self.batching():
            return
        # The base class calls this before counting the new samples in samples_made.
        first = self.samples_made + skipped
        self._store(self.words_for(codes, first), skipped * self.words_per_sample)

    def _store(self, words: NDArray[np.int64], skipped_words: int) -> None:
        depth = self.fifo_words
        room = depth - self.fifo_count
        m = len(words)
        lost = skipped_words + max(0, m - room)
        if lost:
            self.overrun = True
            self.overrun_latched = True
            self.samples_dropped += -(-lost // self.words_per_sample)
            if not self.keeps_newest():
                # FIFO (stop-when-full) mode: whole new samples are the ones lost.
                words = words[: room - room % self.words_per_sample]
                m = len(words)
        if m > depth:
            words = words[-depth:]
            m = depth
        drop = max(0, self.fifo_count + m - depth)
        self.fifo_head = (self.fifo_head + drop) % depth
        self.fifo_count -= drop
        tail = (self.fifo_head + self.fifo_count + np.arange(m)) % depth
        self.fifo[tail] = words
        self.fifo_count += m

    def pop(self, n: int) -> NDArray[np.int64]:
        """Take up to ``n`` of the oldest words."""
        n = min(n, self.fifo_count)
        idx = (self.fifo_head + np.arange(n)) % self.fifo_words
        out = self.fifo[idx]
        self.fifo_head = (self.fifo_head + n) % self.fifo_words
        self.fifo_count -= n
        if n:
            self.overrun = False  # the FIFO is no longer full once a word is read
        return out

    def peek(self) -> NDArray[np.int64] | None:
        return self.fifo[self.fifo_head].copy() if self.fifo_count else None

    def clear_fifo(self) -> None:
        self.fifo_head = 0
        self.fifo_count = 0
        self.overrun = False
        self.overrun_latched = False

    def keeps_newest(self) -> bool:
        return bool(self.fifo_mode() != "fifo")

    @abstractmethod
    def fifo_mode(self) -> Any:
        """FIFO_MODE by name ("bypass", "fifo", "continuous", …)."""

    # --- the bus side -------------------------------------------------------------------

    def _if_inc(self) -> bool:
        return self._flag("CTRL3_C", "IF_INC")

    def _next(self, address: int) -> int:
        if not self._if_inc():
            return address
        if address == self.fifo_port.stop - 1:
            return self.fifo_port.start  # the FIFO port starts over: the next word
        return (address + 1) & 0xFF

    def read(self, register: int, length: int) -> bytes:
        if register == self.fifo_port.start and self._if_inc():
            return self._read_port(length)
        out = bytearray()
        address = register & 0xFF
        for _ in range(length):
            out.append(self._read_byte(address))
            address = self._next(address)
        return bytes(out)

    def _read_port(self, length: int) -> bytes:
        """A burst from the start of the FIFO port: whole words, popped, and the first bytes
        of the next one (not popped). Reading past the last word returns zeros [?]."""
        size = len(self.fifo_port)
        n, rest = divmod(length, size)
        words = self.pop(n)
        table = np.zeros((n, size), dtype=np.uint8)
        table[: len(words)] = self.serialise(words)
        tail = b""
        if rest:
            head = self.peek()
            tail = bytes(rest) if head is None else self.serialise(head[None])[0, :rest].tobytes()
        return table.tobytes() + tail

    def _read_byte(self, address: int) -> int:
        r = self.regs
        if address in self.fifo_port:
            head = self.peek()
            if head is None:
                return 0
            offset = address - self.fifo_port.start
            value = int(self.serialise(head[None])[0, offset])
            if offset == len(self.fifo_port) - 1:
                self.pop(1)
            return value
        first_out = r.address(self.out_register)
        if first_out <= address < first_out + _OUT_BYTES:
            data = self.latest.astype(self.data_dtype()).view(np.uint8)
            return int(data[address - first_out])
        if address == r.address("STATUS_REG"):
            return r.compose("STATUS_REG", XLDA=int(self.measuring and self.samples_made > 0))
        special = self.status_byte(address)
        return self.mem[address] if special is None else special

    @abstractmethod
    def status_byte(self, address: int) -> int | None:
        """The chip's computed registers (FIFO status); None for a plain register."""

    def write(self, register: int, data: bytes) -> None:
        address = register & 0xFF
        for value in data:
            self._write_byte(address, value)
            address = self._next(address)

    def _write_byte(self, address: int, value: int) -> None:
        r = self.regs
        reg = r.at(address)
        if reg is None or not reg.writable:
            return
        if reg.name == "CTRL3_C":
            if r.flag("CTRL3_C", value, "SW_RESET"):
                self.soft_reset()
                return
            value = r.update("CTRL3_C", value, BOOT=0)  # the reboot is instant here
        if reg.name == "CTRL1_XL":
            old_rate = self.odr_hz()
            new_rate = r.get("CTRL1_XL", value, "ODR_XL")
            if new_rate != old_rate:
                self.set_measuring(False)  # the samples so far were at the old rate
            self.mem[address] = value
            self.set_measuring(self.odr_hz() > 0)
        else:
            self.mem[address] = value
        self.wrote(reg.name)

    def wrote(self, register: str) -> None:
        """A chip's reaction to a register write (FIFO mode changes)."""
        if self.fifo_mode() == "bypass":
            self.clear_fifo()

    def line_high(self, asserted: bool) -> bool:
        """INT1's level for an asserted/quiet interrupt: H_LACTIVE = 1 makes it active low."""
        return asserted != self._flag("CTRL3_C", "H_LACTIVE")
