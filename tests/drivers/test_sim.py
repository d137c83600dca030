"""The simulated night: determinism, physics within its stated ranges, labels, and pacing."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict

import numpy as np
import pytest
from numpy.typing import NDArray

from hypnic.drivers.sim import NightParams, SimulatedNight, TruthEvent

F64 = NDArray[np.float64]
#: Only getting in and out of bed: nothing else moves.
QUIET = NightParams(jerk_rate_scale=0.0, limb_rate_scale=0.0, posture_rate_scale=0.0,
                    wake_fidget_rate_scale=0.0)
NOISELESS = NightParams(noise_density_ug_rthz=0.0, lsb_g=0.0)
EIGHT_H_S = 8 * 3600.0


def short_night(seed: int = 1, **kwargs: object) -> SimulatedNight:
    args: dict[str, object] = {"rate_hz": 100.0, "duration_s": 1800.0, **kwargs}
    return SimulatedNight(seed, **args)  # type: ignore[arg-type]


def index_at(night: SimulatedNight, t_s: float) -> int:
    return math.ceil((t_s - night.start_s) * night.true_rate_hz)


def render_span(night: SimulatedNight, lo_s: float, hi_s: float) -> tuple[F64, F64]:
    first = max(0, index_at(night, lo_s))
    last = min(night.n_samples, index_at(night, hi_s))
    return night.render(first, last - first)


def in_bed_quiet_span(night: SimulatedNight, length_s: float) -> tuple[float, float]:
    """A stretch of ``length_s`` well inside the bed-occupied time of a QUIET night."""
    entry = next(e for e in night.truth if e.type == "bed_entry")
    lo = entry.offset_s + 20.0
    assert lo + length_s < night.bed_exit_s - 5.0
    return lo, lo + length_s


def band(x: F64, rate_hz: float, lo_hz: float, hi_hz: float) -> F64:
    """Zero-phase FFT band-pass of each column."""
    spec = np.fft.rfft(x - x.mean(axis=0), axis=0)
    f = np.fft.rfftfreq(len(x), 1.0 / rate_hz)
    spec[(f < lo_hz) | (f > hi_hz)] = 0.0
    return np.fft.irfft(spec, n=len(x), axis=0)


def angle_deg(u: F64, v: F64) -> float:
    c = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))
    return math.degrees(math.acos(min(1.0, c)))


# --- determinism -----------------------------------------------------------------------


def test_same_seed_gives_identical_samples_and_labels() -> None:
    a, b = short_night(3), short_night(3)
    ta, acc_a = a.render(0, a.n_samples)
    tb, acc_b = b.render(0, b.n_samples)
    assert np.array_equal(ta, tb)
    assert np.array_equal(acc_a, acc_b)
    assert a.truth == b.truth
    assert a.true_rate_hz == b.true_rate_hz


def test_different_seeds_differ() -> None:
    a, b = short_night(1), short_night(2)
    n = min(a.n_samples, b.n_samples)
    assert not np.array_equal(a.render(0, n)[1], b.render(0, n)[1])
    assert a.truth != b.truth
    assert a.true_rate_hz != b.true_rate_hz
    assert not np.allclose(a.mount_rotation, b.mount_rotation)


@pytest.mark.parametrize("chunk_n", [1, 37, 5000])
def test_render_in_chunks_is_bit_identical(chunk_n: int) -> None:
    kwargs: dict[str, object] = {"start": "onset", "rate_hz": 200.0}
    reference = short_night(5, **kwargs)
    # A span crossing internal chunk boundaries, with labelled movements inside it.
    event = reference.truth[0]
    first = index_at(reference, event.onset_s - 20.0)
    n = 16_000
    assert any(first <= index_at(reference, e.onset_s) < first + n for e in reference.truth)
    t_one, acc_one = reference.render(first, n)

    fresh = short_night(5, **kwargs)
    pieces = [fresh.render(i, min(chunk_n, first + n - i)) for i in range(first, first + n, chunk_n)]
    assert np.array_equal(np.concatenate([p[0] for p in pieces]), t_one)
    assert np.array_equal(np.concatenate([p[1] for p in pieces]), acc_one)


def test_render_order_does_not_matter() -> None:
    night = short_night(6)
    forward = night.render(0, 30_000)[1]
    backward = short_night(6)
    parts = [backward.render(i, 3_000)[1] for i in range(27_000, -1, -3_000)]
    assert np.array_equal(np.concatenate(parts[::-1]), forward)


def test_render_rejects_samples_outside_the_night() -> None:
    night = short_night()
    with pytest.raises(ValueError):
        night.render(-1, 10)
    with pytest.raises(ValueError):
        night.render(night.n_samples - 5, 10)
    t, acc = night.render(night.n_samples - 5, 5)
    assert len(t) == 5 and acc.shape == (5, 3)
    assert night.render(0, 0)[1].shape == (0, 3)


@pytest.mark.parametrize(
    "kwargs",
    [{"seed": -1}, {"start": "noon"}, {"duration_s": 30.0}, {"rate_hz": 0.0}],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"seed": 1, "rate_hz": 100.0, "duration_s": 600.0, **kwargs}
    with pytest.raises(ValueError):
        SimulatedNight(**args)  # type: ignore[arg-type]


# --- clock ---------------------------------------------------------------------------------


def test_time_axis_runs_at_the_true_rate() -> None:
    night = short_night(4)
    t, _ = night.render(0, night.n_samples)
    assert t[0] == night.start_s == 0.0
    step = np.diff(t)
    assert (step > 0).all()
    assert np.allclose(step, 1.0 / night.true_rate_hz, rtol=1e-6)
    assert t[-1] < night.start_s + night.duration_s <= t[-1] + 1.5 / night.true_rate_hz
    errors = [SimulatedNight(s, 100.0, 600.0).true_rate_hz / 100.0 - 1.0 for s in range(20)]
    assert max(abs(e) for e in errors) <= 0.02
    assert max(errors) - min(errors) > 0.01  # the error really is drawn, not fixed


# --- physics -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_in_bed_gravity_is_one_g(seed: int) -> None:
    night = short_night(seed, params=QUIET)
    _, acc = render_span(night, *in_bed_quiet_span(night, 120.0))
    assert np.linalg.norm(acc.mean(axis=0)) == pytest.approx(1.0, abs=0.02)
    assert np.linalg.norm(acc, axis=1).mean() == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize(
    ("rate_hz", "params", "tolerance"),
    [(100.0, NightParams(lsb_g=0.0), 0.05), (200.0, NightParams(), 0.2),
     (400.0, NightParams(noise_density_ug_rthz=150.0, lsb_g=0.0), 0.05)],
)
def test_empty_bed_noise_matches_the_density(rate_hz: float, params: NightParams,
                                             tolerance: float) -> None:
    night = short_night(7, rate_hz=rate_hz, params=params)
    assert night.bed_entry_s > 55.0
    _, acc = render_span(night, 0.0, 55.0)
    expected = params.noise_density_ug_rthz * 1e-6 * math.sqrt(night.true_rate_hz / 2)
    assert acc.std(axis=0) == pytest.approx([expected] * 3, rel=tolerance)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_breathing_dominates_below_1_hz_in_bed(seed: int) -> None:
    night = short_night(seed, params=QUIET)
    rate = night.true_rate_hz
    _, acc = render_span(night, *in_bed_quiet_span(night, 300.0))
    slow = band(acc, rate, 0.0, 1.0)
    axis = int(np.argmax(slow.std(axis=0)))
    spectrum = np.abs(np.fft.rfft(slow[:, axis]))
    f = np.fft.rfftfreq(len(slow), 1.0 / rate)
    spectrum[f < 0.05] = 0.0
    assert 0.2 <= f[int(np.argmax(spectrum))] <= 1 / 3
    # ... and it is the sleeper's: the empty bed has only noise there.
    _, empty = render_span(night, 0.0, 55.0)
    in_band = band(acc, rate, 0.15, 0.45).std(axis=0).max()
    assert in_band > 1.4 * band(empty, rate, 0.15, 0.45).std(axis=0).max()
    # Breathing moves the surface by about a milligram (0.3-2 mg tilt, 0.3-2 mg vertical).
    assert 0.0002 < slow.std(axis=0).max() < 0.003


def test_heartbeat_rings_the_bed_50_to_70_times_a_minute() -> None:
    params = NightParams(noise_density_ug_rthz=0.0, lsb_g=0.0, jerk_rate_scale=0.0,
                         limb_rate_scale=0.0, posture_rate_scale=0.0,
                         wake_fidget_rate_scale=0.0)
    night = short_night(2, params=params)
    rate = night.true_rate_hz
    _, acc = render_span(night, *in_bed_quiet_span(night, 120.0))
    fast = np.linalg.norm(band(acc, rate, 3.0, 20.0), axis=1)
    assert 0.0002 < fast.max() < 0.0015
    envelope = np.convolve(fast, np.ones(10) / 10, mode="same")
    envelope -= envelope.mean()
    corr = np.correlate(envelope, envelope, mode="full")[len(envelope) - 1 :]
    lags_s = np.arange(len(corr)) / rate
    window = (lags_s > 0.6) & (lags_s < 1.6)
    period_s = lags_s[window][int(np.argmax(corr[window]))]
    assert 60 / 72 <= period_s <= 60 / 48


def test_posture_change_moves_the_gravity_direction() -> None:
    params = NightParams(jerk_rate_scale=0.0, limb_rate_scale=0.0)
    night = SimulatedNight(8, 50.0, EIGHT_H_S, params=params)
    truth = night.truth
    moved, stayed = 0, 0
    for before, event, after in zip(truth, truth[1:], truth[2:], strict=False):
        if event.type != "posture_change":
            continue
        if event.onset_s - before.offset_s < 25 or after.onset_s - event.offset_s < 25:
            continue
        _, pre = render_span(night, event.onset_s - 22.0, event.onset_s - 2.0)
        _, post = render_span(night, event.offset_s + 2.0, event.offset_s + 22.0)
        assert 0.25 < angle_deg(pre.mean(axis=0), post.mean(axis=0)) < 3.3
        moved += 1
        if after.onset_s - event.offset_s > 45:
            # The same comparison with nothing in between: gravity stays put.
            _, still = render_span(night, event.offset_s + 22.0, event.offset_s + 42.0)
            assert angle_deg(post.mean(axis=0), still.mean(axis=0)) < 0.05
            stayed += 1
    assert moved >= 3 and stayed >= 1


@pytest.mark.parametrize("kind", ["jerk", "limb_movement"])
def test_rendered_movements_have_their_labelled_peak(kind: str) -> None:
    night = SimulatedNight(3, 200.0, EIGHT_H_S, params=NOISELESS)
    lo_hz = 1.5 if kind == "jerk" else 0.7
    events = [e for e in night.truth if e.type == kind][:12]
    assert len(events) >= 5
    for e in events:
        _, acc = render_span(night, e.onset_s - 4.0, e.offset_s + 4.0)
        moved = np.linalg.norm(band(acc, night.true_rate_hz, lo_hz, 40.0), axis=1)
        assert 0.6 * e.peak_g < moved.max() < 1.25 * e.peak_g + 0.001, e
        # Before the label the bed is still (only the heartbeat's sub-mg ringing).
        _, calm = render_span(night, e.onset_s - 2.5, e.onset_s - 0.5)
        assert np.linalg.norm(band(calm, night.true_rate_hz, 3.0, 40.0), axis=1).max() < 0.0025


# --- the schedule --------------------------------------------------------------------------


def eight_hour_nights(n: int = 5) -> list[SimulatedNight]:
    return [SimulatedNight(seed, 100.0, EIGHT_H_S) for seed in range(n)]


def test_labels_are_sorted_typed_and_never_overlap() -> None:
    for night in eight_hour_nights():
        truth = night.truth
        assert [e.onset_s for e in truth] == sorted(e.onset_s for e in truth)
        for a, b in itertools.pairwise(truth):
            assert b.onset_s - a.offset_s >= 3.0
        kinds = [e.type for e in truth]
        assert kinds.count("bed_entry") == kinds.count("bed_exit") == 1
        assert truth[0].type == "bed_entry" and truth[-1].type == "bed_exit"
        assert 60.0 <= night.bed_entry_s <= 120.0
        assert 600.0 <= night.sleep_onset_s - night.bed_entry_s <= 1800.0
        assert night.end_s - next(e for e in truth if e.type == "bed_exit").offset_s >= 15.0
        assert night.end_s - night.bed_exit_s <= 60.0 + 8.0
        assert 8 <= kinds.count("posture_change") <= 20
        for e in truth:
            assert 0.0 < e.peak_g < 1.0
            assert e.onset_s < e.offset_s
            if e.type == "posture_change":
                assert 3.0 <= e.duration_s <= 20.0
                assert not night.sleep_onset_s <= e.onset_s <= night.sleep_onset_s + 300.0


def test_sleep_onset_jerks_cluster_at_sleep_onset() -> None:
    counts = []
    for night in eight_hour_nights(8):
        jerks = [e for e in night.truth if e.type == "jerk"]
        onset = [e for e in jerks if e.sleep_onset]
        counts.append(len(onset))
        for e in onset:
            assert night.sleep_onset_s - 600.0 <= e.onset_s <= night.sleep_onset_s + 180.0
            assert 0.015 <= e.peak_g <= 0.4
            assert e.duration_s < 1.0
        sporadic = [e for e in jerks if not e.sleep_onset]
        assert all(e.onset_s > night.sleep_onset_s + 180.0 for e in sporadic)
        hours = (night.bed_exit_s - night.sleep_onset_s) / 3600.0
        assert 0.5 * hours <= len(sporadic) <= 4 * hours
    assert min(counts) >= 2 and max(counts) <= 6
    assert len(set(counts)) > 1


def test_some_sporadic_jerks_are_barely_above_the_noise() -> None:
    smallest = []
    for night in eight_hour_nights(4):
        sporadic = [e.peak_g for e in night.truth if e.type == "jerk" and not e.sleep_onset]
        smallest.append(min(sporadic) / night.noise_rms_g)
    assert min(smallest) < 6.0
    assert all(s >= 3.0 for s in smallest)


def test_periodic_limb_movements_come_in_series() -> None:
    for night in eight_hour_nights(6):
        series: dict[int, list[TruthEvent]] = defaultdict(list)
        for e in night.truth:
            if e.series is not None:
                assert e.type == "limb_movement"
                series[e.series].append(e)
        assert 1 <= len(series) <= 3
        assert sorted(series) == list(range(1, len(series) + 1))
        for members in series.values():
            assert 4 <= len(members) <= 30
            intervals = np.diff([e.onset_s for e in members])
            assert ((intervals >= 15.0) & (intervals <= 40.0)).all()
            assert members[0].onset_s >= night.sleep_onset_s + 300.0
        for e in night.truth:
            if e.type == "limb_movement":
                assert 0.5 <= e.duration_s <= 10.0
                assert 0.004 <= e.peak_g <= 0.04


def test_rate_scales_switch_kinds_off() -> None:
    night = SimulatedNight(2, 100.0, EIGHT_H_S, params=NightParams(jerk_rate_scale=0.0))
    kinds = {e.type for e in night.truth}
    assert "jerk" not in kinds
    assert {"limb_movement", "posture_change"} <= kinds
    quiet = SimulatedNight(2, 100.0, EIGHT_H_S, params=QUIET)
    assert [e.type for e in quiet.truth] == ["bed_entry", "bed_exit"]


def test_onset_start_begins_150_s_before_sleep_onset() -> None:
    night = short_night(9, start="onset")
    evening = short_night(9)
    assert night.start_s == pytest.approx(night.sleep_onset_s - 150.0)
    assert night.sleep_onset_s == evening.sleep_onset_s
    assert night.bed_entry_s < night.start_s
    t, acc = night.render(0, 1000)
    assert t[0] == night.start_s
    assert night.n_samples == pytest.approx(1800.0 * night.true_rate_hz, abs=1)
    assert night.end_s == pytest.approx(night.start_s + 1800.0)
    assert all(night.start_s <= e.onset_s and e.offset_s <= night.end_s for e in night.truth)
    assert "bed_entry" not in {e.type for e in night.truth}
    # Already in bed: breathing is there from the first sample.
    assert band(acc, night.true_rate_hz, 0.1, 1.0).std(axis=0).max() > 0.0002


def test_short_nights_still_have_a_timeline() -> None:
    night = SimulatedNight(1, 50.0, 60.0)
    kinds = [e.type for e in night.truth]
    assert kinds[0] == "bed_entry" and kinds[-1] == "bed_exit"
    assert night.render(0, night.n_samples)[1].shape == (night.n_samples, 3)


def test_truth_event_as_dict_and_validation() -> None:
    e = TruthEvent("limb_movement", 10.0, 12.5, 0.01, series=2)
    d = e.as_dict()
    assert d["duration_s"] == 2.5 and d["series"] == 2 and d["sleep_onset"] is False
    with pytest.raises(ValueError):
        TruthEvent("sneeze", 0.0, 1.0, 0.1)


# --- vocabulary ------------------------------------------------------------------------------


def test_truth_labels_use_the_detectors_event_types() -> None:
    # drivers/ may not import from daemon/ (data flows one way), so the simulator keeps its own
    # copy of the names; this keeps the two from drifting apart.
    from hypnic.daemon.events import EVENT_TYPES
    from hypnic.drivers.sim.truth import TRUTH_TYPES

    assert TRUTH_TYPES == EVENT_TYPES


# --- physics beyond the scenarios (bench/stress.py) --------------------------------------


def test_flicker_noise_raises_the_noise_below_a_few_hertz_only() -> None:
    white = NightParams(lsb_g=0.0)
    flicker = NightParams(lsb_g=0.0, flicker_noise_ratio=(0.5, 0.5))
    spans = [render_span(short_night(7, params=p), 0.0, 55.0)[1] for p in (white, flicker)]
    rate = short_night(7).true_rate_hz
    low = [band(acc, rate, 0.05, 1.0).std(axis=0) for acc in spans]
    high = [band(acc, rate, 10.0, 40.0).std(axis=0) for acc in spans]
    assert np.all(low[1] > 2.0 * low[0])
    assert high[1] == pytest.approx(high[0], rel=0.1)


def test_flicker_noise_renders_the_same_however_the_night_is_cut() -> None:
    params = NightParams(flicker_noise_ratio=(0.3, 0.3))
    whole = short_night(5, params=params).render(0, 20_000)[1]
    fresh = short_night(5, params=params)
    pieces = [fresh.render(i, min(3_333, 20_000 - i))[1] for i in range(0, 20_000, 3_333)]
    assert np.array_equal(np.concatenate(pieces), whole)


def _linearity(x: F64) -> float:
    values = np.linalg.eigvalsh(x.T @ x)
    return float(values[-1] / values.sum())


def _rendered(night: SimulatedNight, kind: str) -> list[F64]:
    out = []
    for event in night.truth:
        if event.type == kind and event.offset_s - event.onset_s < 3.0:
            _, acc = render_span(night, event.onset_s, event.offset_s + 0.3)
            out.append(band(acc, night.true_rate_hz, 0.8, 40.0))
    return out


def test_a_soft_sideways_mode_takes_a_jerk_off_its_line() -> None:
    onset = NightParams(noise_density_ug_rthz=0.0, lsb_g=0.0, limb_rate_scale=0.0,
                        posture_rate_scale=0.0, wake_fidget_rate_scale=0.0)
    sway = NightParams(**{**onset.__dict__, "jerk_sideways_freq_ratio": (0.6, 0.6)})
    kwargs: dict[str, object] = {"start": "onset", "rate_hz": 200.0}
    on_line = [_linearity(x) for x in _rendered(short_night(3, params=onset, **kwargs), "jerk")]
    swaying = [_linearity(x) for x in _rendered(short_night(3, params=sway, **kwargs), "jerk")]
    assert on_line and len(swaying) == len(on_line)
    assert min(on_line) > 0.99
    assert float(np.median(swaying)) < 0.97


def test_a_small_sideways_weight_keeps_limb_movements_on_a_line() -> None:
    limbs = NightParams(noise_density_ug_rthz=0.0, lsb_g=0.0, jerk_rate_scale=0.0,
                        posture_rate_scale=0.0, plm_series_per_8h=(3, 3))
    vertical = NightParams(**{**limbs.__dict__, "limb_sideways_weight": (0.1, 0.1)})
    wander, line = [], []
    for seed in (4, 5, 6):
        wander += [_linearity(x) for x in _rendered(short_night(seed, params=limbs),
                                                    "limb_movement")]
        line += [_linearity(x) for x in _rendered(short_night(seed, params=vertical),
                                                  "limb_movement")]
    assert len(wander) == len(line) >= 6
    assert min(line) > max(wander)
    assert float(np.median(line)) > 0.9 > 0.75 > float(np.median(wander))


def _limb_tilts_deg(night: SimulatedNight) -> list[float]:
    """How far the mean gravity moves across each limb movement with 3 s clear either side
    (the 3 s before it against the 3 s after it)."""
    truth = night.truth
    tilts = []
    for before, event, after in zip(truth, truth[1:], truth[2:], strict=False):
        if event.type != "limb_movement" or event.onset_s - before.offset_s < 4.0 \
                or after.onset_s - event.offset_s < 4.0:
            continue
        _, pre = render_span(night, event.onset_s - 3.0, event.onset_s)
        _, post = render_span(night, event.offset_s, event.offset_s + 3.0)
        tilts.append(angle_deg(pre.mean(axis=0), post.mean(axis=0)))
    return tilts


def test_limb_movements_can_leave_the_load_shifted() -> None:
    quiet = NightParams(noise_density_ug_rthz=0.0, lsb_g=0.0, jerk_rate_scale=0.0,
                        posture_rate_scale=0.0, plm_series_per_8h=(3, 3),
                        breath_tilt_deg=(0.0, 0.0), breath_vertical_g=(0.0, 0.0))
    shifting = NightParams(**{**quiet.__dict__, "limb_tilt_deg": (0.1, 0.1)})
    back = _limb_tilts_deg(short_night(4, params=quiet, duration_s=7200.0))
    moved = _limb_tilts_deg(short_night(4, params=shifting, duration_s=7200.0))
    assert len(back) == len(moved) >= 4
    assert max(back) < 0.01
    assert all(0.09 < t < 0.11 for t in moved)
    # Only the tilt moves: the same night's other postures and labels are as they were.
    assert short_night(4, params=quiet).truth == short_night(4, params=shifting).truth


# --- breathing awake and asleep -----------------------------------------------------------


def _rate_spread_bpm(night: SimulatedNight, lo_s: float, hi_s: float) -> float:
    """How much the breathing rate wanders breath to breath: its spread around a 2 min mean."""
    t = np.arange(lo_s, hi_s, 0.5)
    rate = night.rhythms.breathing.rate_hz(t) * 60.0
    smooth = np.convolve(rate, np.ones(240) / 240, mode="same")
    return float(np.std((rate - smooth)[240:-240]))


def test_awake_breathing_is_less_regular_than_asleep() -> None:
    params = NightParams(wake_breath_rate_jitter_bpm=(2.0, 2.0),
                         breathing_settles_s=(120.0, 120.0))
    night = short_night(5, params=params, duration_s=5400.0)
    entry = next(e for e in night.truth if e.type == "bed_entry")
    onset = night.sleep_onset_s
    awake = _rate_spread_bpm(night, entry.offset_s, onset)
    asleep = _rate_spread_bpm(night, onset + 300.0, onset + 1500.0)
    assert awake > 2.5 * asleep
    # The labels follow it: the labelled rate is the breathing's own.
    calm = short_night(5, params=NightParams(**{**params.__dict__, "wake_breathing_scale": 0.0}),
                       duration_s=5400.0)
    assert _rate_spread_bpm(calm, entry.offset_s, onset) == pytest.approx(asleep, rel=0.5)
    t = np.array([onset - 600.0, onset + 900.0])
    labelled, calm_labelled = night.rhythms.respiration_bpm(t), calm.rhythms.respiration_bpm(t)
    assert labelled[0] != pytest.approx(calm_labelled[0], abs=0.01)
    assert labelled[1] == pytest.approx(calm_labelled[1], abs=1e-6)


def test_a_sigh_tilts_the_bed_further_without_a_sharper_push() -> None:
    base = {**QUIET.__dict__, "wake_breath_rate_jitter_bpm": (0.0, 0.0), "wake_breath_depth_jitter": (0.0, 0.0),
            "sigh_depth": (1.5, 1.5)}
    night = short_night(3, params=NightParams(**{**base, "wake_sighs_per_h": (60.0, 60.0)}),
                        duration_s=3600.0)
    sighs = night.rhythms.breathing.wake.sigh_s
    entry = next(e for e in night.truth if e.type == "bed_entry")
    alone = [float(s) for s in sighs if entry.offset_s + 30.0 < s < night.sleep_onset_s - 30.0
             and np.sum(np.abs(sighs - s) < 20.0) == 1]
    assert alone
    sigh = alone[0]
    t = np.linspace(sigh - 10.0, sigh + 10.0, 2001)
    disp, acc, _ = night.rhythms.breathing.waveforms(t)
    away = np.abs(t - sigh) > 6.0
    assert np.abs(disp[~away]).max() > 1.8 * np.abs(disp[away]).max()
    assert np.abs(acc[~away]).max() < 1.3 * np.abs(acc[away]).max()
