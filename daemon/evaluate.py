"""``hypnic evaluate``: run simulated nights through the detector and score them.

Each folder holds what ``hypnic simulate`` wrote: a recording (``recording.npz`` or
``recording.csv``) and ``truth.json``. The recording is streamed through a fresh detector
in blocks, exactly as ``hypnic replay`` does (constant memory however long the night);
``summary()`` is read after each block, at most every ``SAMPLE_EVERY_S`` of sensor time, for
the detector's view of presence, breathing and heart rate as the night goes on. The scoring
rules are in ``scoring``; ``report`` prints the figures.

Any detector with ``feed``, ``finish`` and ``summary`` can be scored, e.g. the naive
baseline in ``evaluate_baseline``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hypnic.daemon.errors import EvaluationError
from hypnic.daemon.events import Event
from hypnic.daemon.scoring import Detected, Label, NightRun, NightTruth, Tally, figures, score
from hypnic.drivers.base import Block
from hypnic.drivers.recording import open_recording

#: Samples per block fed to the detector (5 s at 200 Hz).
BLOCK_SAMPLES = 1024
#: summary() is sampled at most this often (sensor seconds).
SAMPLE_EVERY_S = 5.0
TRUTH_FILE = "truth.json"
RECORDINGS = ("recording.npz", "recording.csv")
_SIMULATE = "make it with `hypnic simulate --scenario NAME --out DIR`"


class StreamingDetector(Protocol):
    def feed(self, block: Block) -> list[Event]: ...

    def finish(self) -> list[Event]: ...

    def summary(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class NightResult:
    folder: Path
    scenario: str | None
    chip: str | None
    rate_hz: float | None
    tally: Tally


# --- reading a folder ----------------------------------------------------------------------


def recording_in(folder: Path) -> Path:
    """The folder's recording; an EvaluationError naming the fix if there is none."""
    if not folder.exists():
        raise EvaluationError(f"{folder}: no such folder; give folders that `hypnic simulate` "
                              "wrote")
    if not folder.is_dir():
        raise EvaluationError(f"{folder}: is a file, not a folder; give the folder that "
                              "`hypnic simulate --out` wrote (it holds truth.json)")
    for name in RECORDINGS:
        if (folder / name).is_file():
            return folder / name
    raise EvaluationError(f"{folder}: no recording.npz or recording.csv; {_SIMULATE}")


def _need(raw: dict[str, Any], key: str, kind: type | tuple[type, ...], path: Path,
          optional: bool = False) -> Any:
    if key not in raw:
        raise EvaluationError(f"{path}: no '{key}' (written by an older hypnic?); simulate "
                              "the night again")
    value = raw[key]
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        raise EvaluationError(f"{path}: '{key}' is {json.dumps(value)[:40]}, not what "
                              f"`hypnic simulate` writes; simulate the night again")
    return value


def _labels(items: list[Any], path: Path, key: str) -> list[Label]:
    out = []
    for n, item in enumerate(items):
        try:
            out.append(Label(str(item["type"]), float(item["onset_s"]), float(item["offset_s"]),
                             float(item.get("peak_g") or 0.0)))
        except (TypeError, KeyError, ValueError, AttributeError):
            raise EvaluationError(f"{path}: '{key}' item {n} lacks type, onset_s or offset_s; "
                                  "simulate the night again") from None
    return out


def _pairs(items: list[Any], path: Path, key: str) -> list[tuple[float, float]]:
    try:
        return [(float(a), float(b)) for a, b in items]
    except (TypeError, ValueError):
        raise EvaluationError(f"{path}: '{key}' must be a list of [number, number] pairs; "
                              "simulate the night again") from None


def _series(items: object, path: Path) -> list[tuple[float, float]]:
    if items is None:
        return []
    try:
        if not isinstance(items, list):
            raise TypeError
        return [(float(x["start_s"]), float(x["end_s"])) for x in items]
    except (TypeError, KeyError, ValueError):
        raise EvaluationError(f"{path}: 'plm_series' must be a list of {{start_s, end_s, …}}; "
                              "simulate the night again") from None


def load_truth(folder: Path) -> tuple[NightTruth, dict[str, Any]]:
    """truth.json as scoring needs it, and the whole file (for scenario, chip, …)."""
    path = folder / TRUTH_FILE
    if not path.is_file():
        raise EvaluationError(f"{folder}: no {TRUTH_FILE}; {_SIMULATE}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise EvaluationError(f"{path}: cannot read it ({exc}); check the file") from None
    except json.JSONDecodeError as exc:
        raise EvaluationError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg}); "
                              "simulate the night again") from None
    if not isinstance(raw, dict):
        raise EvaluationError(f"{path}: not a truth file (expected a JSON object); "
                              "simulate the night again")
    number = (int, float)
    truth = NightTruth(
        start_s=float(_need(raw, "start_s", number, path)),
        end_s=float(_need(raw, "end_s", number, path)),
        events=_labels(_need(raw, "events", list, path), path, "events"),
        disturbances=_labels(_need(raw, "disturbances", list, path), path, "disturbances"),
        bed_intervals=_pairs(_need(raw, "bed_intervals", list, path), path, "bed_intervals"),
        sleep_onset_s=_need(raw, "sleep_onset_s", number, path, optional=True),
        plm_index=_need(raw, "plm_index", number, path, optional=True),
        respiration=_pairs(_need(raw, "respiration", list, path), path, "respiration"),
        heart=_pairs(_need(raw, "heart", list, path), path, "heart"),
        floor_g=raw.get("floor_g") if isinstance(raw.get("floor_g"), number) else None,
        plm_series=_series(raw.get("plm_series"), path),
    )
    return truth, raw


# --- running ----------------------------------------------------------------------------------


def _number(x: object) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        return None
    return float(x)


def run_night(recording: Path, detector: StreamingDetector) -> NightRun:
    """Stream a recording through the detector; collect its events and its running view."""
    events: list[Detected] = []
    samples: list[tuple[float, bool | None, float | None, float | None]] = []
    next_sample_s = -math.inf
    now_s = 0.0

    def keep(found: list[Event]) -> None:
        events.extend(Detected(e.type, e.onset_s, e.offset_s, now_s) for e in found)

    with open_recording(recording, block_samples=BLOCK_SAMPLES) as source:
        for block in source.blocks():
            now_s = float(block.t_s[-1])
            keep(detector.feed(block))
            if now_s >= next_sample_s:
                s = detector.summary()
                in_bed = s.get("in_bed")
                samples.append((now_s, in_bed if isinstance(in_bed, bool) else None,
                                _number(s.get("respiration_rate_bpm")),
                                _number(s.get("heart_rate_bpm"))))
                next_sample_s = now_s + SAMPLE_EVERY_S
        keep(detector.finish())
    return NightRun(events, samples, detector.summary())


def evaluate_folder(folder: Path, make_detector: Callable[[], StreamingDetector]) -> NightResult:
    """Score one simulated night (a folder ``hypnic simulate`` wrote)."""
    recording = recording_in(folder)
    truth, raw = load_truth(folder)
    run = run_night(recording, make_detector())
    rate = raw.get("rate_hz")
    return NightResult(folder, raw.get("scenario"), raw.get("chip"),
                       float(rate) if isinstance(rate, int | float) else None, score(truth, run))


def group(results: Iterable[NightResult], by: str | None) -> dict[str, dict[str, Any]]:
    """Figures pooled over all nights ("all") and, with ``by`` = "scenario" or "chip", per
    scenario or chip."""
    results = list(results)
    groups: dict[str, Tally] = {}
    for r in results:
        if by is not None:
            key = str(getattr(r, by) or "-")
            groups[key] = groups.get(key, Tally()).merge(r.tally)
    total = Tally()
    for r in results:
        total = total.merge(r.tally)
    out = {key: figures(groups[key]) for key in sorted(groups)}
    out["all"] = figures(total)
    return out
