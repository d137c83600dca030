"""What every chip driver provides, and the facts about a chip that driver and emulator share.

A chip module (``drivers/chips/<chip>.py``) declares its ``RegisterMap`` and a ``ChipSpec``,
and subclasses ``ChipDriver`` with the chip's own configuration, FIFO read and self-test. The
acquisition loop (``drivers/acquire.py``) does the rest — waiting, timestamps, gaps, faults —
the same way for every chip.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.bus import Device
from hypnic.drivers.registers import RegisterMap
from hypnic.drivers.timebase import Clock


class ChipFault(Exception):
    """The chip answered, but not as the chip we configured (wrong identity, lost setup,
    a failed reset). The acquisition loop backs off and sets the chip up again."""


@dataclass(frozen=True)
class ChipSpec:
    """Facts about a chip family (from ``../shared/reference/sensors.md`` and datasheets).

    key             the name in the config (``sensor.type``), e.g. "adxl345"
    addresses       7-bit I2C addresses it can answer at, the usual strapping first
    id_register     the identity register; ``ids`` maps its values to model names
    rates_hz        output rates the driver can set, in Hz
    ranges_g        full-scale ranges, in g
    fifo_capacity   XYZ samples the FIFO holds
    noise_density_ug_rthz  typical noise density (µg/√Hz) at the smallest range
    """

    name: str
    key: str
    addresses: tuple[int, ...]
    id_register: int
    ids: Mapping[int, str]
    rates_hz: tuple[float, ...]
    ranges_g: tuple[int, ...]
    fifo_capacity: int
    noise_density_ug_rthz: float

    def nearest_rate_hz(self, requested_hz: float) -> float:
        return min(self.rates_hz, key=lambda r: (abs(r - requested_hz), -r))

    def nearest_range_g(self, requested_g: float) -> int:
        """The smallest range that holds ``requested_g`` (the largest if none does)."""
        fitting = [r for r in self.ranges_g if r >= requested_g]
        return min(fitting) if fitting else max(self.ranges_g)


@dataclass(frozen=True)
class FifoRead:
    """Samples read from the FIFO, oldest first, and whether it had overflowed."""

    acc_g: NDArray[np.float64]
    overrun: bool = False

    def __len__(self) -> int:
        return len(self.acc_g)


@dataclass(frozen=True)
class SelfTestResult:
    """Per-axis self-test deflection (g) against the datasheet's limits."""

    chip: str
    deflection_g: tuple[float, float, float]
    limits_g: tuple[tuple[float, float], tuple[float, float], tuple[float, float]]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return all(
            lo <= d <= hi for d, (lo, hi) in zip(self.deflection_g, self.limits_g, strict=True)
        )

    def describe(self) -> str:
        axes = ", ".join(
            f"{a} {d:+.3f} g ({lo:+.2f}..{hi:+.2f})"
            for a, d, (lo, hi) in zip("XYZ", self.deflection_g, self.limits_g, strict=True)
        )
        return f"{self.chip} self-test {'PASS' if self.passed else 'FAIL'}: {axes}"


class ChipDriver(ABC):
    """Register-level driver for one chip family. Subclasses set ``spec`` and ``regs``.

    The driver owns no thread and no timing policy: it configures the chip, reads its FIFO,
    checks the configuration is still in place and runs the self-test when asked.
    """

    spec: ClassVar[ChipSpec]
    regs: ClassVar[RegisterMap]
    #: OR-ed into the register byte of burst reads (LIS3DH: 0x80 to auto-increment).
    burst_flag: ClassVar[int] = 0x00

    def __init__(self, device: Device, rate_hz: float, range_g: float, clock: Clock) -> None:
        self.device = device
        self.clock = clock
        self.rate_hz = self.spec.nearest_rate_hz(rate_hz)
        self.range_g = self.spec.nearest_range_g(range_g)
        self.model = self.spec.name

    @classmethod
    def identify(cls, device: Device) -> str | None:
        """The model name if the chip at ``device`` is of this family, else None."""
        return cls.spec.ids.get(device.read(cls.spec.id_register))

    @property
    def lsb_g(self) -> float:
        """The size of one output step in g at the configured range and resolution."""
        raise NotImplementedError

    @property
    def watermark(self) -> int:
        """FIFO samples per read: half the FIFO, so a read that comes late still finds room
        for as many samples again before anything is lost."""
        return max(1, self.spec.fifo_capacity // 2)

    @abstractmethod
    def configure(self, interrupt: bool) -> None:
        """Reset what can be reset, set rate, range and best resolution, start the FIFO in
        stream mode with ``watermark``, route the watermark (or data-ready) to INT1 active
        high when ``interrupt``, and start measuring."""

    @abstractmethod
    def read_fifo(self) -> FifoRead:
        """Read every complete sample waiting in the FIFO, in burst transfers."""

    @abstractmethod
    def is_configured(self) -> bool:
        """False when the chip has lost its configuration (a reset, a brown-out)."""

    @abstractmethod
    def self_test(self) -> SelfTestResult:
        """Run the chip's self-test and judge it; leaves the chip needing ``configure``."""

    def average_g(self, samples: int, settle_samples: int = 4) -> NDArray[np.float64]:
        """Average of ``samples`` fresh samples (after dropping ``settle_samples``), waiting
        on the clock as needed; used by self-tests."""
        got: list[NDArray[np.float64]] = []
        have = 0
        deadline = self.clock.monotonic() + 5.0 + 2 * (samples + settle_samples) / self.rate_hz
        self.read_fifo()  # drop what was there before
        while have < samples + settle_samples and self.clock.monotonic() < deadline:
            self.clock.sleep(4.0 / self.rate_hz)
            part = self.read_fifo().acc_g
            got.append(part)
            have += len(part)
        data = np.concatenate(got) if got else np.zeros((0, 3))
        data = data[settle_samples : settle_samples + samples]
        if len(data) == 0:
            raise OSError("self-test: the chip produced no samples")
        return np.asarray(data.mean(axis=0), dtype=np.float64)
