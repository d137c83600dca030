"""The night figures on hand-made beds: presence, bed entry and exit, breathing and heart rate,
sleep starts, what is not the sleeper's, and the contract's summary keys."""

from __future__ import annotations

import tracemalloc

import pytest
from bedsignal import Bed

from hypnic.daemon.detect import Detector, DetectorSettings
from hypnic.daemon.detect.baseline import Baseline
from hypnic.drivers.base import Block

#: Every key the detection contract promises in summary().
CONTRACT_KEYS = {
    "duration_s", "samples", "lost_samples", "gaps", "counts", "rate_hz", "noise_floor_g",
    "in_bed", "bed_entry_s", "bed_exit_s", "time_in_bed_s", "sleep_onset_s",
    "sleep_onset_latency_s", "time_asleep_s", "restlessness", "plm_index", "plm_series",
    "plm_rule", "jerk_runs", "jerk_clusters", "respiration_rate_bpm", "respiration_confidence",
    "heart_rate_bpm", "heart_rate_confidence", "unusual", "unusual_reasons",
}


@pytest.fixture(scope="module")
def evening() -> tuple[list, Detector, list[dict]]:
    """An empty bed for a minute; getting in (1.5° of tilt); breathing at 15/min and a heart
    at 62 bpm (an ADXL355's noise); a jerk, a limb movement, turning over, two jerks 0.9 s
    apart; getting out at 400 s."""
    bed = Bed(480, noise_g=0.0003, seed=1)
    bed.breathe(15, start_s=70, end_s=400).heartbeat(62, start_s=70, end_s=400)
    bed.tilt(60, 1.5, over_s=6, peak_g=0.3)
    bed.jerk(150, 0.05).limb(200, 3, 0.02).tilt(260, 1.0, over_s=5, peak_g=0.15)
    bed.jerk(300, 0.08).jerk(300.9, 0.06)
    bed.tilt(400, -2.5, over_s=5, peak_g=0.3)
    return bed.run(every_s=10)


def test_summary_has_every_contract_key_from_the_start() -> None:
    detector = Detector()
    assert set(detector.summary()) == CONTRACT_KEYS
    assert detector.summary()["in_bed"] is None and detector.summary()["plm_series"] == []


def test_getting_in_and_out_are_bed_events(evening) -> None:
    events, detector, _ = evening
    assert [e.type for e in events] == [
        "bed_entry", "jerk", "limb_movement", "posture_change", "jerk", "jerk", "bed_exit"]
    entry, exit_ = events[0], events[-1]
    assert abs(entry.onset_s - 60.0) <= 2.0 and abs(exit_.onset_s - 400.0) <= 2.0
    s = detector.summary()
    assert s["bed_entry_s"] == round(entry.onset_s, 3)
    assert s["bed_exit_s"] == round(exit_.onset_s, 3)
    assert abs(s["time_in_bed_s"] - 340.0) <= 4.0
    assert set(s) == CONTRACT_KEYS


def test_presence_follows_the_bed(evening) -> None:
    _, _, summaries = evening
    for s in summaries:
        # At first it takes two epochs of breathing evidence to know the bed is empty.
        if s["t_s"] <= 55:
            assert s["in_bed"] is not True
        elif 80 <= s["t_s"] <= 395:
            assert s["in_bed"] is True
        elif s["t_s"] >= 445:
            # Getting out is confirmed by the breathing that stops after it (an epoch later).
            assert s["in_bed"] is False


def test_breathing_and_heart_rate_are_published_in_bed_only(evening) -> None:
    _, _, summaries = evening
    inside = [s for s in summaries if 160 <= s["t_s"] <= 395]
    assert all(s["respiration_rate_bpm"] is not None for s in inside)
    assert all(abs(s["respiration_rate_bpm"] - 15.0) <= 1.0 for s in inside)
    heart = [s["heart_rate_bpm"] for s in inside if s["heart_rate_bpm"] is not None]
    assert len(heart) >= 0.8 * len(inside)
    assert all(abs(h - 62.0) <= 2.0 for h in heart)
    for s in summaries:
        if s["t_s"] < 60 or s["t_s"] > 445:
            assert s["respiration_rate_bpm"] is None and s["heart_rate_bpm"] is None


def test_jerks_under_a_second_apart_are_two(evening) -> None:
    events, _, _ = evening
    jerks = [e for e in events if e.type == "jerk" and e.onset_s > 290]
    assert [round(e.onset_s, 1) for e in jerks] == [300.0, 300.9]


def test_jerks_soon_after_getting_in_are_sleep_starts(evening) -> None:
    events, detector, _ = evening
    assert all(e.sleep_onset for e in events if e.type == "jerk")
    s = detector.summary()
    # The last jerks were at 300 s, which puts onset 2 min before them (180 s); but no one
    # falls asleep sooner than 5 min after getting in (at 60.5 s).
    assert s["sleep_onset_s"] == pytest.approx(360.5, abs=1.0)
    assert s["sleep_onset_latency_s"] == pytest.approx(s["sleep_onset_s"] - 60.5, abs=1.0)
    assert s["time_asleep_s"] == pytest.approx(400.9 - s["sleep_onset_s"], abs=2.0)
    assert s["jerk_clusters"] == 1


def test_a_faint_heart_is_heard_along_its_own_direction() -> None:
    # A 0.45 mg beat under an ADXL355's noise (0.3 mg a sample): summed over three axes the
    # noise buried it (no rate published); along the beat's direction it is heard all along.
    bed = Bed(330, noise_g=0.0003, seed=8).breathe(15).heartbeat(58, peak_g=0.00045)
    _, _, summaries = bed.run(every_s=10)
    heart = [s["heart_rate_bpm"] for s in summaries if s["t_s"] >= 150]
    assert heart and all(h is not None and abs(h - 58.0) <= 2.0 for h in heart)


def test_a_noisy_sensor_does_not_publish_a_heart_rate() -> None:
    # An ADXL345's noise (3 mg) buries a 0.8 mg heartbeat; breathing still shows.
    bed = Bed(240, noise_g=0.003, seed=2).breathe(14, tilt_g=0.002).heartbeat(60)
    _, detector, summaries = bed.run(every_s=10)
    assert all(s["heart_rate_bpm"] is None for s in summaries)
    assert detector.summary()["in_bed"] is True
    assert abs(detector.summary()["respiration_rate_bpm"] - 14.0) <= 1.0


@pytest.mark.parametrize("seed", [4, 5])
def test_faint_movements_under_a_noisy_sensor_are_no_heartbeat(seed: int) -> None:
    # A restless leg every 20-odd seconds, mostly too faint (5 mg) to be caught under an
    # ADXL345's noise (3 mg), and a heartbeat the sensor cannot hear: the leg's throbbing
    # passed for a heart rate of 76 or 111 bpm.
    bed = Bed(600, noise_g=0.003, seed=seed).breathe(14, tilt_g=0.002)
    bed.heartbeat(60, peak_g=0.0005)
    at_s = 60.0
    while at_s < 560.0:
        bed.fidget(at_s, bed.rng.uniform(1.0, 9.0), 0.005 * bed.rng.uniform(0.7, 1.3))
        at_s += bed.rng.uniform(18.0, 26.0)
    _, detector, summaries = bed.run(every_s=10)
    assert all(s["heart_rate_bpm"] is None for s in summaries)
    assert detector.summary()["in_bed"] is True
    assert abs(detector.summary()["respiration_rate_bpm"] - 14.0) <= 1.0


def test_an_empty_bed_stays_empty_and_reports_nothing() -> None:
    # Sensor noise, and knocks on the bed frame (a door, footsteps): nobody is in it.
    bed = Bed(300, noise_g=0.003, seed=3)
    for at in (100.0, 140.0, 141.0, 200.0):
        bed.jerk(at, 0.03, direction=(1.0, 0.2, 0.1))
    bed.limb(250, 2.0, 0.03)
    events, detector, _ = bed.run()
    assert events == []
    s = detector.summary()
    assert s["in_bed"] is False and s["time_in_bed_s"] == 0.0
    assert s["respiration_rate_bpm"] is None and s["restlessness"] is None


def test_a_still_sleeper_never_leaves_the_bed() -> None:
    # Faint breathing on a noisy sensor, no movement for ten minutes: in bed all along.
    bed = Bed(600, noise_g=0.003, seed=4).breathe(12, tilt_g=0.0008)
    _, _, summaries = bed.run(every_s=10)
    states = [s["in_bed"] for s in summaries if s["t_s"] >= 60]
    assert states and all(state is True for state in states)


def test_getting_out_onto_a_mattress_that_creeps_back_is_still_a_bed_exit() -> None:
    """A foam mattress takes minutes to return to its empty tilt: getting out that leaves
    it most of the way back, with no breathing after, is a bed exit."""
    bed = Bed(600, noise_g=0.0003, seed=3)
    bed.breathe(15, start_s=70, end_s=400)
    bed.tilt(60, 2.0, over_s=6, peak_g=0.3)
    bed.tilt(400, -1.6, over_s=5, peak_g=0.3)  # 0.4 degrees short of the empty tilt ...
    bed.tilt(406, -0.4, over_s=180, peak_g=0.0)  # ... which it creeps back to in 3 min
    events, detector, _ = bed.run()
    assert [e.type for e in events] == ["bed_entry", "bed_exit"]
    assert abs(events[1].onset_s - 400.0) <= 2.0
    assert detector.summary()["in_bed"] is False



def test_a_light_body_getting_out_just_before_the_end_is_a_bed_exit() -> None:
    """A light body tilts the bed too little for its getting out to class as turning over,
    but the bed goes back to its empty tilt exactly: with half a minute of signal left and
    no breathing in it, that was the bed exit."""
    bed = Bed(460, noise_g=0.0005, seed=1)
    bed.breathe(15, start_s=70, end_s=420)
    bed.tilt(60, 0.3, over_s=5, peak_g=0.2)
    bed.tilt(420, -0.3, over_s=5, peak_g=0.2)
    events, detector, _ = bed.run()
    assert [e.type for e in events] == ["bed_entry", "bed_exit"]
    assert abs(events[1].onset_s - 420.0) <= 2.0
    assert detector.summary()["in_bed"] is False

@pytest.mark.parametrize(("bpm_after", "second"), [(26.0, "bed_exit"), (12.0, "posture_change")])
def test_a_rhythm_after_getting_out_at_another_rate_than_the_sleepers_is_not_them(
        bpm_after: float, second: str) -> None:
    """Back to the empty bed's tilt, and then a faint rhythm: at the sleeper's rate it is them
    (they turned over onto the spot), at a rate far from it it is not (flicker noise on a
    quiet chip can look like one), and they got out."""
    bed = Bed(700, noise_g=0.0003, seed=3)
    bed.breathe(12, start_s=70, end_s=500)
    bed.tilt(60, 2.0, over_s=6, peak_g=0.3)
    bed.tilt(500, -2.0, over_s=5, peak_g=0.3)
    bed.breathe(bpm_after, tilt_g=0.0004, start_s=506)
    events, _, _ = bed.run()
    assert [e.type for e in events] == ["bed_entry", second]
    assert abs(events[1].onset_s - 500.0) <= 2.0


def test_turning_over_that_tilts_away_from_the_empty_bed_is_not_an_exit() -> None:
    bed = Bed(420, noise_g=0.0003, seed=4)
    bed.breathe(15, start_s=70, end_s=420)
    bed.tilt(60, 2.0, over_s=6, peak_g=0.3)
    bed.tilt(250, 1.0, over_s=5, peak_g=0.2)  # further from the empty tilt
    events, detector, _ = bed.run()
    assert [e.type for e in events] == ["bed_entry", "posture_change"]
    assert detector.summary()["in_bed"] is True


def test_getting_in_too_gently_to_tell_is_found_by_the_breathing() -> None:
    """Someone who slides in without a movement the sensor can class as getting in: the
    bed thought empty hears breathing for a minute, and then someone is in bed."""
    bed = Bed(480, noise_g=0.0003, seed=5)
    bed.breathe(15, start_s=120, end_s=480)
    bed.tilt(115, 0.2, over_s=5, peak_g=0.0)  # too little tilt, no movement at all
    _, detector, summaries = bed.run(every_s=10)
    assert all(s["in_bed"] is False for s in summaries if 60 <= s["t_s"] <= 150)
    assert detector.summary()["in_bed"] is True
    assert 300 <= detector.summary()["time_in_bed_s"] <= 380
    assert detector.summary()["respiration_rate_bpm"] == pytest.approx(15, abs=1)



def test_a_light_sleeper_on_a_noisy_sensor_is_found_by_their_faint_breathing() -> None:
    """Getting in tilts the bed too little to tell, and the breathing after it is irregular
    and barely above a noisy sensor's noise: never clear breathing, but never the flat noise
    of an empty bed either. After three minutes of it, the movement was the bed entry."""
    bed = Bed(720, noise_g=0.003, seed=2)
    bed.breathe(14, tilt_g=0.0005, start_s=110, irregular=0.15)
    bed.tilt(100, 0.35, over_s=8, peak_g=0.15)
    events, detector, _ = bed.run()
    assert [e.type for e in events] == ["bed_entry"]
    assert abs(events[0].onset_s - 100.0) <= 2.0
    assert detector.summary()["in_bed"] is True

def test_a_light_body_getting_in_is_a_bed_entry_at_once_though_its_breathing_is_unheard(
        ) -> None:
    """A light body on a firm mattress tilts it by only 0.3°, and its breathing is lost in a
    noisy sensor's noise. But nothing else moves an empty bed by a fifth of a g and leaves it
    tilted at all: that was getting in. A weaker shift of the load, with nobody breathing
    after it, is still not."""
    bed = Bed(400, noise_g=0.003, seed=3)
    bed.tilt(100, 0.3, over_s=6, peak_g=0.2)
    events, detector, _ = bed.run()
    assert [e.type for e in events] == ["bed_entry"]
    assert abs(events[0].onset_s - 100.0) <= 2.0
    assert detector.summary()["in_bed"] is True

    bed = Bed(400, noise_g=0.003, seed=3)
    bed.tilt(100, 0.3, over_s=6, peak_g=0.05)
    events, detector, _ = bed.run()
    assert events == [] and detector.summary()["in_bed"] is False


def test_getting_in_found_late_by_the_breathing_is_the_big_movement_not_a_fidget_after_it(
        ) -> None:
    """Getting in (0.4°, too little to tell at once) is dropped while no breathing is heard;
    a leg fidgets a minute later. Once the breathing is heard, the bed entry is getting in,
    not the later, smaller movement."""
    bed = Bed(600, noise_g=0.0003, seed=4)
    bed.tilt(100, 0.4, over_s=6, peak_g=0.06)
    bed.limb(160, 2.0, 0.02)
    bed.breathe(15, start_s=230)
    events, detector, _ = bed.run()
    assert [e.type for e in events] == ["bed_entry"]
    assert abs(events[0].onset_s - 100.0) <= 2.0
    assert detector.summary()["in_bed"] is True


def test_getting_in_before_the_empty_bed_is_known_is_found_by_the_breathing_it_brings() -> None:
    """The empty bed swings with a faint, wandering rhythm (what flicker noise on a quiet
    chip can look like): never flat enough to say absent, never regular enough to say
    breathing. Then a big movement tilts the bed as getting in does, and the swing after it
    is hundreds of times what it was: that was getting in, not someone there all along."""
    bed = Bed(300, noise_g=0.0003, seed=2)
    bed.breathe(8, tilt_g=0.00006, end_s=62, irregular=0.8)
    bed.tilt(62, 1.5, over_s=6, peak_g=0.3)
    bed.breathe(15, tilt_g=0.002, start_s=68)
    events, detector, _ = bed.run()
    assert [e.type for e in events] == ["bed_entry"]
    assert abs(events[0].onset_s - 62.0) <= 2.0
    assert detector.summary()["bed_entry_s"] == pytest.approx(62.0, abs=2.0)


@pytest.mark.parametrize("entry_s", [45.0, 55.0])
def test_getting_in_as_the_bed_is_found_empty_is_a_bed_entry_at_once(entry_s: float) -> None:
    """Someone gets in as the bed is found empty: before it is known (one absent vote so
    far), or in the very epoch that decides it, so no still epoch has shown the empty bed's
    tilt. The tilt before the movement is the empty bed's. Their breathing under a weakly
    coupled, noisy sensor is never clear enough to vote for them, and their turning over
    later is not taken for getting out."""
    bed = Bed(900, noise_g=0.004, seed=3)
    bed.breathe(14, tilt_g=0.0002, start_s=entry_s + 12)
    bed.tilt(entry_s, 0.8, over_s=10, peak_g=0.25)
    bed.tilt(500, 1.5, over_s=6, peak_g=0.1, axis=(0.0, 1.0, 0.0))
    events, detector, _ = bed.run()
    assert [e.type for e in events] == ["bed_entry", "posture_change"]
    assert abs(events[0].onset_s - entry_s) <= 2.0
    assert detector.summary()["in_bed"] is True


def test_a_partner_shifting_on_the_other_side_is_not_an_event() -> None:
    bed = Bed(300, noise_g=0.0003, seed=5).breathe(15).heartbeat(60)
    bed.tilt(100, 0.15, over_s=4, peak_g=0.008)  # weak, and the load moved a little
    bed.tilt(200, 0.6, over_s=4, peak_g=0.008)   # weak, even if it tilts more
    bed.limb(250, 2.0, 0.008)                    # the sleeper's own leg: no tilt
    events, _, _ = bed.run()
    assert [e.type for e in events] == ["limb_movement"]
    assert abs(events[0].onset_s - 250.0) <= 0.5


def test_leg_movements_that_shift_the_load_are_kept_when_they_are_periodic() -> None:
    # Each of these leg movements leaves the load shifted a little, as a partner turning over
    # does, but they come every 25 s: a periodic series is the sleeper's own. The first ones
    # wait until the series forms, then are reported with it; a shift 100 s after the last
    # is in no series and stays a partner's.
    bed = Bed(520, noise_g=0.0003, seed=5).breathe(15).heartbeat(60)
    onsets = [150.0 + 25.0 * i for i in range(6)]
    for i, onset_s in enumerate(onsets):
        if i in (2, 4):
            bed.limb(onset_s, 2.0, 0.008)  # no shift
        else:
            bed.tilt(onset_s, 0.15, over_s=2.0, peak_g=0.008, axis=(1.0, i % 2, 0.0))
    bed.tilt(onsets[-1] + 100.0, 0.15, over_s=2.0, peak_g=0.008)
    events, detector, _ = bed.run()
    assert [e.type for e in events] == ["limb_movement"] * 6
    # The leg that shifted nothing (at 200 s) is reported at once, before the series forms
    # (so without its id); the two shifts before it wait and come with the fourth.
    assert [e.onset_s for e in events] == pytest.approx([onsets[i] for i in (2, 0, 1, 3, 4, 5)],
                                                        abs=0.5)
    assert [e.series for e in events] == [None, 1, 1, 1, 1, 1]
    assert [s["count"] for s in detector.summary()["plm_series"]] == [6]
    assert detector.summary()["counts"]["limb_movement"] == 6


def test_load_shifts_that_never_make_a_series_are_not_events() -> None:
    # Three shifts 25 s apart, then none: a run that never reaches four is not a series, and
    # none of them is reported. The sleeper's own leg (no shift) still is.
    bed = Bed(400, noise_g=0.0003, seed=6).breathe(15).heartbeat(60)
    for i in range(3):
        bed.tilt(150.0 + 25.0 * i, 0.15, over_s=2.0, peak_g=0.008, axis=(1.0, i % 2, 0.0))
    bed.limb(330, 2.0, 0.008)
    events, detector, _ = bed.run()
    assert [(e.type, round(e.onset_s)) for e in events] == [("limb_movement", 330)]
    assert detector.summary()["plm_series"] == []


@pytest.mark.parametrize("shift_s", [-2.5, 3.0])
def test_a_load_shift_just_before_or_after_a_leg_movement_does_not_break_its_series(
        shift_s: float) -> None:
    # A series of five leg movements 25 s apart, and a shift of the load a few seconds from
    # the third. Taken into the run, it would break the series in two (onsets under 5 s
    # apart end a run) and lose it: the leg movement wins, and the shift is dropped.
    bed = Bed(420, noise_g=0.0003, seed=7).breathe(15).heartbeat(60)
    onsets = [150.0 + 25.0 * i for i in range(5)]
    for onset_s in onsets:
        bed.limb(onset_s, 1.5, 0.008)
    bed.tilt(onsets[2] + shift_s, 0.15, over_s=1.5, peak_g=0.008)
    events, detector, _ = bed.run()
    assert [e.onset_s for e in events] == pytest.approx(onsets, abs=0.5)
    assert [e.series for e in events] == [None, None, None, 1, 1]
    assert [s["count"] for s in detector.summary()["plm_series"]] == [5]


def test_jerks_are_intense_against_the_baseline_and_the_night_is_unusual() -> None:
    baseline = Baseline.from_nights([([0.01, 0.012, 0.011], 7.0)] * 3)
    assert baseline is not None and baseline.jerk_peak_g == pytest.approx(0.011)
    bed = Bed(380, noise_g=0.0005, seed=6).breathe(15)
    for at in (100.0, 130.0, 160.0, 190.0):
        bed.jerk(at, 0.1)
    bed.jerk(320, 0.015)
    events, detector, _ = bed.run(DetectorSettings(baseline=baseline))
    jerks = [e for e in events if e.type == "jerk"]
    assert [e.intense for e in jerks] == [True, True, True, True, False]
    # Four jerks 30 s apart: a periodic run, which the 4th jerk already knows it is in.
    assert [e.series for e in jerks] == [None, None, None, 1, None]
    s = detector.summary()
    assert s["jerk_runs"] == [{"id": 1, "start_s": pytest.approx(100.0, abs=0.1),
                               "end_s": pytest.approx(190.5, abs=0.5), "count": 4}]
    assert s["unusual"] is True
    assert any("more intense" in r for r in s["unusual_reasons"])
    assert "a run of 4 periodic jerks" in s["unusual_reasons"]


def test_without_a_baseline_nothing_is_intense() -> None:
    bed = Bed(200, noise_g=0.0005, seed=7).breathe(15).jerk(120, 0.2)
    events, detector, _ = bed.run()
    assert [e.type for e in events] == ["jerk"] and not events[0].intense
    assert detector.summary()["unusual"] is False


def test_block_size_does_not_change_the_night_figures(evening) -> None:
    bed = Bed(300, noise_g=0.0003, seed=1)
    bed.breathe(15, start_s=40).heartbeat(62, start_s=40).tilt(30, 1.5, peak_g=0.3)
    bed.jerk(150, 0.05).limb(200, 3, 0.02)
    reference = bed.run(block_n=4096)
    for block_n in (37, 1000):
        events, detector, _ = bed.run(block_n=block_n)
        assert events == reference[0]
        assert detector.summary() == reference[1].summary()


def test_memory_of_the_night_figures_is_bounded() -> None:
    # A sleeper breathing, with a heartbeat and a jerk a minute: an hour costs no more
    # memory than the first twenty minutes.
    detector = Detector()
    bed = Bed(60, noise_g=0.0003, seed=8).breathe(15).heartbeat(60).jerk(30, 0.05)
    blocks = bed.blocks(4000)
    offset = 0.0
    sizes = []
    tracemalloc.start()
    for _ in range(3):
        for _ in range(20):
            for b in blocks:
                detector.feed(Block(b.t_s + offset, b.acc_g, b.rate_hz))
            offset += 60.0
        sizes.append(tracemalloc.get_traced_memory()[0])
    tracemalloc.stop()
    assert sizes[-1] - sizes[0] < 200_000
    assert detector.summary()["counts"]["jerk"] >= 55


def test_a_new_night_starts_the_figures_afresh_but_keeps_the_sleeper_in_bed() -> None:
    """A daemon runs for days: at the night boundary the counts, series and time in bed
    start again, while someone lying in bed stays in bed and is still heard breathing."""
    bed = Bed(420, noise_g=0.0003, seed=2)
    bed.breathe(15, start_s=70, end_s=420).heartbeat(62, start_s=70, end_s=420)
    bed.tilt(60, 1.5, over_s=6, peak_g=0.3)
    bed.jerk(150, 0.05).limb(200, 3, 0.02)
    bed.jerk(350, 0.06)
    detector = Detector()
    events = []
    for block in bed.blocks(2048):
        if block.t_s[0] <= 300.0 < block.t_s[-1] + 1.0 / block.rate_hz:
            before = detector.summary()
            detector.new_night()
            fresh = detector.summary()
        events += detector.feed(block)
    events += detector.finish()
    assert before["counts"]["jerk"] == 1 and before["counts"]["limb_movement"] == 1
    assert before["in_bed"] is True and before["time_in_bed_s"] > 200
    assert fresh["in_bed"] is True
    assert sum(fresh["counts"].values()) == 0 and fresh["time_in_bed_s"] == 0.0
    assert fresh["sleep_onset_s"] is None and fresh["plm_series"] == []
    after = detector.summary()
    assert after["counts"] == {**fresh["counts"], "jerk": 1}
    assert 100 <= after["time_in_bed_s"] <= 130  # from the new night's start (~300 s) to 420 s
    assert after["respiration_rate_bpm"] is not None
    assert [e.type for e in events] == ["bed_entry", "jerk", "limb_movement", "jerk"]


def test_a_lone_spike_is_not_a_jerk_but_a_faint_ringing_kick_is() -> None:
    """A sample-long spike (the sensor, an electrical glitch) never rings the mattress; a
    kick about 2 mg strong at the sensor, under a quiet sensor, does and is a jerk."""
    bed = Bed(300, noise_g=0.0002, seed=6)
    bed.breathe(15, start_s=0, end_s=300)
    for at_s in (120.0, 180.0):
        i = int(at_s * bed.rate_hz)
        bed.acc[i : i + 2] += 0.01  # 10 mg for two samples
    bed.jerk(240.0, 0.003)  # 2 mg after the mattress's filtering
    events, _, _ = bed.run()
    assert [e.type for e in events] == ["jerk"]
    assert abs(events[0].onset_s - 240.0) <= 0.05 and events[0].peak_g < 0.0025
