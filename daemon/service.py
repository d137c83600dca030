"""The run loop: sensor → detector → sinks, with signals for stop and reload."""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from types import FrameType

from hypnic.daemon.commands import PAUSE, REMEASURE_NOISE_FLOOR, SENSITIVITY, Command
from hypnic.daemon.detect import Detector, DetectorSettings
from hypnic.daemon.detect.baseline import Baseline
from hypnic.daemon.events import Event
from hypnic.daemon.sinks import Sink
from hypnic.daemon.status import Status
from hypnic.daemon.systemd import Notifier
from hypnic.drivers.base import Block, Sensor

log = logging.getLogger("hypnic")

#: Sensor seconds between the status lines the daemon logs.
STATUS_INTERVAL_S = 3600.0
#: Wall seconds between the status snapshots handed to the sinks (MQTT state, night figures).
SINK_STATUS_INTERVAL_S = 1.0


@dataclass
class Signals:
    """Flags set by signal handlers and read by the loop between Blocks.

    Handlers only set flags: the loop does the work, at a point where a Block is complete."""

    stop: bool = False
    reload: bool = False
    received: list[str] = field(default_factory=list)

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGHUP, self._reload)

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stop = True
        self.received.append(signal.Signals(signum).name)

    def _reload(self, signum: int, _frame: FrameType | None) -> None:
        self.reload = True


class Service:
    """Runs one sensor through one detector into a set of sinks until told to stop.

    ``reload`` is called on SIGHUP and returns new detector settings, or None to keep the old
    ones (it logs why). ``commands`` is polled between Blocks for commands to carry out (from
    MQTT); while ``paused`` the sensor is still read, so its FIFO never overflows, but nothing
    is detected and nothing counts as monitored time.

    ``night_of`` names the night a wall-clock moment belongs to: when the night changes the
    detector's night figures start afresh, with this person's ``baseline`` read anew (it
    now includes the night just finished)."""

    def __init__(
        self,
        sensor: Sensor,
        detector: Detector,
        sinks: list[Sink],
        reload: Callable[[], DetectorSettings | None] | None = None,
        max_duration_s: float | None = None,
        notifier: Notifier | None = None,
        commands: Callable[[], list[Command]] | None = None,
        paused: bool = False,
        link_state: Callable[[], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        night_of: Callable[[float], str] | None = None,
        baseline: Callable[[], Baseline | None] | None = None,
    ) -> None:
        self.sensor = sensor
        self.detector = detector
        self.sinks = sinks
        self._reload = reload
        self._max_duration_s = max_duration_s
        self.notifier = notifier or Notifier(env={})
        self._commands = commands
        self._link_state = link_state
        self.paused = paused
        self._resume_gap = paused
        self._clock = clock
        self._wall_clock = wall_clock
        self._started = clock()
        self._next_sink_status = self._started
        self._wall0 = sensor.wall_time_at_zero or 0.0
        self._failed: dict[tuple[int, str, str], int] = {}
        self._night_of = night_of
        self._baseline = baseline
        self._night: str | None = None
        self.events: int = 0
        #: Events a sink failed to take, by sink: the run ends with a failure status if any.
        self.unsaved: dict[str, int] = {}

    def run(self, signals: Signals) -> None:
        log.info("monitoring %s", self.sensor.description)
        first_t: float | None = None
        next_status_t = 0.0
        try:
            for block in self.sensor.blocks():
                self.notifier.watchdog()
                if len(block):
                    # READY only once the sensor really streams.
                    self.notifier.ready(self._status_line())
                    self.notifier.status(self._status_line())
                if first_t is None and len(block):
                    first_t = float(block.t_s[0])
                    next_status_t = first_t + STATUS_INTERVAL_S
                if self._commands is not None:
                    for command in self._commands():
                        self._carry_out(command)
                if self._clock() >= self._next_sink_status:
                    self._next_sink_status = self._clock() + SINK_STATUS_INTERVAL_S
                    status = self.status()
                    for sink in self.sinks:
                        self._call(sink, "on_status", status)
                if self.paused:
                    block = Block(block.t_s[:0], block.acc_g[:0], block.rate_hz)
                elif self._resume_gap and len(block):
                    # What happened during the pause is unknown to the detector: a gap.
                    self._resume_gap = False
                    gap = block.gap_before.copy()
                    gap[0] = True
                    block = Block(block.t_s, block.acc_g, block.rate_hz, gap, block.lost_samples)
                if len(block):
                    self._check_night(float(block.t_s[-1]))
                self._deliver(self.detector.feed(block))
                if len(block):
                    t0, t1 = float(block.t_s[0]), float(block.t_s[-1])
                    for sink in self.sinks:
                        self._call(
                            sink, "on_samples", self._wall0 + t0, self._wall0 + t1,
                            len(block) / block.rate_hz, block.lost_samples,
                        )
                    if t1 >= next_status_t:
                        self._status()
                        next_status_t += STATUS_INTERVAL_S
                    if self._max_duration_s is not None and first_t is not None and (
                        t1 - first_t >= self._max_duration_s
                    ):
                        log.info("stopping: --duration reached")
                        break
                if signals.reload:
                    signals.reload = False
                    self.notifier.reloading()
                    self._apply_reload()
                    self.notifier.reloaded()
                if signals.stop:
                    self.notifier.stopping()
                    log.info("stopping on %s", ", ".join(signals.received) or "request")
                    break
        finally:
            # Whatever ended the loop, what was detected is flushed and the log is closed —
            # even if the detector itself is what failed.
            try:
                self._deliver(self.detector.finish())
            finally:
                self.sensor.close()
                for sink in self.sinks:
                    self._call(sink, "close")
                self._status()
                for name, count in self.unsaved.items():
                    log.error("%d events could not be passed to %s (see the errors above)",
                              count, name)

    def _deliver(self, events: list[Event]) -> None:
        for event in events:
            self.events += 1
            onset_wall = self._wall0 + event.onset_s
            for sink in self.sinks:
                if not self._call(sink, "on_event", event, onset_wall):
                    name = type(sink).__name__
                    self.unsaved[name] = self.unsaved.get(name, 0) + 1
                    # Events are rare and precious: every lost one is named.
                    log.error("%s did not take %s at t=%.3f s", name, event.type, event.onset_s)

    def _call(self, sink: Sink, method: str, *args: object) -> bool:
        try:
            getattr(sink, method)(*args)
            return True
        except Exception as exc:  # a failing sink degrades alone
            key = (id(sink), method, type(exc).__name__)
            self._failed[key] = self._failed.get(key, 0) + 1
            count = self._failed[key]
            # Log the first failure and then every hundredth, so a full disk does not flood.
            if count == 1 or count % 100 == 0:
                log.error(
                    "%s.%s failed (%d times): %s", type(sink).__name__, method, count, exc
                )
            return False

    def status(self) -> Status:
        """What the sinks are told about once a second."""
        return Status(
            wall=self._wall_clock(),
            wall_at_zero=self._wall0,
            health=self.sensor.health(),
            figures=self.detector.summary(),
            paused=self.paused,
            sensitivity=self.detector.settings.sensitivity,
            uptime_s=self._clock() - self._started,
        )

    def _check_night(self, t_s: float) -> None:
        """Start the detector's figures afresh when the night changes."""
        if self._night_of is None:
            return
        night = self._night_of(self._wall0 + t_s)
        if self._night is not None and night != self._night:
            self.detector.new_night()
            if self._baseline is not None:
                self.detector.update_settings(
                    replace(self.detector.settings, baseline=self._baseline())
                )
            log.info("night of %s begins: the night's figures start afresh", night)
        self._night = night

    def _carry_out(self, command: Command) -> None:
        if command.name == PAUSE:
            if bool(command.value) == self.paused:
                return
            self.paused = bool(command.value)
            self._resume_gap = True
        elif command.name == SENSITIVITY:
            assert isinstance(command.value, int)
            self.detector.update_settings(
                replace(self.detector.settings, sensitivity=command.value)
            )
        elif command.name == REMEASURE_NOISE_FLOOR:
            self.detector.remeasure_noise_floor()
        wall = self._wall_clock()
        for sink in self.sinks:
            self._call(sink, "on_command", command, wall)
        # Home Assistant shows the new state at once, not a second later.
        self._next_sink_status = self._clock()

    def _apply_reload(self) -> None:
        if self._reload is None:
            return
        settings = self._reload()
        if settings is not None:
            self.detector.update_settings(settings)
            log.info(
                "configuration reloaded: sensitivity %d, min_peak_g %g",
                settings.sensitivity, settings.min_peak_g,
            )

    def _status_line(self) -> str:
        """What ``systemctl status hypnic`` shows, e.g. ``monitoring ADXL345@0x53 200 Hz ·
        in bed · 3 jerk, 1 limb_movement tonight · MQTT connected``."""
        counts = ", ".join(f"{n} {k}" for k, n in self.detector.night.counts.items() if n)
        parts = [f"monitoring {self.sensor.description}"]
        if self.paused:
            parts.append("PAUSED")
        in_bed = self.detector.summary().get("in_bed")
        if in_bed is not None:
            parts.append("in bed" if in_bed else "bed empty")
        since = "tonight" if self._night_of is not None else "since start"
        parts.append(f"{counts or 'no events'} {since}")
        if self._link_state is not None:
            parts.append(self._link_state())
        return " · ".join(parts)

    def _status(self) -> None:
        s = self.detector.summary()
        floor = s["noise_floor_g"]
        counts = ", ".join(f"{n} {k}" for k, n in s["counts"].items() if n) or "no events"
        log.info(
            "status: %.0f min monitored, noise floor %s, %s, %d samples lost",
            s["duration_s"] / 60,
            f"{floor * 1000:.1f} mg" if floor is not None else "not yet known",
            counts,
            s["lost_samples"],
        )
