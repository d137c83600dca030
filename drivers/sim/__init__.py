"""The simulated sensor: a physically plausible night with ground-truth labels.

``SimulatedNight`` renders any span of the night deterministically from its seed;
``SimulatedSensor`` paces it out as Blocks like a real chip; ``TruthEvent`` is one label.
"""

from hypnic.drivers.sim.night import SimulatedNight
from hypnic.drivers.sim.params import NightParams
from hypnic.drivers.sim.schedule import ONSET_LEAD_S
from hypnic.drivers.sim.sensor import SimulatedSensor
from hypnic.drivers.sim.truth import TruthEvent

__all__ = ["ONSET_LEAD_S", "NightParams", "SimulatedNight", "SimulatedSensor", "TruthEvent"]
