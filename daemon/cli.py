"""The ``hypnic`` command: run the daemon, list events, replay and simulate recordings.

Every bad input ends in one line on stderr, ``hypnic: error: …``, and exit status 2; a
failure at run time in exit status 1. No tracebacks for things a person can fix.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import logging
import math
import os
import queue
import re
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar, cast

from hypnic.daemon import config as cfg
from hypnic.daemon.detect import Detector, DetectorSettings
from hypnic.daemon.sinks import describe_event
from hypnic.daemon.store import EventStore, StoreError
from hypnic.drivers.base import SensorError
from hypnic.drivers.recording import RecordingError

log = logging.getLogger("hypnic")


#: hypnic simulate writes at most a week of signal.
SIMULATE_MAX_S = 7 * 86400.0
#: hypnic replay reads recordings in Blocks of this many samples (the detector's results do
#: not depend on it; bigger Blocks cost fewer passes).
REPLAY_BLOCK_SAMPLES = 16384

T = TypeVar("T")


class UsageError(Exception):
    """A bad command line or input, reported as one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def version() -> str:
    # Imported here: importlib.metadata would cost every command a tenth of its start-up.
    from importlib import metadata

    try:
        return metadata.version("hypnic")
    except metadata.PackageNotFoundError:
        return "unknown"


class _VersionAction(argparse.Action):
    """--version, looking the version up only when asked."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(f"hypnic {version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="hypnic", description="Bedside sleep-jerk monitor.")
    p.add_argument("--version", action=_VersionAction, nargs=0,
                   help="show program's version number and exit")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run the monitor: sensor → detector → event log")
    _config_arg(run)
    run.add_argument("--sensor", choices=cfg.SENSOR_TYPES, help="override sensor.type")
    run.add_argument("--speed", type=float, help="simulated seconds per second (sim only)")
    run.add_argument("--seed", type=int, help="seed of the simulated night (sim only)")
    run.add_argument("--data-dir", help="override storage.data_dir")
    run.add_argument("--duration", type=float, metavar="S", help="stop after S sensor seconds")
    run.add_argument("--log-level", choices=("debug", "info", "warning", "error"))

    ev = sub.add_parser("events", help="list logged events")
    _config_arg(ev)
    ev.add_argument("--data-dir", help="override storage.data_dir")
    ev.add_argument("--since", help="ISO date/time (2026-11-23T22:00) or an age (30m, 12h, 7d)")
    ev.add_argument("--night", help='night as YYYY-MM-DD (the evening it began) or "last"')
    ev.add_argument("--limit", type=int, help="at most this many (the newest)")
    ev.add_argument("--json", action="store_true", help="print a JSON array")

    rp = sub.add_parser("replay", help="run a recording (CSV or NPZ) through the detector")
    rp.add_argument("file", type=Path)
    _config_arg(rp)
    rp.add_argument("--format", choices=("text", "jsonl"), default="text")
    rp.add_argument("--sensitivity", type=int, help="override detection.sensitivity (1-10)")

    doc = sub.add_parser("doctor", help="check I2C, permissions, the sensor, its interrupt, MQTT")
    _config_arg(doc)
    doc.add_argument("--sensor", choices=cfg.SENSOR_TYPES, help="override sensor.type")
    doc.add_argument("--json", action="store_true", help="print the checks as JSON")

    sim = sub.add_parser("simulate", help="write a simulated night as a recording + truth.json")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--duration", type=float, default=3600.0, metavar="S")
    sim.add_argument("--rate", type=float, default=200.0, metavar="HZ")
    sim.add_argument("--start", choices=("evening", "onset"), default="evening")
    sim.add_argument("--format", choices=("npz", "csv"), default="npz")
    sim.add_argument("--out", type=Path, required=True, metavar="DIR")
    return p


def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config", type=Path, help=f"TOML config file (default {cfg.DEFAULT_CONFIG_PATH})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(COMMANDS[args.command](args))
    except (UsageError, cfg.ConfigError, RecordingError, StoreError, SensorError) as exc:
        print(f"hypnic: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Ctrl-C in replay or simulate: stop quietly (the daemon handles SIGINT itself).
        print("hypnic: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `hypnic events | head` closed the pipe: not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
        force=True,
    )


def resolve_data_dir(configured: str, env: dict[str, str] | None = None) -> Path:
    """Where the event log lives when storage.data_dir is empty: systemd's StateDirectory,
    else /var/lib/hypnic if this user may write there, else ~/.local/share/hypnic."""
    env = dict(os.environ) if env is None else env
    if configured:
        return Path(configured).expanduser()
    if env.get("STATE_DIRECTORY"):
        return Path(env["STATE_DIRECTORY"].split(":")[0])
    system = Path("/var/lib/hypnic")
    if system.is_dir() and os.access(system, os.W_OK):
        return system
    xdg = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "hypnic"


def _detector_settings(c: cfg.Config) -> DetectorSettings:
    return DetectorSettings(
        sensitivity=c.detection.sensitivity, min_peak_g=c.detection.min_peak_g,
        plm_rule=c.detection.plm_rule,
    )


def cmd_run(args: argparse.Namespace) -> int:
    from hypnic.daemon.sensors import open_sensor
    from hypnic.daemon.service import Service, Signals
    from hypnic.daemon.sinks import ConsoleSink, Sink, StoreSink
    from hypnic.daemon.systemd import Notifier, setup_journal_logging, under_systemd

    config, source = cfg.load_default_or(args.config)
    config = _run_overrides(config, args)
    if not (under_systemd() and setup_journal_logging(config.logging.level)):
        _setup_logging(config.logging.level)
    # A watchdog kill is SIGABRT: put the stuck thread's stack in the log first.
    faulthandler.enable()
    notifier = Notifier()
    if args.duration is not None and not (math.isfinite(args.duration) and args.duration > 0):
        raise UsageError(
            f"--duration: expected a positive number of seconds, got {args.duration:g}"
        )
    log.info("hypnic %s, config %s", version(), source or "built-in defaults")
    if config.mqtt.host:
        log.warning("mqtt.host is set, but this build does not publish to MQTT yet")

    signals = Signals()
    signals.install()
    data_dir = resolve_data_dir(config.storage.data_dir)
    store = EventStore.open(data_dir)
    log.info("event log %s", store.path)
    try:
        sensor = open_sensor(config.sensor, config.gpio, status=notifier.status)
    except BaseException:
        store.close()
        raise

    running = [config]  # what the last successful reload applied

    def reload() -> DetectorSettings | None:
        try:
            fresh, _ = cfg.load_default_or(args.config)
            fresh = _run_overrides(fresh, args)
        except cfg.ConfigError as exc:
            log.error("configuration not reloaded, keeping the running one: %s", exc)
            return None
        logging.getLogger().setLevel(fresh.logging.level.upper())
        for section in ("sensor", "storage", "mqtt", "gpio"):
            if getattr(fresh, section) != getattr(running[0], section):
                log.warning("[%s] changed: that takes effect after a restart", section)
        if fresh.detection.night_boundary != running[0].detection.night_boundary:
            log.warning("detection.night_boundary changed: that takes effect after a restart")
        running[0] = fresh
        return _detector_settings(fresh)

    sinks: list[Sink] = [
        StoreSink(store, sensor.description, config.detection.night_boundary),
        ConsoleSink(config.detection.night_boundary),
    ]
    service = Service(
        sensor, Detector(_detector_settings(config)), sinks, reload, args.duration, notifier
    )
    service.run(signals)
    if service.unsaved:
        log.error("stopped; %d events this run, some not saved", service.events)
        return 1
    log.info("stopped cleanly; %d events this run", service.events)
    return 0


def _run_overrides(config: cfg.Config, args: argparse.Namespace) -> cfg.Config:
    sensor: dict[str, Any] = {}
    if args.sensor is not None:
        sensor["type"] = args.sensor
    if args.speed is not None:
        sensor["sim_speed"] = args.speed
    if args.seed is not None:
        sensor["sim_seed"] = args.seed
    if sensor:
        config = cfg.override(config, "sensor", **sensor)
    if args.data_dir is not None:
        config = cfg.override(config, "storage", data_dir=args.data_dir)
    if args.log_level is not None:
        config = cfg.override(config, "logging", level=args.log_level)
    return config


def parse_since(text: str, now: float | None = None) -> float:
    """``30m``/``12h``/``7d`` back from now, or an ISO date or date-time (local time)."""
    now = time.time() if now is None else now
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text)
    if m:
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
        return now - float(m.group(1)) * unit
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise UsageError(
            "--since: expected an ISO date/time like 2026-11-23T22:00 or an age like 12h, "
            f'got "{text}"'
        ) from None


def cmd_events(args: argparse.Namespace) -> int:
    config, _ = cfg.load_default_or(args.config)
    data_dir = resolve_data_dir(args.data_dir or config.storage.data_dir)
    since = parse_since(args.since) if args.since else None
    if args.limit is not None and not 1 <= args.limit <= 10**9:
        raise UsageError(f"--limit: expected a whole number 1-1000000000, got {args.limit}")
    night = args.night
    if night is not None and night != "last":
        try:
            datetime.strptime(night, "%Y-%m-%d")
        except ValueError:
            raise UsageError(f'--night: expected YYYY-MM-DD or "last", got "{night}"') from None
    with EventStore.open(data_dir, read_only=True) as store:
        if night == "last":
            night = store.last_night()
            if night is None:
                print("no nights logged yet")
                return 0
        events = store.events(since=since, night=night, limit=args.limit)
    if args.json:
        print(json.dumps([e.as_dict() for e in events], indent=2))
        return 0
    if not events:
        print("no events")
        return 0
    for e in events:
        when = datetime.fromtimestamp(e.onset_wall).strftime("%Y-%m-%d %H:%M:%S")
        flag = "  sleep start" if e.sleep_onset else ""
        print(
            f"{when}  {e.type:<15} {e.duration_s:5.2f} s  peak {e.peak_g * 1000:5.0f} mg"
            f"  intensity {e.intensity:4.1f}{flag}"
        )
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from hypnic.drivers.recording import open_recording

    config, _ = cfg.load_default_or(args.config)
    if args.sensitivity is not None:
        config = cfg.override(config, "detection", sensitivity=args.sensitivity)
    detector = Detector(_detector_settings(config))
    recording = open_recording(args.file, block_samples=REPLAY_BLOCK_SAMPLES)
    jsonl = args.format == "jsonl"
    count = 0

    def emit(events: list[Any]) -> None:
        nonlocal count
        for event in events:
            count += 1
            if jsonl:
                d = event.as_dict()
                d["onset"], d["offset"] = d.pop("onset_s"), d.pop("offset_s")
                print(json.dumps(d), flush=False)
            else:
                print(describe_event(event, None))

    try:
        for block in _read_ahead(recording.blocks()):
            emit(detector.feed(block))
        emit(detector.finish())
    finally:
        recording.close()
    summary = {"type": "summary", "events": count, **detector.summary()}
    if jsonl:
        print(json.dumps(summary))
    else:
        counts = ", ".join(f"{n} {k}" for k, n in summary["counts"].items() if n) or "no events"
        print(
            f"{args.file.name}: {summary['duration_s'] / 60:.1f} min at "
            f"{summary['rate_hz']} Hz, {counts}; {summary['lost_samples']} samples lost"
        )
    return 0


def _read_ahead(items: Iterator[T], depth: int = 4) -> Iterator[T]:
    """The same items, read up to ``depth`` ahead by a helper thread, so that decompressing
    the next part of a recording overlaps with detecting in this one (zlib and numpy let go
    of the interpreter while they work). A reading error is raised here, in order."""
    handoff: queue.Queue[tuple[T | None, BaseException | None, bool]] = queue.Queue(depth)

    def read() -> None:
        try:
            for item in items:
                handoff.put((item, None, False))
            handoff.put((None, None, True))
        except BaseException as exc:  # handed over, raised in the reading loop below
            handoff.put((None, exc, True))

    threading.Thread(target=read, name="hypnic-read-ahead", daemon=True).start()
    while True:
        item, error, end = handoff.get()
        if error is not None:
            raise error
        if end:
            return
        yield cast(T, item)


def cmd_simulate(args: argparse.Namespace) -> int:
    from hypnic.drivers.recording import RecordingWriter
    from hypnic.drivers.sim import SimulatedNight

    if not 25 <= args.rate <= 3200:  # also refuses nan
        raise UsageError(f"--rate: expected 25-3200 Hz, got {args.rate:g}")
    if not 60 <= args.duration <= SIMULATE_MAX_S:
        raise UsageError(
            f"--duration: expected 60-{SIMULATE_MAX_S:g} s (a week at most), got {args.duration:g}"
        )
    if not 0 <= args.seed <= 2**31 - 1:
        raise UsageError(f"--seed: expected an integer 0-{2**31 - 1}, got {args.seed}")
    night = SimulatedNight(
        seed=args.seed, rate_hz=args.rate, duration_s=args.duration, start=args.start
    )
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out: cannot create {args.out}: {exc.strerror}") from None
    recording = args.out / f"recording.{args.format}"
    chunk = 60 * int(args.rate)
    with RecordingWriter(recording) as writer:
        for first in range(0, night.n_samples, chunk):
            t, acc = night.render(first, min(chunk, night.n_samples - first))
            writer.write(t, acc)
    truth = {
        "seed": args.seed,
        "rate_hz": args.rate,
        "true_rate_hz": night.true_rate_hz,
        "start_s": night.start_s,
        "sleep_onset_s": night.sleep_onset_s,
        "bed_entry_s": night.bed_entry_s,
        "bed_exit_s": night.bed_exit_s,
        "events": [e.as_dict() for e in night.truth],
    }
    (args.out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    print(f"wrote {recording} and {args.out / 'truth.json'} ({len(night.truth)} labelled events)")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from hypnic.daemon.doctor import run_checks

    config, _ = cfg.load_default_or(args.config)
    if args.sensor is not None:
        # A doctor run on the simulated sensor is as fast as the CPU allows.
        config = cfg.override(config, "sensor", type=args.sensor, sim_speed=0)
    logging.basicConfig(level=logging.ERROR, force=True)
    checks = run_checks(config)
    if args.json:
        print(json.dumps([c.as_dict() for c in checks], indent=2))
    else:
        for check in checks:
            print(check.line())
    failed = sum(c.status == "FAIL" for c in checks)
    if not args.json:
        print(f"{len(checks) - failed} passed or skipped, {failed} failed" if failed
              else "all checks passed")
    return 1 if failed else 0


COMMANDS = {
    "run": cmd_run,
    "events": cmd_events,
    "replay": cmd_replay,
    "simulate": cmd_simulate,
    "doctor": cmd_doctor,
}
