"""NPZ recordings: arrays ``t`` (N,) and ``acc`` (N×3) in a zip, read and written in pieces.

An NPZ file is a zip of ``.npy`` members. Reading opens each member as a (decompressing)
stream, reads its header, and then reads a bounded number of rows at a time, so an 8-hour
night never has to fit in memory; any numeric dtype and either byte order is converted to
float64. A Fortran-ordered ``acc`` (what saving ``np.array([ax, ay, az]).T`` gives) is stored
column after column, so it is read through three streams, one per axis.

Writing appends the samples to two unnamed temporary files beside the target and, once the
length is known, writes each as a ``.npy`` member with its final header.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from hypnic.drivers.recording_common import F64, fail

#: Samples read per chunk: 1 MiB of float64. Reading a zip member copies each piece a few
#: times, so bigger chunks cost memory; smaller ones cost Python work per byte, which a replay
#: (reading in a thread beside the detector) pays twice, as the threads take turns.
CHUNK_SAMPLES = 1 << 15
#: Deflate level when compressing: level 1 writes about five times faster than the default
#: and the quantised acceleration still shrinks to about an eighth.
COMPRESS_LEVEL = 1

_FIX_SAVE = "save it with np.savez(path, t=t, acc=acc)"
_FIX_AGAIN = "copy or export the recording again"
# What a damaged member raises while being read.
_DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError)


@dataclass
class _Member:
    name: str
    fp: IO[bytes]
    shape: tuple[int, ...]
    fortran: bool
    dtype: np.dtype[np.generic]
    data_start: int


class NpzSource:
    """An NPZ recording opened for reading; shapes and dtypes are checked on opening."""

    def __init__(self, path: Path, chunk_samples: int | None = None) -> None:
        self.path = path
        self._chunk = chunk_samples or CHUNK_SAMPLES
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, EOFError, ValueError):
            raise fail(path, None, "not an NPZ file (it is not a zip archive)", _FIX_SAVE) from None
        self._open: list[IO[bytes]] = []
        try:
            self._t, self._acc = self._check_members()
        except BaseException:
            self.close()
            raise

    def where(self, index: int, column: str) -> str:
        return f"array '{'t' if column == 't' else 'acc'}' at index {index}"

    def span(self, n: int) -> str:
        return f"array 'acc' (first {n} samples)"

    def close(self) -> None:
        for fp in self._open:
            fp.close()
        self._open.clear()
        self._zip.close()

    def _check_members(self) -> tuple[_Member, _Member]:
        names = self._zip.namelist()
        for name in ("t", "acc"):
            if f"{name}.npy" not in names:
                arrays = [n.removesuffix(".npy") for n in names]
                has = ", ".join(repr(a) for a in arrays) if arrays else "nothing"
                raise fail(self.path, None, f"no array '{name}' (it has {has})", _FIX_SAVE)
        t, acc = self._member("t"), self._member("acc")
        for m in (t, acc):
            if m.dtype.kind not in "iuf":
                problem = f"dtype {m.dtype} is not numeric"
                fix = "save t as float seconds" if m.name == "t" else "save acc as float g"
                raise fail(self.path, f"array '{m.name}'", problem, fix)
        if len(t.shape) != 1:
            fix = "save t.ravel()" if len(t.shape) == 2 and 1 in t.shape else "save one t a sample"
            raise fail(self.path, "array 't'", f"shape {t.shape}, expected (N,)", fix)
        if len(acc.shape) != 2 or acc.shape[1] != 3:
            fix = (
                "save acc.T (one row per sample)"
                if len(acc.shape) == 2 and acc.shape[0] == 3
                else "save an N×3 array: one row (ax, ay, az) per sample"
            )
            raise fail(self.path, "array 'acc'", f"shape {acc.shape}, expected N×3", fix)
        if acc.shape[0] != t.shape[0]:
            problem = f"{t.shape[0]} samples in 't' but {acc.shape[0]} rows in 'acc'"
            raise fail(self.path, None, problem, "save one t and one acc row per sample")
        return t, acc

    def _member(self, name: str) -> _Member:
        where = f"array '{name}'"
        try:
            fp = self._zip.open(f"{name}.npy")
            self._open.append(fp)
            version = np.lib.format.read_magic(fp)
            # Version 3 only differs from 2 in allowing UTF-8 field names, which an array of
            # plain numbers does not have.
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
            else:
                raise ValueError(f"unknown .npy version {version}")
            start = fp.tell()
        except _DAMAGE as exc:
            raise fail(self.path, where, f"not a readable .npy array ({exc})", _FIX_SAVE) from None
        return _Member(name, fp, tuple(shape), bool(fortran), dtype, start)

    def _read(self, member: _Member, fp: IO[bytes], count: int) -> F64:
        """The next count values of a member as float64."""
        size = count * member.dtype.itemsize
        where = f"array '{member.name}'"
        try:
            data = fp.read(size)
        except _DAMAGE as exc:
            problem = f"damaged ({exc})"
            raise fail(self.path, where, problem, _FIX_AGAIN) from None
        if len(data) != size:
            problem = "shorter than its header says (the file is cut off)"
            raise fail(self.path, where, problem, _FIX_AGAIN)
        # float64 as stored is used as read, without a copy (read-only, as a Block's arrays
        # are never written to); anything else is converted.
        return np.frombuffer(data, dtype=member.dtype).astype(np.float64, copy=False)

    def _column_streams(self) -> list[IO[bytes]]:
        """One stream per axis of a Fortran-ordered acc, each at the start of its column."""
        acc = self._acc
        streams = [acc.fp]
        column_bytes = acc.shape[0] * acc.dtype.itemsize
        try:
            for k in (1, 2):
                fp = self._zip.open("acc.npy")
                self._open.append(fp)
                fp.seek(acc.data_start + k * column_bytes)
                streams.append(fp)
        except _DAMAGE as exc:
            problem = f"damaged ({exc})"
            raise fail(self.path, "array 'acc'", problem, _FIX_AGAIN) from None
        return streams

    def chunks(self) -> Iterator[tuple[F64, F64]]:
        n = self._t.shape[0]
        columns = self._column_streams() if self._acc.fortran else None
        for first in range(0, n, self._chunk):
            k = min(self._chunk, n - first)
            t = self._read(self._t, self._t.fp, k)
            if columns is None:
                acc = self._read(self._acc, self._acc.fp, 3 * k).reshape(k, 3)
            else:
                acc = np.stack([self._read(self._acc, fp, k) for fp in columns], axis=1)
            yield t, acc
        # A zip member's checksum is only checked once it has been read to its end.
        for member, fp in ((self._t, self._t.fp), (self._acc, (columns or [self._acc.fp])[-1])):
            self._read_end(member, fp)

    def _read_end(self, member: _Member, fp: IO[bytes]) -> None:
        try:
            fp.read(1)
        except _DAMAGE as exc:
            problem = f"damaged ({exc})"
            raise fail(self.path, f"array '{member.name}'", problem, _FIX_AGAIN) from None


class NpzWriter:
    """Collects samples in two unnamed temporary files in ``folder``; ``finish`` zips them.

    The temporary files go beside the recording rather than in /tmp, which on a Pi is often
    a RAM disk too small for a night.
    """

    def __init__(self, folder: Path, compress: bool) -> None:
        self._compress = compress
        # Both stay open until finish() has copied them into the zip.
        self._t = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115
        try:
            self._acc = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115
        except BaseException:
            self._t.close()
            raise
        self._n = 0

    def write(self, t_s: F64, acc_g: F64) -> None:
        self._t.write(np.ascontiguousarray(t_s, dtype="<f8").tobytes())
        self._acc.write(np.ascontiguousarray(acc_g, dtype="<f8").tobytes())
        self._n += len(t_s)

    def finish(self, out: IO[bytes]) -> None:
        """Write the NPZ to ``out``: each array as a .npy member with its final shape."""
        compression = zipfile.ZIP_DEFLATED if self._compress else zipfile.ZIP_STORED
        level = COMPRESS_LEVEL if self._compress else None
        with zipfile.ZipFile(out, "w", compression=compression, compresslevel=level) as zf:
            for name, tmp, shape in (("t", self._t, (self._n,)), ("acc", self._acc, (self._n, 3))):
                header = {"descr": "<f8", "fortran_order": False, "shape": shape}
                with zf.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array_header_1_0(member, header)
                    tmp.seek(0)
                    shutil.copyfileobj(tmp, member, 1 << 20)

    def close(self) -> None:
        self._t.close()
        self._acc.close()
