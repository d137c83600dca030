"""``hypnic doctor``: is this Pi ready? Each check says PASS, FAIL (with the fix) or SKIP.

Run it on a fresh Pi after wiring the sensor. With ``--sensor sim`` it runs every check that
does not need the real system against the emulated chip, so the command itself is tested.
"""

from __future__ import annotations

import os
import ssl
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from hypnic.daemon.config import Config
from hypnic.daemon.errors import MqttSetupError
from hypnic.daemon.mqtt_link import build_client, mqtt_settings
from hypnic.daemon.sensors import open_bus, open_sensor
from hypnic.drivers.acquire import Accelerometer
from hypnic.drivers.base import SensorError
from hypnic.drivers.bus import BusError
from hypnic.drivers.irq import PinWaiter
from hypnic.drivers.probe import probe

#: Seconds of signal streamed to measure the real rate and the noise floor.
MEASURE_S = 10.0


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # PASS, FAIL or SKIP
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status:<4}  {self.name:<16} {self.detail}"
        return text + (f"\n      fix: {self.fix}" if self.fix else "")

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def run_checks(config: Config, dev: Path = Path("/dev")) -> list[Check]:
    return list(_checks(config, dev))


def _checks(config: Config, dev: Path) -> Iterator[Check]:
    simulated = config.sensor.type == "sim"
    bus_path = dev / f"i2c-{config.sensor.bus}"
    if simulated:
        yield Check("i2c enabled", "SKIP", "simulated sensor")
        yield Check("i2c access", "SKIP", "simulated sensor")
    else:
        yield from _system_checks(bus_path, dev)

    sensor = None
    try:
        if simulated:
            sim = open_sensor(config.sensor, config.gpio)
            assert not isinstance(sim, Accelerometer)
            sensor = sim.sensor
            bus = sensor.driver.device.bus
        else:
            bus = open_bus(config.sensor.bus)
    except SensorError as exc:
        yield Check("chips found", "FAIL", str(exc))
        return
    found = probe(bus)
    if not found:
        yield Check(
            "chips found", "FAIL", f"no supported accelerometer answers on {bus_path}",
            "check the wiring: VCC to 3.3 V (pin 1), GND (pin 6), SDA to pin 3, SCL to pin 5; "
            "see hw/README.md; `i2cdetect -y 1` lists what answers",
        )
        return
    yield Check("chips found", "PASS", ", ".join(str(f) for f in found))

    if sensor is None:
        try:
            real = open_sensor(config.sensor, config.gpio)
        except SensorError as exc:
            yield Check("sensor", "FAIL", str(exc))
            return
        assert isinstance(real, Accelerometer)
        sensor = real
    try:
        yield from _sensor_checks(sensor, config)
    finally:
        sensor.close()


def _system_checks(bus_path: Path, dev: Path) -> Iterator[Check]:
    if not bus_path.exists():
        yield Check(
            "i2c enabled", "FAIL", f"{bus_path} does not exist",
            "sudo raspi-config nonint do_i2c 0 && sudo reboot "
            "(or add dtparam=i2c_arm=on to /boot/firmware/config.txt)",
        )
    else:
        yield Check("i2c enabled", "PASS", f"{bus_path} present")
    user = _user()
    gpiochips = sorted(dev.glob("gpiochip*"))
    for device, group in ((bus_path, "i2c"), (gpiochips[0] if gpiochips else None, "gpio")):
        if device is None or not device.exists():
            continue
        if os.access(device, os.R_OK | os.W_OK):
            yield Check(f"{group} access", "PASS", f"{user} can use {device}")
        else:
            yield Check(
                f"{group} access", "FAIL", f"{user} cannot open {device}",
                f"sudo usermod -aG {group} {user}  (then log in again, or restart hypnic)",
            )


def _sensor_checks(sensor: Accelerometer, config: Config) -> Iterator[Check]:
    driver = sensor.driver
    try:
        result = driver.self_test()
        yield Check("self-test", "PASS" if result.passed else "FAIL", result.describe(),
                    "" if result.passed else "the chip may be damaged; try another breakout")
    except (BusError, OSError) as exc:
        yield Check("self-test", "FAIL", f"{driver.model}: {exc}", "check the wiring")
        return
    samples = []
    t_first = t_last = None
    try:
        for block in sensor.blocks():
            if not len(block):
                continue
            samples.append(block.acc_g)
            t_first = block.t_s[0] if t_first is None else t_first
            t_last = block.t_s[-1]
            if t_last - t_first >= MEASURE_S:
                break
    except (BusError, OSError) as exc:
        yield Check("streaming", "FAIL", str(exc), "check the wiring")
        return
    rate = sensor.sample_clock.rate_hz
    off = (rate - driver.rate_hz) / driver.rate_hz * 100.0
    yield Check(
        "output rate", "PASS" if abs(off) < 10 else "FAIL",
        f"{rate:.2f} Hz measured, {driver.rate_hz:g} Hz nominal ({off:+.1f} %)",
        "" if abs(off) < 10 else "the chip's clock is far off; try another breakout",
    )
    acc = np.concatenate(samples)
    noise_mg = acc.std(axis=0) * 1000.0
    density = noise_mg.mean() * 1000.0 / np.sqrt(driver.rate_hz / 2.0)
    yield Check(
        "noise floor", "PASS",
        f"{noise_mg[0]:.2f}/{noise_mg[1]:.2f}/{noise_mg[2]:.2f} mg rms X/Y/Z over "
        f"{MEASURE_S:g} s (≈{density:.0f} µg/√Hz; keep the bed still while this runs)",
    )
    waiter = sensor.waiter
    if isinstance(waiter, PinWaiter):
        ok = waiter.edges_seen > 0
        yield Check(
            "interrupt", "PASS" if ok else "FAIL",
            f"GPIO{waiter.pin} fired {waiter.edges_seen} times",
            "" if ok else f"wire the chip's INT1 to GPIO{waiter.pin}, or remove gpio.int_pin "
            "to poll instead",
        )
    else:
        yield Check("interrupt", "SKIP", "gpio.int_pin not set: polling the FIFO")
    yield mqtt_check(config)


def mqtt_check(config: Config, timeout_s: float = 5.0) -> Check:
    """Connect to the broker as the daemon would (credentials, TLS) and say why it fails."""
    name = "mqtt broker"
    fix_auth = "check mqtt.username and the password (mqtt.password_file or the credential)"
    try:
        settings = mqtt_settings(config.mqtt)
        if settings is None:
            return Check(name, "SKIP", "mqtt.host not set: MQTT is off")
        client = build_client(settings)
    except MqttSetupError as exc:
        return Check(name, "FAIL", str(exc), "fix the [mqtt] settings named above")
    answered = threading.Event()
    reasons: list[ReasonCode] = []

    def on_connect(
        client: mqtt.Client, userdata: object, flags: mqtt.ConnectFlags, reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        reasons.append(reason)
        answered.set()

    client.on_connect = on_connect
    where = settings.where
    try:
        client.connect(settings.host, settings.port, settings.keepalive_s)
    except ssl.SSLError as exc:
        return Check(name, "FAIL", f"TLS with {where} failed: {exc.reason or exc}",
                     "check mqtt.ca_file (the CA that signed the broker's certificate) and that "
                     "mqtt.host matches the name in it")
    except OSError as exc:
        return Check(name, "FAIL", f"cannot reach {where}: {exc.strerror or exc}",
                     "check mqtt.host and mqtt.port, and that the broker is running")
    client.loop_start()
    try:
        if not answered.wait(timeout_s):
            return Check(name, "FAIL", f"{where} accepts connections but never answered MQTT",
                         "check mqtt.port (is it the MQTT port?) and mqtt.tls")
    finally:
        client.disconnect()
        client.loop_stop()
    reason = reasons[0]
    if reason.is_failure:
        return Check(name, "FAIL", f"{where} refused hypnic: {reason}", fix_auth)
    how = ("TLS, " if settings.tls else "") + (
        f"user {settings.username}" if settings.username else "anonymous"
    )
    return Check(name, "PASS", f"connected to {where} ({how}); topics under "
                 f"{settings.topics.base}/")


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())

