"""The dashboard and blueprint under deploy/homeassistant load as YAML and name only entities
that hypnic's discovery creates."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from hypnic.daemon.homeassistant import discovery_payload
from hypnic.daemon.topics import Topics

FOLDER = Path(__file__).resolve().parents[2] / "deploy" / "homeassistant"
ENTITY_ID = re.compile(r"^(sensor|binary_sensor|event|switch|number|button)\.hypnic_\w+$")


class BlueprintLoader(yaml.SafeLoader):
    """Home Assistant's YAML has an ``!input`` tag for blueprint inputs."""


BlueprintLoader.add_constructor(
    "!input", lambda loader, node: {"!input": loader.construct_scalar(node)}
)


def strings(tree: Any) -> list[str]:
    if isinstance(tree, dict):
        return [s for v in tree.values() for s in strings(v)]
    if isinstance(tree, list):
        return [s for v in tree for s in strings(v)]
    return [tree] if isinstance(tree, str) else []


def discovered_entity_ids(node_id: str) -> set[str]:
    comps = discovery_payload(Topics("hypnic", node_id), "ADXL345")["components"]
    return {c["default_entity_id"] for c in comps.values()}


def test_dashboard_names_only_discovered_entities_and_all_of_them() -> None:
    dashboard = yaml.safe_load((FOLDER / "dashboard.yaml").read_text())
    assert dashboard["views"][0]["cards"]
    used = {s for s in strings(dashboard) if ENTITY_ID.match(s)}
    known = discovered_entity_ids("bedroom")
    assert used <= known, used - known
    assert used == known  # every entity hypnic offers has a place on the dashboard


def test_blueprint_is_an_automation_on_the_unusual_night_sensor() -> None:
    bp = yaml.load((FOLDER / "unusual_night_blueprint.yaml").read_text(), BlueprintLoader)
    meta = bp["blueprint"]
    assert meta["domain"] == "automation"
    selector = meta["input"]["unusual_night"]["selector"]["entity"]["filter"][0]
    comps = discovery_payload(Topics("hypnic", "x"), "ADXL345")["components"]
    unusual = comps["unusual_night"]
    assert (selector["domain"], selector["device_class"]) == (
        unusual["platform"], unusual["device_class"])
    [trigger] = bp["triggers"]
    assert trigger["entity_id"] == {"!input": "unusual_night"} and trigger["to"] == "on"
    # Every input is used, and the message reads the attribute discovery gives the sensor.
    used = {v["!input"] for v in _inputs(bp)}
    assert used == set(meta["input"])
    assert "'reasons'" in bp["actions"][0]["data"]["message"]
    assert "reasons" in unusual["json_attributes_template"]


def _inputs(tree: Any) -> list[dict[str, str]]:
    if isinstance(tree, dict):
        if set(tree) == {"!input"}:
            return [tree]
        return [i for v in tree.values() for i in _inputs(v)]
    if isinstance(tree, list):
        return [i for v in tree for i in _inputs(v)]
    return []
