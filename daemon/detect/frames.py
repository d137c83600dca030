"""Gather a stream of Blocks of any size into passes of a second up to a minute and a half.

The detector's outputs do not depend on where a pass begins or ends (see ``filters``), so the
only reason to gather is speed: each numpy pass has a fixed cost, which a driver handing over
one sample at a time would otherwise pay per sample. A pass is at least ``min_n`` samples
(one second) and at most ``max_n``; a long Block is cut into several passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.base import Block


@dataclass(frozen=True)
class Pass:
    t_s: NDArray[np.float64]
    acc_g: NDArray[np.float64]
    gap_before: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.t_s)


class PassAssembler:
    """Collects samples and hands them back in passes of ``min_n`` to ``max_n`` samples."""

    def __init__(self, min_n: int, max_n: int) -> None:
        self.min_n = min_n
        self.max_n = max_n
        self._parts: list[tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]] = []
        self._pending_n = 0

    def push(self, block: Block) -> list[Pass]:
        if len(block) == 0:
            return []
        self._parts.append((block.t_s, block.acc_g, block.gap_before))
        self._pending_n += len(block)
        if self._pending_n < self.min_n:
            return []
        return self.drain()

    def drain(self) -> list[Pass]:
        """Everything pending, in passes of at most ``max_n`` samples."""
        if self._pending_n == 0:
            return []
        if len(self._parts) == 1:
            t, acc, gap = self._parts[0]
        else:
            t = np.concatenate([p[0] for p in self._parts])
            acc = np.concatenate([p[1] for p in self._parts])
            gap = np.concatenate([p[2] for p in self._parts])
        self._parts, self._pending_n = [], 0
        return [
            Pass(t[i : i + self.max_n], acc[i : i + self.max_n], gap[i : i + self.max_n])
            for i in range(0, len(t), self.max_n)
        ]
