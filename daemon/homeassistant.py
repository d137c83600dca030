"""Home Assistant MQTT discovery for one bed, as pure functions of the topics and the device.

One retained message on ``<discovery_prefix>/device/<node_id>/config`` (device-based
discovery, Home Assistant 2024.11 and later) describes the device and all its entities. The
entities read the retained ``state`` JSON; the event entity fires on ``event``; the controls
publish on ``cmd/<name>``. A component that an older hypnic announced and this one no longer
has is sent as ``{"platform": ...}`` alone, which is how Home Assistant is told to remove it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from hypnic.daemon.commands import PAUSE, REMEASURE_NOISE_FLOOR, SENSITIVITY, SENSITIVITY_RANGE
from hypnic.daemon.events import EVENT_TYPES
from hypnic.daemon.topics import OFFLINE, ONLINE, Topics

MANUFACTURER = "hypnic"


@dataclass(frozen=True)
class Component:
    """One entity: a stable ``key`` (part of its unique_id and entity id, never renamed),
    its platform, its name (without the device's name), and the rest of its config."""

    key: str
    platform: str
    name: str
    options: dict[str, Any] = field(default_factory=dict)


def _state_sensor(key: str, name: str, template: str, **options: Any) -> Component:
    return Component(key, "sensor", name, {"value_template": template, **options})


def components(topics: Topics) -> list[Component]:
    """Every entity hypnic offers, in the order Home Assistant lists them."""
    state = topics.state
    diag = {"entity_category": "diagnostic"}

    def sensor(key: str, name: str, field_name: str, **options: Any) -> Component:
        return _state_sensor(
            key, name, f"{{{{ value_json.{field_name} }}}}", state_topic=state, **options
        )

    return [
        Component("movement", "event", "Movement", {
            "state_topic": topics.event,
            "event_types": list(EVENT_TYPES),
            "icon": "mdi:bed",
        }),
        sensor("jerks_tonight", "Jerks tonight", "jerks_tonight",
               state_class="total_increasing", icon="mdi:lightning-bolt"),
        sensor("jerks_last_hour", "Jerks in the last hour", "jerks_last_hour",
               state_class="measurement", icon="mdi:lightning-bolt-outline"),
        sensor("limb_movements_tonight", "Limb movements tonight", "limb_movements_tonight",
               state_class="total_increasing", icon="mdi:shoe-print"),
        sensor("last_jerk_intensity", "Last jerk intensity", "last_jerk_intensity",
               state_class="measurement", icon="mdi:pulse"),
        sensor("time_in_bed", "Time in bed", "time_in_bed_min",
               device_class="duration", unit_of_measurement="min", state_class="measurement"),
        sensor("sleep_onset", "Sleep onset", "sleep_onset", device_class="timestamp"),
        sensor("plm_index", "PLM index", "plm_index",
               unit_of_measurement="/h", state_class="measurement", icon="mdi:chart-bell-curve"),
        sensor("restlessness", "Restlessness", "restlessness",
               unit_of_measurement="/h", state_class="measurement", icon="mdi:bed-outline"),
        sensor("respiration_rate", "Respiration rate", "respiration_rate_bpm",
               unit_of_measurement="breaths/min", state_class="measurement", icon="mdi:lungs"),
        sensor("heart_rate", "Heart rate", "heart_rate_bpm",
               unit_of_measurement="bpm", state_class="measurement", icon="mdi:heart-pulse"),
        Component("in_bed", "binary_sensor", "In bed", {
            "state_topic": state,
            "device_class": "occupancy",
            "value_template": "{% if value_json.in_bed is none %}None"
                              "{% elif value_json.in_bed %}ON{% else %}OFF{% endif %}",
        }),
        Component("unusual_night", "binary_sensor", "Unusual night", {
            "state_topic": state,
            "device_class": "problem",
            "value_template": "{{ 'ON' if value_json.unusual else 'OFF' }}",
            "json_attributes_topic": state,
            "json_attributes_template": "{{ {'reasons': value_json.unusual_reasons} | tojson }}",
        }),
        sensor("sensor_chip", "Sensor", "sensor", icon="mdi:chip", **diag),
        sensor("noise_floor", "Noise floor", "noise_floor_mg",
               unit_of_measurement="mg", state_class="measurement", icon="mdi:waveform", **diag),
        sensor("i2c_errors", "I2C errors", "i2c_errors",
               state_class="total_increasing", icon="mdi:alert-circle-outline", **diag),
        sensor("dropped_samples", "Dropped samples", "dropped_samples",
               state_class="total_increasing", icon="mdi:database-remove-outline", **diag),
        sensor("uptime", "Uptime", "uptime_s", device_class="duration",
               unit_of_measurement="s", state_class="measurement", **diag),
        Component("pause", "switch", "Pause monitoring", {
            "command_topic": topics.command(PAUSE),
            "state_topic": state,
            "value_template": "{{ 'ON' if value_json.paused else 'OFF' }}",
            "payload_on": "ON",
            "payload_off": "OFF",
            "icon": "mdi:pause-circle-outline",
        }),
        Component("sensitivity", "number", "Sensitivity", {
            "command_topic": topics.command(SENSITIVITY),
            "state_topic": state,
            "value_template": "{{ value_json.sensitivity }}",
            "min": SENSITIVITY_RANGE[0],
            "max": SENSITIVITY_RANGE[1],
            "step": 1,
            "mode": "slider",
            "entity_category": "config",
            "icon": "mdi:tune-vertical",
        }),
        Component("remeasure_noise_floor", "button", "Re-measure noise floor", {
            "command_topic": topics.command(REMEASURE_NOISE_FLOOR),
            "payload_press": "PRESS",
            "entity_category": "config",
            "icon": "mdi:waveform",
        }),
    ]


def unique_id(node_id: str, key: str) -> str:
    return f"hypnic_{node_id}_{key}"


def entity_id(platform: str, node_id: str, key: str) -> str:
    """The entity id Home Assistant gives a component, e.g. ``sensor.hypnic_bedroom_uptime``."""
    return f"{platform}.{unique_id(node_id, key)}"


def origin() -> dict[str, str]:
    """Who publishes the discovery: name, version and URL from the installed package."""
    try:
        meta = metadata.metadata("hypnic")
    except metadata.PackageNotFoundError:
        return {"name": "hypnic"}
    out = {"name": "hypnic", "sw_version": meta["Version"]}
    for entry in meta.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "homepage" and url.strip():
            out["support_url"] = url.strip()
    return out


def discovery_payload(
    topics: Topics,
    model: str,
    removed: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The device discovery config. ``model`` is the sensor chip; ``removed`` maps the keys of
    components announced before and gone now to their platform, so Home Assistant drops them."""
    node = topics.node_id
    comps: dict[str, dict[str, Any]] = {}
    for c in components(topics):
        comps[c.key] = {
            "platform": c.platform,
            "name": c.name,
            "unique_id": unique_id(node, c.key),
            "default_entity_id": entity_id(c.platform, node, c.key),
            **c.options,
        }
    for key, platform in sorted((removed or {}).items()):
        if key not in comps:
            comps[key] = {"platform": platform}
    org = origin()
    return {
        "device": {
            "identifiers": [f"hypnic_{node}"],
            "name": f"hypnic {node}",
            "manufacturer": MANUFACTURER,
            "model": model,
            "sw_version": org.get("sw_version", "unknown"),
        },
        "origin": org,
        "availability": [
            {"topic": topics.availability, "payload_available": ONLINE,
             "payload_not_available": OFFLINE}
        ],
        "components": comps,
    }


def announced(payload: dict[str, Any]) -> dict[str, str]:
    """The components a discovery payload announces (key → platform), removals left out:
    what to remember, so a later version can remove what it no longer has."""
    return {
        key: comp["platform"]
        for key, comp in payload["components"].items()
        if set(comp) != {"platform"}
    }
