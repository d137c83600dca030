"""``hypnic run``: the daemon. Wires sensor → detector → sinks (log, MQTT, console/journal),
with systemd notification, signals, and the controls that outlive a restart (a pause, a
sensitivity set from Home Assistant)."""

from __future__ import annotations

import argparse
import faulthandler
import logging
import math
import time
from dataclasses import replace
from typing import Any

from hypnic.daemon import config as cfg
from hypnic.daemon.cli import (
    UsageError,
    detector_settings,
    resolve_data_dir,
    setup_console_logging,
)
from hypnic.daemon.detect import Detector, DetectorSettings
from hypnic.daemon.detect.baseline import Baseline
from hypnic.daemon.mqtt_link import MqttLink, mqtt_settings
from hypnic.daemon.mqtt_sink import MqttSink
from hypnic.daemon.sensors import open_sensor
from hypnic.daemon.service import Service, Signals
from hypnic.daemon.sinks import ConsoleSink, Sink, StoreSink, night_runs
from hypnic.daemon.store import EventStore, night_of
from hypnic.daemon.systemd import Notifier, setup_journal_logging, under_systemd

log = logging.getLogger("hypnic")


def run(args: argparse.Namespace, version: str) -> int:
    """``hypnic run``: wire the sensor, the detector and the sinks, and run until stopped."""

    config, source = cfg.load_default_or(args.config)
    config = _run_overrides(config, args)
    if not (under_systemd() and setup_journal_logging(config.logging.level)):
        setup_console_logging(config.logging.level)
    # A watchdog kill is SIGABRT: put the stuck thread's stack in the log first.
    faulthandler.enable()
    notifier = Notifier()
    if args.duration is not None and not (math.isfinite(args.duration) and args.duration > 0):
        raise UsageError(
            f"--duration: expected a positive number of seconds, got {args.duration:g}"
        )
    log.info("hypnic %s, config %s", version, source or "built-in defaults")
    # Bad MQTT settings (an unreadable password file, say) stop the start, before anything.
    link_settings = mqtt_settings(config.mqtt)
    link = MqttLink(link_settings) if link_settings is not None else None

    signals = Signals()
    signals.install()
    data_dir = resolve_data_dir(config.storage.data_dir)
    store = EventStore.open(data_dir)
    log.info("event log %s", store.path)
    try:
        settings = detector_settings(config)
        sensitivity = _remembered_sensitivity(store, config.detection.sensitivity)
        if sensitivity != settings.sensitivity:
            log.info("sensitivity %d, as set from Home Assistant", sensitivity)
            settings = replace(settings, sensitivity=sensitivity)
        baseline = recent_baseline(store, config.detection.night_boundary)
        if baseline is not None:
            settings = replace(settings, baseline=baseline)
        paused_since = store.open_pause()
        if paused_since is not None:
            log.info("monitoring is paused (since %s); resume it from Home Assistant",
                     time.strftime("%Y-%m-%d %H:%M", time.localtime(paused_since)))
        sensor = open_sensor(config.sensor, config.gpio, status=notifier.status)
    except BaseException:
        store.close()
        raise
    detector = Detector(settings)

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
        kept = detector.settings.sensitivity
        if fresh.detection.sensitivity == running[0].detection.sensitivity:
            # Unchanged in the file: a sensitivity set from Home Assistant stays.
            fresh = cfg.override(fresh, "detection", sensitivity=kept)
        running[0] = fresh
        return replace(detector_settings(fresh), baseline=detector.settings.baseline)

    sinks: list[Sink] = [
        StoreSink(store, sensor.description, config.detection.night_boundary,
                  outbox=link_settings is not None),
        ConsoleSink(config.detection.night_boundary),
    ]
    if link is None:
        log.info("MQTT is off (mqtt.host is not set)")
    else:
        sinks.insert(1, MqttSink(link, EventStore.open(data_dir),
                                 config.detection.night_boundary))
    service = Service(
        sensor, detector, sinks, reload, args.duration, notifier,
        commands=link.commands if link else None, paused=paused_since is not None,
        link_state=link.state if link else None,
        night_of=lambda wall: night_of(wall, config.detection.night_boundary),
        baseline=lambda: recent_baseline(store, config.detection.night_boundary),
    )
    service.run(signals)
    if service.unsaved:
        log.error("stopped; %d events this run, some not saved", service.events)
        return 1
    log.info("stopped cleanly; %d events this run", service.events)
    return 0


#: How many recent nights make this person's baseline (intense jerks, unusual nights).
BASELINE_NIGHTS = 14


def recent_baseline(store: EventStore, night_boundary: str) -> Baseline | None:
    """This person's recent nights from the log (not tonight's): their jerks' strength and
    how many an hour, so a jerk or a night can be called unusual *for them*."""
    tonight = night_of(time.time(), night_boundary)
    nights = [n for n in store.nights() if n.night != tonight and n.monitored_s > 0]
    recent = nights[:BASELINE_NIGHTS]
    history = []
    for n in recent:
        peaks = [e.peak_g for e in store.events(night=n.night) if e.type == "jerk"]
        # A night the daemon was restarted in holds each run's time in bed.
        in_bed_s = sum(float(r.get("time_in_bed_s") or 0.0) for r in night_runs(n.figures))
        hours = (in_bed_s or n.monitored_s) / 3600.0
        history.append((peaks, hours))
    baseline = Baseline.from_nights(history)
    if baseline is not None:
        log.info("baseline from %d recent nights", baseline.nights)
    return baseline


def _remembered_sensitivity(store: EventStore, configured: int) -> int:
    """A sensitivity set from Home Assistant outlives a restart, until the config file's own
    value is changed (then the file wins: it is the newer wish)."""
    base = store.setting("sensitivity_config")
    if base != str(configured):
        store.save_setting("sensitivity_config", str(configured))
        store.save_setting("sensitivity", None)
        return configured
    remembered = store.setting("sensitivity")
    return int(remembered) if remembered and remembered.isdigit() else configured


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
    mqtt: dict[str, Any] = {}
    if args.mqtt_host is not None:
        mqtt["host"] = args.mqtt_host
    if args.mqtt_port is not None:
        mqtt["port"] = args.mqtt_port
    if mqtt:
        config = cfg.override(config, "mqtt", **mqtt)
    return config
