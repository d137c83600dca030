"""The connection to the MQTT broker (paho-mqtt 2.x, callback API version 2).

paho's network thread does all the waiting on the network: connecting, reconnecting with
backoff, keepalive, resending unacknowledged QoS 1 messages after a reconnect. What it hears
(connected, lost, acknowledged, a command, Home Assistant back online) is put on a queue that
the service loop drains between Blocks, so detection never waits for the broker and the event
log is only ever touched from the loop's thread.
"""

from __future__ import annotations

import logging
import os
import queue
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from hypnic.daemon.commands import Command, CommandError, parse_command
from hypnic.daemon.config import MqttConfig
from hypnic.daemon.errors import MqttSetupError
from hypnic.daemon.topics import OFFLINE, ONLINE, Topics, default_node_id

log = logging.getLogger("hypnic.mqtt")
T = TypeVar("T")

#: The file name of the password in systemd's credential directory
#: (``LoadCredential=mqtt_password:/etc/hypnic/mqtt_password``).
CREDENTIAL_NAME = "mqtt_password"
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 60


@dataclass(frozen=True)
class MqttSettings:
    """Everything needed to connect, resolved from the [mqtt] section and the environment."""

    host: str
    port: int
    topics: Topics
    client_id: str
    keepalive_s: int = 60
    protocol: str = "3.1.1"
    username: str = ""
    password: str | None = None
    tls: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    discovery: bool = True

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def mqtt_settings(
    config: MqttConfig, env: dict[str, str] | None = None, hostname: str | None = None
) -> MqttSettings | None:
    """The connection settings, or None when no broker is configured (MQTT off).

    The password comes from ``mqtt.password_file`` or, under systemd, from the credential
    ``mqtt_password`` in ``$CREDENTIALS_DIRECTORY``; it is never in the TOML."""
    if not config.host:
        return None
    env = dict(os.environ) if env is None else env
    node_id = config.node_id or default_node_id(hostname)
    topics = Topics(config.topic_prefix, node_id, config.discovery_prefix)
    return MqttSettings(
        host=config.host,
        port=config.port,
        topics=topics,
        client_id=config.client_id or f"hypnic-{node_id}",
        keepalive_s=config.keepalive_s,
        protocol=config.protocol,
        username=config.username,
        password=_password(config, env),
        tls=config.tls,
        ca_file=config.ca_file,
        cert_file=config.cert_file,
        key_file=config.key_file,
        discovery=config.discovery,
    )


def _password(config: MqttConfig, env: dict[str, str]) -> str | None:
    if config.password_file:
        path = Path(config.password_file).expanduser()
        source = "mqtt.password_file"
    elif env.get("CREDENTIALS_DIRECTORY"):
        path = Path(env["CREDENTIALS_DIRECTORY"]) / CREDENTIAL_NAME
        if not path.is_file():
            return None
        source = "the systemd credential"
    else:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise MqttSetupError(
            f"{source} {path}: cannot read the MQTT password ({reason}); fix the path or the "
            "file's permissions (the hypnic user must be able to read it)"
        ) from None
    # One line, as `echo secret > file` leaves it; the newline is not part of the password.
    return text.rstrip("\r\n")


def build_client(settings: MqttSettings) -> mqtt.Client:
    """A paho client set up with the settings' protocol, credentials, TLS and last will."""
    protocol = mqtt.MQTTv5 if settings.protocol == "5" else mqtt.MQTTv311
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=settings.client_id, protocol=protocol
    )
    if settings.username:
        client.username_pw_set(settings.username, settings.password)
    if settings.tls:
        for key in ("ca_file", "cert_file", "key_file"):
            path = getattr(settings, key)
            if path and not Path(path).expanduser().is_file():
                raise MqttSetupError(f"mqtt.{key}: no such file {path}; fix the path")
        try:
            # Certificate verification stays on: there is no setting to switch it off.
            client.tls_set(
                ca_certs=settings.ca_file or None,
                certfile=settings.cert_file or None,
                keyfile=settings.key_file or None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise MqttSetupError(
                f"mqtt TLS files ({settings.ca_file or 'system CAs'}, "
                f"{settings.cert_file or 'no client certificate'}): {exc}; check they are PEM "
                "files and that the key matches the certificate"
            ) from None
    client.will_set(settings.topics.availability, OFFLINE, qos=1, retain=True)
    client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
    return client


@dataclass(frozen=True)
class Connected:
    pass


@dataclass(frozen=True)
class Disconnected:
    reason: str


@dataclass(frozen=True)
class Acked:
    mid: int


@dataclass(frozen=True)
class HomeAssistantOnline:
    pass


Happening = Connected | Disconnected | Acked | HomeAssistantOnline


class MqttLink:
    """One connection to the broker, kept up by paho's thread. ``happenings()`` hands what
    it heard to the publishing sink and ``commands()`` the valid commands to the service
    loop; ``publish`` may be called from the loop at any time."""

    def __init__(self, settings: MqttSettings) -> None:
        self.settings = settings
        self.client = build_client(settings)
        self._queue: queue.SimpleQueue[Happening] = queue.SimpleQueue()
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._failures = 0
        self._refused: dict[str, int] = {}
        self._state = f"MQTT connecting to {settings.where}"
        self._up = False  # connected and not yet lost: a disconnect then is news
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message

    def start(self) -> None:
        """Connect in the background; failures are retried with backoff, forever."""
        log.info("MQTT: connecting to %s as %s", self.settings.where, self.settings.client_id)
        self.client.connect_async(self.settings.host, self.settings.port, self.settings.keepalive_s)
        self.client.loop_start()

    @property
    def connected(self) -> bool:
        return bool(self.client.is_connected())

    def state(self) -> str:
        """In words, for the status line: ``MQTT connected``, ``MQTT down (...), retrying``."""
        return self._state

    def happenings(self) -> list[Happening]:
        return _drain(self._queue)

    def commands(self) -> list[Command]:
        return _drain(self._commands)

    def publish(self, topic: str, payload: str, qos: int = 0, retain: bool = False) -> int | None:
        """Hand a message to paho; returns its message id, or None if paho refused it."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            log.warning("MQTT: could not queue a message on %s: %s", topic,
                        mqtt.error_string(info.rc))
            return None
        return int(info.mid)

    def stop(self, timeout_s: float = 2.0) -> None:
        """Say ``offline`` (a clean disconnect suppresses the last will) and disconnect."""
        try:
            if self.connected:
                info = self.client.publish(
                    self.settings.topics.availability, OFFLINE, qos=1, retain=True
                )
                info.wait_for_publish(timeout_s)
            self.client.disconnect()
        except (RuntimeError, ValueError, OSError) as exc:
            log.warning("MQTT: could not say offline before disconnecting: %s", exc)
        finally:
            self.client.loop_stop()

    # --- paho's thread ----------------------------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: mqtt.ConnectFlags,
        reason: ReasonCode, properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._failed(f"the broker refused the connection: {reason}")
            return
        if self._failures:
            log.info("MQTT: connected to %s after %d failed attempts", self.settings.where,
                     self._failures)
        else:
            log.info("MQTT: connected to %s", self.settings.where)
        self._failures = 0
        self._up = True
        self._state = "MQTT connected"
        topics = self.settings.topics
        client.subscribe(topics.commands, qos=1)
        if self.settings.discovery:
            client.subscribe(topics.ha_status, qos=1)
        client.publish(topics.availability, ONLINE, qos=1, retain=True)
        self._queue.put(Connected())

    def _on_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        self._failed("cannot reach the broker")

    def _on_disconnect(
        self, client: mqtt.Client, userdata: object, flags: mqtt.DisconnectFlags,
        reason: ReasonCode, properties: Properties | None,
    ) -> None:
        if not reason.is_failure or not self._up:
            # Our own disconnect at shutdown, or the end of an attempt that already failed
            # (and was counted in _failed).
            return
        self._up = False
        log.warning("MQTT: lost the connection to %s (%s); reconnecting", self.settings.where,
                    reason)
        self._state = f"MQTT lost ({reason}), reconnecting"
        self._queue.put(Disconnected(str(reason)))

    def _failed(self, why: str) -> None:
        self._failures += 1
        self._state = f"MQTT down ({why}), retrying ({self._failures})"
        # The first failure and then every tenth (backoff caps at a minute): no log flood.
        if self._failures == 1 or self._failures % 10 == 0:
            log.warning("MQTT: %s at %s (attempt %d); retrying, events are kept meanwhile",
                        why, self.settings.where, self._failures)
        self._queue.put(Disconnected(why))

    def _on_publish(
        self, client: mqtt.Client, userdata: object, mid: int, reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._queue.put(Acked(mid))

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        topics = self.settings.topics
        if msg.topic == topics.ha_status:
            if msg.payload.strip().lower() == ONLINE.encode():
                self._queue.put(HomeAssistantOnline())
            return
        name = msg.topic.rsplit("/", 1)[-1]
        if msg.retain:
            # A retained command would replay at every start (and pause the monitor forever).
            log.info("MQTT: ignoring the retained command on %s; publish commands unretained",
                     msg.topic)
            return
        try:
            self._commands.put(parse_command(name, bytes(msg.payload)))
        except CommandError as exc:
            # Each bad command is logged once, then every hundredth repeat: a flood of the
            # same message (a broken automation in a loop) stays quiet.
            key = f"{name}\0{bytes(msg.payload)[:64]!r}"
            if len(self._refused) > 1000:
                self._refused.clear()
            count = self._refused[key] = self._refused.get(key, 0) + 1
            if count == 1 or count % 100 == 0:
                repeats = f" (repeated {count} times)" if count > 1 else ""
                log.warning("MQTT: refused a command on %s%s: %s", msg.topic, repeats, exc)


def _drain(q: queue.SimpleQueue[T]) -> list[T]:
    out: list[T] = []
    while True:
        try:
            out.append(q.get_nowait())
        except queue.Empty:
            return out
