"""Named scenarios, chips and disturbances: each night has what its scenario says it has."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hypnic.drivers.recording import open_recording
from hypnic.drivers.sim import NightParams, SimulatedNight
from hypnic.drivers.sim.body import Body
from hypnic.drivers.sim.export import write_night
from hypnic.drivers.sim.scenarios import CHIP_SENSORS, SCENARIOS, scenario_night
from hypnic.drivers.sim.truth import plm_series

EIGHT_H_S = 8 * 3600.0
#: Nothing but the sensor: no sleeper, no room.
EMPTY_SILENT = NightParams(occupied=False, noise_density_ug_rthz=0.0, lsb_g=0.0)


def kinds(night: SimulatedNight) -> list[str]:
    return [e.type for e in night.truth]


def disturbance_kinds(night: SimulatedNight) -> set[str]:
    return {d.type for d in night.disturbances}


def clear_of_labels(night: SimulatedNight, lo: float, hi: float, gap_s: float) -> bool:
    return all(lo >= e.offset_s + gap_s or hi <= e.onset_s - gap_s for e in night.truth)


# --- determinism ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_renders_the_same_however_it_is_cut(name: str) -> None:
    chip = list(CHIP_SENSORS)[list(SCENARIOS).index(name) % len(CHIP_SENSORS)]
    a = scenario_night(name, chip, 1000 + len(name), 100.0, 600.0)
    b = scenario_night(name, chip, 1000 + len(name), 100.0, 600.0)
    t_a, acc_a = a.render(0, a.n_samples)
    pieces = [b.render(i, min(997, b.n_samples - i)) for i in range(0, b.n_samples, 997)]
    assert np.array_equal(np.concatenate([p[0] for p in pieces]), t_a)
    assert np.array_equal(np.concatenate([p[1] for p in pieces]), acc_a)
    assert a.truth_record() == b.truth_record()
    assert np.isfinite(acc_a).all()


def test_rates_are_the_chips_own() -> None:
    assert scenario_night("typical", "adxl355", 1, 200.0, 600.0).rate_hz == 250.0
    assert scenario_night("typical", "lsm6dso", 1, 400.0, 600.0).rate_hz == 417.0
    assert scenario_night("typical", "adxl345", 1, 100.0, 600.0).rate_hz == 100.0


# --- what each scenario claims --------------------------------------------------------------


def test_quiet_has_no_jerks_and_no_limb_movements_in_sleep() -> None:
    for seed in range(3):
        night = scenario_night("quiet", "adxl345", seed, 100.0, EIGHT_H_S)
        assert "jerk" not in kinds(night)
        onset_s = night.truth_record()["sleep_onset_s"]
        assert all(e.offset_s < onset_s for e in night.truth if e.type == "limb_movement")
        assert kinds(night)[0] == "bed_entry" and kinds(night)[-1] == "bed_exit"


def test_lying_awake_people_shift_about_and_lie_still_before_sleep() -> None:
    fidgets = []
    for seed in range(6):
        night = scenario_night("typical", "adxl355", seed, 100.0, EIGHT_H_S)
        record = night.truth_record()
        onset_s, entry_s = record["sleep_onset_s"], record["bed_intervals"][0][0]
        awake = [e for e in night.truth if e.type == "limb_movement" and e.onset_s < onset_s]
        assert all(e.series is None and e.offset_s > entry_s for e in awake)
        still_s = onset_s - max((e.offset_s for e in awake), default=entry_s)
        assert still_s >= night.params.wake_still_before_onset_s[0]
        fidgets.append(len(awake))
    assert sum(fidgets) >= 6  # a few every hour awake


def test_empty_has_nobody_in_bed_and_the_room_labelled() -> None:
    seen: set[str] = set()
    for seed in range(4):
        night = scenario_night("empty", "lis3dh", seed, 100.0, EIGHT_H_S)
        record = night.truth_record()
        assert night.truth == [] and record["events"] == []
        assert record["bed_intervals"] == [] and record["sleep_onset_s"] is None
        assert record["respiration"] == [] and record["heart"] == []
        assert record["plm_index"] is None
        seen |= disturbance_kinds(night)
    assert {"footsteps", "door", "traffic"} <= seen
    with pytest.raises(ValueError, match="empty bed"):
        scenario_night("empty", "lis3dh", 1, 100.0, 3600.0, start="onset")


def test_empty_bed_without_room_is_only_gravity() -> None:
    night = SimulatedNight(3, 100.0, 600.0, params=EMPTY_SILENT)
    _, acc = night.render(0, night.n_samples)
    assert np.allclose(acc, acc[0]) and np.linalg.norm(acc[0]) == pytest.approx(1.0)


def test_partner_moves_on_the_other_side_and_is_never_an_event() -> None:
    for seed in range(3):
        night = scenario_night("partner", "adxl355", seed, 100.0, EIGHT_H_S)
        record = night.truth_record()
        partner = [d for d in night.disturbances if d.type == "partner"]
        details = {d.detail for d in partner}
        assert {"getting in", "getting out"} <= details
        assert details & {"turning over", "limb movement"}
        p_in, p_out = record["partner_in_bed"]
        (entry, exit_), = record["bed_intervals"]
        assert entry < p_in < p_out < exit_
        for d in partner:
            assert clear_of_labels(night, d.onset_s, d.offset_s, 3.0)
        assert {e.type for e in night.truth} >= {"bed_entry", "bed_exit"}


def test_plm_nights_have_long_periodic_series() -> None:
    indices = []
    for seed in range(3):
        record = scenario_night("plm", "mpu6050", seed, 100.0, EIGHT_H_S).truth_record()
        assert record["plm_series"] and all(s["count"] >= 4 for s in record["plm_series"])
        indices.append(record["plm_index"])
    assert min(indices) > 15.0


def test_onset_jerks_are_many_and_some_are_at_the_noise_floor() -> None:
    ratios = []
    for seed in range(3):
        night = scenario_night("onset-jerks", "adxl345", seed, 100.0, 7200.0)
        onset = [e for e in night.truth if e.type == "jerk" and e.sleep_onset]
        assert len(onset) >= 5
        ratios += [e.peak_g / night.schedule.floor_g for e in onset]
    assert min(ratios) >= 3.0 - 1e-9
    assert sum(r <= 5.0 for r in ratios) >= 3


def test_restless_nights_get_up_and_come_back() -> None:
    night = scenario_night("restless", "lsm6ds3trc", 5, 104.0, EIGHT_H_S)
    record = night.truth_record()
    intervals = record["bed_intervals"]
    assert len(intervals) >= 2
    assert kinds(night).count("bed_entry") == kinds(night).count("bed_exit") == len(intervals)
    for (_, out), (back, _) in itertools.pairwise(intervals):
        assert back - out >= 120.0
    # Asleep only in bed, and never right after coming back.
    for a, b in record["sleep_intervals"]:
        assert any(lo + 60.0 <= a and b <= hi for lo, hi in intervals)


def test_noisy_room_has_every_kind_of_room_disturbance() -> None:
    seen: set[str] = set()
    for seed in range(4, 8):
        night = scenario_night("noisy-room", "lsm6dso", seed, 104.0, EIGHT_H_S)
        seen |= disturbance_kinds(night)
        for d in night.disturbances:
            if d.type in ("footsteps", "door", "gap"):
                assert clear_of_labels(night, d.onset_s, d.offset_s, 3.0)
    assert {"footsteps", "door", "traffic", "fan", "washer"} <= seen


def test_disturbances_change_no_event_of_the_sleeper() -> None:
    quiet_room = scenario_night("typical", "adxl345", 7, 100.0, EIGHT_H_S)
    params = replace(quiet_room.params, footstep_walks_per_8h=(10, 10), door_slams_per_8h=(5, 5),
                     traffic_per_h=(5.0, 5.0), fan_probability=1.0, washer_probability=1.0)
    loud = SimulatedNight(7, quiet_room.rate_hz, EIGHT_H_S, params=params)
    assert loud.truth == quiet_room.truth
    assert len(loud.disturbances) > len(quiet_room.disturbances)


# --- the physics of the room and the bed ------------------------------------------------------


def test_a_fan_hums_at_its_frequency() -> None:
    params = replace(EMPTY_SILENT, fan_probability=1.0)
    night = SimulatedNight(2, 200.0, 1800.0, params=params)
    (fan,) = night.disturbances
    freq_hz = float(fan.detail.split()[0])
    mid = (fan.onset_s + fan.offset_s) / 2
    first = math.ceil(mid * night.true_rate_hz)
    _, acc = night.render(first, 4096)
    x = np.linalg.norm(acc - acc.mean(axis=0), axis=1) * np.sign((acc - acc.mean(axis=0))[:, 2])
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    f = np.fft.rfftfreq(len(x), 1.0 / night.true_rate_hz)
    assert f[int(np.argmax(spectrum))] == pytest.approx(freq_hz, abs=0.2)
    assert np.abs(acc - acc.mean(axis=0)).max() <= fan.peak_g * 1.01


def test_a_door_slam_knocks_at_its_labelled_peak_and_rings_out() -> None:
    params = replace(EMPTY_SILENT, door_slams_per_8h=(8, 8))
    night = SimulatedNight(4, 400.0, EIGHT_H_S / 4, params=params)
    (door, *_) = night.disturbances
    first = math.floor((door.onset_s - 1.0) * night.true_rate_hz)
    _, acc = night.render(first, int(3.0 * night.true_rate_hz))
    moved = np.linalg.norm(acc - acc[0], axis=1)
    assert moved.max() == pytest.approx(door.peak_g, rel=0.1)
    assert moved[: int(0.9 * night.true_rate_hz)].max() < 1e-12  # silent before
    assert moved[-20:].max() < 0.01 * door.peak_g  # rung out after


def test_heavier_bodies_ring_lower_and_slow_motion_passes_the_mattress() -> None:
    p = NightParams(body_mass_kg=(45.0, 130.0))
    bodies = [Body.draw(seed, p) for seed in range(40)]
    light = [b.resonance_hz * math.sqrt(b.mass_kg / 75.0) for b in bodies]
    # resonance * sqrt(mass) is the mattress's own stiffness, drawn within its range.
    assert all(p.mattress_resonance_hz[0] <= x <= p.mattress_resonance_hz[1] for x in light)
    b = bodies[0]
    assert b.response(np.array([0.01]))[0] == pytest.approx(1.0, abs=1e-3)
    assert b.response(np.array([b.resonance_hz]))[0] == pytest.approx(1 / (2 * b.damping))
    assert b.response(np.array([10 * b.resonance_hz]))[0] < 0.02


@pytest.mark.parametrize("chip", list(CHIP_SENSORS))
def test_each_chip_has_its_noise_and_resolution(chip: str) -> None:
    sensor = CHIP_SENSORS[chip]
    params = replace(SCENARIOS["empty"].params, noise_density_ug_rthz=sensor.noise_density_ug_rthz,
                     lsb_g=sensor.lsb_g, noise_z_ratio=sensor.noise_z_ratio,
                     footstep_walks_per_8h=(0, 0), door_slams_per_8h=(0, 0),
                     traffic_per_h=(0.0, 0.0), fan_probability=0.0, washer_probability=0.0)
    night = SimulatedNight(11, sensor.rate_hz(200.0), 120.0, params=params)
    _, acc = night.render(0, night.n_samples)
    steps = acc / sensor.lsb_g
    assert np.allclose(steps, np.round(steps), atol=1e-6)
    typical = sensor.noise_density_ug_rthz * 1e-6 * math.sqrt(night.true_rate_hz / 2)
    noise = acc.std(axis=0)
    if sensor.lsb_g < typical:  # noise, not quantisation, sets the rms
        assert 0.8 * typical <= noise[:2].mean() <= 1.4 * typical
        assert noise[2] / noise[:2].mean() == pytest.approx(sensor.noise_z_ratio, rel=0.1)


# --- truth.json ---------------------------------------------------------------------------


def test_truth_json_round_trips_with_the_contracts_keys(tmp_path: Path) -> None:
    night = scenario_night("plm", "adxl355", 3, 200.0, 1800.0)
    write_night(night, tmp_path, scenario="plm", chip="adxl355")
    truth = json.loads((tmp_path / "truth.json").read_text())
    for key in ("events", "scenario", "seed", "chip", "rate_hz", "start_s", "end_s",
                "sleep_onset_s", "bed_intervals", "plm_index", "respiration", "heart",
                "disturbances"):
        assert key in truth, key
    assert truth["scenario"] == "plm" and truth["chip"] == "adxl355"
    assert truth["rate_hz"] == 250.0 and truth["seed"] == 3
    assert [e["onset_s"] for e in truth["events"]] == [e.onset_s for e in night.truth]
    for e in truth["events"]:
        assert set(e) >= {"type", "onset_s", "offset_s", "peak_g", "sleep_onset", "series",
                          "duration_s"}
    steps = np.diff([t for t, _ in truth["respiration"]])
    assert len(steps) > 100 and np.allclose(steps, 10.0)
    assert all(10.0 <= bpm <= 22.0 for _, bpm in truth["respiration"])
    assert all(45.0 <= bpm <= 85.0 for _, bpm in truth["heart"])
    (entry, exit_), = truth["bed_intervals"]
    assert all(entry < t < exit_ for t, _ in truth["heart"])


def test_truth_series_follow_the_aasm_rule() -> None:
    # 6 s apart, then a 95 s pause, then 4 at 20 s, then one 3 s after: two series.
    onsets = [0.0, 6.0, 12.0, 18.0, 113.0, 133.0, 153.0, 173.0, 176.0]
    assert plm_series(onsets) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert plm_series([0.0, 10.0, 20.0]) == []
    record = scenario_night("plm", "adxl345", 1, 100.0, EIGHT_H_S).truth_record()
    in_series = [e for e in record["events"] if e["series"] is not None]
    assert sum(s["count"] for s in record["plm_series"]) == len(in_series)
    assert record["plm_index"] == pytest.approx(
        len(in_series) / (record["time_asleep_s"] / 3600.0), rel=1e-3)


def test_a_fifo_overrun_leaves_a_hole_in_the_recording(tmp_path: Path) -> None:
    params = replace(SCENARIOS["quiet"].params, fifo_gaps_per_8h=(40, 40))
    night = SimulatedNight(2, 100.0, 1800.0, params=params)
    gaps = [d for d in night.disturbances if d.type == "gap"]
    assert gaps
    recording = write_night(night, tmp_path)
    with open_recording(recording) as rec:
        blocks = list(rec.blocks())
    t = np.concatenate([b.t_s for b in blocks])
    assert sum(int(b.gap_before.sum()) for b in blocks) == len(gaps)
    for g in gaps:
        assert not ((t >= g.onset_s) & (t < g.offset_s)).any()
    assert len(t) == night.n_samples - rec.lost_samples
