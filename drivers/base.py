"""The Block and the sensor interface: the only things that cross from drivers into the daemon.

A sensor (a real chip driver, the simulated night, or a recording being replayed) yields
Blocks. Everything above this module is hardware-agnostic; everything below knows nothing of
events.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray


class SensorError(Exception):
    """A sensor could not be opened or read; the message says what to do about it."""


@dataclass(frozen=True)
class Block:
    """A run of consecutive samples from one sensor.

    t_s          per-sample time in seconds on the sensor's own steady clock (monotonic-derived
                 for a live chip, the recording's ``t`` column for a replay); strictly increasing.
    acc_g        N×3 float64 acceleration in g, in the sensor's own axes (any mounting).
    rate_hz      the estimated real output rate (a chip is a few percent off its nominal rate).
    gap_before   N booleans: True where samples were lost just before this one (FIFO overrun,
                 missed read, a hole in a recording). The detector must not read a gap as motion.
    lost_samples how many samples were lost inside or just before this block, for reporting.
    """

    t_s: NDArray[np.float64]
    acc_g: NDArray[np.float64]
    rate_hz: float
    gap_before: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    lost_samples: int = 0

    def __post_init__(self) -> None:
        n = len(self.t_s)
        if self.acc_g.shape != (n, 3):
            raise ValueError(f"acc_g must be {n}x3, got {self.acc_g.shape}")
        if len(self.gap_before) != n:
            # The default (no gaps) is filled in here so callers need not build the array.
            if len(self.gap_before) != 0:
                raise ValueError(f"gap_before must have {n} entries, got {len(self.gap_before)}")
            object.__setattr__(self, "gap_before", np.zeros(n, dtype=bool))
        if not self.rate_hz > 0:
            raise ValueError(f"rate_hz must be positive, got {self.rate_hz}")

    def __len__(self) -> int:
        return len(self.t_s)

    @property
    def has_gap(self) -> bool:
        return bool(self.gap_before.any())


@dataclass(frozen=True)
class SensorHealth:
    """How the sensor is doing, for diagnostics: ``model`` (the chip, e.g. "ADXL345"),
    ``state`` in words ("streaming", "sensor lost, retrying (3)"), and running counts of I2C
    errors, recoveries from a lost sensor, FIFO overruns and samples lost."""

    model: str
    rate_hz: float
    state: str = "streaming"
    i2c_errors: int = 0
    recoveries: int = 0
    overruns: int = 0
    lost_samples: int = 0


@runtime_checkable
class Sensor(Protocol):
    """What the daemon needs of a sensor: a description and a stream of Blocks.

    ``blocks()`` yields until the source ends (a recording's last sample, a simulated night's
    end) or, for a live chip, forever; the caller stops iterating to stop it. ``close()``
    releases the bus or file and may be called more than once.
    """

    @property
    def description(self) -> str:
        """Human-readable identity, e.g. ``simulated night (seed 1) 200 Hz``."""
        ...

    @property
    def nominal_rate_hz(self) -> float: ...

    @property
    def wall_time_at_zero(self) -> float | None:
        """Unix time that ``t_s == 0`` corresponds to, or None when unknown (a bare recording)."""
        ...

    def blocks(self) -> Iterator[Block]: ...

    def health(self) -> SensorHealth: ...

    def close(self) -> None: ...
