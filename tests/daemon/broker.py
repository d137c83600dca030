"""A real mosquitto for the tests, on a free loopback port, configured by the test.

``make test`` installs mosquitto (and openssl, for the test CA) with apt when missing; a test
that finds no mosquitto fails and says so rather than skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    """One mosquitto process. ``stop()`` and ``start()`` again on the same port make an outage;
    with ``persistence`` the broker keeps sessions and queued messages across it."""

    def __init__(self, folder: Path, extra_conf: str = "", persistence: bool = False) -> None:
        assert Path(MOSQUITTO).exists(), (
            "mosquitto is not installed: `make test` installs it (apt-get install mosquitto)"
        )
        self.folder = folder
        self.port = free_port()
        self.host = "127.0.0.1"
        self.conf = folder / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "log_dest stderr", "log_type error"]
        if os.geteuid() == 0:
            # Started as root, mosquitto becomes "mosquitto" and cannot read the test's files.
            lines.append("user root")
        if "allow_anonymous" not in extra_conf:
            lines.append("allow_anonymous true")
        if persistence:
            lines += ["persistence true", f"persistence_location {folder}/"]
        self.conf.write_text("\n".join(lines) + "\n" + extra_conf)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Broker:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.folder / "broker.log", "ab"),  # noqa: SIM115 - the process owns it
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.folder / "broker.log").read_text()
                raise RuntimeError(f"mosquitto exited: {log}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start listening")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool

    @property
    def text(self) -> str:
        return self.payload.decode()


@dataclass
class Subscriber:
    """A plain MQTT client that records everything it receives under ``topics``."""

    broker: Broker
    topics: list[str]
    client_id: str = "test-subscriber"
    persistent: bool = False
    username: str | None = None
    password: str | None = None
    messages: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id,
            clean_session=not self.persistent,
        )
        if self.username:
            self.client.username_pw_set(self.username, self.password)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.1, 0.5)
        self._subscribed = threading.Event()
        self._subscribe_mid: int | None = None

    def start(self) -> Subscriber:
        """Connect and return once the broker has acknowledged the subscription (SUBACK), so
        that nothing published after ``start()`` can miss the subscriber."""
        self.client.connect(self.broker.host, self.broker.port, 30)
        self.client.loop_start()
        assert self._subscribed.wait(5), "the test subscriber could not subscribe"
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, *args: object) -> None:
        # One SUBSCRIBE for all topics: a single SUBACK says they are all active.
        _, self._subscribe_mid = client.subscribe([(t, 1) for t in self.topics])

    def _on_subscribe(
        self, client: mqtt.Client, userdata: object, mid: int, reason_codes: list[ReasonCode],
        properties: object,
    ) -> None:
        # Runs in paho's thread after _on_connect, so the mid is already known.
        if mid == self._subscribe_mid and not any(rc.is_failure for rc in reason_codes):
            self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain)))

    def on(self, topic: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if m.topic == topic]

    def wait_for(
        self, predicate: Callable[[list[Received]], bool], timeout_s: float = 10.0,
        what: str = "the expected messages",
    ) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                snapshot = list(self.messages)
            if predicate(snapshot):
                return snapshot
            time.sleep(0.02)
        topics = sorted({m.topic for m in self.messages})
        raise AssertionError(f"timed out waiting for {what}; got messages on {topics}")


def publish(broker: Broker, topic: str, payload: str, retain: bool = False) -> None:
    """Publish one message and wait until the broker has it."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-pub-{time.monotonic_ns()}")
    client.connect(broker.host, broker.port, 30)
    client.loop_start()
    client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def make_test_ca(folder: Path) -> dict[str, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1, made with openssl."""
    openssl = shutil.which("openssl")
    assert openssl, "openssl is not installed: `make test` installs it"
    files = {k: folder / f"{k}.pem" for k in ("ca", "ca_key", "server", "server_key")}

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=hypnic test CA",
        "-keyout", str(files["ca_key"]), "-out", str(files["ca"]))
    csr = folder / "server.csr"
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", str(files["server_key"]), "-out", str(csr))
    ext = folder / "ext.cnf"
    ext.write_text("subjectAltName = IP:127.0.0.1\n")
    run("x509", "-req", "-in", str(csr), "-CA", str(files["ca"]), "-CAkey", str(files["ca_key"]),
        "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(files["server"]))
    return files


@contextmanager
def running_broker(
    folder: Path, extra_conf: str = "", persistence: bool = False
) -> Iterator[Broker]:
    broker = Broker(folder, extra_conf, persistence).start()
    try:
        yield broker
    finally:
        broker.stop()
