"""A repeating fault is logged a few times per interval, then counted in one line."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from hypnic.daemon.cli import setup_console_logging
from hypnic.daemon.logsetup import BURST, RepeatLimiter
from hypnic.daemon.systemd import setup_journal_logging


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def messages(self) -> list[str]:
        return [r.getMessage() for r in self.records]


class Clock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def limited() -> Iterator[tuple[logging.Logger, Lines, Clock]]:
    clock = Clock()
    lines = Lines()
    lines.addFilter(RepeatLimiter(lines, burst=3, interval_s=60.0, clock=clock))
    parent = logging.getLogger("test_logsetup")
    parent.addHandler(lines)
    parent.setLevel(logging.DEBUG)
    parent.propagate = False
    yield logging.getLogger("test_logsetup.sensor"), lines, clock  # a child logger's records
    parent.removeHandler(lines)


def test_after_the_burst_repeats_are_counted_then_summed_up(
    limited: tuple[logging.Logger, Lines, Clock],
) -> None:
    log, lines, clock = limited
    for attempt in range(1, 21):  # one every 2 s
        log.warning("sensor: %s; retrying (%d)", "Remote I/O error", attempt)
        clock.now_s += 2.0
    assert lines.messages == [f"sensor: Remote I/O error; retrying ({n})" for n in (1, 2, 3)]
    clock.now_s = 1000.0 + 61.0
    log.warning("sensor: %s; retrying (%d)", "Remote I/O error", 21)
    assert lines.messages[3:] == [
        "sensor: Remote I/O error; retrying (20) … repeated 17 more times in the last 61 s",
        "sensor: Remote I/O error; retrying (21)",  # a new interval begins
    ]
    summary = lines.records[3]
    assert (summary.name, summary.levelno) == ("test_logsetup.sensor", logging.WARNING)


def test_info_lines_are_never_limited(limited: tuple[logging.Logger, Lines, Clock]) -> None:
    log, lines, _ = limited
    for n in range(50):
        log.info("jerk %d", n)
    assert len(lines.records) == 50


def test_templates_and_levels_are_counted_apart(
    limited: tuple[logging.Logger, Lines, Clock],
) -> None:
    log, lines, _ = limited
    for _ in range(10):
        log.warning("a %s", "x")
        log.warning("b %s", "x")
        log.error("a %s", "x")
    assert lines.messages == ["a x", "b x", "a x"] * 3


def test_any_later_line_brings_the_summary_and_a_quiet_window_none(
    limited: tuple[logging.Logger, Lines, Clock],
) -> None:
    log, lines, clock = limited
    for _ in range(5):
        log.error("bus gone")
    log.warning("once")
    clock.now_s += 120.0
    log.info("streaming again")
    assert lines.messages == ["bus gone"] * 3 + [
        "once", "bus gone … repeated 2 more times in the last 120 s", "streaming again"]


def test_journal_fields_stay_on_the_summary(
    limited: tuple[logging.Logger, Lines, Clock],
) -> None:
    log, lines, clock = limited
    for _ in range(4):
        log.error("store full", extra={"HYPNIC_FAULT": "store"})
    clock.now_s += 60.0
    log.info("later")
    assert getattr(lines.records[3], "HYPNIC_FAULT", None) == "store"


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


def test_the_console_log_is_limited(root_logging: None,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    setup_console_logging("info")
    for n in range(100):
        logging.getLogger("hypnic.drivers.acquire").warning("lost (%d)", n)
    assert capsys.readouterr().err.count("lost (") == BURST


def test_the_journal_log_is_limited(root_logging: None) -> None:
    assert setup_journal_logging("info")
    (handler,) = logging.getLogger().handlers
    assert any(isinstance(f, RepeatLimiter) for f in handler.filters)
