"""The streaming detector on hand-made signals: invariance, gaps, memory, thresholds."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from hypnic.daemon.detect import Detector, DetectorSettings
from hypnic.daemon.detect.detector import threshold_factor
from hypnic.daemon.events import Event
from hypnic.drivers.base import Block

RATE_HZ = 200.0


def quiet_bed(duration_s: float, seed: int = 0, rate_hz: float = RATE_HZ,
              noise_g: float = 0.003) -> tuple[np.ndarray, np.ndarray]:
    """Gravity on a tilted axis, breathing as a slow tilt, white sensor noise (3 mg rms)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * rate_hz)) / rate_hz
    acc = np.tile([0.05, -0.3, 0.95], (len(t), 1))
    acc[:, 0] += 0.002 * np.sin(2 * np.pi * 0.25 * t) + 0.0007 * np.sin(2 * np.pi * 0.5 * t)
    acc += rng.normal(0.0, noise_g, acc.shape)
    return t, acc


def add_jerk(t: np.ndarray, acc: np.ndarray, onset_s: float, peak_g: float) -> None:
    """A muscle burst ringing the mattress at 6 Hz, decaying within half a second."""
    tt = t - onset_s
    on = (tt >= 0) & (tt < 0.8)
    ring = peak_g * np.exp(-tt[on] / 0.12) * np.sin(2 * np.pi * 6 * tt[on])
    acc[on] += np.outer(ring, [0.2, 0.3, 0.93])


def run(t: np.ndarray, acc: np.ndarray, block_n: int, gaps: np.ndarray | None = None,
        rate_hz: float = RATE_HZ, settings: DetectorSettings | None = None) -> list[Event]:
    detector = Detector(settings)
    gap = np.zeros(len(t), bool) if gaps is None else gaps
    events: list[Event] = []
    for i in range(0, len(t), block_n):
        events += detector.feed(Block(t[i : i + block_n], acc[i : i + block_n], rate_hz,
                                      gap[i : i + block_n]))
    return events + detector.finish()


@pytest.fixture(scope="module")
def night_with_jerks() -> tuple[np.ndarray, np.ndarray, list[float]]:
    t, acc = quiet_bed(240.0)
    onsets = [40.0, 80.37, 120.5, 181.0, 220.01]
    for i, onset in enumerate(onsets):
        add_jerk(t, acc, onset, 0.03 + 0.05 * i)
    return t, acc, onsets


def test_jerks_are_found_with_onset_within_50_ms(night_with_jerks) -> None:
    t, acc, onsets = night_with_jerks
    events = run(t, acc, 4096)
    assert [e.type for e in events] == ["jerk"] * len(onsets)
    for event, onset in zip(events, onsets, strict=True):
        assert abs(event.onset_s - onset) <= 0.05
        assert event.duration_s < 1.0
        assert 0 < event.intensity <= 10 and event.peak_jerk_g_s > 0


def test_same_events_whatever_the_block_size(night_with_jerks) -> None:
    t, acc, _ = night_with_jerks
    reference = run(t, acc, int(60 * RATE_HZ))
    assert reference
    assert run(t, acc, 25) == reference
    assert run(t, acc, 1) == reference
    assert run(t, acc, 977) == reference


def test_quiet_breathing_gives_no_events() -> None:
    t, acc = quiet_bed(1200.0, seed=5)
    assert run(t, acc, 4096) == []


def test_a_gap_is_not_a_jerk() -> None:
    # Twenty seconds lost to a FIFO overrun, and the chip came back with a different offset
    # (a large one: a weak step that tilts gravity would not be the sleeper's anyway).
    t, acc = quiet_bed(120.0)
    keep = (t < 50.0) | (t >= 70.0)
    t, acc = t[keep], acc[keep].copy()
    acc[t >= 70.0] += [0.06, -0.045, 0.03]
    gaps = np.zeros(len(t), bool)
    gaps[np.searchsorted(t, 70.0)] = True
    assert run(t, acc, 1000, gaps) == []
    # Without the gap marker, the step in the signal is exactly what a detector would fire on.
    assert run(t, acc, 1000) != []


def test_event_open_across_a_gap_is_closed_before_it() -> None:
    t, acc = quiet_bed(120.0)
    add_jerk(t, acc, 59.8, 0.2)
    keep = (t < 60.0) | (t >= 61.0)
    t, acc = t[keep], acc[keep]
    gaps = np.zeros(len(t), bool)
    gaps[np.searchsorted(t, 61.0)] = True
    events = run(t, acc, 512, gaps)
    assert len(events) == 1 and events[0].offset_s < 60.0


def test_times_come_from_the_timestamps_not_a_nominal_rate() -> None:
    # A chip running 3 % fast: sample k is at k / 206 s while the nominal rate says 200 Hz.
    t, acc = quiet_bed(100.0, rate_hz=206.0)
    add_jerk(t, acc, 77.7, 0.1)
    events = run(t, acc, 300, rate_hz=200.0)
    assert len(events) == 1 and abs(events[0].onset_s - 77.7) <= 0.05


def test_sensitivity_orders_the_thresholds() -> None:
    factors = [threshold_factor(s) for s in range(1, 11)]
    assert factors == sorted(factors, reverse=True)
    t, acc = quiet_bed(200.0)
    add_jerk(t, acc, 100.0, 0.012)  # a faint jerk, a few times the noise
    low = run(t, acc, 2000, settings=DetectorSettings(sensitivity=1))
    high = run(t, acc, 2000, settings=DetectorSettings(sensitivity=10))
    assert len(low) == 0 and len(high) == 1


def test_noise_alone_gives_no_movements_even_at_the_highest_sensitivity() -> None:
    for seed in range(3):
        t, acc = quiet_bed(600.0, seed=seed)
        assert run(t, acc, 2000, settings=DetectorSettings(sensitivity=10)) == []


def test_memory_does_not_grow_with_the_length_of_the_night() -> None:
    t, acc = quiet_bed(600.0)
    detector = Detector()
    block_n = 2000

    def feed_minutes(minutes: int) -> None:
        for _ in range(minutes // 10):
            for i in range(0, len(t), block_n):
                detector.feed(Block(t[i : i + block_n] + offset[0], acc[i : i + block_n], RATE_HZ))
            offset[0] += 600.0

    offset = [0.0]
    tracemalloc.start()
    feed_minutes(20)
    after_short, _ = tracemalloc.get_traced_memory()
    feed_minutes(120)
    after_long, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert after_long - after_short < 200_000


@pytest.mark.parametrize("phase_s", [0.0, 0.2, 0.4, 0.6, 0.8])
def test_close_jerks_are_both_found_wherever_the_frame_boundary_falls(phase_s: float) -> None:
    t, acc = quiet_bed(120.0)
    onsets = [60.0 + phase_s, 61.5 + phase_s]
    for onset in onsets:
        add_jerk(t, acc, onset, 0.05)
    events = run(t, acc, 4096)
    assert len(events) == 2
    for event, onset in zip(events, onsets, strict=True):
        assert abs(event.onset_s - onset) <= 0.05


def test_a_noisy_last_sample_before_a_gap_is_not_a_jerk() -> None:
    # The filters finish the samples before a gap by holding the last one; an outlier there
    # must not read as motion.
    t, acc = quiet_bed(120.0)
    keep = (t < 60.39) | (t >= 70.0)
    t, acc = t[keep], acc[keep].copy()
    last = np.searchsorted(t, 60.39) - 1
    acc[last] += [0.0, 0.0, 0.015]
    gaps = np.zeros(len(t), bool)
    gaps[last + 1] = True
    assert run(t, acc, 1000, gaps) == []


def test_merged_jerks_keep_the_first_onset() -> None:
    t, acc = quiet_bed(120.0)
    add_jerk(t, acc, 60.0, 0.05)
    add_jerk(t, acc, 60.9, 0.06)  # close enough to merge, and a little stronger
    events = run(t, acc, 4096)
    assert events and abs(events[0].onset_s - 60.0) <= 0.05


def test_remeasuring_the_noise_floor_forgets_it_and_learns_it_again() -> None:
    from hypnic.daemon.detect.floor import UPDATE_FRAMES, WARMUP_FRAMES

    rate = 200.0
    rng = np.random.default_rng(5)
    detector = Detector()
    n = int(rate * 120)

    def block(first: int, count: int, sigma_g: float) -> Block:
        t = np.arange(first, first + count) / rate
        acc = rng.normal(0.0, sigma_g, (count, 3)) + np.array([0.0, 0.0, 1.0])
        return Block(t, acc, rate)

    detector.feed(block(0, n, 0.002))
    quiet = detector.noise_floor_g
    assert quiet is not None
    detector.remeasure_noise_floor()
    assert detector.noise_floor_g is None  # unknown: nothing is detected meanwhile
    # After enough frames of a noisier sensor, the floor is learnt again, and higher.
    frames_s = 2.0 * (WARMUP_FRAMES + 2 * UPDATE_FRAMES)
    detector.feed(block(n, int(rate * frames_s), 0.006))
    again = detector.noise_floor_g
    assert again is not None and again > 2 * quiet


def _learn_floor(env: np.ndarray) -> np.ndarray:
    """The floor in force for each block of an envelope (20 ms blocks, so 2 s frames), fed
    10 s at a time."""
    from hypnic.daemon.detect.floor import NoiseFloors

    floors = NoiseFloors(1)
    frame = np.arange(len(env)) // 100
    return np.concatenate([np.repeat(*floors.frame_floors(frame[i : i + 500],
                                                          env[None, i : i + 500]), axis=1)[0]
                           for i in range(0, len(env), 500)])


def test_the_floor_follows_a_louder_still_bed_within_a_minute() -> None:
    """Someone lies down on an empty bed: their heartbeat lifts the still signal above the
    empty bed's noise, and the floor must follow before the beats are called movements."""
    rng = np.random.default_rng(3)
    empty_s, occupied_s = 300, 120
    t_s = np.arange((empty_s + occupied_s) * 50) / 50.0
    env = np.where(t_s < empty_s, 0.0003, 0.0015) * rng.uniform(0.8, 1.2, len(t_s))
    learnt = _learn_floor(env)
    assert np.nanmax(learnt[t_s < empty_s]) < 0.0004
    # Within a minute the floor is the occupied bed's, not the empty bed's.
    assert learnt[t_s >= empty_s + 60].min() > 0.0011


def test_the_floor_stands_at_quick_breaths_whose_pauses_fill_whole_frames(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A breath in one second of every six leaves two frames in three without one: the floor
    must stand at the breaths (else each crosses the threshold), yet over steady noise it
    must stay within a few percent of where the single frames put it."""
    from hypnic.daemon.detect import floor

    rng = np.random.default_rng(5)
    t_s = np.arange(600 * 50) / 50.0
    noise = np.abs(rng.normal(0.0, 0.001, len(t_s)))
    breaths = noise + np.where(t_s % 6.0 < 1.0, 0.005, 0.0)
    settled = t_s >= 60.0
    with_breath_floor = _learn_floor(noise)[settled]
    assert _learn_floor(breaths)[settled].min() > 0.005
    monkeypatch.setattr(floor, "BREATH_SHARE", 0.0)  # single frames only
    frames_only = _learn_floor(noise)[settled]
    assert _learn_floor(breaths)[settled].max() < 0.003  # at the pauses' noise
    ratio = with_breath_floor / frames_only
    assert np.median(ratio) < 1.06 and ratio.max() < 1.1
