"""CSV recordings: the header ``t,ax,ay,az`` and one sample a line, read in chunks.

The file is read half a megabyte at a time. Each chunk of whole lines is checked and parsed
with numpy in one go: the commas must fall three to a line, and ``np.fromstring`` must turn
the chunk (newlines made into commas) into exactly four numbers a line. Only a chunk that
fails that is gone through line by line, to name the line that is wrong; the samples before
it are handed on first, so errors surface in file order.

Tolerated: a UTF-8 byte order mark, ``#`` comment lines before the header, spaces around
fields, CRLF line endings and blank lines at the end. Anything else is an error.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from hypnic.drivers.recording_common import COLUMNS, CSV_HEADER, F64, fail

#: Bytes read from the file at a time (about 12 000 lines). Parsing holds a few copies of a
#: chunk; twice this gains 10 % speed for twice the memory.
CHUNK_BYTES = 1 << 19
#: No sensible line is this long; a longer one means this is not a recording.
MAX_LINE_BYTES = 1 << 16

_BOM = b"\xef\xbb\xbf"
_BLANK = b" \t\r\n"
# What the line-by-line path accepts as a number: plain decimals, exponents, nan and inf (the
# last two are parsed so that the value check can name them). float() alone would also take
# things like "1_000".
_NUMBER = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|nan|inf(?:inity)?)", re.I)
_ROW = "%.6f,%.6f,%.6f,%.6f\n"
_FIX_LINE = "fix or delete that line"
_BLANK_MIDDLE = ("blank line in the middle of the samples", "delete it (only the end may be blank)")


def _quote(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:60]) + "…"


class CsvSource:
    """A CSV recording opened for reading; the header has been checked by the time it exists."""

    def __init__(self, path: Path, chunk_bytes: int | None = None) -> None:
        self.path = path
        self._chunk_bytes = chunk_bytes or CHUNK_BYTES
        self._f = open(path, "rb")  # noqa: SIM115 - held open until close()
        try:
            self._header_line = self._read_header()
        except BaseException:
            self._f.close()
            raise

    def where(self, index: int, column: str) -> str:
        return f"line {self._header_line + 1 + index}"

    def span(self, n: int) -> str:
        first = self._header_line + 1
        return f"lines {first}-{first + n - 1}"

    def close(self) -> None:
        self._f.close()

    def _read(self, size: int) -> bytes:
        try:
            return self._f.read(size)
        except OSError as exc:
            raise fail(self.path, None, f"could not read it ({exc})", "check the disk") from None

    def _read_header(self) -> int:
        """Skip comments, check the header and return its line number."""
        line_no = 0
        while True:
            try:
                raw = self._f.readline(MAX_LINE_BYTES)
            except OSError as exc:
                raise fail(
                    self.path, None, f"could not read it ({exc})", "check the disk"
                ) from None
            if not raw:
                raise fail(
                    self.path,
                    None,
                    "no header line (the file holds only comments)",
                    f"add the line {CSV_HEADER} followed by the samples",
                )
            line_no += 1
            where = f"line {line_no}"
            if len(raw) >= MAX_LINE_BYTES and not raw.endswith(b"\n"):
                raise fail(self.path, where, "line too long", "is this a CSV recording?")
            if line_no == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            text = raw.decode("utf-8", errors="replace").strip()
            if text.startswith("#"):
                continue
            fields = [f.strip() for f in text.split(",")]
            if tuple(fields) == COLUMNS:
                return line_no
            if not text:
                problem = f"blank line where the header {CSV_HEADER} belongs"
                raise fail(self.path, where, problem, "delete it")
            if len(fields) == len(COLUMNS) and all(_NUMBER.fullmatch(f) for f in fields):
                problem = "no header (this line is already data)"
                raise fail(self.path, where, problem, f"add the line {CSV_HEADER} above it")
            raise fail(
                self.path,
                where,
                f"expected the header {CSV_HEADER}, got {_quote(text)}",
                f"make the first line (after any # comments) exactly {CSV_HEADER}",
            )

    def chunks(self) -> Iterator[tuple[F64, F64]]:
        tail = b""  # the start of a line whose end has not been read yet
        line_no = self._header_line  # the last line parsed or counted as blank
        blank_from: int | None = None  # first of a run of blank lines, fine only at the end
        while True:
            raw = self._read(self._chunk_bytes)
            data = tail + raw if tail else raw
            if raw:
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    if len(data) > MAX_LINE_BYTES:
                        where = f"line {line_no + 1}"
                        raise fail(self.path, where, "line too long", "is this a CSV recording?")
                    tail = data
                    continue
                complete, tail = data[:cut], data[cut:]
            else:
                complete, tail = data, b""
            # Blank lines at the end of what has been read are held back as a count, not
            # parsed: they are fine if the file ends there and an error if data follows.
            body = complete.rstrip(_BLANK)
            if body:
                if blank_from is not None:
                    raise fail(self.path, f"line {blank_from}", *_BLANK_MIDDLE)
                n_lines = body.count(b"\n") + 1
                yield from self._parse(body, line_no + 1, n_lines)
                line_no += n_lines
                extra = complete.count(b"\n", len(body)) - 1
                if extra > 0:
                    blank_from = line_no + 1
                    line_no += extra
            else:
                n_blank = complete.count(b"\n")
                if n_blank and blank_from is None:
                    blank_from = line_no + 1
                line_no += n_blank
            if not raw:
                return

    def _parse(self, body: bytes, first_line: int, n_lines: int) -> Iterator[tuple[F64, F64]]:
        values = _parse_fast(body, n_lines)
        if values is None:
            yield from self._parse_slow(body, first_line)
        else:
            yield np.ascontiguousarray(values[:, 0]), np.ascontiguousarray(values[:, 1:])

    def _parse_slow(self, body: bytes, first_line: int) -> Iterator[tuple[F64, F64]]:
        """Parse line by line; yield the good lines, then raise for the first bad one."""
        rows: list[list[float]] = []
        for k, raw in enumerate(body.split(b"\n")):
            problem = _line_problem(raw.decode("utf-8", errors="replace"))
            if isinstance(problem, tuple):
                if rows:
                    yield _split(rows)
                raise fail(self.path, f"line {first_line + k}", *problem)
            rows.append(problem)
        if rows:
            yield _split(rows)


def _split(rows: list[list[float]]) -> tuple[F64, F64]:
    values = np.array(rows, dtype=np.float64)
    return np.ascontiguousarray(values[:, 0]), np.ascontiguousarray(values[:, 1:])


def _parse_fast(body: bytes, n_lines: int) -> F64 | None:
    """The chunk's lines as an n×4 array, or None when any line is not four plain numbers."""
    buf = np.frombuffer(body, dtype=np.uint8)
    commas = np.flatnonzero(buf == ord(","))
    if commas.size != 3 * n_lines:
        return None
    # With three commas a line in total, each line has exactly three if every line's first
    # comma comes after the newline before it and its third before the newline after it.
    newlines = np.flatnonzero(buf == ord("\n"))
    by_line = commas.reshape(n_lines, 3)
    if not ((by_line[1:, 0] > newlines).all() and (by_line[:-1, 2] < newlines).all()):
        return None
    try:
        with warnings.catch_warnings():
            # numpy < 2.? only warns (and returns what it parsed) where later ones raise.
            warnings.simplefilter("error", DeprecationWarning)
            flat = np.fromstring(body.replace(b"\n", b","), dtype=np.float64, sep=",")
    except (ValueError, DeprecationWarning):
        return None
    if flat.size != 4 * n_lines:
        return None
    return flat.reshape(n_lines, 4)


def _line_problem(line: str) -> list[float] | tuple[str, str]:
    """One data line's four values, or (problem, fix) saying what is wrong with it."""
    text = line.strip()
    if not text:
        return _BLANK_MIDDLE
    if text.startswith("#"):
        return (
            "a # comment after the header",
            f"move comments above the header {CSV_HEADER} or delete the line",
        )
    fields = text.split(",")
    if len(fields) != len(COLUMNS):
        problem = f"expected {len(COLUMNS)} fields ({CSV_HEADER}), got {len(fields)}"
        return (problem, _FIX_LINE)
    values = []
    for name, field in zip(COLUMNS, fields, strict=True):
        value = field.strip()
        if not value:
            return (f"{name} is empty", _FIX_LINE)
        if not _NUMBER.fullmatch(value):
            return (f"{name} is not a number: {_quote(value)}", _FIX_LINE)
        values.append(float(value))
    return values


def format_rows(t_s: F64, acc_g: F64) -> bytes:
    """CSV lines for these samples: t and the three axes, each to 6 decimals."""
    values = np.column_stack((t_s, acc_g)).ravel().tolist()
    # One % over the whole chunk runs in C: twice as fast as np.savetxt's loop over rows.
    return ((_ROW * len(t_s)) % tuple(values)).encode("ascii")
