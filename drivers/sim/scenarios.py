"""Named simulated nights: a sleeper, a bed, a room and a chip, varied widely from the seed.

A scenario is a ``NightParams`` preset; a chip supplies the sensor's noise density, its
output resolution (LSB) and the output rates it can run at. ``scenario_night`` makes the
night: every scenario works with every chip at any rate the chip offers (the nearest to the
one asked for). All scenarios share ``WIDE``: bodies from 45 to 130 kg, mattresses from soft
to firm, loose or tight coupling to the sensor, a wide spread of breathing and heart rates,
and chip units from 15 % quieter to 30 % noisier than typical, so that a detector tuned on
them does not depend on one body, bed or unit. Where each range comes from is in ``params``.

- ``typical``: an ordinary night in a quiet room: a few sleep starts, limb movements,
  turning over, sometimes up once in the night;
- ``quiet``: no jerks, and no limb movements once asleep (only the small movements of
  lying awake before sleep): a jerk called is a false alarm;
- ``empty``: nobody in the bed, only the room and the sensor: every event is a false alarm;
- ``partner``: a typical night with a partner on the other side, whose movements must not
  count;
- ``plm``: periodic limb movements, long series one after another (PLM index well above
  15 / h);
- ``restless``: much turning over, many isolated limb movements and jerks, up in the night;
- ``onset-jerks``: many sleep starts, half of them small, down to 3x the noise floor;
- ``noisy-room``: a typical night in a loud flat: footsteps, doors, traffic, a fan, a
  washing machine.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from hypnic.drivers.chips import CHIPS
from hypnic.drivers.chips.adxl345 import LSB_G as ADXL345_LSB_G
from hypnic.drivers.chips.adxl355 import LSB_PER_G as ADXL355_LSB_PER_G
from hypnic.drivers.chips.lis3dh import DIGIT_MG as LIS3DH_DIGIT_MG
from hypnic.drivers.chips.lsm6ds_common import MG_PER_LSB as LSM6DS_MG_PER_LSB
from hypnic.drivers.chips.mpu6050 import COUNTS_PER_RANGE as MPU6050_COUNTS
from hypnic.drivers.sim.params import NightParams

if TYPE_CHECKING:  # the night itself is imported only to render one (see scenario_night)
    from hypnic.drivers.sim.night import SimulatedNight


@dataclass(frozen=True)
class ChipSensor:
    """What the simulated night needs of a chip, at its ±2 g range (what hypnic sets).

    noise_density_ug_rthz  typical noise density (from the chip's ``ChipSpec``)
    lsb_g                  the output step at ±2 g in the resolution hypnic reads
    noise_z_ratio          the z axis's noise against x and y
    rates_hz               output rates the chip offers
    """

    key: str
    noise_density_ug_rthz: float
    lsb_g: float
    noise_z_ratio: float
    rates_hz: tuple[float, ...]

    def rate_hz(self, requested_hz: float) -> float:
        """The chip's rate nearest the one asked for (the higher one on a tie), as the
        driver picks it."""
        return min(self.rates_hz, key=lambda r: (abs(r - requested_hz), -r))


def _sensor(key: str, lsb_g: float, noise_z_ratio: float = 1.0) -> ChipSensor:
    spec = CHIPS[key].spec
    return ChipSensor(key, spec.noise_density_ug_rthz, lsb_g, noise_z_ratio, spec.rates_hz)


#: Every supported chip. LSBs at ±2 g: ADXL345 full resolution 3.9 mg; LIS3DH high-resolution
#: 1 mg; MPU-6050 and LSM6DSO / LSM6DS3TR-C 16-bit, 61 µg; ADXL355 20-bit, 3.9 µg. The ADXL345
#: datasheet gives z noise 1.1 LSB rms against 0.75 for x and y.
CHIP_SENSORS: dict[str, ChipSensor] = {
    "adxl345": _sensor("adxl345", ADXL345_LSB_G, noise_z_ratio=1.45),
    "lis3dh": _sensor("lis3dh", LIS3DH_DIGIT_MG["high_resolution"][2] / 1000.0),
    "mpu6050": _sensor("mpu6050", 2.0 / MPU6050_COUNTS),
    "adxl355": _sensor("adxl355", 1.0 / ADXL355_LSB_PER_G[2]),
    "lsm6dso": _sensor("lsm6dso", LSM6DS_MG_PER_LSB[2] / 1000.0),
    "lsm6ds3trc": _sensor("lsm6ds3trc", LSM6DS_MG_PER_LSB[2] / 1000.0),
}

#: The physics every scenario varies over: wider than NightParams' ordinary adult, so that
#: nothing tuned on these nights depends on one body, bed or chip unit.
WIDE = NightParams(
    # Cheap MEMS oscillators: a few percent off nominal, allowing for temperature.
    rate_error_max=0.03,
    # Unit-to-unit noise: datasheets quote typical figures; units vary by tens of percent.
    noise_density_scale=(0.85, 1.3),
    # Adults 45-130 kg (about the 1st-99th percentiles of NHANES adult body mass).
    body_mass_kg=(45.0, 130.0),
    # From a soft foam mattress to a firm one, and damping from springy to dead.
    mattress_resonance_hz=(3.5, 14.0),
    mattress_damping=(0.1, 0.5),
    # Sensor under the hips or the chest, thick or thin mattress, with or without topper.
    coupling=(0.6, 1.6),
    empty_tilt_deg=(0.0, 3.0),
    bed_entry_tilt_deg=(0.5, 5.0),
    # Sleep latency 5-40 min: quick sleepers to mild insomnia (PSG norms: 10-30 min).
    sleep_latency_s=(300.0, 2400.0),
    # Sleeping breathing 10-22 /min and heart rate 45-85 bpm: trained athletes to older or
    # unfit adults (textbook resting ranges, a little beyond the ordinary 12-20 and 50-70).
    breath_rate_bpm=(10.0, 22.0),
    breath_tilt_deg=(0.01, 0.1),
    # Under the mattress the surface heaves by at most a few mm with a breath: <= 1.5 mg.
    breath_vertical_g=(0.0002, 0.0015),
    heart_rate_bpm=(45.0, 85.0),
    bcg_freq_hz=(4.0, 12.0),
    # 0.2-0.8 mg before the body's scaling: 0.07-2 mg at the sensor over all bodies.
    bcg_peak_g=(0.0002, 0.0008),
    # A myoclonic burst lasts 40-300 ms (EMG burst lengths of sleep starts and twitches).
    jerk_pulse_s=(0.04, 0.3),
    limb_band_hz=(0.7, 6.0),
    posture_band_hz=(0.2, 4.0),
    # Now and then the host stalls and the FIFO overruns.
    fifo_gaps_per_8h=(0, 2),
)

#: A bedroom's usual sounds: now and then a car, a door, someone walking past.
_LIGHT_ROOM = {
    "footstep_walks_per_8h": (0, 3),
    "door_slams_per_8h": (0, 2),
    "traffic_per_h": (0.0, 2.0),
    "fan_probability": 0.2,
}
#: A loud flat.
_LOUD_ROOM = {
    "footstep_walks_per_8h": (4, 16),
    "door_slams_per_8h": (2, 8),
    "traffic_per_h": (2.0, 12.0),
    "fan_probability": 0.7,
    "washer_probability": 0.7,
    "fifo_gaps_per_8h": (0, 3),
}


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    params: NightParams


def _scenario(name: str, description: str, **changes: object) -> Scenario:
    return Scenario(name, description, replace(WIDE, **changes))  # type: ignore[arg-type]


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    _scenario("typical", "an ordinary night in a quiet room",
              bathroom_trips_per_8h=(0, 1), **_LIGHT_ROOM),
    _scenario("quiet", "no jerks and no limb movements in sleep: only breathing, heartbeat, "
              "turning over, and settling before sleep",
              jerk_rate_scale=0.0, limb_rate_scale=0.0, posture_rate_scale=0.5),
    _scenario("empty", "nobody in the bed: the room and the sensor only",
              occupied=False, footstep_walks_per_8h=(2, 8), door_slams_per_8h=(1, 4),
              traffic_per_h=(1.0, 6.0), fan_probability=0.3, washer_probability=0.3),
    _scenario("partner", "a typical night with a partner moving on the other side",
              partner=True, **_LIGHT_ROOM),
    _scenario("plm", "several long series of periodic limb movements",
              plm_series_per_8h=(8, 14), plm_count=(10, 60), isolated_limb_per_8h=(4, 12),
              plm_typical_interval_s=(15.0, 40.0), plm_interval_s=(10.0, 60.0)),
    _scenario("restless", "much turning over, many limb movements and jerks, up in the night",
              posture_changes_per_8h=(20, 40), isolated_limb_per_8h=(10, 25),
              sporadic_jerks_per_h=(2.0, 6.0), plm_series_per_8h=(0, 2),
              bathroom_trips_per_8h=(1, 2)),
    _scenario("onset-jerks", "many sleep starts, half of them small (down to the noise floor)",
              onset_jerks=(6, 15), onset_jerk_window_s=(-900.0, 300.0),
              small_onset_jerk_fraction=0.5, sporadic_jerks_per_h=(2.0, 6.0),
              small_jerk_fraction=0.5),
    _scenario("noisy-room", "a typical night in a loud flat", **_LOUD_ROOM),
)}


def scenario_params(name: str, chip: str) -> NightParams:
    """The scenario's physics with the chip's noise and resolution (KeyError: unknown name)."""
    sensor = CHIP_SENSORS[chip]
    return replace(SCENARIOS[name].params, noise_density_ug_rthz=sensor.noise_density_ug_rthz,
                   lsb_g=sensor.lsb_g, noise_z_ratio=sensor.noise_z_ratio)


def scenario_night(name: str, chip: str, seed: int, rate_hz: float = 200.0,
                   duration_s: float = 3600.0, start: str = "evening") -> SimulatedNight:
    """The scenario's night read through the chip, at the chip's rate nearest ``rate_hz``."""
    from hypnic.drivers.sim.night import SimulatedNight

    params = scenario_params(name, chip)
    return SimulatedNight(seed, CHIP_SENSORS[chip].rate_hz(rate_hz), duration_s, start,
                          params)
