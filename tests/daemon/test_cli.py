"""The `hypnic` command: replay, simulate, events, and one-line errors for every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hypnic.daemon.cli import main, parse_since
from hypnic.daemon.detect import Detector
from hypnic.drivers.base import Block
from hypnic.drivers.recording import RecordingWriter
from hypnic.drivers.sim import SimulatedNight


def hypnic(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hypnic.daemon", *args], capture_output=True, text=True
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hypnic: error: ")
    return lines[0]


@pytest.fixture(scope="module")
def night() -> SimulatedNight:
    return SimulatedNight(seed=4, rate_hz=100.0, duration_s=900.0, start="onset")


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory, night: SimulatedNight) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("rec")
    paths = {fmt: folder / f"night.{fmt}" for fmt in ("csv", "npz")}
    t, acc = night.render(0, night.n_samples)
    for path in paths.values():
        with RecordingWriter(path) as writer:
            writer.write(t, acc)
    return paths


def replay_jsonl(path: Path) -> list[dict[str, object]]:
    result = hypnic("replay", str(path), "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("fmt", ["csv", "npz"])
def test_replay_gives_the_detectors_events(recordings: dict[str, Path], night: SimulatedNight,
                                           fmt: str) -> None:
    rows = replay_jsonl(recordings[fmt])
    *events, summary = rows
    assert summary["type"] == "summary" and summary["events"] == len(events)
    detector = Detector()
    t, acc = night.render(0, night.n_samples)
    expected = detector.feed(Block(t, acc, night.true_rate_hz)) + detector.finish()
    assert len(events) == len(expected) > 0
    for row, event in zip(events, expected, strict=True):
        assert {"type", "onset", "offset", "peak_g", "intensity"} <= row.keys()
        assert row["type"] == event.type
        # CSV keeps 6 decimals of t and g, so onsets agree to well under a millisecond. An
        # offset is where a fading tail last crosses a threshold: where the tail lingers
        # near it, a microgram of rounding moves it by a few samples.
        assert row["onset"] == pytest.approx(event.onset_s, abs=1e-3)
        assert row["offset"] == pytest.approx(event.offset_s, abs=0.05)
        assert row["peak_g"] == pytest.approx(event.peak_g, rel=0.05)


def test_replay_times_are_on_the_recordings_own_clock(tmp_path: Path, night: SimulatedNight) -> None:
    # The same samples, stamped as a chip 3 % slow would stamp them and shifted to start at 1000 s.
    t, acc = night.render(0, night.n_samples)
    stretched = 1000.0 + (t - t[0]) * 1.03
    path = tmp_path / "slow.npz"
    with RecordingWriter(path) as writer:
        writer.write(stretched, acc)
    rows = replay_jsonl(path)[:-1]
    jerks = [r for r in rows if r["type"] == "jerk"]
    truth = [1000.0 + (e.onset_s - t[0]) * 1.03 for e in night.truth if e.type == "jerk"]
    assert jerks
    for row in jerks:
        assert min(abs(row["onset"] - x) for x in truth) <= 0.1


def test_replay_text_output_is_readable(recordings: dict[str, Path]) -> None:
    result = hypnic("replay", str(recordings["npz"]))
    assert result.returncode == 0
    assert "jerk" in result.stdout and "intensity" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("night.npz: 15.0 min at")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("t,ax,ay,az\n0,0,0,1\n0.01,0,zero,1\n", "line 3"),
        ("time,x,y,z\n0,0,0,1\n", "t,ax,ay,az"),
        ("t,ax,ay,az\n0,0,0,1\n0.01,0,0\n", "line 3"),
        ("", "empty"),
    ],
)
def test_bad_recording_is_one_line_naming_the_place(tmp_path: Path, content: str,
                                                    expected: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert expected in one_line_error(hypnic("replay", str(path)))


def test_bad_npz_and_unknown_suffix_and_missing_file(tmp_path: Path) -> None:
    npz = tmp_path / "bad.npz"
    np.savez(npz, t=np.arange(10.0), accel=np.zeros((10, 3)))
    assert "acc" in one_line_error(hypnic("replay", str(npz)))
    wav = tmp_path / "night.wav"
    wav.write_bytes(b"RIFF")
    assert ".csv" in one_line_error(hypnic("replay", str(wav)))
    assert "missing.npz" in one_line_error(hypnic("replay", str(tmp_path / "missing.npz")))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--speed", "-1"], "sensor.sim_speed: expected a number 0-10000, got -1"),
        (["run", "--sensor", "adxl999"], "invalid choice: 'adxl999'"),
        (["run", "--duration", "0"], "--duration: expected a positive number"),
        (["events", "--since", "yesterday-ish"], '--since: expected an ISO date/time'),
        (["events", "--night", "23/11/2026"], '--night: expected YYYY-MM-DD or "last"'),
        (["replay"], "the following arguments are required: file"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["simulate", "--out", "x", "--rate", "5"], "--rate: expected 25-3200 Hz, got 5"),
        (["run", "--duration", "nan"], "--duration: expected a positive number"),
        (["run", "--duration", "inf"], "--duration: expected a positive number"),
        (["run", "--speed", "nan"], "sensor.sim_speed: expected a number"),
        (["simulate", "--out", "x", "--duration", "nan"], "--duration: expected 60-"),
        (["simulate", "--out", "x", "--duration", "1e12"], "--duration: expected 60-"),
        (["simulate", "--out", "x", "--seed", "-5"], "--seed: expected an integer 0-"),
        (["events", "--limit", "99999999999999999999"], "--limit: expected a whole number"),
    ],
)
def test_bad_arguments_are_one_line(tmp_path: Path, args: list[str], expected: str) -> None:
    result = hypnic(*args, *(["--data-dir", str(tmp_path)] if args[0] in ("run", "events") else []))
    assert expected in one_line_error(result)


def test_bad_config_is_one_line_and_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "hypnic.toml"
    config.write_text('[mqtt]\nport = "abc"\n')
    line = one_line_error(hypnic("run", "--config", str(config), "--data-dir", str(tmp_path)))
    assert line == f'hypnic: error: {config}: mqtt.port: expected an integer 1-65535, got "abc"'


def test_events_before_any_run_says_how_to_start(tmp_path: Path) -> None:
    line = one_line_error(hypnic("events", "--data-dir", str(tmp_path / "nothing")))
    assert "hypnic run" in line
    assert not (tmp_path / "nothing").exists()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("hypnic 0.")


def test_the_command_lines_names_are_the_simulators_and_the_drivers() -> None:
    """The parser's scenario and chip names are spelled out in the CLI (so that it starts
    without importing them); they must be the ones the simulator and the drivers know."""
    from hypnic.daemon import config as cfg
    from hypnic.daemon.cli import CHIP_NAMES, SCENARIO_NAMES
    from hypnic.drivers.chips import CHIPS
    from hypnic.drivers.sim.scenarios import CHIP_SENSORS, SCENARIOS

    assert tuple(SCENARIOS) == SCENARIO_NAMES
    assert tuple(CHIPS) == tuple(CHIP_SENSORS) == CHIP_NAMES == cfg.CHIP_KEYS


def test_replay_runs_without_the_drivers_simulator_or_event_log(
        recordings: dict[str, Path]) -> None:
    """What replay does not use is not imported: each module costs every replay start-up."""
    code = (
        "import sys; from hypnic.daemon.cli import main; "
        f"main(['replay', {str(recordings['npz'])!r}, '--format', 'jsonl']); "
        "print(*[m for m in sys.modules if m.startswith(('hypnic.drivers.chips', "
        "'hypnic.drivers.sim', 'hypnic.daemon.store', 'hypnic.daemon.sinks', 'sqlite3'))])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == ""


def test_parse_since_accepts_ages_and_iso_times() -> None:
    assert parse_since("2h", now=10_000.0) == 10_000.0 - 7200
    assert parse_since("30m", now=10_000.0) == 10_000.0 - 1800
    assert parse_since("2026-11-23T22:00") > 1.7e9


def test_simulate_writes_a_recording_that_replays(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = hypnic("simulate", "--seed", "2", "--duration", "600", "--rate", "100",
                    "--start", "onset", "--format", "csv", "--out", str(out))
    assert result.returncode == 0, result.stderr
    truth = json.loads((out / "truth.json").read_text())
    assert truth["seed"] == 2 and truth["events"]
    rows = replay_jsonl(out / "recording.csv")
    assert rows[-1]["type"] == "summary" and rows[-1]["duration_s"] > 590


@pytest.mark.parametrize(("scale", "unit"), [(1000.0, "ms"), (1e-6, "MHz")])
def test_t_in_the_wrong_unit_is_refused(tmp_path: Path, scale: float, unit: str) -> None:
    # Found in review: t in ms replayed silently at 0.2 Hz; t in µs-as-seconds ran out of memory.
    t = np.arange(2000) / 200.0 * scale
    path = tmp_path / f"{unit}.npz"
    np.savez(path, t=t, acc=np.tile([0.0, 0.0, 1.0], (2000, 1)))
    line = one_line_error(hypnic("replay", str(path)))
    assert "t must be in seconds" in line
