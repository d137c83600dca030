"""Build the configured sensor. The only place that maps ``sensor.type`` to a driver."""

from __future__ import annotations

from hypnic.daemon.config import SensorConfig
from hypnic.drivers.base import Sensor, SensorError
from hypnic.drivers.sim import SimulatedNight, SimulatedSensor

#: A simulated night lasts this long unless the run is stopped earlier.
SIM_NIGHT_S = 8 * 3600.0


def open_sensor(config: SensorConfig) -> Sensor:
    """Open the sensor the configuration names; raise SensorError with the fix if it can't."""
    if config.type == "sim":
        night = SimulatedNight(
            seed=config.sim_seed,
            rate_hz=float(config.rate_hz),
            duration_s=SIM_NIGHT_S,
            start=config.sim_start,
        )
        return SimulatedSensor(night, speed=config.sim_speed)
    raise SensorError(f'sensor.type: "{config.type}" has no driver in this build; use "sim"')
