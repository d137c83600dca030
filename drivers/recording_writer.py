"""Writing recordings: samples streamed out to CSV or NPZ as they come, in constant memory."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from types import TracebackType

import numpy as np
from numpy.typing import ArrayLike

from hypnic.drivers.recording_common import CSV_HEADER, format_for, os_problem
from hypnic.drivers.recording_csv import format_rows
from hypnic.drivers.recording_npz import NpzWriter

#: Rows formatted per CSV write, so a huge write() still runs in constant memory.
_CSV_ROWS = 16384


class RecordingWriter:
    """Writes samples to a .csv or .npz recording (by suffix) as they come, in constant memory.

    ``write(t_s, acc_g)`` may be called any number of times; t must keep strictly increasing
    and everything must be finite (ValueError otherwise). The file appears, whole, only on
    ``close()`` (or leaving the ``with`` block normally): it is written under a temporary name
    beside the target and renamed. Leaving the ``with`` block by an exception discards it.
    ``compress`` (NPZ only) deflates the members, like ``np.savez_compressed``.
    """

    def __init__(self, path: Path, *, compress: bool = True) -> None:
        self.path = Path(path)
        self.format = format_for(self.path)
        self.samples_written = 0
        self._last_t: float | None = None
        self._done = False
        self._part = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.part")
        self._npz: NpzWriter | None = None
        try:
            self._out = open(self._part, "xb")  # noqa: SIM115 - held open until close()
        except OSError as exc:
            raise os_problem(self.path, exc, "write") from None
        try:
            if self.format == "npz":
                self._npz = NpzWriter(self.path.parent, compress)
            else:
                self._out.write(f"{CSV_HEADER}\n".encode("ascii"))
        except OSError as exc:
            self.discard()
            raise os_problem(self.path, exc, "write") from None

    def write(self, t_s: ArrayLike, acc_g: ArrayLike) -> None:
        """Append samples: t_s of shape (n,) in seconds, acc_g of shape (n, 3) in g."""
        if self._done:
            raise ValueError(f"{self.path}: write() after close()")
        t = np.asarray(t_s, dtype=np.float64)
        acc = np.asarray(acc_g, dtype=np.float64)
        if t.ndim != 1 or acc.shape != (len(t), 3):
            raise ValueError(f"expected t of shape (n,) and acc (n, 3), got {t.shape}, {acc.shape}")
        if len(t) == 0:
            return
        if not (np.isfinite(t).all() and np.isfinite(acc).all()):
            raise ValueError("t and acc must be finite")
        step = np.diff(t, prepend=-np.inf if self._last_t is None else self._last_t)
        if not (step > 0).all():
            raise ValueError("t must be strictly increasing, also from one write() to the next")
        try:
            if self._npz is not None:
                self._npz.write(t, acc)
            else:
                for s in range(0, len(t), _CSV_ROWS):
                    self._out.write(format_rows(t[s : s + _CSV_ROWS], acc[s : s + _CSV_ROWS]))
        except OSError as exc:
            self.discard()
            raise os_problem(self.path, exc, "write") from None
        self._last_t = float(t[-1])
        self.samples_written += len(t)

    def close(self) -> None:
        """Finish the file and put it in place; does nothing the second time."""
        if self._done:
            return
        try:
            if self._npz is not None:
                self._npz.finish(self._out)
                self._npz.close()
            self._out.flush()
            # A Pi loses power without warning: the data is on disk before the name is.
            os.fsync(self._out.fileno())
            self._out.close()
            os.replace(self._part, self.path)
            # ...and the new name is on disk before close returns.
            folder = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
        except OSError as exc:
            self.discard()
            raise os_problem(self.path, exc, "write") from None
        self._done = True

    def discard(self) -> None:
        """Give up: remove what has been written and leave no file behind."""
        self._done = True
        if self._npz is not None:
            self._npz.close()
        self._out.close()
        with contextlib.suppress(FileNotFoundError):
            self._part.unlink()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()
