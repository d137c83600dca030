"""`hypnic doctor`: every check, on the emulated chip and on a machine without I2C."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from broker import Broker, running_broker

from hypnic.daemon import config as cfg
from hypnic.daemon.doctor import mqtt_check, run_checks


def by_name(checks: list) -> dict:
    return {c.name: c for c in checks}


def test_doctor_on_the_simulated_sensor_passes_every_check() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hypnic.daemon", "doctor", "--sensor", "sim", "--json"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    for name in ("chips found", "self-test", "output rate", "noise floor", "interrupt"):
        assert checks[name]["status"] == "PASS", checks[name]
    assert "ADXL345 at 0x53" in checks["chips found"]["detail"]
    assert "fired" in checks["interrupt"]["detail"]


def test_doctor_without_i2c_says_how_to_enable_it(tmp_path: Path) -> None:
    config = cfg.override(cfg.Config(), "sensor", type="auto", bus=250)
    checks = by_name(run_checks(config, dev=tmp_path))
    assert checks["i2c enabled"].status == "FAIL"
    assert "raspi-config nonint do_i2c 0" in checks["i2c enabled"].fix
    assert checks["chips found"].status == "FAIL"


@pytest.fixture
def locked_device(tmp_path: Path) -> Iterator[Path]:
    device = tmp_path / "i2c-250"
    device.touch()
    if os.geteuid() == 0:
        # Root may open anything but an immutable file.
        subprocess.run(["chattr", "+i", str(device)], check=True)
    else:
        device.chmod(0)
    yield device
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(device)], check=True)


def test_doctor_names_the_group_to_join(tmp_path: Path, locked_device: Path) -> None:
    config = cfg.override(cfg.Config(), "sensor", type="auto", bus=250)
    check = by_name(run_checks(config, dev=tmp_path))["i2c access"]
    assert check.status == "FAIL"
    assert check.fix.startswith("sudo usermod -aG i2c ")


def test_doctor_checks_the_broker(broker: Broker, tmp_path: Path) -> None:
    config = cfg.override(cfg.Config(), "sensor", type="sim", sim_speed=0)
    config = cfg.override(config, "mqtt", host=broker.host, port=broker.port, node_id="bed1")
    check = by_name(run_checks(config))["mqtt broker"]
    assert check.status == "PASS" and "hypnic/bed1/" in check.detail

    with socket.socket() as listener:  # something listens, but it is not MQTT
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        silent = cfg.override(config, "mqtt", port=port)
        check = mqtt_check(silent, timeout_s=0.5)
        assert check.status == "FAIL" and "never answered" in check.detail
    check = by_name(run_checks(silent))["mqtt broker"]  # now closed
    assert check.status == "FAIL" and "mqtt.host" in check.fix

    folder = tmp_path / "auth"
    folder.mkdir()
    with running_broker(folder, "allow_anonymous false\n") as closed:
        strict = cfg.override(config, "mqtt", port=closed.port, username="someone")
        check = by_name(run_checks(strict))["mqtt broker"]
        assert check.status == "FAIL" and "refused" in check.detail
        assert "mqtt.username" in check.fix
    missing = cfg.override(config, "mqtt", password_file=str(tmp_path / "nope"))
    check = by_name(run_checks(missing))["mqtt broker"]
    assert check.status == "FAIL" and "nope" in check.detail
