"""Cut a stream of Blocks of any size into frames of a fixed number of samples.

Every piece of detector state changes only at frame boundaries counted from the first sample,
never at block boundaries. That is what makes the detector give the same events whether the
driver hands it 1 sample or a minute of samples at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.base import Block


@dataclass(frozen=True)
class Frame:
    t_s: NDArray[np.float64]
    acc_g: NDArray[np.float64]
    gap_before: NDArray[np.bool_]


class FrameAssembler:
    """Collects samples and hands them back in frames of ``frame_n`` samples."""

    def __init__(self, frame_n: int) -> None:
        self.frame_n = frame_n
        self._parts: list[tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]] = []
        self._pending_n = 0

    def push(self, block: Block) -> list[Frame]:
        if len(block) == 0:
            return []
        self._parts.append((block.t_s, block.acc_g, block.gap_before))
        self._pending_n += len(block)
        if self._pending_n < self.frame_n:
            return []
        t, acc, gap = self._joined()
        whole = (len(t) // self.frame_n) * self.frame_n
        frames = [
            Frame(t[i : i + self.frame_n], acc[i : i + self.frame_n], gap[i : i + self.frame_n])
            for i in range(0, whole, self.frame_n)
        ]
        self._parts = [(t[whole:], acc[whole:], gap[whole:])] if whole < len(t) else []
        self._pending_n = len(t) - whole
        return frames

    def drain(self) -> Frame | None:
        """The last, shorter frame at the end of a stream (None when nothing is left)."""
        if self._pending_n == 0:
            return None
        t, acc, gap = self._joined()
        self._parts, self._pending_n = [], 0
        return Frame(t, acc, gap)

    def _joined(
        self,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
        if len(self._parts) == 1:
            return self._parts[0]
        return (
            np.concatenate([p[0] for p in self._parts]),
            np.concatenate([p[1] for p in self._parts]),
            np.concatenate([p[2] for p in self._parts]),
        )
