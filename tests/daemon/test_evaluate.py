"""hypnic evaluate: the matcher, the figures, the naive baseline and the command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from hypnic.daemon.cli import main
from hypnic.daemon.evaluate_baseline import MEDIAN_S, BaselineDetector
from hypnic.daemon.events import Event
from hypnic.daemon.scoring import (
    Detected,
    Label,
    NightRun,
    NightTruth,
    figures,
    match,
    score,
)
from hypnic.drivers.base import Block

# --- the matcher -------------------------------------------------------------------------


def test_match_is_one_to_one_nearest_and_within_tolerance() -> None:
    truth = [10.0, 20.0, 20.6, 40.0]
    found = [10.4, 20.5, 20.55, 39.3, 55.0]
    # 20.5 takes the nearer 20.6, which leaves 20.0 for 20.55: 0.55 s off, beyond 0.5 s.
    assert match(truth, found, 0.5) == [(0, 0), (2, 1)]
    assert match(truth, found, 1.0) == [(0, 0), (1, 2), (2, 1), (3, 3)]
    assert match([], found, 0.5) == []
    assert match(truth, [], 0.5) == []
    # Two detections at one label: only one can have it.
    assert match([5.0], [4.9, 5.1], 0.5) == [(0, 0)]
    # The tolerance is inclusive.
    assert match([5.0], [5.5], 0.5) == [(0, 0)]


def night_truth(**changes: object) -> NightTruth:
    base: dict[str, object] = {
        "start_s": 0.0, "end_s": 3600.0,
        "events": [Label("bed_entry", 100.0, 108.0), Label("jerk", 500.0, 500.4, 0.05),
                   Label("jerk", 900.0, 900.3, 0.004), Label("limb_movement", 1200.0, 1202.0),
                   Label("posture_change", 2000.0, 2010.0), Label("bed_exit", 3500.0, 3506.0)],
        "disturbances": [Label("door", 2500.0, 2500.5)],
        "bed_intervals": [(100.0, 3500.0)], "sleep_onset_s": 700.0, "plm_index": 20.0,
        "respiration": [(200.0, 15.0), (210.0, 15.0), (220.0, 15.2), (230.0, 15.0)],
        "heart": [(200.0, 60.0), (210.0, 61.0), (220.0, 62.0), (230.0, 60.0)],
        "floor_g": 0.001,
    }
    base.update(changes)
    return NightTruth(**base)  # type: ignore[arg-type]


def detected(kind: str, onset_s: float, length_s: float = 0.3) -> Detected:
    return Detected(kind, onset_s, onset_s + length_s, onset_s + 2.0)


def test_score_counts_hits_misses_false_alarms_and_their_causes() -> None:
    run = NightRun(
        events=[detected("posture_change", 101.0, 6.0),       # bed entry, but as posture
                detected("jerk", 500.02),                     # hit
                detected("limb_movement", 1200.3, 2.0),       # hit, 300 ms late
                detected("jerk", 1800.0),                     # false alarm, nothing there
                detected("jerk", 2500.1),                     # false alarm during a door slam
                detected("posture_change", 2000.7, 9.0),      # 0.7 s late: not a hit
                detected("bed_exit", 3503.0, 3.0)],           # within 5 s: found
        samples=[], summary={})
    f = figures(score(night_truth(), run))
    jerk = f["jerk"]
    assert (jerk["tp"], jerk["fp"], jerk["fn"]) == (1, 2, 1)
    assert jerk["precision"] == pytest.approx(1 / 3) and jerk["recall"] == 0.5
    assert jerk["f1"] == pytest.approx(2 * 1 / (2 * 1 + 2 + 1))
    assert jerk["onset_error_median_s"] == pytest.approx(0.02)
    assert f["limb_movement"]["f1"] == 1.0
    assert f["limb_movement"]["onset_error_median_s"] == pytest.approx(0.3)
    assert (f["posture_change"]["tp"], f["posture_change"]["fp"]) == (0, 2)
    # Event-free time: the hour less each label +-2 s.
    busy = (8 + 4) + (0.4 + 4) + (0.3 + 4) + (2 + 4) + (10 + 4) + (6 + 4)
    assert f["event_free_hours"] == round((3600 - busy) / 3600, 2)
    assert jerk["false_alarms_per_h"] == pytest.approx(2 / ((3600 - busy) / 3600))
    assert f["false_alarm_causes"] == {"jerk<-door": 1, "jerk<-none": 1}
    assert f["confusion"]["bed_entry->posture_change"] == 1
    assert f["bed"]["labels"] == 2 and f["bed"]["found_within_5s"] == 0.5
    assert f["bed"]["onset_error_median_s"] == pytest.approx(3.0)
    # The strong jerk was found, the one at 4x the floor was not.
    assert f["jerk"]["recall_by_strength"]["<5x floor"]["recall"] == 0.0
    assert f["jerk"]["recall_by_strength"][">=10x"]["recall"] == 1.0


def test_night_figures_are_none_when_the_detector_gives_none() -> None:
    run = NightRun(events=[], samples=[(t, None, None, None) for t in range(0, 3600, 5)],
                   summary={"plm_index": None, "sleep_onset_s": None})
    f = figures(score(night_truth(), run))
    assert f["plm_index"]["within_10pct"] is None
    assert f["sleep_onset"]["within_10min"] is None
    assert f["respiration"]["coverage"] is None and f["heart"]["coverage"] is None
    assert f["presence_agreement"] is None
    assert f["jerk"]["precision"] is None and f["jerk"]["recall"] == 0.0


def test_night_figures_from_the_summary_and_its_samples() -> None:
    # Estimates every 5 s: breathing right except at 220 s, heart known only from 215 s.
    samples = []
    for t in range(0, 3600, 5):
        resp = 15.0 if t != 220 else 17.0
        heart = None if t < 215 else 61.0
        samples.append((float(t), 100.0 < t < 3500.0, resp, heart))
    run = NightRun(events=[], samples=samples,
                   summary={"plm_index": 21.5, "sleep_onset_s": 700.0 + 540.0})
    f = figures(score(night_truth(), run))
    assert f["plm_index"]["within_10pct"] == 1.0  # 21.5 is within 2.0 + 0.5 of 20
    assert f["plm_index"]["relative_error_median"] == pytest.approx(0.075)
    assert f["sleep_onset"]["within_10min"] == 1.0
    assert f["sleep_onset"]["error_median_min"] == pytest.approx(9.0)
    assert f["respiration"]["coverage"] == 0.75  # 220 s is 1.8 off
    assert f["respiration"]["error_median_bpm"] == pytest.approx(0.0)
    assert f["heart"]["estimated"] == 0.5 and f["heart"]["coverage"] == 0.5
    assert f["presence_agreement"] == 1.0
    too_far = NightRun(events=[], samples=samples, summary={"plm_index": 23.0,
                                                           "sleep_onset_s": 700.0 + 660.0})
    g = figures(score(night_truth(), too_far))
    assert g["plm_index"]["within_10pct"] == 0.0 and g["sleep_onset"]["within_10min"] == 0.0


def test_plm_series_are_scored_from_the_night_figures() -> None:
    truth = night_truth(plm_series=[(1000.0, 1400.0), (2000.0, 2300.0)])
    reported = [{"id": 1, "start_s": 1150.0, "end_s": 1500.0, "count": 9},  # covers 250/400
                {"id": 2, "start_s": 2250.0, "end_s": 2600.0, "count": 9},  # covers 50/300
                {"id": 3, "start_s": 3000.0, "end_s": 3100.0, "count": 4}]  # nothing there
    f = figures(score(truth, NightRun([], [], {"plm_series": reported})))
    assert f["plm_series"] == {"labels": 2, "detected": 3, "recall": 0.5,
                               "precision": pytest.approx(1 / 3)}
    none = figures(score(truth, NightRun([], [], {})))
    assert none["plm_series"]["recall"] is None and none["plm_series"]["precision"] is None


def test_tallies_pool_events_across_nights() -> None:
    one = score(night_truth(), NightRun([detected("jerk", 500.0)], [], {}))
    two = score(night_truth(), NightRun([detected("jerk", 900.0), detected("jerk", 950.0)],
                                        [], {}))
    f = figures(one.merge(two))
    assert f["nights"] == 2 and f["hours"] == 2.0
    assert (f["jerk"]["tp"], f["jerk"]["fp"], f["jerk"]["fn"]) == (2, 1, 2)


# --- the baseline -------------------------------------------------------------------------


def bursts_signal(rate_hz: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """Two minutes at rest with three bursts: 0.2 s, 3 s and 15 s long."""
    rng = np.random.default_rng(5)
    t = np.arange(int(180 * rate_hz)) / rate_hz
    acc = np.tile([0.0, 0.0, 1.0], (len(t), 1)) + 0.0005 * rng.standard_normal((len(t), 3))
    for onset, length in ((70.0, 0.2), (100.0, 3.0), (140.0, 15.0)):
        inside = (t >= onset) & (t < onset + length)
        acc[inside, 2] += 0.05 * np.sin(2 * math.pi * 6.0 * (t[inside] - onset) + 0.3)
    return t, acc


def run_baseline(t: np.ndarray, acc: np.ndarray, block_n: int) -> list[Event]:
    detector = BaselineDetector()
    events: list[Event] = []
    for i in range(0, len(t), block_n):
        events += detector.feed(Block(t[i:i + block_n], acc[i:i + block_n], 100.0))
    return events + detector.finish()


def test_baseline_finds_bursts_and_classifies_them_by_duration() -> None:
    t, acc = bursts_signal()
    events = run_baseline(t, acc, 1000)
    assert [e.type for e in events] == ["jerk", "limb_movement", "posture_change"]
    for e, (onset, length) in zip(events, ((70.0, 0.2), (100.0, 3.0), (140.0, 15.0)),
                                  strict=True):
        assert e.onset_s == pytest.approx(onset, abs=0.05)
        # The running median trails a burst, so the end may come up to its window late.
        assert onset + length - 0.1 <= e.offset_s <= onset + length + MEDIAN_S


def test_baseline_does_not_depend_on_the_block_size() -> None:
    t, acc = bursts_signal()
    assert run_baseline(t, acc, 7) == run_baseline(t, acc, 4096)


# --- the command ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("eval") / "night"
    assert main(["simulate", "--scenario", "typical", "--chip", "lis3dh", "--seed", "1003",
                 "--duration", "1200", "--rate", "100", "--out", str(out)]) == 0
    return out


def test_evaluate_scores_a_simulated_night_end_to_end(
        simulated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["evaluate", str(simulated), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    truth = json.loads((simulated / "truth.json").read_text())
    (night,) = report["nights"]
    assert night["scenario"] == "typical" and night["chip"] == "lis3dh"
    for kind in ("jerk", "limb_movement", "posture_change", "bed_entry", "bed_exit"):
        labels = sum(e["type"] == kind for e in truth["events"])
        assert night[kind]["labels"] == labels
    assert truth["events"] and report["groups"]["all"]["nights"] == 1
    assert report["groups"]["all"]["hours"] == pytest.approx(1200 / 3600, abs=0.01)
    assert night["jerk"]["recall"] is None or 0.0 <= night["jerk"]["recall"] <= 1.0

    assert main(["evaluate", str(simulated), "--baseline", "--by", "chip"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("baseline detector on 1 simulated nights")
    assert "lis3dh" in text and "jerk P/R/F1" in text


def one_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["evaluate", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hypnic: error: ")
    return err[0]


def test_evaluate_refuses_what_it_cannot_score(
        simulated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "no such folder" in one_error(capsys, str(tmp_path / "nope"))
    (tmp_path / "file.txt").write_text("x")
    assert "is a file, not a folder" in one_error(capsys, str(tmp_path / "file.txt"))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no recording.npz or recording.csv" in one_error(capsys, str(empty))

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "recording.npz").write_bytes((simulated / "recording.npz").read_bytes())
    assert "no truth.json" in one_error(capsys, str(bad))
    (bad / "truth.json").write_text("{ not json")
    assert "not valid JSON (line 1" in one_error(capsys, str(bad))
    truth = json.loads((simulated / "truth.json").read_text())
    del truth["bed_intervals"]
    (bad / "truth.json").write_text(json.dumps(truth))
    assert "no 'bed_intervals'" in one_error(capsys, str(bad))
    truth["bed_intervals"] = "yes"
    (bad / "truth.json").write_text(json.dumps(truth))
    assert "'bed_intervals' is \"yes\"" in one_error(capsys, str(bad))
    # A good folder first does not hide a bad one after it, nor run anything first.
    assert "no truth.json" not in one_error(capsys, str(simulated), str(bad))
    assert "--sensitivity: expected 1-10" in one_error(capsys, str(simulated),
                                                        "--sensitivity", "11")


def test_simulate_refuses_a_scenario_it_cannot_make(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    for args, expected in (
        (["--scenario", "empty", "--start", "onset"], '--start onset: nobody falls asleep in'),
        (["--scenario", "dinner"], "argument --scenario: invalid choice: 'dinner'"),
        (["--scenario", "typical", "--chip", "bmi160"], "argument --chip: invalid choice"),
    ):
        capsys.readouterr()
        assert main(["simulate", *args, "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expected in err[0], err
