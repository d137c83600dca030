"""Discovery payloads and command parsing, without a broker."""

from __future__ import annotations

from typing import Any

import pytest

from hypnic.daemon.commands import Command, CommandError, parse_command
from hypnic.daemon.homeassistant import announced, components, discovery_payload, origin
from hypnic.daemon.topics import Topics, default_node_id

TOPICS = Topics("hypnic", "bedroom")


def keys(tree: Any) -> set[str]:
    if isinstance(tree, dict):
        return set(tree) | {k for v in tree.values() for k in keys(v)}
    if isinstance(tree, list):
        return {k for v in tree for k in keys(v)}
    return set()


def test_every_component_is_well_formed() -> None:
    payload = discovery_payload(TOPICS, "ADXL355")
    comps = payload["components"]
    assert len(comps) == len(components(TOPICS))
    assert "object_id" not in keys(payload)  # deprecated: default_entity_id instead
    for key, c in comps.items():
        assert c["unique_id"] == f"hypnic_bedroom_{key}"
        assert c["default_entity_id"] == f"{c['platform']}.hypnic_bedroom_{key}"
        assert "hypnic" not in c["name"].lower()  # names never repeat the device's name
        if c["platform"] in ("sensor", "binary_sensor"):
            assert c.get("entity_category", "diagnostic") == "diagnostic"
        if "command_topic" in c:
            assert c["command_topic"].startswith("hypnic/bedroom/cmd/")
    uids = [c["unique_id"] for c in comps.values()]
    assert len(uids) == len(set(uids))
    assert payload["device"]["model"] == "ADXL355"
    assert payload["device"]["identifiers"] == ["hypnic_bedroom"]
    assert payload["availability"][0]["topic"] == "hypnic/bedroom/availability"


def test_the_entities_the_issue_asks_for_are_there() -> None:
    comps = discovery_payload(TOPICS, "ADXL345")["components"]
    by_platform = {(c["platform"], k) for k, c in comps.items()}
    for wanted in [("event", "movement"), ("sensor", "jerks_tonight"),
                   ("sensor", "jerks_last_hour"), ("sensor", "limb_movements_tonight"),
                   ("sensor", "last_jerk_intensity"), ("sensor", "time_in_bed"),
                   ("sensor", "sleep_onset"), ("sensor", "plm_index"), ("sensor", "restlessness"),
                   ("sensor", "respiration_rate"), ("sensor", "heart_rate"),
                   ("binary_sensor", "in_bed"), ("binary_sensor", "unusual_night"),
                   ("sensor", "sensor_chip"), ("sensor", "noise_floor"), ("sensor", "i2c_errors"),
                   ("sensor", "dropped_samples"), ("sensor", "uptime"), ("switch", "pause"),
                   ("number", "sensitivity"), ("button", "remeasure_noise_floor")]:
        assert wanted in by_platform, wanted
    assert comps["jerks_tonight"]["state_class"] == "total_increasing"
    assert comps["in_bed"]["device_class"] == "occupancy"
    assert comps["unusual_night"]["device_class"] == "problem"
    assert comps["sleep_onset"]["device_class"] == "timestamp"
    assert comps["movement"]["event_types"][0] == "jerk"


def test_a_removed_component_is_sent_as_its_platform_alone() -> None:
    payload = discovery_payload(TOPICS, "ADXL345", removed={"old_gauge": "sensor"})
    assert payload["components"]["old_gauge"] == {"platform": "sensor"}
    assert "old_gauge" not in announced(payload)
    assert announced(payload)["pause"] == "switch"
    # A key that still exists is never removed.
    again = discovery_payload(TOPICS, "ADXL345", removed={"pause": "switch"})
    assert again["components"]["pause"]["name"] == "Pause monitoring"


def test_origin_comes_from_the_package_metadata() -> None:
    o = origin()
    assert o["name"] == "hypnic" and o["sw_version"]
    assert o["support_url"].startswith("https://")


def test_node_id_from_the_host_name() -> None:
    assert default_node_id("bedroom-pi.local") == "bedroom-pi"
    assert default_node_id("pi 4 (old)") == "pi_4__old_"
    assert default_node_id("") == "hypnic"


@pytest.mark.parametrize(("name", "payload", "expected"), [
    ("pause", b"ON", Command("pause", True)),
    ("pause", b" off\n", Command("pause", False)),
    ("sensitivity", b"7", Command("sensitivity", 7)),
    ("sensitivity", b"3.0", Command("sensitivity", 3)),
    ("remeasure_noise_floor", b"PRESS", Command("remeasure_noise_floor")),
])
def test_valid_commands(name: str, payload: bytes, expected: Command) -> None:
    assert parse_command(name, payload) == expected


@pytest.mark.parametrize(("name", "payload", "says"), [
    ("pause", b"maybe", '"ON" or "OFF"'),
    ("sensitivity", b"11", "1-10"),
    ("sensitivity", b"0", "1-10"),
    ("sensitivity", b"4.5", "whole number"),
    ("sensitivity", b"nan", "whole number"),
    ("sensitivity", b"\xff\xfe", "UTF-8"),
    ("remeasure_noise_floor", b"now", "PRESS"),
    ("reboot", b"1", "unknown command"),
    ("sensitivity", b"x" * 500, "..."),
])
def test_invalid_commands_say_what_is_accepted(name: str, payload: bytes, says: str) -> None:
    with pytest.raises(CommandError) as err:
        parse_command(name, payload)
    message = str(err.value)
    assert says in message and "\n" not in message and len(message) < 200
