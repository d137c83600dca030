"""The ``hypnic`` command: run the daemon, list events, replay and simulate recordings.

Every bad input ends in one line on stderr, ``hypnic: error: …``, and exit status 2; a
failure at run time in exit status 1. No tracebacks for things a person can fix.
"""

from __future__ import annotations

import argparse
import json
import logging
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
from hypnic.daemon.errors import EvaluationError, MqttSetupError, StoreError
from hypnic.daemon.logsetup import limit_repeats
from hypnic.drivers.base import SensorError
from hypnic.drivers.recording import RecordingError

log = logging.getLogger("hypnic")


#: hypnic simulate writes at most a week of signal.
SIMULATE_MAX_S = 7 * 86400.0
#: The named nights of ``hypnic.drivers.sim.scenarios.SCENARIOS`` and the chips it simulates,
#: in its order (a test holds them alike): spelled out, so that building the command line does
#: not import the simulator and every chip driver (each ``hypnic replay`` would pay for it).
SCENARIO_NAMES = ("typical", "quiet", "empty", "partner", "plm", "restless", "onset-jerks",
                  "noisy-room")
CHIP_NAMES = cfg.CHIP_KEYS
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
    run.add_argument("--mqtt-host", metavar="HOST", help="override mqtt.host (turns MQTT on)")
    run.add_argument("--mqtt-port", type=int, metavar="PORT", help="override mqtt.port")

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

    ev_ = sub.add_parser(
        "evaluate", help="score the detector on simulated nights (folders hypnic simulate wrote)")
    ev_.add_argument("folders", type=Path, nargs="+", metavar="DIR")
    ev_.add_argument("--json", action="store_true", help="print the figures as JSON")
    ev_.add_argument("--baseline", action="store_true",
                     help="score the naive baseline (|a| minus its running median) instead")
    ev_.add_argument("--by", choices=("scenario", "chip"),
                     help="also give the figures per scenario or per chip")
    ev_.add_argument("--sensitivity", type=int, help="detection.sensitivity (1-10, default 5)")

    doc = sub.add_parser("doctor", help="check I2C, permissions, the sensor, its interrupt, MQTT")
    _config_arg(doc)
    doc.add_argument("--sensor", choices=cfg.SENSOR_TYPES, help="override sensor.type")
    doc.add_argument("--json", action="store_true", help="print the checks as JSON")

    sim = sub.add_parser("simulate", help="write a simulated night as a recording + truth.json")
    sim.add_argument("--scenario", choices=SCENARIO_NAMES,
                     help="a named night (body, bed, room and events varied by the seed)")
    sim.add_argument("--chip", choices=CHIP_NAMES,
                     help="the chip whose noise and resolution to simulate (default adxl345 "
                          "with --scenario); the rate becomes the chip's nearest")
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
    except (
        UsageError, cfg.ConfigError, RecordingError, StoreError, SensorError, MqttSetupError,
        EvaluationError,
    ) as exc:
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


def setup_console_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
        force=True,
    )
    for handler in logging.getLogger().handlers:
        limit_repeats(handler)


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


def detector_settings(c: cfg.Config) -> DetectorSettings:
    return DetectorSettings(
        sensitivity=c.detection.sensitivity, min_peak_g=c.detection.min_peak_g,
        plm_rule=c.detection.plm_rule,
    )


def cmd_run(args: argparse.Namespace) -> int:
    from hypnic.daemon.run import run

    return run(args, version())


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
    from hypnic.daemon.store import EventStore

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
    detector = Detector(detector_settings(config))
    recording = open_recording(args.file, block_samples=REPLAY_BLOCK_SAMPLES)
    jsonl = args.format == "jsonl"
    if not jsonl:  # the sinks bring the event log's modules with them: only when needed
        from hypnic.daemon.sinks import describe_event
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
    from dataclasses import replace

    from hypnic.drivers.sim import NightParams, SimulatedNight
    from hypnic.drivers.sim.export import write_night
    from hypnic.drivers.sim.scenarios import CHIP_SENSORS, scenario_params

    if not 25 <= args.rate <= 3200:  # also refuses nan
        raise UsageError(f"--rate: expected 25-3200 Hz, got {args.rate:g}")
    if not 60 <= args.duration <= SIMULATE_MAX_S:
        raise UsageError(
            f"--duration: expected 60-{SIMULATE_MAX_S:g} s (a week at most), got {args.duration:g}"
        )
    if not 0 <= args.seed <= 2**31 - 1:
        raise UsageError(f"--seed: expected an integer 0-{2**31 - 1}, got {args.seed}")
    chip: str | None = args.chip
    rate_hz = args.rate
    if args.scenario is not None:
        chip = chip or "adxl345"
        params = scenario_params(args.scenario, chip)
        if not params.occupied and args.start == "onset":
            raise UsageError(f'--start onset: nobody falls asleep in the "{args.scenario}" '
                             "scenario; use --start evening")
    else:
        params = NightParams()
        if chip is not None:
            sensor = CHIP_SENSORS[chip]
            params = replace(params, noise_density_ug_rthz=sensor.noise_density_ug_rthz,
                             lsb_g=sensor.lsb_g, noise_z_ratio=sensor.noise_z_ratio)
    if chip is not None:
        rate_hz = CHIP_SENSORS[chip].rate_hz(args.rate)
    try:
        night = SimulatedNight(seed=args.seed, rate_hz=rate_hz, duration_s=args.duration,
                               start=args.start, params=params)
    except ValueError as exc:
        raise UsageError(f"--duration: {exc}; give a longer night") from None
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out: cannot create {args.out}: {exc.strerror}") from None
    recording = write_night(night, args.out, args.format, scenario=args.scenario, chip=chip)
    what = f"{args.scenario} night, {chip} at {rate_hz:g} Hz, " if args.scenario else ""
    print(f"wrote {recording} and {args.out / 'truth.json'} ({what}{len(night.truth)} labelled "
          f"events, {len(night.disturbances)} disturbances)")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from hypnic.daemon.evaluate import (
        StreamingDetector,
        evaluate_folder,
        group,
        load_truth,
        recording_in,
    )
    from hypnic.daemon.evaluate_baseline import BaselineDetector
    from hypnic.daemon.evaluate_report import causes, table
    from hypnic.daemon.scoring import figures

    if args.sensitivity is not None and not 1 <= args.sensitivity <= 10:
        raise UsageError(f"--sensitivity: expected 1-10, got {args.sensitivity}")
    if args.baseline and args.sensitivity is not None:
        raise UsageError("--sensitivity: the baseline has none; leave out one of the two")
    for folder in args.folders:  # every bad folder is reported before any night is run
        recording_in(folder)
        load_truth(folder)
    settings = DetectorSettings(sensitivity=args.sensitivity or 5)

    def make() -> StreamingDetector:
        return BaselineDetector() if args.baseline else Detector(settings)

    results = [evaluate_folder(folder, make) for folder in args.folders]
    groups = group(results, args.by)
    name = "baseline" if args.baseline else "hypnic"
    if args.json:
        nights = [{"folder": str(r.folder), "scenario": r.scenario, "chip": r.chip,
                   "rate_hz": r.rate_hz, **figures(r.tally)} for r in results]
        print(json.dumps({"detector": name, "groups": groups, "nights": nights}, indent=1))
        return 0
    print(f"{name} detector on {len(results)} simulated nights")
    print(table(groups))
    extra = causes(groups["all"])
    if extra:
        print(extra)
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
    "evaluate": cmd_evaluate,
    "doctor": cmd_doctor,
}
