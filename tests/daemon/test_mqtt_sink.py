"""The MQTT sink and link in-process, against a real mosquitto: nothing lost through an outage
or a restart, nothing sent twice, TLS with a test CA and password auth, two beds, commands."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from broker import Broker, Subscriber, free_port, make_test_ca, publish, running_broker

from hypnic.daemon.commands import Command
from hypnic.daemon.config import MqttConfig
from hypnic.daemon.errors import MqttSetupError
from hypnic.daemon.events import Event
from hypnic.daemon.mqtt_link import MqttLink, MqttSettings, mqtt_settings
from hypnic.daemon.mqtt_sink import ANNOUNCED_KEY, MqttSink
from hypnic.daemon.payloads import iso
from hypnic.daemon.sinks import StoreSink
from hypnic.daemon.status import Status
from hypnic.daemon.store import EventStore
from hypnic.drivers.base import SensorHealth

T0 = time.time() - 600.0


def settings(broker: Broker, node_id: str = "bed1", **kw: object) -> MqttSettings:
    config = MqttConfig(host=broker.host, port=broker.port, node_id=node_id,
                        keepalive_s=5, **kw)  # type: ignore[arg-type]
    result = mqtt_settings(config, env={})
    assert result is not None
    return result


def status(wall: float | None = None) -> Status:
    return Status(
        wall=time.time() if wall is None else wall, wall_at_zero=T0,
        health=SensorHealth("ADXL345", 200.0), figures={"noise_floor_g": 0.003},
        paused=False, sensitivity=5, uptime_s=1.0,
    )


class Rig:
    """The log writer (with outbox) and the MQTT sink over one data folder, as `hypnic run`
    wires them."""

    def __init__(self, data: Path, link_settings: MqttSettings) -> None:
        self.writer = StoreSink(EventStore.open(data), "test", "12:00", outbox=True)
        self.sink = MqttSink(MqttLink(link_settings), EventStore.open(data), "12:00")
        self.n = 0

    def event(self) -> None:
        self.n += 1
        onset = T0 + 10.0 * self.n
        e = Event("jerk", onset - T0, onset - T0 + 0.3, 0.05, 2.0, 5.6)
        self.writer.on_event(e, onset)
        self.sink.on_event(e, onset)

    def pump(self, until: Callable[[], bool], timeout_s: float = 20.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout_s
        while not until():
            assert time.monotonic() < deadline, f"timed out: {what}"
            self.sink.on_status(status())
            time.sleep(0.02)

    def outbox(self) -> int:
        return self.sink.store.outbox_size()

    def close(self) -> None:
        self.sink.close()
        self.writer.close()


@pytest.fixture
def persistent_broker(tmp_path: Path) -> Iterator[Broker]:
    folder = tmp_path / "pbroker"
    folder.mkdir()
    with running_broker(folder, persistence=True) as b:
        yield b


def event_ids(sub: Subscriber, topic: str = "hypnic/bed1/event") -> list[int]:
    return [int(json.loads(m.payload)["id"]) for m in sub.on(topic)]


def test_broker_outage_loses_nothing_and_sends_nothing_twice(
    tmp_path: Path, persistent_broker: Broker
) -> None:
    broker = persistent_broker
    # A subscriber with a persistent session: the broker keeps its messages through the outage.
    sub = Subscriber(broker, ["hypnic/bed1/event"], client_id="ha", persistent=True).start()
    rig = Rig(tmp_path / "data", settings(broker))
    try:
        rig.pump(lambda: rig.sink.link.connected, what="connect")
        rig.event()
        rig.pump(lambda: rig.outbox() == 0, what="first event acknowledged")

        broker.stop()
        rig.pump(lambda: not rig.sink.link.connected, what="notice the outage")
        rig.event()
        rig.event()
        t_end = time.monotonic() + 0.5
        rig.pump(lambda: time.monotonic() > t_end)
        assert rig.outbox() == 2  # nothing is dropped while the broker is away

        broker.start()
        rig.pump(lambda: rig.outbox() == 0, timeout_s=40, what="backlog delivered")
        rig.event()
        rig.pump(lambda: rig.outbox() == 0, what="the next event")
        sub.wait_for(lambda ms: len(ms) >= 4, timeout_s=20, what="four events")
        time.sleep(0.5)
        assert event_ids(sub) == [1, 2, 3, 4]
    finally:
        rig.close()
        sub.stop()

    # A restart after everything was acknowledged sends nothing again.
    sub = Subscriber(broker, ["hypnic/bed1/event"], client_id="ha", persistent=True).start()
    rig = Rig(tmp_path / "data", settings(broker))
    try:
        rig.pump(lambda: rig.sink.link.connected, what="reconnect")
        t_end = time.monotonic() + 1.5
        rig.pump(lambda: time.monotonic() > t_end)
        assert event_ids(sub) == []
    finally:
        rig.close()
        sub.stop()


def test_events_logged_while_no_broker_go_out_in_order_after_a_restart(
    tmp_path: Path, broker: Broker
) -> None:
    down = settings(broker)
    down = MqttSettings(**{**down.__dict__, "port": free_port()})  # nothing listens there
    rig = Rig(tmp_path / "data", down)
    for _ in range(3):
        rig.event()
    rig.sink.on_status(status())
    rig.close()  # a clean stop with the broker unreachable: the events wait in the outbox

    sub = Subscriber(broker, ["hypnic/bed1/event"]).start()
    rig = Rig(tmp_path / "data", settings(broker))
    try:
        rig.pump(lambda: rig.outbox() == 0, what="the backlog")
        sub.wait_for(lambda ms: len(ms) >= 3, what="three events")
        got = [json.loads(m.payload) for m in sub.on("hypnic/bed1/event")]
        assert [e["id"] for e in got] == [1, 2, 3]
        # The original times, not the time of sending.
        assert [e["onset"] for e in got] == [iso(T0 + 10.0 * k) for k in (1, 2, 3)]
    finally:
        rig.close()
        sub.stop()


def test_tls_with_a_test_ca_and_password_auth(tmp_path: Path) -> None:
    folder = tmp_path / "tls"
    folder.mkdir()
    ca = make_test_ca(folder)
    passwords = folder / "passwords"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwords), "hypnic", "s3cret"],
                   check=True, capture_output=True)
    conf = (f"cafile {ca['ca']}\ncertfile {ca['server']}\nkeyfile {ca['server_key']}\n"
            f"allow_anonymous false\npassword_file {passwords}\n")
    secret = tmp_path / "mqtt_password"
    secret.write_text("s3cret\n")
    wrong = tmp_path / "wrong_password"
    wrong.write_text("guess\n")
    with running_broker(folder, conf) as broker:
        good = settings(broker, tls=True, ca_file=str(ca["ca"]), username="hypnic",
                        password_file=str(secret))
        rig = Rig(tmp_path / "data", good)
        try:
            rig.event()
            rig.pump(lambda: rig.outbox() == 0, what="publish over TLS with a password")
        finally:
            rig.close()

        for name, s in [
            ("wrong password", settings(broker, tls=True, ca_file=str(ca["ca"]),
                                        username="hypnic", password_file=str(wrong))),
            ("unknown CA", settings(broker, tls=True, username="hypnic",
                                    password_file=str(secret))),
        ]:
            link = MqttLink(s)
            link.start()
            try:
                deadline = time.monotonic() + 10
                while "down" not in link.state() and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert not link.connected, name
                assert "down" in link.state(), (name, link.state())
            finally:
                link.stop()


def test_password_from_systemd_credentials_and_clear_errors(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "mqtt_password").write_text("from-systemd\n")
    config = MqttConfig(host="broker.lan", username="u")
    s = mqtt_settings(config, env={"CREDENTIALS_DIRECTORY": str(creds)}, hostname="pi.lan")
    assert s is not None and s.password == "from-systemd"
    assert s.topics.base == "hypnic/pi" and s.client_id == "hypnic-pi"
    assert mqtt_settings(MqttConfig(), env={}) is None  # no host: MQTT is off

    missing = MqttConfig(host="broker.lan", password_file=str(tmp_path / "nope"))
    with pytest.raises(MqttSetupError, match=r"password_file .*nope") as err:
        mqtt_settings(missing, env={})
    assert "\n" not in str(err.value)
    bad_ca = MqttConfig(host="broker.lan", tls=True, ca_file=str(tmp_path / "ca.pem"))
    s = mqtt_settings(bad_ca, env={})
    assert s is not None
    with pytest.raises(MqttSetupError, match="ca_file: no such file"):
        MqttLink(s)


def test_two_beds_on_one_broker_stay_apart(tmp_path: Path, broker: Broker) -> None:
    sub = Subscriber(broker, ["hypnic/#", "homeassistant/#"]).start()
    left = Rig(tmp_path / "left", settings(broker, "left"))
    right = Rig(tmp_path / "right", settings(broker, "right"))
    try:
        for rig in (left, right):
            rig.pump(lambda r=rig: r.sink.link.connected, what="connect")
        left.event()
        left.pump(lambda: left.outbox() == 0, what="left's event")
        for rig, node in ((left, "left"), (right, "right")):
            # Pump until the bed has announced itself too, not just sent a state: paho marks
            # the link connected before its on_connect queues Connected, so a sink polled in
            # between sends a state first and announces on its next poll (the daemon's loop
            # polls every Block; here only pumping does).
            mine = {f"homeassistant/device/{node}/config", f"hypnic/{node}/state"}
            rig.pump(lambda want=mine: all(sub.on(t) for t in want),
                     what=f"{node}'s discovery and state")
        publish(broker, "hypnic/right/cmd/sensitivity", "3")
        deadline = time.monotonic() + 5
        got: list[Command] = []
        while not got and time.monotonic() < deadline:
            got = right.sink.link.commands()
            time.sleep(0.02)
        assert got == [Command("sensitivity", 3)]
        assert left.sink.link.commands() == []
        sub.wait_for(lambda ms: {"homeassistant/device/left/config", "hypnic/left/state",
                                 "homeassistant/device/right/config", "hypnic/right/state"}
                     <= {m.topic for m in ms})
    finally:
        left.close()
        right.close()
        sub.stop()
    configs = {m.topic: json.loads(m.payload) for m in sub.messages
               if m.topic.startswith("homeassistant/device/")}
    ids = [c["unique_id"] for cfg in configs.values() for c in cfg["components"].values()]
    assert len(ids) == len(set(ids))  # no entity of one bed overwrites the other's
    assert event_ids(sub, "hypnic/left/event") == [1] and event_ids(sub, "hypnic/right/event") == []


def test_mqtt_5_on_request(tmp_path: Path, broker: Broker) -> None:
    rig = Rig(tmp_path / "data", settings(broker, protocol="5"))
    try:
        rig.event()
        rig.pump(lambda: rig.outbox() == 0, what="publish over MQTT 5")
    finally:
        rig.close()


def test_a_component_gone_since_the_last_announcement_is_removed(
    tmp_path: Path, broker: Broker
) -> None:
    with EventStore.open(tmp_path / "data") as log:
        # As if an older hypnic had announced a component this one no longer has.
        log.save_setting(ANNOUNCED_KEY, json.dumps({"old_gauge": "sensor", "pause": "switch"}))
    sub = Subscriber(broker, ["homeassistant/#"]).start()
    rig = Rig(tmp_path / "data", settings(broker))
    try:
        rig.pump(lambda: bool(sub.on("homeassistant/device/bed1/config")), what="discovery")
    finally:
        rig.close()
        sub.stop()
    comps = json.loads(sub.on("homeassistant/device/bed1/config")[0].payload)["components"]
    assert comps["old_gauge"] == {"platform": "sensor"}
    with EventStore.open(tmp_path / "data") as log:
        remembered = json.loads(log.setting(ANNOUNCED_KEY) or "{}")
    assert "old_gauge" not in remembered and remembered["pause"] == "switch"
