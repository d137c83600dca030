"""The real daemon against a real mosquitto: what a subscriber (Home Assistant) sees."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from broker import Broker, Received, Subscriber, publish

from hypnic.daemon.store import EventStore

NODE = "bed1"
BASE = f"hypnic/{NODE}"
DISCOVERY = f"homeassistant/device/{NODE}/config"


def write_config(tmp_path: Path, broker: Broker, extra: str = "") -> Path:
    path = tmp_path / "hypnic.toml"
    path.write_text(
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\nnode_id = "{NODE}"\n{extra}'
    )
    return path


def start_daemon(tmp_path: Path, config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hypnic.daemon", "run", "--config", str(config), "--sensor", "sim",
         "--data-dir", str(tmp_path / "data"), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.fixture
def subscriber(broker: Broker) -> Iterator[Subscriber]:
    sub = Subscriber(broker, [f"{BASE}/#", "homeassistant/#"]).start()
    yield sub
    sub.stop()


def payloads(messages: list[Received]) -> list[dict[str, object]]:
    return [json.loads(m.payload) for m in messages]


def test_a_night_as_home_assistant_sees_it(
    tmp_path: Path, broker: Broker, subscriber: Subscriber
) -> None:
    config = write_config(tmp_path, broker)
    proc = start_daemon(tmp_path, config, "--speed", "0", "--duration", "900")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out

    with EventStore.open(tmp_path / "data", read_only=True) as log:
        logged = log.events()
    assert logged, "the simulated quarter hour should hold jerks"

    subscriber.wait_for(lambda ms: any(m.topic == f"{BASE}/availability"
                                       and m.text == "offline" for m in ms))
    # Every logged event published once, in order, with its log id and original onset.
    events = payloads(subscriber.on(f"{BASE}/event"))
    assert [e["id"] for e in events] == [e.id for e in logged]
    assert all(not m.retain for m in subscriber.on(f"{BASE}/event"))
    first = events[0]
    assert first["event_type"] == logged[0].type
    assert isinstance(first["onset"], str) and first["onset"][-6] in "+-"  # ISO with offset

    # What a newcomer (Home Assistant starting later) finds retained on the broker.
    late = Subscriber(broker, [f"{BASE}/#", "homeassistant/#"], client_id="late").start()
    try:
        retained = late.wait_for(
            lambda ms: {DISCOVERY, f"{BASE}/state", f"{BASE}/availability"}
            <= {m.topic for m in ms}, what="the retained discovery, state and availability",
        )
    finally:
        late.stop()
    assert all(m.retain for m in retained)
    assert f"{BASE}/event" not in {m.topic for m in retained}  # events are never retained
    assert [m.text for m in retained if m.topic == f"{BASE}/availability"] == ["offline"]

    # The discovery config: device-based, one entry per component.
    [config_msg] = [m for m in retained if m.topic == DISCOVERY]
    discovery = json.loads(config_msg.payload)
    assert discovery["device"]["model"] == "ADXL345"
    assert discovery["availability"][0]["topic"] == f"{BASE}/availability"
    components = discovery["components"]
    assert {"movement", "jerks_tonight", "in_bed", "pause", "sensitivity"} <= set(components)
    assert components["jerks_tonight"]["default_entity_id"] == "sensor.hypnic_bed1_jerks_tonight"

    # The last state matches the log; the last availability word is offline (clean stop).
    state = json.loads(subscriber.on(f"{BASE}/state")[-1].payload)
    # (Tonight's: a run that straddles the noon night boundary falls in two nights.)
    tonight = logged[-1].night
    assert state["jerks_tonight"] == sum(e.type == "jerk" and e.night == tonight for e in logged)
    assert state["last_event"]["id"] == logged[-1].id
    assert state["sensor"] == "ADXL345 200 Hz" and state["paused"] is False
    assert subscriber.on(f"{BASE}/availability")[-1].text == "offline"
    with EventStore.open(tmp_path / "data") as log:
        assert log.outbox_size() == 0


def test_kill_9_leaves_the_last_will_offline(
    tmp_path: Path, broker: Broker, subscriber: Subscriber
) -> None:
    proc = start_daemon(tmp_path, write_config(tmp_path, broker, "keepalive_s = 5\n"),
                        "--speed", "1")
    try:
        subscriber.wait_for(
            lambda ms: any(m.topic == f"{BASE}/availability" and m.text == "online" for m in ms),
            timeout_s=30, what="availability online",
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        # The broker notices the dead connection at once (the socket closes) and says offline.
        subscriber.wait_for(
            lambda ms: [m.text for m in ms if m.topic == f"{BASE}/availability"][-1] == "offline",
            timeout_s=15, what="the last will",
        )
    finally:
        proc.kill()
        proc.communicate()


def test_reannounces_when_home_assistant_comes_back_and_obeys_commands(
    tmp_path: Path, broker: Broker, subscriber: Subscriber
) -> None:
    # A retained command left on the broker must not act at start (it would pause forever).
    publish(broker, f"{BASE}/cmd/pause", "ON", retain=True)
    proc = start_daemon(tmp_path, write_config(tmp_path, broker), "--speed", "1")
    try:
        subscriber.wait_for(lambda ms: any(m.topic == f"{BASE}/state" for m in ms),
                            timeout_s=30, what="a first state")
        announced = len(subscriber.on(DISCOVERY))

        publish(broker, "homeassistant/status", "online")
        subscriber.wait_for(lambda ms: sum(m.topic == DISCOVERY for m in ms) > announced,
                            timeout_s=10, what="discovery again after homeassistant/status")

        def last_state(ms: list[Received]) -> dict[str, object]:
            states = [m for m in ms if m.topic == f"{BASE}/state"]
            return dict(json.loads(states[-1].payload)) if states else {}

        assert last_state(subscriber.messages)["paused"] is False
        # Bad payloads change nothing; good ones act and show in the state at once.
        for topic, bad in [("sensitivity", "eleven"), ("sensitivity", "0"), ("pause", "maybe"),
                           ("sensitivity", "4.5"), ("no_such_command", "1")]:
            publish(broker, f"{BASE}/cmd/{topic}", bad)
        publish(broker, f"{BASE}/cmd/sensitivity", "7")
        subscriber.wait_for(lambda ms: last_state(ms).get("sensitivity") == 7, timeout_s=10,
                            what="sensitivity 7 in the state")
        publish(broker, f"{BASE}/cmd/pause", "ON")
        subscriber.wait_for(lambda ms: last_state(ms).get("paused") is True, timeout_s=10,
                            what="paused in the state")
        publish(broker, f"{BASE}/cmd/remeasure_noise_floor", "PRESS")
        time.sleep(1.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0, out
    refused = [line for line in out.splitlines() if "refused a command" in line]
    # One line per bad command (each named), no traceback anywhere.
    assert len(refused) == 5, out
    assert "Traceback" not in out
    assert "ignoring the retained command" in out
    assert "re-measuring the noise floor" in out
    with EventStore.open(tmp_path / "data") as log:
        assert log.open_pause() is not None  # the pause outlives the restart
        assert log.setting("sensitivity") == "7"


def test_without_a_broker_the_daemon_detects_logs_and_keeps_the_events(tmp_path: Path) -> None:
    closed = tmp_path / "hypnic.toml"
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    closed.write_text(f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\nnode_id = "{NODE}"\n')
    started = time.monotonic()
    proc = start_daemon(tmp_path, closed, "--speed", "0", "--duration", "900")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert time.monotonic() - started < 60  # never stuck waiting for the network
    with EventStore.open(tmp_path / "data") as log:
        assert log.events() and log.outbox_size() == len(log.events())
    assert "events wait in the outbox" in out
    assert out.count("cannot reach the broker") <= 2  # retried quietly, not once per second
