"""The simulated sensor: a physically plausible night with ground-truth labels.

``SimulatedNight`` renders any span of the night deterministically from its seed;
``TruthEvent`` is one label. The daemon reads a night through an emulated chip and its real
driver (``hypnic.daemon.sensors.open_simulated``), like a sensor on a real bus.
"""

from hypnic.drivers.sim.night import SimulatedNight
from hypnic.drivers.sim.params import NightParams
from hypnic.drivers.sim.schedule import ONSET_LEAD_S
from hypnic.drivers.sim.truth import TruthEvent

__all__ = ["ONSET_LEAD_S", "NightParams", "SimulatedNight", "TruthEvent"]
