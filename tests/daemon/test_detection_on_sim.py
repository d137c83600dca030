"""The detector on simulated nights: it finds the jerks and stays quiet on breathing."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from hypnic.daemon.detect import Detector
from hypnic.daemon.events import Event
from hypnic.drivers.base import Block
from hypnic.drivers.sim import NightParams, SimulatedNight, TruthEvent
from hypnic.drivers.sim.scenarios import CHIP_SENSORS, scenario_params


def detect(night: SimulatedNight, block_s: float = 60.0, until_s: float | None = None) -> list[Event]:
    detector = Detector()
    events: list[Event] = []
    n = max(1, int(block_s * night.rate_hz))
    end = night.n_samples
    if until_s is not None:
        end = min(end, int((until_s - night.start_s) * night.true_rate_hz))
    for first in range(0, end, n):
        t, acc = night.render(first, min(n, end - first))
        events += detector.feed(Block(t, acc, night.true_rate_hz))
    return events + detector.finish()


def matching(event: Event, truth: list[TruthEvent]) -> TruthEvent | None:
    for label in truth:
        if label.onset_s - 1.0 <= event.onset_s <= label.offset_s + 0.5:
            return label
    return None


@pytest.fixture(scope="module")
def onset_nights() -> list[tuple[SimulatedNight, list[Event]]]:
    nights = [SimulatedNight(seed=s, rate_hz=100.0, duration_s=3600.0, start="onset")
              for s in (11, 12, 13)]
    return [(night, detect(night)) for night in nights]


def test_simulated_jerks_are_found(onset_nights) -> None:
    found = total = 0
    for night, events in onset_nights:
        # Jerks clearly above the sensor's noise: 5x its rms.
        clear = [e for e in night.truth if e.type == "jerk" and e.peak_g > 5 * night.noise_rms_g]
        for label in clear:
            total += 1
            found += any(
                e.type == "jerk" and abs(e.onset_s - label.onset_s) <= 0.1 for e in events
            )
    assert total >= 8
    assert found / total >= 0.9, f"{found}/{total} jerks found"


def test_every_detection_is_a_real_movement(onset_nights) -> None:
    for night, events in onset_nights:
        unmatched = [e for e in events if matching(e, night.truth) is None]
        assert unmatched == []


def test_sleep_start_jerks_are_flagged(onset_nights) -> None:
    near_onset = [
        e for night, events in onset_nights for e in events
        if e.type == "jerk" and e.onset_s < night.sleep_onset_s + 180
    ]
    assert near_onset and all(e.sleep_onset for e in near_onset)


def test_quiet_breathing_and_heartbeat_give_no_events() -> None:
    # An ADXL345's noise and quantisation, and an ADXL355's (where the heartbeat stands out).
    for seed, density, lsb in ((21, 300.0, 0.0039), (22, 25.0, 0.0)):
        params = NightParams(
            jerk_rate_scale=0, limb_rate_scale=0, posture_rate_scale=0, wake_fidget_rate_scale=0,
            noise_density_ug_rthz=density, lsb_g=lsb,
        )
        night = SimulatedNight(seed=seed, rate_hz=200.0, duration_s=1800.0, start="onset",
                               params=params)
        # Everything up to getting out of bed: breathing, heartbeat and noise only.
        assert [t.type for t in night.truth] == ["bed_exit"]
        assert detect(night, until_s=night.bed_exit_s - 5.0) == []


def test_block_size_does_not_change_events_on_a_simulated_night() -> None:
    night = SimulatedNight(seed=31, rate_hz=100.0, duration_s=900.0, start="onset")
    reference = detect(night, block_s=60.0)
    assert any(e.type == "jerk" for e in reference)
    assert detect(night, block_s=0.25) == reference
    assert detect(night, block_s=1 / night.rate_hz) == reference


def test_onsets_land_within_50_ms_of_the_truth(onset_nights) -> None:
    errors = []
    for night, events in onset_nights:
        for e in events:
            label = matching(e, night.truth)
            if e.type == "jerk" and label is not None and label.type == "jerk":
                errors.append(abs(e.onset_s - label.onset_s))
    assert errors and float(np.median(errors)) <= 0.05 and max(errors) <= 0.1


def test_getting_in_and_out_of_bed_are_found_within_5_s() -> None:
    night = SimulatedNight(seed=41, rate_hz=100.0, duration_s=1800.0, start="evening")
    events = detect(night)
    entries = [e for e in events if e.type == "bed_entry"]
    exits = [e for e in events if e.type == "bed_exit"]
    assert len(entries) == 1 and abs(entries[0].onset_s - night.bed_entry_s) <= 5.0
    assert len(exits) == 1 and abs(exits[0].onset_s - night.bed_exit_s) <= 5.0
    assert not any(e.type == "posture_change" and abs(e.onset_s - night.bed_entry_s) < 15
                   for e in events)


def flicker_noise(n: int, rate_hz: float, rms_g: float, seed: int) -> np.ndarray:
    """1/f ("flicker") noise on each of three axes: its power falls as 1/f above 0.05 Hz, as
    many MEMS chips' noise rises below a few hertz over what their white noise density says."""
    rng = np.random.default_rng(seed)
    f = np.fft.rfftfreq(n, 1.0 / rate_hz)
    spectrum = rng.normal(size=(3, len(f))) + 1j * rng.normal(size=(3, len(f)))
    spectrum /= np.sqrt(f / 0.05 + 1.0)
    spectrum[:, 0] = 0.0
    x = np.fft.irfft(spectrum, n)
    return (x * (rms_g / x.std(axis=1, keepdims=True))).T


def test_bed_entry_and_exit_are_found_on_a_chip_with_flicker_noise() -> None:
    """Flicker noise sways an empty bed's signal at breathing's pace more than the chip's
    white noise predicts, but without a rhythm: the bed is still heard as empty, and getting
    in and out are still found."""
    night = SimulatedNight(seed=41, rate_hz=100.0, duration_s=1800.0, start="evening")
    t, acc = night.render(0, night.n_samples)
    acc = acc + flicker_noise(len(t), night.true_rate_hz, 0.25 * night.noise_rms_g, seed=5)
    detector = Detector()
    n = int(60 * night.rate_hz)
    events = [e for first in range(0, len(t), n) for e in detector.feed(
        Block(t[first : first + n], acc[first : first + n], night.true_rate_hz))]
    events += detector.finish()
    entries = [e for e in events if e.type == "bed_entry"]
    exits = [e for e in events if e.type == "bed_exit"]
    assert len(entries) == 1 and abs(entries[0].onset_s - night.bed_entry_s) <= 5.0
    assert len(exits) == 1 and abs(exits[0].onset_s - night.bed_exit_s) <= 5.0


def test_an_empty_bed_is_heard_on_a_chip_with_strong_flicker_noise() -> None:
    # The simulator's own flicker noise at 15-35 % of the white noise's rms: the empty bed's
    # swing ratios spread from about 1.5 to 7, each with no rhythm.
    params = replace(scenario_params("typical", "lsm6ds3trc"),
                     flicker_noise_ratio=(0.15, 0.35))
    night = SimulatedNight(911, CHIP_SENSORS["lsm6ds3trc"].rate_hz(400.0), 5400.0, "evening",
                           params)
    events = detect(night)
    entries = [e for e in events if e.type == "bed_entry"]
    exits = [e for e in events if e.type == "bed_exit"]
    assert len(entries) == 1 and abs(entries[0].onset_s - night.bed_entry_s) <= 5.0
    assert len(exits) == 1 and abs(exits[0].onset_s - night.bed_exit_s) <= 5.0


def test_periodic_limb_movements_make_a_series_and_an_index() -> None:
    # Limb movements only, strong enough to find on an ADXL345: the series is found whole.
    params = NightParams(jerk_rate_scale=0, posture_rate_scale=0, plm_series_per_8h=(12, 12),
                         plm_count=(10, 10), limb_peak_g=(0.02, 0.04))
    night = SimulatedNight(seed=42, rate_hz=100.0, duration_s=5400.0, start="onset",
                           params=params)
    detector = Detector()
    n = int(60 * night.rate_hz)
    for first in range(0, night.n_samples, n):
        t, acc = night.render(first, min(n, night.n_samples - first))
        detector.feed(Block(t, acc, night.true_rate_hz))
    detector.finish()
    truth = [e for e in night.truth if e.type == "limb_movement" and e.series is not None]
    assert len(truth) >= 8
    s = detector.summary()
    assert s["plm_series"] and sum(x["count"] for x in s["plm_series"]) >= 0.8 * len(truth)
    assert s["plm_index"] is not None and s["plm_index"] > 0
