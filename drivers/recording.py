"""Recordings: a night's samples in a CSV or NPZ file, replayed as a Sensor or written out.

``open_recording`` reads a file front to back in chunks, so memory stays bounded however long
the night, and hands it out as Blocks of at most ``block_samples`` samples. Times come from
the file's ``t``, never from a nominal rate. The rate is estimated once, on opening, from the
first 2000 samples: 1 / the median spacing of t, which a few gaps do not move. Wherever t
jumps by more than 2.5 periods the sample after the hole is flagged ``gap_before`` and the
missing samples are counted. Neither depends on how the stream is cut into blocks.

Every problem with the file is a RecordingError with a one-line message naming the file, the
line (CSV) or array (NPZ), what is wrong and how to fix it. Problems in the first chunk are
raised by ``open_recording``; later ones by ``blocks()`` when reading reaches them.

``RecordingWriter`` (in ``recording_writer``) streams samples out to either format.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hypnic.drivers.base import Block, SensorHealth
from hypnic.drivers.recording_common import (
    COLUMNS,
    F64,
    MAX_ABS_G,
    RecordingError,
    Source,
    fail,
    format_for,
    os_problem,
)
from hypnic.drivers.recording_csv import CsvSource
from hypnic.drivers.recording_npz import NpzSource
from hypnic.drivers.recording_writer import RecordingWriter

__all__ = ["Recording", "RecordingError", "RecordingWriter", "open_recording"]

#: The rate is estimated from this many samples at the start.
RATE_SAMPLES = 2000
#: A step in t longer than this many periods is a gap (samples lost), not jitter.
GAP_PERIODS = 2.5
#: Rates a bed sensor can have; outside them t is almost surely in the wrong unit.
RATE_LIMITS_HZ = (10.0, 5000.0)
#: A median magnitude in this band over the first samples means m/s² (1 g is 9.81 m/s²).
MS2_BAND = (7.0, 12.5)


def open_recording(path: Path, block_samples: int = 4096) -> Recording:
    """Open a .csv or .npz recording (by suffix, any case) for replay as a Sensor."""
    path = Path(path)
    if block_samples < 1:
        raise ValueError(f"block_samples must be at least 1, got {block_samples}")
    kind = format_for(path)
    source: Source
    try:
        if path.stat().st_size == 0:
            raise fail(path, None, "the file is empty", "record some samples into it first")
        source = CsvSource(path) if kind == "csv" else NpzSource(path)
    except OSError as exc:
        raise os_problem(path, exc, "read") from None
    try:
        return Recording(path, source, block_samples)
    except BaseException:
        source.close()
        raise


@dataclass(frozen=True)
class _Run:
    """Checked samples with their gap flags and, per sample, how many were lost before it."""

    t: F64
    acc: F64
    gap: NDArray[np.bool_]
    lost: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.t)

    def cut(self, start: int, stop: int) -> _Run:
        s = slice(start, stop)
        return _Run(self.t[s], self.acc[s], self.gap[s], self.lost[s])

    @staticmethod
    def join(runs: list[_Run]) -> _Run:
        if len(runs) == 1:
            return runs[0]
        return _Run(
            np.concatenate([r.t for r in runs]),
            np.concatenate([r.acc for r in runs]),
            np.concatenate([r.gap for r in runs]),
            np.concatenate([r.lost for r in runs]),
        )


class Recording:
    """A recording file as a Sensor (see ``drivers.base.Sensor``).

    rate_hz         the rate estimated from the first 2000 samples; also ``nominal_rate_hz``.
    samples_read    samples handed out in Blocks so far.
    lost_samples    samples missing in the gaps handed out so far.

    ``blocks()`` carries on where an abandoned ``blocks()`` stopped and ends at the end of the
    file or once ``close()`` has been called.
    """

    def __init__(self, path: Path, source: Source, block_samples: int) -> None:
        self.path = path
        self.block_samples = block_samples
        self.samples_read = 0
        self.lost_samples = 0
        self._source = source
        self._closed = False
        self._chunks = source.chunks()
        self._checked = 0  # samples that passed _check
        self._last_checked_t: float | None = None
        self._last_gap_t: float | None = None
        self._head = self._read_head()
        t_head = np.concatenate([t for t, _ in self._head])[:RATE_SAMPLES]
        self._period = float(np.median(np.diff(t_head)))
        self.rate_hz = 1.0 / self._period
        if not RATE_LIMITS_HZ[0] <= self.rate_hz <= RATE_LIMITS_HZ[1]:
            raise fail(
                path, "t",
                f"its spacing gives a sample rate of {self.rate_hz:.4g} Hz, outside "
                f"{RATE_LIMITS_HZ[0]:g}-{RATE_LIMITS_HZ[1]:g} Hz",
                "t must be in seconds (divide milliseconds by 1000, microseconds by 1e6)",
            )
        self._stream = self._blocks()

    @property
    def description(self) -> str:
        return f"recording {self.path.name}"

    @property
    def nominal_rate_hz(self) -> float:
        return self.rate_hz

    @property
    def wall_time_at_zero(self) -> float | None:
        return None

    def blocks(self) -> Iterator[Block]:
        while not self._closed:
            try:
                block = next(self._stream)
            except StopIteration:
                return
            except Exception:
                if self._closed:  # the file was closed under a read by close()
                    return
                raise
            yield block

    def health(self) -> SensorHealth:
        return SensorHealth(model=f"recording {self.path.name}", rate_hz=self.rate_hz)

    def close(self) -> None:
        self._closed = True
        self._source.close()

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_head(self) -> list[tuple[F64, F64]]:
        """Read and check the first RATE_SAMPLES samples (at least), for the rate estimate."""
        head: list[tuple[F64, F64]] = []
        n = 0
        try:
            for t, acc in self._chunks:
                head.append((t, acc))
                n += len(t)
                if n >= RATE_SAMPLES:
                    break
        except RecordingError:
            # Whatever is wrong in the samples before the bad spot is reported first.
            for t, acc in head:
                self._check(t, acc)
            raise
        if n < 2:
            got = "no samples" if n == 0 else "only 1 sample"
            raise fail(self.path, None, got, "a recording needs at least 2 samples to replay")
        # m/s² comes first: it explains a value beyond ±64 g or odd magnitudes better.
        acc_head = np.concatenate([acc for _, acc in head])[:RATE_SAMPLES]
        magnitude = np.linalg.norm(acc_head[np.isfinite(acc_head).all(axis=1)], axis=1)
        if magnitude.size and MS2_BAND[0] <= np.median(magnitude) <= MS2_BAND[1]:
            problem = (
                f"acceleration looks like m/s², not g (median magnitude "
                f"{np.median(magnitude):.2f} over the first {len(acc_head)} samples)"
            )
            fix = "divide ax, ay and az by 9.81"
            raise fail(self.path, self._source.span(len(acc_head)), problem, fix)
        for t, acc in head:
            self._check(t, acc)
        return head

    def _check(self, t: F64, acc: F64) -> None:
        """Raise for the first sample that is not finite, out of order or out of range."""
        n = len(t)
        first = self._checked
        prev = self._last_checked_t
        # The usual case, all good, in a few whole-array passes; the details only on a fault.
        if (n and np.isfinite(acc).all() and float(np.abs(acc).max()) <= MAX_ABS_G
                and np.isfinite(t).all() and (prev is None or t[0] > prev)
                and (n < 2 or float(np.diff(t).min()) > 0)):
            self._checked += n
            self._last_checked_t = float(t[-1])
            return
        finite = np.isfinite(acc).all(axis=1) & np.isfinite(t)
        step = np.diff(t, prepend=-np.inf if prev is None else prev)
        rising = np.asarray(step > 0, dtype=bool)  # False for NaN too
        over = (np.abs(acc) > MAX_ABS_G).any(axis=1)
        bad = [_first(~finite, n), _first(~rising, n), _first(over, n)]
        i = min(bad)
        if i == n:
            self._checked += n
            self._last_checked_t = float(t[-1])
            return
        row = (float(t[i]), *(float(a) for a in acc[i]))
        where = self._source.where
        if i == bad[0]:
            k = next(k for k, v in enumerate(row) if not np.isfinite(v))
            problem = f"{COLUMNS[k]} is {row[k]}"
            fix = "NaN and infinite values cannot be replayed: repair or delete the sample"
            raise fail(self.path, where(first + i, COLUMNS[k]), problem, fix)
        if i == bad[1]:
            before = float(t[i - 1]) if i > 0 else prev
            problem = f"t is not strictly increasing (previous t {before!r}, this t {row[0]!r})"
            fix = "sort the samples by t and remove duplicates"
            raise fail(self.path, where(first + i, "t"), problem, fix)
        k = next(k for k in (1, 2, 3) if abs(row[k]) > MAX_ABS_G)
        problem = f"{COLUMNS[k]} = {row[k]!r} g is beyond ±{MAX_ABS_G:g} g"
        fix = "acceleration must be in g: check the units and the data"
        raise fail(self.path, where(first + i, COLUMNS[k]), problem, fix)

    def _runs(self) -> Iterator[_Run]:
        """All samples, checked, with gap flags; the previous chunk's last t carries over."""
        while self._head:
            t, acc = self._head.pop(0)
            yield self._gaps(t, acc)
        for t, acc in self._chunks:
            self._check(t, acc)
            yield self._gaps(t, acc)

    def _gaps(self, t: F64, acc: F64) -> _Run:
        prev = t[0] if self._last_gap_t is None else self._last_gap_t
        step = np.diff(t, prepend=prev)
        gap = step > GAP_PERIODS * self._period
        lost = np.zeros(len(t), dtype=np.int64)
        lost[gap] = np.rint(step[gap] / self._period).astype(np.int64) - 1
        self._last_gap_t = float(t[-1])
        return _Run(t, acc, gap, lost)

    def _blocks(self) -> Iterator[Block]:
        """Cut the runs into Blocks of exactly block_samples samples (the last may be short)."""
        size = self.block_samples
        pending: list[_Run] = []
        count = 0
        for run in self._runs():
            start = 0
            if pending:
                need = size - count
                if len(run) < need:
                    pending.append(run)
                    count += len(run)
                    continue
                pending.append(run.cut(0, need))
                yield self._block(_Run.join(pending))
                pending, count, start = [], 0, need
            while len(run) - start >= size:
                yield self._block(run.cut(start, start + size))
                start += size
            if start < len(run):
                pending, count = [run.cut(start, len(run))], len(run) - start
        if pending:
            yield self._block(_Run.join(pending))

    def _block(self, run: _Run) -> Block:
        lost = int(run.lost.sum())
        self.samples_read += len(run)
        self.lost_samples += lost
        return Block(run.t, run.acc, self.rate_hz, gap_before=run.gap, lost_samples=lost)


def _first(mask: ArrayLike, n: int) -> int:
    """Index of the first True in mask, or n when there is none."""
    mask = np.asarray(mask, dtype=bool)
    i = int(np.argmax(mask))
    return i if mask[i] else n
