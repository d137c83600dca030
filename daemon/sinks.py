"""Where events go: the local log and the console. Sinks only receive; they never call back
into the detector, and a sink that fails (disk full, say) is logged and skipped without
stopping detection or the other sinks."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from hypnic.daemon.commands import PAUSE, REMEASURE_NOISE_FLOOR, SENSITIVITY, Command
from hypnic.daemon.events import Event
from hypnic.daemon.status import Status
from hypnic.daemon.store import EventStore, night_of

log = logging.getLogger("hypnic")

#: How often, in wall seconds, the running night's summary row is rewritten.
NIGHT_ROW_INTERVAL_S = 60.0
#: Night figures given in sensor seconds, stored as Unix times too (``…_wall``).
WALL_FIGURES = ("bed_entry_s", "bed_exit_s", "sleep_onset_s")


class Sink(Protocol):
    def on_event(self, event: Event, onset_wall: float) -> None: ...

    def on_samples(self, first_wall: float, last_wall: float, covered_s: float, lost: int) -> None:
        """A Block went through the detector: its wall-clock span, the time its samples cover
        (at the measured rate) and how many samples were lost before or in it."""

    def on_status(self, status: Status) -> None:
        """About once a second, also while paused or while the sensor is lost."""

    def on_command(self, command: Command, wall: float) -> None:
        """The service carried out a command (pause, sensitivity, re-measure)."""

    def close(self) -> None: ...


class SinkBase:
    """A sink that ignores everything; real sinks override what they care about."""

    def on_event(self, event: Event, onset_wall: float) -> None:
        pass

    def on_samples(self, first_wall: float, last_wall: float, covered_s: float, lost: int) -> None:
        pass

    def on_status(self, status: Status) -> None:
        pass

    def on_command(self, command: Command, wall: float) -> None:
        pass

    def close(self) -> None:
        pass


def describe_event(event: Event, onset_wall: float | None) -> str:
    """One line a person can read, e.g.
    ``jerk            23:41:02.315  0.29 s  peak 52 mg  intensity 5.7/10  sleep start``."""
    when = (
        datetime.fromtimestamp(onset_wall).strftime("%H:%M:%S.%f")[:-3]
        if onset_wall is not None
        else f"t={event.onset_s:.3f} s"
    )
    line = (
        f"{event.type:<15} {when}  {event.duration_s:5.2f} s  peak {event.peak_g * 1000:.0f} mg"
        f"  intensity {event.intensity:.1f}/10"
    )
    return line + ("  sleep start" if event.sleep_onset else "")


#: MESSAGE_ID of the one log line per finished night, so journalctl can find them all:
#: ``journalctl -u hypnic MESSAGE_ID=3f1c0a9e5b7d4c2e8a6f1b3d5c7e9a0b``.
NIGHT_MESSAGE_ID = "3f1c0a9e5b7d4c2e8a6f1b3d5c7e9a0b"


class ConsoleSink(SinkBase):
    """Logs each event as one readable line (journal fields attached), and one summary line
    when a night ends."""

    def __init__(self, night_boundary: str = "12:00") -> None:
        self.boundary = night_boundary
        self._night: str | None = None
        self._counts: dict[str, int] = {}
        self._monitored_s = 0.0

    def on_event(self, event: Event, onset_wall: float) -> None:
        self._counts[event.type] = self._counts.get(event.type, 0) + 1
        onset = datetime.fromtimestamp(onset_wall).astimezone()
        # Journal fields (ignored on a console): journalctl -u hypnic HYPNIC_EVENT=jerk
        fields = {
            "HYPNIC_EVENT": event.type,
            "HYPNIC_ONSET": onset.isoformat(timespec="milliseconds"),
            "HYPNIC_DURATION_S": f"{event.duration_s:.3f}",
            "HYPNIC_PEAK_G": f"{event.peak_g:.5f}",
            "HYPNIC_INTENSITY": f"{event.intensity:.2f}",
            "HYPNIC_SLEEP_ONSET": int(event.sleep_onset),
        }
        log.info(describe_event(event, onset_wall), extra=fields)

    def on_samples(self, first_wall: float, last_wall: float, covered_s: float, lost: int) -> None:
        night = night_of(last_wall, self.boundary)
        if night != self._night:
            if self._night is not None:
                self._summarise()
            self._night, self._counts, self._monitored_s = night, {}, 0.0
        self._monitored_s += covered_s

    def on_command(self, command: Command, wall: float) -> None:
        if command.name == PAUSE:
            log.info("monitoring %s", "paused" if command.value else "resumed")
        elif command.name == SENSITIVITY:
            log.info("sensitivity set to %s", command.value)
        elif command.name == REMEASURE_NOISE_FLOOR:
            log.info("re-measuring the noise floor: detection resumes once it is learnt")

    def _summarise(self) -> None:
        counts = ", ".join(f"{n} {k}" for k, n in sorted(self._counts.items())) or "no events"
        fields: dict[str, object] = {
            "MESSAGE_ID": NIGHT_MESSAGE_ID,
            "HYPNIC_NIGHT": self._night,
            "HYPNIC_MONITORED_S": f"{self._monitored_s:.0f}",
        }
        fields.update({f"HYPNIC_COUNT_{k.upper()}": n for k, n in self._counts.items()})
        log.info("night %s: %s in %.1f h monitored", self._night, counts,
                 self._monitored_s / 3600.0, extra=fields)



class StoreSink(SinkBase):
    """Writes every event to the SQLite log at once and keeps each night's summary row."""

    def __init__(
        self,
        store: EventStore,
        sensor_description: str,
        night_boundary: str,
        clock: Callable[[], float] = time.monotonic,
        outbox: bool = False,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.sensor = sensor_description
        self.boundary = night_boundary
        self._clock = clock
        self._night: str | None = None
        self._first_seen = 0.0
        self._last_seen = 0.0
        self._monitored_s = 0.0
        self._lost = 0
        self._written_at = -float("inf")
        self._figures: dict[str, Any] | None = None
        #: The figures of earlier runs of the daemon this night (it was restarted): the
        #: detector starts afresh, and what it knew must not be written over.
        self._earlier_runs: list[dict[str, Any]] = []

    def on_event(self, event: Event, onset_wall: float) -> None:
        self.store.add_event(
            event, onset_wall, night_of(onset_wall, self.boundary), outbox=self.outbox
        )

    def on_status(self, status: Status) -> None:
        # The detector's night figures go into the night's row with its next write, with
        # its times on the sensor's clock also as Unix times (the log outlives that clock).
        figures = {k: v for k, v in status.figures.items() if k not in ("counts", "samples")}
        for key in WALL_FIGURES:
            figures[key.removesuffix("_s") + "_wall"] = status.sensor_wall(key)
        self._figures = figures

    def on_command(self, command: Command, wall: float) -> None:
        # Both outlive a restart: a privacy pause must not end because the Pi rebooted.
        if command.name == PAUSE:
            if command.value:
                self.store.start_pause(wall)
            else:
                self.store.end_pause(wall)
        elif command.name == SENSITIVITY:
            self.store.save_setting(SENSITIVITY, str(command.value))

    def on_samples(self, first_wall: float, last_wall: float, covered_s: float, lost: int) -> None:
        night = night_of(last_wall, self.boundary)
        finished = None
        if night != self._night:
            # Switch first, write the finished night after: if the store fails, this night's
            # totals still start from the right place and the next write catches up.
            finished = self._row()
            earlier = self.store.night(night)
            self._night, self._first_seen = night, first_wall
            # After a restart within the same night, carry on from what was already logged.
            self._monitored_s = earlier.monitored_s if earlier else 0.0
            self._lost = earlier.lost_samples if earlier else 0
            self._earlier_runs = night_runs(earlier.figures) if earlier else []
        self._last_seen = last_wall
        self._monitored_s += covered_s
        self._lost += lost
        if finished is not None:
            self._write_row(finished)
        if self._clock() - self._written_at >= NIGHT_ROW_INTERVAL_S:
            self._write_row(self._row())

    def close(self) -> None:
        try:
            self._write_row(self._row())
        finally:
            self.store.close()

    def _row(self) -> dict[str, Any] | None:
        if self._night is None:
            return None
        return {
            "night": self._night,
            "first_seen": self._first_seen,
            "last_seen": self._last_seen,
            "monitored_s": round(self._monitored_s, 3),
            "lost_samples": self._lost,
            "sensor": self.sensor,
            "figures": self._figures if self._figures is None or not self._earlier_runs
            else {**self._figures, "earlier_runs": self._earlier_runs},
        }

    def _write_row(self, row: dict[str, Any] | None) -> None:
        if row is None:
            return
        night = row.pop("night")
        self.store.update_night(night, **row)
        self._written_at = self._clock()


def night_runs(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The figures of every run of the daemon a stored night row holds, oldest first."""
    earlier = [run for run in figures.get("earlier_runs", []) if isinstance(run, dict)]
    own = {k: v for k, v in figures.items() if k != "earlier_runs"}
    return [*earlier, own] if own else earlier
