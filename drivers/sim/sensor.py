"""The simulated night as a Sensor: yields its samples in Blocks, paced like a real chip.

Each block holds ``block_s`` of simulated time and is handed out once the (sped-up) clock has
reached the end of it, as a chip's FIFO would be read. Deadlines are computed from the time
iteration began, not from the previous block, so timing errors never accumulate; waits are
cut into naps of at most ``MAX_NAP_S`` so ``close()`` from another thread takes effect quickly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from hypnic.drivers.base import Block
from hypnic.drivers.sim.night import SimulatedNight

#: Longest single sleep while waiting for the next block.
MAX_NAP_S = 0.25


class SimulatedSensor:
    """A Sensor over a SimulatedNight.

    speed               simulated seconds per wall second; 0 renders as fast as possible.
    block_s             simulated seconds of samples per Block (the last one may be shorter).
    wall_time_at_start  Unix time the night's first sample stands for (default: now), so
                        ``wall_time_at_zero`` is that minus ``night.start_s``.
    monotonic, sleep    the clock and the sleep to pace with (tests pass fakes).

    ``blocks()`` carries on from where an earlier, abandoned ``blocks()`` stopped, and ends at
    the end of the night or once ``close()`` has been called.
    """

    def __init__(
        self,
        night: SimulatedNight,
        speed: float = 60.0,
        block_s: float = 0.25,
        wall_time_at_start: float | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not speed >= 0:
            raise ValueError(f"speed must be 0 (as fast as possible) or positive, got {speed}")
        if not block_s > 0:
            raise ValueError(f"block_s must be positive, got {block_s}")
        self.night = night
        self.speed = float(speed)
        self.block_s = float(block_s)
        self.block_n = max(1, round(block_s * night.true_rate_hz))
        self._wall_time_at_start = time.time() if wall_time_at_start is None else wall_time_at_start
        self._monotonic = monotonic
        self._sleep = sleep
        self._next_index = 0
        self._closed = False

    @property
    def description(self) -> str:
        return f"simulated night (seed {self.night.seed}, {self.night.rate_hz:g} Hz)"

    @property
    def nominal_rate_hz(self) -> float:
        return float(self.night.rate_hz)

    @property
    def wall_time_at_zero(self) -> float | None:
        return float(self._wall_time_at_start - self.night.start_s)

    def blocks(self) -> Iterator[Block]:
        night = self.night
        begun = self._monotonic()
        resumed_at = self._next_index
        while not self._closed and self._next_index < night.n_samples:
            first = self._next_index
            n = min(self.block_n, night.n_samples - first)
            if self.speed > 0:
                due = begun + (first + n - resumed_at) / night.true_rate_hz / self.speed
                if not self._wait_until(due):
                    return
            t_s, acc_g = night.render(first, n)
            self._next_index = first + n
            yield Block(t_s, acc_g, rate_hz=night.true_rate_hz)

    def _wait_until(self, due: float) -> bool:
        """Sleep until ``due`` on the monotonic clock; False if closed meanwhile."""
        while not self._closed:
            left = due - self._monotonic()
            if left <= 0:
                return True
            self._sleep(min(left, MAX_NAP_S))
        return False

    def close(self) -> None:
        self._closed = True
