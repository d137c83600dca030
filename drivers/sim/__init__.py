"""The simulated sensor: a physically plausible night with ground-truth labels.

``SimulatedNight`` renders any span of the night deterministically from its seed;
``TruthEvent`` is one label. The daemon reads a night through an emulated chip and its real
driver (``hypnic.daemon.sensors.open_simulated``), like a sensor on a real bus.

The names are imported when first used: the command line needs only the scenarios' names,
and every command (``hypnic replay`` of a night, above all) starts sooner without the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hypnic.drivers.sim.night import SimulatedNight
    from hypnic.drivers.sim.params import NightParams
    from hypnic.drivers.sim.schedule import ONSET_LEAD_S
    from hypnic.drivers.sim.truth import TruthEvent

__all__ = ["ONSET_LEAD_S", "NightParams", "SimulatedNight", "TruthEvent"]

_HOMES = {
    "ONSET_LEAD_S": "hypnic.drivers.sim.schedule",
    "NightParams": "hypnic.drivers.sim.params",
    "SimulatedNight": "hypnic.drivers.sim.night",
    "TruthEvent": "hypnic.drivers.sim.truth",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
