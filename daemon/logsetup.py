"""Keeps a repeating fault from flooding the log (and a Pi's SD card).

A sensor that drops off the bus fails every few seconds all night. The first few identical
warnings or errors in a minute get through; the rest are only counted, and one line then says
how many there were, e.g. ``ADXL345@0x53: [Errno 121] Remote I/O error; retrying (58) …
repeated 52 more times in the last 61 s``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

#: Identical warnings or errors let through per interval; the rest are counted.
BURST = 5
INTERVAL_S = 60.0

_SUMMARY = "hypnic_repeat_summary"  # marks the summary records this filter makes itself


@dataclass
class _Window:
    start_s: float
    passed: int = 0
    dropped: int = 0
    last: logging.LogRecord | None = None


class RepeatLimiter(logging.Filter):
    """A handler filter. Records count as identical when they share the logger, the level and
    the message template (``"%s: %s; retrying (%d)"``, whatever its arguments). Only warnings
    and errors are limited: info lines are events and progress, each one wanted.

    The summary of a window goes out with the first record of any kind after the window ends.
    """

    def __init__(
        self,
        handler: logging.Handler,
        burst: int = BURST,
        interval_s: float = INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._handler = handler
        self._burst = burst
        self._interval_s = interval_s
        self._clock = clock
        self._windows: dict[tuple[str, int, str], _Window] = {}
        # Handler.handle() runs filters outside the handler's lock.
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _SUMMARY, False):
            return True
        with self._lock:
            now = self._clock()
            summaries = self._end_windows(now)
            passes = self._count(record, now)
        for summary in summaries:  # outside the lock: handle() calls filter() again
            self._handler.handle(summary)
        return passes

    def _count(self, record: logging.LogRecord, now: float) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.levelno, str(record.msg))
        window = self._windows.setdefault(key, _Window(now))
        if window.passed < self._burst:
            window.passed += 1
            return True
        window.dropped += 1
        window.last = record
        return False

    def _end_windows(self, now: float) -> list[logging.LogRecord]:
        summaries = []
        for key, window in list(self._windows.items()):
            if now - window.start_s < self._interval_s:
                continue
            del self._windows[key]
            if window.last is not None:
                summaries.append(self._summary(window, now - window.start_s))
        return summaries

    def _summary(self, window: _Window, span_s: float) -> logging.LogRecord:
        last = window.last
        assert last is not None
        summary = logging.LogRecord(
            last.name, last.levelno, last.pathname, last.lineno,
            "%s … repeated %d more times in the last %.0f s",
            (last.getMessage(), window.dropped, span_s), None, last.funcName,
        )
        # Journal fields given with extra= (upper-case names) stay on the summary.
        for name, value in vars(last).items():
            if name.isupper():
                setattr(summary, name, value)
        setattr(summary, _SUMMARY, True)
        return summary


def limit_repeats(handler: logging.Handler) -> logging.Handler:
    """Attach a RepeatLimiter to the handler (a filter on a handler sees every logger's
    records; one on the root logger would miss those of child loggers)."""
    handler.addFilter(RepeatLimiter(handler))
    return handler
