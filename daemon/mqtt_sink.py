"""Publishing to MQTT and Home Assistant: events from the outbox, the running state, the last
night, discovery.

Nothing is lost: ``StoreSink`` puts each event in the log's outbox in the same transaction as
the event; this sink sends the outbox in order (QoS 1) whenever the broker is there, and takes
an event out only when the broker has acknowledged it. After an outage or a restart the
waiting events go out with their original times. Everything here runs in the service loop's
thread; the network waits happen in paho's thread (see ``mqtt_link``).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from hypnic.daemon.commands import Command
from hypnic.daemon.events import Event
from hypnic.daemon.homeassistant import announced, discovery_payload
from hypnic.daemon.mqtt_link import Acked, Connected, Disconnected, HomeAssistantOnline, MqttLink
from hypnic.daemon.payloads import event_payload, night_payload, state_payload
from hypnic.daemon.sinks import SinkBase
from hypnic.daemon.status import Status
from hypnic.daemon.store import EventStore, StoredEvent, night_of

log = logging.getLogger("hypnic.mqtt")

#: Events handed to paho and not yet acknowledged, at most (paho's own in-flight window).
MAX_IN_FLIGHT = 20
#: After Home Assistant says it is back, wait this long (random, seconds) before announcing,
#: so a house full of devices does not answer in the same instant.
ANNOUNCE_DELAY_S = (1.0, 5.0)
#: The state is re-sent at least this often even when nothing but the uptime changed.
STATE_REFRESH_S = 60.0
#: How long a clean stop waits for the broker to acknowledge events still in flight.
FLUSH_TIMEOUT_S = 2.0
#: The settings key under which the components last announced to Home Assistant are kept.
ANNOUNCED_KEY = "ha_components"


class MqttSink(SinkBase):
    """Publishes to one broker through ``link``; reads the outbox from its own ``store``
    connection (so closing the log's writer never pulls the floor from under it)."""

    def __init__(
        self,
        link: MqttLink,
        store: EventStore,
        night_boundary: str,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.link = link
        self.store = store
        self.topics = link.settings.topics
        self.boundary = night_boundary
        self._clock = clock
        self._rng = rng or random.Random()
        self._in_flight: dict[int, int] = {}  # paho mid -> event id
        self._last_handed = 0  # the newest event id handed to paho
        self._announce_at: float | None = None
        self._status: Status | None = None
        self._night: str | None = None
        self._counts: dict[str, int] = {}
        self._last_event: StoredEvent | None = None
        self._last_jerk: StoredEvent | None = None
        self._jerk_walls: deque[float] = deque()
        self._sent_state: dict[str, Any] | None = None
        self._state_sent_at = -float("inf")
        self.published = 0
        link.start()

    # --- the Sink interface --------------------------------------------------------------

    def on_event(self, event: Event, onset_wall: float) -> None:
        # StoreSink has already filed it (and queued it in the outbox).
        self._refresh_tonight()
        self._poll()
        self._publish_state(force=True)

    def on_status(self, status: Status) -> None:
        self._status = status
        night = night_of(status.wall, self.boundary)
        if night != self._night:
            finished = self._night
            self._night = night
            self._refresh_tonight()
            if finished is not None:
                self._publish_night()
        self._poll()
        self._publish_state()

    def on_command(self, command: Command, wall: float) -> None:
        self._poll()

    def close(self) -> None:
        try:
            self._flush()
        finally:
            try:
                self.link.stop()
            finally:
                self.store.close()

    # --- the work ------------------------------------------------------------------------

    def _poll(self) -> None:
        """Take in what paho heard, then send what is due."""
        acked: list[int] = []
        for what in self.link.happenings():
            if isinstance(what, Acked):
                if what.mid in self._in_flight:
                    acked.append(self._in_flight.pop(what.mid))
            elif isinstance(what, Connected):
                self._announce_at = self._clock()  # a fresh session: tell everything now
            elif isinstance(what, HomeAssistantOnline):
                self._announce_at = self._clock() + self._rng.uniform(*ANNOUNCE_DELAY_S)
            elif isinstance(what, Disconnected):
                pass  # paho reconnects, and resends what is in flight when it has
        if acked:
            self.store.mark_published(acked)
            self.published += len(acked)
        if not self.link.connected:
            return
        if self._announce_at is not None and self._clock() >= self._announce_at:
            self._announce()
        self._send_outbox()

    def _send_outbox(self) -> None:
        room = MAX_IN_FLIGHT - len(self._in_flight)
        if room <= 0:
            return
        for event in self.store.unpublished(limit=room, after_id=self._last_handed):
            mid = self.link.publish(self.topics.event, json.dumps(event_payload(event)), qos=1)
            if mid is None:
                return
            self._in_flight[mid] = event.id
            self._last_handed = event.id

    def _announce(self) -> None:
        if self._status is None:
            return  # the chip is not known yet; the first status brings the announcement
        self._announce_at = None
        if self.link.settings.discovery:
            before = self._announced_before()
            current = discovery_payload(self.topics, self._status.health.model)
            removed = {k: p for k, p in before.items() if k not in current["components"]}
            payload = discovery_payload(self.topics, self._status.health.model, removed)
            self.link.publish(self.topics.discovery, json.dumps(payload), qos=1, retain=True)
            self.store.save_setting(ANNOUNCED_KEY, json.dumps(announced(payload)))
        self.link.publish(self.topics.availability, "online", qos=1, retain=True)
        self._publish_state(force=True)
        self._publish_night()

    def _announced_before(self) -> dict[str, str]:
        raw = self.store.setting(ANNOUNCED_KEY)
        try:
            value = json.loads(raw) if raw else {}
        except ValueError:
            value = {}
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    def _publish_state(self, force: bool = False) -> None:
        if self._status is None or self._night is None or not self.link.connected:
            return
        now = self._status.wall
        while self._jerk_walls and self._jerk_walls[0] < now - 3600.0:
            self._jerk_walls.popleft()
        state = state_payload(
            self._status, self._night, self._counts, len(self._jerk_walls),
            self._last_event, self._last_jerk,
        )
        same = self._sent_state is not None and _without_uptime(state) == _without_uptime(
            self._sent_state
        )
        if same and not force and self._clock() - self._state_sent_at < STATE_REFRESH_S:
            return
        self.link.publish(self.topics.state, json.dumps(state), qos=0, retain=True)
        self._sent_state = state
        self._state_sent_at = self._clock()

    def _publish_night(self) -> None:
        """The last completed night (retained), if the log has one."""
        if not self.link.connected:
            return
        done = [n for n in self.store.nights() if n.night != self._night]
        if not done:
            return
        row = done[0]
        paused = self.store.paused_s(row.first_seen, row.last_seen)
        self.link.publish(
            self.topics.night, json.dumps(night_payload(row, paused)), qos=1, retain=True
        )

    def _refresh_tonight(self) -> None:
        """Tonight's counts and last events, from the log (events are rare: cheap)."""
        if self._night is None:
            return
        row = self.store.night(self._night)
        self._counts = dict(row.counts) if row else {}
        recent = self.store.events(night=self._night)
        self._last_event = recent[-1] if recent else None
        jerks = [e for e in recent if e.type == "jerk"]
        self._last_jerk = jerks[-1] if jerks else None
        now = self._status.wall if self._status else time.time()
        self._jerk_walls = deque(e.onset_wall for e in jerks if e.onset_wall >= now - 3600.0)

    def _flush(self) -> None:
        """At a clean stop: send what waits and give the broker a moment to acknowledge."""
        deadline = self._clock() + FLUSH_TIMEOUT_S
        self._poll()
        while self._in_flight and self.link.connected and self._clock() < deadline:
            time.sleep(0.02)
            self._poll()
        waiting = self.store.outbox_size()
        if waiting:
            log.info("MQTT: %d events wait in the outbox for the next connection", waiting)


def _without_uptime(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k != "uptime_s"}
