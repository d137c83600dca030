"""Build the configured sensor. The only place that maps ``[sensor]`` to drivers and buses.

A real chip: open /dev/i2c-<bus>, find the chip (by its identity register), and stream it
through the acquisition loop, woken by the interrupt line when ``gpio.int_pin`` is set.

The simulated sensor: the same driver and acquisition loop, reading an emulated chip of
``sensor.sim_chip`` on an emulated bus, which is fed by a simulated night on a simulated
clock (as fast as possible with ``sim_speed = 0``).
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from hypnic.daemon.config import GpioConfig, SensorConfig
from hypnic.drivers.acquire import Accelerometer
from hypnic.drivers.base import Block, SensorError, SensorHealth
from hypnic.drivers.bus import Device, SMBusLike
from hypnic.drivers.chips import CHIPS
from hypnic.drivers.irq import PinWaiter
from hypnic.drivers.probe import probe
from hypnic.drivers.sim import NightParams, SimulatedNight
from hypnic.drivers.timebase import Clock, PacedClock, SystemClock, VirtualClock

#: A simulated night lasts this long unless the run is stopped earlier.
SIM_NIGHT_S = 8 * 3600.0
#: The emulated chip's interrupt line in the simulation (a gpiozero mock pin).
SIM_INT_PIN = 17


def open_bus(number: int) -> SMBusLike:
    """``smbus2.SMBus(number)``, with the fix in the message when it cannot be opened."""
    from smbus2 import SMBus

    path = f"/dev/i2c-{number}"
    try:
        bus: SMBusLike = SMBus(number)
    except FileNotFoundError:
        raise SensorError(
            f"{path} does not exist: enable I2C with `sudo raspi-config nonint do_i2c 0` "
            "(or dtparam=i2c_arm=on in /boot/firmware/config.txt) and reboot, "
            "or set sensor.bus"
        ) from None
    except PermissionError:
        raise SensorError(
            f"no permission to open {path}: add this user to the i2c group "
            "(`sudo usermod -aG i2c $USER`, then log in again)"
        ) from None
    except OSError as exc:
        reason = exc.strerror or errno.errorcode.get(exc.errno or 0, "error")
        raise SensorError(f"cannot open {path}: {reason}") from None
    return bus


def open_sensor(
    sensor: SensorConfig, gpio: GpioConfig, status: Callable[[str], None] | None = None
) -> Accelerometer | SimulatedNightSensor:
    """Open the configured sensor; raise SensorError with the fix if it can't be."""
    if sensor.type == "sim":
        return open_simulated(sensor, status)
    bus = open_bus(sensor.bus)
    only = None if sensor.type == "auto" else sensor.type
    if sensor.address is not None and only is not None:
        key, address = only, sensor.address  # trust it: the loop retries until it answers
    else:
        found = [
            f for f in probe(bus, only=only)
            if sensor.address is None or f.address == sensor.address
        ]
        if not found:
            wanted = CHIPS[only].spec.name if only else "supported accelerometer"
            raise SensorError(
                f"no {wanted} answers on /dev/i2c-{sensor.bus}: check the wiring "
                "(hw/README.md) and run `hypnic doctor`"
            )
        key, address = found[0].key, found[0].address
    clock = SystemClock()
    driver_cls = CHIPS[key]
    driver = driver_cls(
        Device(bus, address, driver_cls.burst_flag), sensor.rate_hz, sensor.range_g, clock
    )
    waiter = PinWaiter(clock, gpio.int_pin) if gpio.int_pin is not None else None
    return Accelerometer(driver, clock, waiter, status)


class SimulatedNightSensor:
    """The emulated chip's stream, ending when the simulated night does."""

    def __init__(self, sensor: Accelerometer, night: SimulatedNight) -> None:
        self.sensor = sensor
        self.night = night
        self.end_s = night.n_samples / night.true_rate_hz

    @property
    def description(self) -> str:
        return f"simulated night (seed {self.night.seed}) via emulated {self.sensor.description}"

    @property
    def nominal_rate_hz(self) -> float:
        return self.sensor.nominal_rate_hz

    @property
    def wall_time_at_zero(self) -> float:
        return self.sensor.wall_time_at_zero

    def blocks(self) -> Iterator[Block]:
        for block in self.sensor.blocks():
            yield block
            if len(block) and block.t_s[-1] >= self.end_s:
                return

    def health(self) -> SensorHealth:
        return self.sensor.health()

    def close(self) -> None:
        self.sensor.close()


def open_simulated(
    sensor: SensorConfig, status: Callable[[str], None] | None = None
) -> SimulatedNightSensor:
    from gpiozero.pins.mock import MockFactory

    from hypnic.drivers.emulated.rig import build_rig

    spec = CHIPS[sensor.sim_chip].spec
    rate_hz = spec.nearest_rate_hz(sensor.rate_hz)
    # The emulated chip quantises; the night supplies the chip's own noise.
    params = replace(NightParams(), noise_density_ug_rthz=spec.noise_density_ug_rthz, lsb_g=0.0)
    night = SimulatedNight(
        seed=sensor.sim_seed, rate_hz=rate_hz, duration_s=SIM_NIGHT_S, start=sensor.sim_start,
        params=params,
    )
    clock: Clock = VirtualClock() if sensor.sim_speed == 0 else PacedClock(sensor.sim_speed)
    rig = build_rig(
        sensor.sim_chip, clock, _night_source(night), rate_hz=rate_hz,
        range_g=sensor.range_g, rate_error=night.true_rate_hz / rate_hz - 1.0,
        int_pin=SIM_INT_PIN, pin_factory=MockFactory(), status=status,
    )
    return SimulatedNightSensor(rig.sensor, night)


def _night_source(night: SimulatedNight) -> Callable[[int, int], NDArray[np.float64]]:
    """The night's samples by index; past its end, the last one held (the stream stops)."""

    def source(first: int, n: int) -> NDArray[np.float64]:
        inside = max(0, min(n, night.n_samples - first))
        parts = []
        if inside:
            parts.append(night.render(first, inside)[1])
        if inside < n:
            last = night.render(night.n_samples - 1, 1)[1]
            parts.append(np.repeat(last, n - inside, axis=0))
        return np.concatenate(parts)

    return source
