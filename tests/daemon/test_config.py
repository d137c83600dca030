"""Configuration: defaults, validation messages, unknown keys, the example file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hypnic.daemon import config as cfg

EXAMPLE = Path(__file__).parents[2] / "deploy" / "hypnic.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "hypnic.toml"
    p.write_text(text)
    return p


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(cfg.ConfigError) as exc:
        cfg.load(write(tmp_path, text))
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    assert cfg.load(write(tmp_path, "")) == cfg.Config()


def test_values_are_read_into_typed_sections(tmp_path: Path) -> None:
    c = cfg.load(
        write(
            tmp_path,
            '[mqtt]\nhost = "broker.lan"\nport = 8883\ntls = true\n'
            "[detection]\nsensitivity = 8\nmin_peak_g = 0.01\nplm_rule = \"wasm\"\n"
            "[gpio]\nint_pin = 17\n",
        )
    )
    assert (c.mqtt.host, c.mqtt.port, c.mqtt.tls) == ("broker.lan", 8883, True)
    assert c.detection.sensitivity == 8 and c.detection.min_peak_g == 0.01
    assert c.detection.plm_rule == "wasm"
    assert c.gpio.int_pin == 17 and c.gpio.led_pin is None
    assert c.sensor == cfg.SensorConfig()


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[mqtt]\nport = "abc"', 'mqtt.port: expected an integer 1-65535, got "abc"'),
        ("[mqtt]\nport = 70000", "mqtt.port: expected an integer 1-65535, got 70000"),
        ("[mqtt]\ntls = 1", "mqtt.tls: expected true or false, got 1"),
        ("[detection]\nsensitivity = 11", "detection.sensitivity: expected an integer 1-10, got 11"),
        ("[detection]\nsensitivity = true", "detection.sensitivity: expected an integer 1-10, got true"),
        ('[sensor]\ntype = "adxl999"', 'sensor.type: expected one of "auto", "sim", "adxl345"'),
        ("[sensor]\naddress = 200", 'sensor.address: expected a 7-bit I2C address (3-119) or "auto", got 200'),
        ('[logging]\nlevel = "loud"', 'logging.level: expected one of "debug", "info", "warning", "error", got "loud"'),
        ('[detection]\nnight_boundary = "25:00"', 'detection.night_boundary: expected a local time "HH:MM", got "25:00"'),
        ('[detection]\nplm_rule = "icsd"', 'detection.plm_rule: expected one of "aasm", "wasm", got "icsd"'),
        ("[gpio]\nint_pin = 40", 'gpio.int_pin: expected a BCM GPIO number (0-27) or "none", got 40'),
        ('[mqtt]\ntopic_prefix = "a/#"', "mqtt.topic_prefix: expected a topic prefix without spaces"),
        ("mqtt = 3", "mqtt: expected a [mqtt] table, got 3"),
    ],
)
def test_bad_values_name_key_value_and_expectation(tmp_path: Path, toml: str, expected: str) -> None:
    assert expected in error_of(tmp_path, toml)


def test_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    assert error_of(tmp_path, '[mqtt]\nhots = "x"').endswith(
        'mqtt.hots: unknown key; did you mean "host"?'
    )


def test_unknown_key_without_a_close_one_lists_the_known(tmp_path: Path) -> None:
    message = error_of(tmp_path, "[logging]\nzzz = 1")
    assert "logging.zzz: unknown key; known: level" in message


def test_unknown_section_suggests_the_close_one(tmp_path: Path) -> None:
    assert '[sensors]: unknown section; did you mean "sensor"?' in error_of(
        tmp_path, "[sensors]\ntype = 'sim'"
    )


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, "[mqtt]\nhost = \n")
    assert message.startswith(str(tmp_path / "hypnic.toml") + ": invalid TOML")
    assert "line 2" in message


def test_missing_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(cfg.ConfigError, match="no such config file; create it from deploy/"):
        cfg.load(tmp_path / "nope.toml")


def test_override_is_checked_like_the_file() -> None:
    c = cfg.override(cfg.Config(), "sensor", sim_speed=60, sim_seed=3)
    assert c.sensor.sim_speed == 60.0 and c.sensor.sim_seed == 3
    with pytest.raises(cfg.ConfigError, match=r"sensor\.sim_speed: expected a number 0-10000, got -1"):
        cfg.override(c, "sensor", sim_speed=-1)


def test_example_config_documents_every_key_with_its_true_default(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    assert cfg.load(EXAMPLE) == cfg.Config()
    uncommented = re.sub(r"(?m)^# (\w+ = .*)$", r"\1", text)
    assert cfg.load(write(tmp_path, uncommented)) == cfg.Config()
    documented = set(re.findall(r"(?m)^# (\w+) = ", text))
    assert documented == {key for _, key, _, _ in cfg.describe()}
