"""What the CSV and NPZ readers share: the error, the shape of a reader, and the limits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.base import SensorError

F64 = NDArray[np.float64]

#: The header line a CSV recording must start with (after any # comment lines).
CSV_HEADER = "t,ax,ay,az"
#: Column names, in file order, used in messages about one value.
COLUMNS = ("t", "ax", "ay", "az")
#: No accelerometer made for this job reads beyond ±64 g; larger values mean wrong units or junk.
MAX_ABS_G = 64.0
#: Suffixes open_recording and RecordingWriter know, with the format each means.
SUFFIXES = {".csv": "csv", ".npz": "npz"}


# Checked on its own, mypy cannot see through the editable install and takes SensorError for
# Any; checked as the hypnic package it can. The ignore serves the first, unused in the second.
class RecordingError(SensorError):
    """A recording could not be read or written; the one-line message says where and what to do."""


def fail(path: Path, where: str | None, problem: str, fix: str) -> RecordingError:
    """Build the one-line error: the file, where in it, what is wrong and how to put it right."""
    at = f"{where}: " if where else ""
    message = f"{path}: {at}{problem}; {fix}"
    # Anything quoted from the file or from an OS error must not break the message over lines.
    return RecordingError(" ".join(message.splitlines()))


def format_for(path: Path) -> str:
    """The format a recording's suffix names, or a RecordingError naming the ones known."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        known = " or ".join(SUFFIXES)
        got = f"'{path.suffix}'" if path.suffix else "no suffix"
        raise fail(path, None, f"unknown recording format ({got})", f"name it {known}")
    return kind


def os_problem(path: Path, exc: OSError, verb: str) -> RecordingError:
    """The one-line error for a file that cannot be opened, read or written (verb says which)."""
    if isinstance(exc, FileNotFoundError):
        return fail(path, None, "no such file or folder", "check the path")
    if isinstance(exc, IsADirectoryError):
        return fail(path, None, "is a folder, not a recording", "give the path of the file")
    if isinstance(exc, PermissionError):
        return fail(path, None, f"permission denied to {verb} it", "check the permissions")
    return fail(path, None, f"could not {verb} it ({exc})", "check the disk and the path")


class Source(Protocol):
    """A recording file read front to back as runs of (t, acc) samples.

    ``chunks()`` yields float64 arrays, t of shape (n,) and acc of shape (n, 3), in file order,
    and raises RecordingError when the file stops making sense; the samples before the bad
    spot have been yielded first. ``where(i, column)`` names sample i's place in the file
    ("line 17" or "array 'acc' at index 15") and ``span(n)`` the place of the first n samples.
    """

    def chunks(self) -> Iterator[tuple[F64, F64]]: ...

    def where(self, index: int, column: str) -> str: ...

    def span(self, n: int) -> str: ...

    def close(self) -> None: ...
