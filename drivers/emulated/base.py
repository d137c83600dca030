"""The common part of every register-level chip emulator.

An emulated chip has a register file with the chip's power-on values (from the same
``RegisterMap`` the driver uses), a FIFO of raw output codes, and a sample clock: while it is
measuring it produces samples at its true rate (nominal × (1 + rate_error)) as the emulation
clock advances, pulling acceleration from a ``source`` (the simulated night) and encoding it
the way the chip would. It drives its interrupt line on a gpiozero mock pin.

Chip subclasses say how samples are encoded, what reading and writing each register does
(auto-increment rules, FIFO pops, clear-on-read flags) and when the interrupt line is high.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.chip import ChipSpec
from hypnic.drivers.registers import RegisterMap
from hypnic.drivers.timebase import Clock

#: Edges a mock interrupt pin keeps in its history before it is cleared.
MOCK_PIN_HISTORY = 256

#: (first sample index, count) → count×3 acceleration in g.
SampleSource = Callable[[int, int], NDArray[np.float64]]


def resting(first: int, n: int) -> NDArray[np.float64]:
    """A sensor lying flat and still: 1 g on Z."""
    return np.tile([0.0, 0.0, 1.0], (n, 1))


class EmulatedChip(ABC):
    spec: ClassVar[ChipSpec]
    regs: ClassVar[RegisterMap]
    #: Self-test deflection the chip adds, per axis, in g (inside the datasheet limits).
    self_test_g: ClassVar[tuple[float, float, float]] = (0.5, -0.5, 0.8)

    def __init__(
        self,
        clock: Clock,
        source: SampleSource = resting,
        address: int | None = None,
        rate_error: float = 0.0,
        int_pin: Any = None,
        model: str | None = None,
    ) -> None:
        self.clock = clock
        self.source = source
        self.address = address if address is not None else self.spec.addresses[0]
        self.rate_error = rate_error
        self.int_pin = int_pin
        self.model = model or next(iter(self.spec.ids.values()))
        self.self_test_broken = False
        self.mem = bytearray(256)
        self.fifo = np.zeros((self.fifo_slots, 3), dtype=np.int64)
        self.power_on_reset()
        clock.on_advance(self.sync)

    # --- state ---------------------------------------------------------------------------

    @property
    def fifo_slots(self) -> int:
        return self.spec.fifo_capacity

    def power_on_reset(self) -> None:
        """Registers back to their power-on values, FIFO empty, not measuring."""
        self.mem[:] = bytes(256)
        for address, value in self.regs.resets().items():
            self.mem[address] = value
        for address, model_id in self.spec.ids.items():
            if model_id == self.model:
                self.mem[self.spec.id_register] = address
        self.fifo_head = 0
        self.fifo_count = 0
        self.overrun = False
        self.samples_made = 0
        self.samples_dropped = 0
        self._measure_start_s: float | None = None
        self._made_since_start = 0
        self._update_int()

    def set_measuring(self, on: bool) -> None:
        """Start or stop the sample clock (subclasses call it from register writes)."""
        if on and self._measure_start_s is None:
            self._measure_start_s = self.clock.monotonic()
            self._made_since_start = 0
        elif not on:
            self.sync(self.clock.monotonic())
            self._measure_start_s = None

    def _get(self, register: str, field: str) -> Any:
        """The meaning of a field in a register's current value."""
        return self.regs.get(register, self.mem[self.regs.address(register)], field)

    def _flag(self, register: str, field: str) -> bool:
        return self.regs.flag(register, self.mem[self.regs.address(register)], field)

    @property
    def measuring(self) -> bool:
        return self._measure_start_s is not None

    @property
    def true_rate_hz(self) -> float:
        return self.odr_hz() * (1.0 + self.rate_error)

    # --- sample production ------------------------------------------------------------------

    def sync(self, now_s: float) -> None:
        """Produce every sample due by ``now_s`` into the FIFO."""
        if self._measure_start_s is None:
            return
        due = int((now_s - self._measure_start_s) * self.true_rate_hz)
        new = due - self._made_since_start
        if new <= 0:
            return
        # Only the newest samples can survive in the FIFO; don't render an hour no one reads.
        keep = min(new, self.fifo_slots + 1)
        skipped = new - keep
        first = self.samples_made + skipped
        acc = np.asarray(self.source(first, keep), dtype=np.float64)
        if self.self_test_on() and not self.self_test_broken:
            acc = acc + np.asarray(self.self_test_g)
        self._push(self.encode(acc), skipped)
        self._made_since_start = due
        self.samples_made += new
        self._update_int()

    def _push(self, codes: NDArray[np.int64], skipped: int) -> None:
        n = len(codes)
        room = self.fifo_slots - self.fifo_count
        lost = skipped + max(0, n - room)
        if lost:
            self.overrun = True
            self.samples_dropped += lost
            if not self.keeps_newest():
                # FIFO (stop-when-full) mode: new samples are the ones lost.
                codes = codes[:room]
                n = len(codes)
        if n > self.fifo_slots:
            codes = codes[-self.fifo_slots :]
            n = self.fifo_slots
        drop = max(0, self.fifo_count + n - self.fifo_slots)
        self.fifo_head = (self.fifo_head + drop) % self.fifo_slots
        self.fifo_count -= drop
        tail = (self.fifo_head + self.fifo_count + np.arange(n)) % self.fifo_slots
        self.fifo[tail] = codes
        self.fifo_count += n

    def pop(self, n: int) -> NDArray[np.int64]:
        """Take up to ``n`` of the oldest samples from the FIFO."""
        n = min(n, self.fifo_count)
        idx = (self.fifo_head + np.arange(n)) % self.fifo_slots
        out = self.fifo[idx].copy()
        self.fifo_head = (self.fifo_head + n) % self.fifo_slots
        self.fifo_count -= n
        return out

    def peek(self) -> NDArray[np.int64] | None:
        return self.fifo[self.fifo_head].copy() if self.fifo_count else None

    def _update_int(self) -> None:
        if self.int_pin is None:
            return
        if self.int_active():
            self.int_pin.drive_high()
        else:
            self.int_pin.drive_low()
        # A gpiozero MockPin records every edge for tests to inspect; over a night of
        # emulated interrupts that history would grow without bound.
        if len(self.int_pin.states) > MOCK_PIN_HISTORY:
            self.int_pin.clear_states()

    # --- the bus side -------------------------------------------------------------------------

    def transfer_read(self, register: int, length: int) -> bytes:
        self.sync(self.clock.monotonic())
        data = self.read(register, length)
        self._update_int()
        return data

    def transfer_write(self, register: int, data: bytes) -> None:
        self.sync(self.clock.monotonic())
        self.write(register, data)
        self._update_int()

    # --- what each chip defines ---------------------------------------------------------------

    @abstractmethod
    def odr_hz(self) -> float:
        """The nominal output rate the registers select."""

    @abstractmethod
    def encode(self, acc_g: NDArray[np.float64]) -> NDArray[np.int64]:
        """Acceleration → the raw output codes the chip would store (clipped, quantised)."""

    @abstractmethod
    def read(self, register: int, length: int) -> bytes:
        """One read transaction starting at ``register``."""

    @abstractmethod
    def write(self, register: int, data: bytes) -> None:
        """One write transaction starting at ``register``."""

    @abstractmethod
    def int_active(self) -> bool:
        """Whether the INT1 line is asserted now."""

    def self_test_on(self) -> bool:
        return False

    def keeps_newest(self) -> bool:
        """Stream mode (overwrite the oldest) rather than stop-when-full."""
        return True
