"""The sleeper's body on the mattress: a mass on a spring, drawn once per night.

Everything the body does reaches the sensor through the mattress. A jerk's force pulse rings
the body-mattress resonance (``shapes.JerkMotion``); slower movements pass below the
resonance unchanged, are lifted near it and cut above it (``response``). The resonance falls
as the body gets heavier (sqrt(k / m)); the heartbeat's push on the bed is about the same
force whatever the body, so its acceleration falls as 1 / mass; a heavier body tilts the
mattress further when it lies down. ``coupling`` is how well all of it reaches the sensor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hypnic.drivers.sim.draw import log_uniform, uniform
from hypnic.drivers.sim.params import NightParams

F64 = NDArray[np.float64]

#: The body mass the amplitude and resonance ranges in NightParams are given for.
REFERENCE_MASS_KG = 75.0


@dataclass(frozen=True)
class Body:
    mass_kg: float
    resonance_hz: float
    damping: float
    coupling: float

    @staticmethod
    def draw(seed: int, p: NightParams) -> Body:
        rng = np.random.default_rng([seed, 15])
        mass = uniform(rng, p.body_mass_kg)
        resonance = uniform(rng, p.mattress_resonance_hz) * math.sqrt(REFERENCE_MASS_KG / mass)
        return Body(mass, resonance, uniform(rng, p.mattress_damping),
                    log_uniform(rng, p.coupling))

    @property
    def heartbeat_scale(self) -> float:
        return self.coupling * REFERENCE_MASS_KG / self.mass_kg

    @property
    def tilt_scale(self) -> float:
        return self.mass_kg / REFERENCE_MASS_KG

    def response(self, freq_hz: F64) -> F64:
        """How much of a movement's motion at each frequency the mattress passes (1 well
        below the resonance, 1 / (2 damping) at it, falling as 1 / f^2 above it)."""
        r = np.asarray(freq_hz, dtype=np.float64) / self.resonance_hz
        out = 1.0 / np.sqrt((1.0 - r * r) ** 2 + (2.0 * self.damping * r) ** 2)
        return np.asarray(out, dtype=np.float64)
