"""hypnic's configuration: one TOML file, parsed and validated once into typed objects.

Every key is optional. Each section below is a frozen dataclass whose fields carry their
default and their check; the checks produce the one-line messages a person sees, e.g.
``mqtt.port: expected an integer 1-65535, got "abc"``. Nothing below the CLI reads TOML or the
environment: it receives a ``Config``.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

DEFAULT_CONFIG_PATH = Path("/etc/hypnic/hypnic.toml")

#: Chip families with a driver, by config name: the keys of ``hypnic.drivers.chips.CHIPS``, in
#: its order (a test holds the two alike). Spelled out, so that reading a config (every
#: command does) does not import every driver.
CHIP_KEYS = ("adxl345", "lis3dh", "mpu6050", "adxl355", "lsm6dso", "lsm6ds3trc")
#: What sensor.type may be.
SENSOR_TYPES = ("auto", "sim", *CHIP_KEYS)


class ConfigError(Exception):
    """A configuration problem, worded as one line that names the key and the fix."""


T = TypeVar("T")
Check = Callable[[Any], Any]


def _shown(value: Any) -> str:
    """A value as a person wrote it in TOML: strings quoted, booleans lower-case."""
    try:
        return json.dumps(value)
    except TypeError:
        return repr(value)


class _Expected(Exception):
    """Raised by a check with the words that follow "expected"."""


def integer(lo: int, hi: int) -> Check:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise _Expected(f"an integer {lo}-{hi}")
        return v

    return check


def number(lo: float, hi: float) -> Check:
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
            raise _Expected(f"a number {lo:g}-{hi:g}")
        return float(v)

    return check


def boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise _Expected("true or false")
    return v


def one_of(*choices: str) -> Check:
    def check(v: Any) -> str:
        if v not in choices:
            raise _Expected("one of " + ", ".join(f'"{c}"' for c in choices))
        return str(v)

    return check


def text(pattern: str = r"(?s).*", what: str = "a string") -> Check:
    compiled = re.compile(pattern)

    def check(v: Any) -> str:
        if not isinstance(v, str) or not compiled.fullmatch(v):
            raise _Expected(what)
        return v

    return check


def optional_int(lo: int, hi: int, what: str, none_word: str = "none") -> Check:
    inner = integer(lo, hi)

    def check(v: Any) -> int | None:
        if v == none_word or v is None:
            return None
        try:
            return int(inner(v))
        except _Expected:
            raise _Expected(f'{what} ({lo}-{hi}) or "{none_word}"') from None

    return check


def setting(default: T, check: Check, doc: str) -> T:
    """Declare a config key: its default, how it is checked, and what it means."""
    return field(default=default, metadata={"check": check, "doc": doc})


@dataclass(frozen=True)
class SensorConfig:
    type: str = setting(
        "auto",
        one_of(*SENSOR_TYPES),
        '"auto" finds any supported chip on the bus; "sim" is the simulated night',
    )
    bus: int = setting(1, integer(0, 255), "I2C bus number: /dev/i2c-<bus>")
    address: int | None = setting(
        None,
        optional_int(0x03, 0x77, "a 7-bit I2C address", none_word="auto"),
        'the chip\'s I2C address; "auto" tries the chip\'s usual addresses',
    )
    rate_hz: int = setting(200, integer(25, 1600), "output data rate; the chip's nearest is used")
    range_g: int = setting(
        2, integer(2, 16), "full-scale range in g; the chip's smallest that holds it"
    )
    sim_chip: str = setting(
        "adxl345", one_of(*CHIP_KEYS), "the chip the simulated night is read through"
    )
    sim_seed: int = setting(1, integer(0, 2**31 - 1), "seed of the simulated night")
    sim_speed: float = setting(
        1.0, number(0, 10000), "simulated seconds per wall second; 0 runs as fast as possible"
    )
    sim_start: str = setting(
        "onset",
        one_of("evening", "onset"),
        '"onset" starts the simulated night just before sleep onset, where jerks come early',
    )


@dataclass(frozen=True)
class DetectionConfig:
    sensitivity: int = setting(5, integer(1, 10), "1 reports only strong jerks, 10 the faintest")
    min_peak_g: float = setting(
        0.0012, number(0.0, 2.0), "movements weaker than this at the sensor are never events"
    )
    night_boundary: str = setting(
        "12:00",
        text(r"([01]\d|2[0-3]):[0-5]\d", 'a local time "HH:MM"'),
        "local time at which one night's summary ends and the next begins",
    )
    plm_rule: str = setting(
        "aasm",
        one_of("aasm", "wasm"),
        'periodic limb movement scoring: "aasm" (5-90 s apart) or "wasm" (10-90 s apart)',
    )


@dataclass(frozen=True)
class StorageConfig:
    data_dir: str = setting(
        "",
        text(),
        "folder for the event log; empty: $STATE_DIRECTORY under systemd, else "
        "/var/lib/hypnic if writable, else ~/.local/share/hypnic",
    )


@dataclass(frozen=True)
class MqttConfig:
    host: str = setting("", text(), "broker host name; empty turns MQTT off")
    port: int = setting(1883, integer(1, 65535), "broker port")
    username: str = setting("", text(), "user name, if the broker asks for one")
    password_file: str = setting("", text(), "file holding the password (never the TOML)")
    client_id: str = setting("", text(), "MQTT client id; empty: hypnic-<node_id>")
    keepalive_s: int = setting(60, integer(5, 3600), "keepalive interval in seconds")
    protocol: str = setting("3.1.1", one_of("3.1.1", "5"), "MQTT protocol version")
    tls: bool = setting(False, boolean, "connect with TLS")
    ca_file: str = setting("", text(), "CA bundle for TLS; empty: the system's")
    cert_file: str = setting("", text(), "client certificate for TLS, optional")
    key_file: str = setting("", text(), "client key for TLS, optional")
    topic_prefix: str = setting(
        "hypnic",
        text(r"[^#+\s/][^#+\s]*", "a topic prefix without spaces, '#', '+' or a leading '/'"),
        "topics live under <topic_prefix>/<node_id>/",
    )
    node_id: str = setting(
        "",
        text(r"[A-Za-z0-9_-]*", "letters, digits, '_' or '-'"),
        "this bed's id on the broker; empty: the host name",
    )
    discovery: bool = setting(True, boolean, "announce entities to Home Assistant")
    discovery_prefix: str = setting(
        "homeassistant", text(r"[^#+\s]+", "a topic prefix"), "Home Assistant's discovery prefix"
    )


@dataclass(frozen=True)
class GpioConfig:
    int_pin: int | None = setting(
        None, optional_int(0, 27, "a BCM GPIO number"), "sensor interrupt line"
    )
    led_pin: int | None = setting(None, optional_int(0, 27, "a BCM GPIO number"), "status LED")
    button_pin: int | None = setting(
        None, optional_int(0, 27, "a BCM GPIO number"), "push button"
    )


@dataclass(frozen=True)
class LoggingConfig:
    level: str = setting("info", one_of("debug", "info", "warning", "error"), "log level")


@dataclass(frozen=True)
class Config:
    sensor: SensorConfig = field(default_factory=SensorConfig)
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    gpio: GpioConfig = field(default_factory=GpioConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)


SECTIONS: dict[str, type] = {
    "sensor": SensorConfig,
    "detection": DetectionConfig,
    "storage": StorageConfig,
    "mqtt": MqttConfig,
    "gpio": GpioConfig,
    "logging": LoggingConfig,
}


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f'did you mean "{close[0]}"?'
    return "known: " + ", ".join(known)


def _build_section(section: str, cls: type[T], raw: Any) -> T:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{section}: expected a [{section}] table, got {_shown(raw)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            hint = _did_you_mean(key, list(fields))
            raise ConfigError(f"{section}.{key}: unknown key; {hint}")
        try:
            values[key] = fields[key].metadata["check"](value)
        except _Expected as exc:
            raise ConfigError(f"{section}.{key}: expected {exc}, got {_shown(value)}") from None
    return cls(**values)


def from_mapping(raw: Mapping[str, Any]) -> Config:
    """Validate an already-parsed TOML document into a Config."""
    sections: dict[str, Any] = {}
    for name, body in raw.items():
        if name not in SECTIONS:
            hint = _did_you_mean(name, list(SECTIONS))
            raise ConfigError(f"[{name}]: unknown section; {hint}")
        sections[name] = _build_section(name, SECTIONS[name], body)
    return Config(**sections)


def load(path: Path) -> Config:
    """Read and validate a TOML config file; raise ConfigError with a one-line reason."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such config file; create it from deploy/hypnic.example.toml "
            "or leave out --config to use the defaults"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    try:
        return from_mapping(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def load_default_or(path: Path | None) -> tuple[Config, Path | None]:
    """Load ``path``; with None, the default file if it exists, else the built-in defaults.

    Returns the config and the file it came from (None for the built-in defaults).
    """
    if path is not None:
        return load(path), path
    if DEFAULT_CONFIG_PATH.exists():
        return load(DEFAULT_CONFIG_PATH), DEFAULT_CONFIG_PATH
    return Config(), None


def override(config: Config, section: str, **changes: Any) -> Config:
    """Return ``config`` with keys of one section replaced, each passed through its check.

    Used for command-line overrides, so ``--speed -1`` is refused with the same words as the
    TOML key would be.
    """
    current = getattr(config, section)
    checked = _build_section(section, type(current), changes)
    merged = dataclasses.replace(current, **{k: getattr(checked, k) for k in changes})
    return dataclasses.replace(config, **{section: merged})


def describe() -> list[tuple[str, str, Any, str]]:
    """Every key as (section, key, default, doc), in declaration order; used for docs/tests."""
    rows = []
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            rows.append((section, f.name, f.default, f.metadata["doc"]))
    return rows
