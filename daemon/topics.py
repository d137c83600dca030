"""hypnic's MQTT topic tree. Everything lives under ``<topic_prefix>/<node_id>/``, so several
beds share one broker without colliding:

- ``availability``  ``online`` / ``offline``, retained; ``offline`` is also the last will
- ``state``         retained JSON: tonight's counts, last event, presence, figures, diagnostics
- ``event``         one JSON message per event, QoS 1, never retained
- ``night``         retained JSON summary of the last completed night
- ``cmd/<name>``    commands: ``pause`` (ON/OFF), ``sensitivity`` (1-10),
                    ``remeasure_noise_floor`` (PRESS)
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

ONLINE = "online"
OFFLINE = "offline"


def default_node_id(hostname: str | None = None) -> str:
    """The node id when none is configured: the host name, reduced to letters, digits, '_'
    and '-' (the characters topics and Home Assistant's ids take without trouble)."""
    name = (hostname if hostname is not None else socket.gethostname()).split(".")[0]
    return re.sub(r"[^A-Za-z0-9_-]", "_", name) or "hypnic"


@dataclass(frozen=True)
class Topics:
    prefix: str
    node_id: str
    discovery_prefix: str = "homeassistant"

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.node_id}"

    @property
    def availability(self) -> str:
        return f"{self.base}/availability"

    @property
    def state(self) -> str:
        return f"{self.base}/state"

    @property
    def event(self) -> str:
        return f"{self.base}/event"

    @property
    def night(self) -> str:
        return f"{self.base}/night"

    def command(self, name: str) -> str:
        return f"{self.base}/cmd/{name}"

    @property
    def commands(self) -> str:
        """The subscription that covers every command."""
        return f"{self.base}/cmd/+"

    @property
    def discovery(self) -> str:
        """Home Assistant's device-based discovery topic for this bed."""
        return f"{self.discovery_prefix}/device/{self.node_id}/config"

    @property
    def ha_status(self) -> str:
        """Where Home Assistant announces itself (``online``) after it starts."""
        return f"{self.discovery_prefix}/status"
