"""Scoring a detector's night against the truth of a simulated one: pure functions, no I/O.

``score`` compares one night and returns a ``Tally`` of raw counts and errors; tallies add up
(``merge``), so figures over many nights pool the events rather than average per-night
rates; ``figures`` turns a tally into the numbers a report prints.

The rules:

- events of each type are matched one to one with the labels of that type: detections are
  taken in time order and each takes the nearest unmatched label whose onset is within the
  type's tolerance (``TOLERANCE_S``: ±0.5 s, ±5 s for getting in and out of bed, whose
  onset is a matter of seconds). Matched: a true positive; a detection left over: a false
  positive; a label left over: a miss.
- a false alarm is a detection whose onset lies in an event-free stretch: further than
  ``FREE_MARGIN_S`` from every label. Disturbances (a partner, footsteps, …) are event-free
  time: they are exactly what must not be reported. Counted per hour of event-free time.
- a periodic limb movement series (from the night figures, as the contract says, not from
  the events) is found when a detected series covers at least half of a true one's span, and
  a detected series is right when at least half of its span lies in a true one.
- the PLM index is within 10 % when |detected - true| <= 10 % of the true index + 0.5 / h
  (the half-movement-per-hour slack lets a true 0 be met); the relative error is reported
  for nights with a true index of at least ``PLM_RELATIVE_MIN``.
- breathing and heart rate: at each labelled time (every 10 s while in bed) the detector's
  estimate is the one it reported at the first sample after that time; coverage is the
  share of labelled times with an estimate within ``VITALS_TOLERANCE``.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hypnic.daemon.events import EVENT_TYPES

TOLERANCE_S = {"jerk": 0.5, "limb_movement": 0.5, "posture_change": 0.5,
               "bed_entry": 5.0, "bed_exit": 5.0}
FREE_MARGIN_S = 2.0
#: Breaths or beats per minute an estimate may be off and still count as right.
VITALS_TOLERANCE = {"respiration": 1.0, "heart": 2.0}
PLM_RELATIVE_MIN = 5.0
SLEEP_ONSET_TOLERANCE_S = 600.0
#: Presence is compared away from getting in and out, where it is a matter of seconds.
PRESENCE_MARGIN_S = 15.0
#: Jerk and limb movement recall is broken down by the label's peak against the night's
#: floor (noise, or the heartbeat on a low-noise chip).
STRENGTH_TYPES = ("jerk", "limb_movement")
STRENGTH_BINS = ((0.0, 5.0, "<5x floor"), (5.0, 10.0, "5-10x"), (10.0, math.inf, ">=10x"))


@dataclass(frozen=True)
class Detected:
    """One detected event: its type and onset, and when (stream time) it was reported."""

    type: str
    onset_s: float
    offset_s: float
    reported_s: float


@dataclass(frozen=True)
class Label:
    type: str
    onset_s: float
    offset_s: float
    peak_g: float = 0.0


@dataclass(frozen=True)
class NightTruth:
    """What truth.json says, in the shape scoring needs."""

    start_s: float
    end_s: float
    events: list[Label]
    disturbances: list[Label]
    bed_intervals: list[tuple[float, float]]
    sleep_onset_s: float | None
    plm_index: float | None
    respiration: list[tuple[float, float]]
    heart: list[tuple[float, float]]
    floor_g: float | None = None
    #: (start_s, end_s) of each true periodic limb movement series.
    plm_series: list[tuple[float, float]] = field(default_factory=list)


@dataclass(frozen=True)
class NightRun:
    """What the detector reported over one night.

    samples: (t_s, in_bed, respiration_bpm, heart_bpm) read from summary() as the night was
    fed, in time order; summary: summary() after the end.
    """

    events: list[Detected]
    samples: list[tuple[float, bool | None, float | None, float | None]]
    summary: dict[str, Any]


@dataclass
class Tally:
    nights: int = 0
    hours: float = 0.0
    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)
    onset_errors_s: dict[str, list[float]] = field(default_factory=dict)
    false_alarms: Counter[str] = field(default_factory=Counter)
    free_s: float = 0.0
    #: (event type, disturbance type or "none") of each false alarm.
    false_alarm_causes: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: (label type, detected type) of labels missed in their own type but found as another.
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: (type, strength bin): [found, labels].
    strength: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    #: Getting in or out: the onset error of the match, None when not found.
    bed_errors_s: list[float | None] = field(default_factory=list)
    bed_latency_s: list[float] = field(default_factory=list)
    plm: list[tuple[float, float | None]] = field(default_factory=list)
    #: [true series found, true series, detected series right, detected series]; the last
    #: two only from nights where the detector reported its series.
    plm_series: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    plm_series_reported: int = 0
    sleep_onset: list[tuple[float, float | None]] = field(default_factory=list)
    #: Per labelled time: |estimate - truth|, or nan when there was no estimate.
    vitals_errors: dict[str, list[float]] = field(default_factory=dict)
    presence: list[int] = field(default_factory=lambda: [0, 0])  # [agreeing, compared]

    def merge(self, other: Tally) -> Tally:
        out = Tally()
        out.nights = self.nights + other.nights
        out.hours = self.hours + other.hours
        out.free_s = self.free_s + other.free_s
        for name in ("tp", "fp", "fn", "false_alarms", "false_alarm_causes", "confusion"):
            setattr(out, name, getattr(self, name) + getattr(other, name))
        for name in ("onset_errors_s", "vitals_errors"):
            merged: dict[str, list[float]] = {}
            for d in (getattr(self, name), getattr(other, name)):
                for k, v in d.items():
                    merged.setdefault(k, []).extend(v)
            setattr(out, name, merged)
        for d in (self.strength, other.strength):
            for k, (found, total) in d.items():
                slot = out.strength.setdefault(k, [0, 0])
                slot[0] += found
                slot[1] += total
        out.bed_errors_s = self.bed_errors_s + other.bed_errors_s
        out.bed_latency_s = self.bed_latency_s + other.bed_latency_s
        out.plm = self.plm + other.plm
        out.plm_series = [a + b for a, b in zip(self.plm_series, other.plm_series, strict=True)]
        out.plm_series_reported = self.plm_series_reported + other.plm_series_reported
        out.sleep_onset = self.sleep_onset + other.sleep_onset
        out.presence = [self.presence[0] + other.presence[0],
                        self.presence[1] + other.presence[1]]
        return out


def match(truth_onsets_s: list[float], detected_onsets_s: list[float],
          tolerance_s: float) -> list[tuple[int, int]]:
    """One-to-one pairs (truth index, detection index): detections in time order, each
    taking the nearest unmatched label within the tolerance (the earlier on a tie)."""
    truth = np.asarray(truth_onsets_s, dtype=np.float64)
    taken = np.zeros(len(truth), dtype=bool)
    pairs: list[tuple[int, int]] = []
    for j in sorted(range(len(detected_onsets_s)), key=lambda j: detected_onsets_s[j]):
        if not len(truth):
            break
        gap = np.abs(truth - detected_onsets_s[j])
        gap[taken] = np.inf
        i = int(np.argmin(gap))
        if gap[i] <= tolerance_s:
            taken[i] = True
            pairs.append((i, j))
    return sorted(pairs)


def _inside(t_s: float, intervals: list[tuple[float, float]], margin_s: float) -> bool:
    return any(a - margin_s <= t_s <= b + margin_s for a, b in intervals)


def score(truth: NightTruth, run: NightRun) -> Tally:
    """Compare one night's detections and reports with its truth."""
    tally = Tally(nights=1, hours=(truth.end_s - truth.start_s) / 3600.0)
    labels_by_type = {k: [e for e in truth.events if e.type == k] for k in EVENT_TYPES}
    found_by_type = {k: [d for d in run.events if d.type == k] for k in EVENT_TYPES}
    matched_truth: dict[str, set[int]] = {}
    for kind in EVENT_TYPES:
        labels, found = labels_by_type[kind], found_by_type[kind]
        pairs = match([e.onset_s for e in labels], [d.onset_s for d in found],
                      TOLERANCE_S[kind])
        matched_truth[kind] = {i for i, _ in pairs}
        tally.tp[kind] += len(pairs)
        tally.fp[kind] += len(found) - len(pairs)
        tally.fn[kind] += len(labels) - len(pairs)
        tally.onset_errors_s[kind] = [found[j].onset_s - labels[i].onset_s for i, j in pairs]
        if kind in ("bed_entry", "bed_exit"):
            by_label = dict(pairs)
            for i, label in enumerate(labels):
                j = by_label.get(i)
                tally.bed_errors_s.append(None if j is None else found[j].onset_s - label.onset_s)
                if j is not None:
                    tally.bed_latency_s.append(found[j].reported_s - label.onset_s)
        if kind in STRENGTH_TYPES:
            _strength(tally, kind, labels, matched_truth[kind], truth.floor_g)

    # Labels missed in their own type: was something of another type detected there?
    for kind, labels in labels_by_type.items():
        for i, label in enumerate(labels):
            if i in matched_truth[kind]:
                continue
            near = [d.type for d in run.events if d.type != kind
                    and abs(d.onset_s - label.onset_s) <= TOLERANCE_S[kind]]
            if near:
                tally.confusion[(kind, near[0])] += 1

    _false_alarms(tally, truth, run)
    _night_figures(tally, truth, run)
    return tally


def _strength(tally: Tally, kind: str, labels: list[Label], matched: set[int],
              floor_g: float | None) -> None:
    if not floor_g:
        return
    for i, label in enumerate(labels):
        ratio = label.peak_g / floor_g
        name = next(n for lo, hi, n in STRENGTH_BINS if lo <= ratio < hi)
        slot = tally.strength.setdefault((kind, name), [0, 0])
        slot[0] += i in matched
        slot[1] += 1


def _free_seconds(truth: NightTruth) -> float:
    """Length of the event-free time: the night less every label ± FREE_MARGIN_S."""
    spans = sorted((max(e.onset_s - FREE_MARGIN_S, truth.start_s),
                    min(e.offset_s + FREE_MARGIN_S, truth.end_s)) for e in truth.events)
    busy, covered_to = 0.0, -math.inf
    for lo, hi in spans:
        lo = max(lo, covered_to)
        if hi > lo:
            busy += hi - lo
        covered_to = max(covered_to, hi)
    return max(0.0, truth.end_s - truth.start_s - busy)


def _false_alarms(tally: Tally, truth: NightTruth, run: NightRun) -> None:
    tally.free_s += _free_seconds(truth)
    events = [(e.onset_s, e.offset_s) for e in truth.events]
    for d in run.events:
        if _inside(d.onset_s, events, FREE_MARGIN_S):
            continue
        tally.false_alarms[d.type] += 1
        cause = next((x.type for x in truth.disturbances
                      if x.onset_s - FREE_MARGIN_S <= d.onset_s <= x.offset_s + FREE_MARGIN_S),
                     "none")
        tally.false_alarm_causes[(d.type, cause)] += 1


def _night_figures(tally: Tally, truth: NightTruth, run: NightRun) -> None:
    s = run.summary
    if truth.plm_index is not None:
        tally.plm.append((truth.plm_index, _number(s.get("plm_index"))))
    _series(tally, truth.plm_series, s.get("plm_series"))
    if truth.sleep_onset_s is not None:
        tally.sleep_onset.append((truth.sleep_onset_s, _number(s.get("sleep_onset_s"))))
    times = np.array([x[0] for x in run.samples])
    for name, series, column in (("respiration", truth.respiration, 2),
                                 ("heart", truth.heart, 3)):
        errors = tally.vitals_errors.setdefault(name, [])
        for t, bpm in series:
            k = int(np.searchsorted(times, t)) if len(times) else 0
            est = _number(run.samples[k][column]) if k < len(run.samples) else None
            errors.append(math.nan if est is None else abs(est - bpm))
    in_bed = truth.bed_intervals
    for t, present, _, _ in run.samples:
        if present is None or not truth.start_s <= t <= truth.end_s:
            continue
        if any(abs(t - edge) < PRESENCE_MARGIN_S for a, b in in_bed for edge in (a, b)):
            continue
        tally.presence[1] += 1
        tally.presence[0] += bool(present) == _inside(t, in_bed, 0.0)


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def _series(tally: Tally, true: list[tuple[float, float]], reported: object) -> None:
    if not isinstance(reported, list):
        return
    found: list[tuple[float, float]] = []
    for item in reported:
        if isinstance(item, dict):
            lo, hi = _number(item.get("start_s")), _number(item.get("end_s"))
            if lo is not None and hi is not None:
                found.append((lo, hi))
    tally.plm_series_reported += 1
    tally.plm_series[0] += sum(
        any(_overlap(t, d) >= 0.5 * (t[1] - t[0]) for d in found) for t in true)
    tally.plm_series[1] += len(true)
    tally.plm_series[2] += sum(
        any(_overlap(t, d) >= 0.5 * (d[1] - d[0]) for t in true) for d in found)
    tally.plm_series[3] += len(found)


def _number(x: object) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        return None
    return float(x)


# --- figures ----------------------------------------------------------------------------


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(np.abs(values), q)) if values else None


def figures(t: Tally) -> dict[str, Any]:
    """The report's numbers from a tally; None where there is nothing to say ("n/a")."""
    out: dict[str, Any] = {"nights": t.nights, "hours": round(t.hours, 2)}
    free_h = t.free_s / 3600.0
    out["event_free_hours"] = round(free_h, 2)
    for kind in EVENT_TYPES:
        tp, fp, fn = t.tp[kind], t.fp[kind], t.fn[kind]
        p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        f1 = _ratio(2 * tp, 2 * tp + fp + fn)
        errors = t.onset_errors_s.get(kind, [])
        out[kind] = {
            "labels": tp + fn, "detected": tp + fp, "tp": tp, "fp": fp, "fn": fn,
            "precision": p, "recall": r, "f1": f1,
            "onset_error_median_s": _percentile(errors, 50),
            "onset_error_p95_s": _percentile(errors, 95),
            "false_alarms_per_h": _ratio(t.false_alarms[kind], free_h),
        }
    out["false_alarms_per_h"] = _ratio(sum(t.false_alarms.values()), free_h)
    out["false_alarm_causes"] = {f"{k}<-{c}": n for (k, c), n in
                                 sorted(t.false_alarm_causes.items())}
    out["confusion"] = {f"{k}->{d}": n for (k, d), n in sorted(t.confusion.items())}
    for kind in STRENGTH_TYPES:
        out[kind]["recall_by_strength"] = {
            name: {"found": t.strength[(kind, name)][0], "labels": t.strength[(kind, name)][1],
                   "recall": _ratio(*t.strength[(kind, name)])}
            for _, _, name in STRENGTH_BINS if (kind, name) in t.strength}
    bed_found = [e for e in t.bed_errors_s if e is not None]
    out["bed"] = {
        "labels": len(t.bed_errors_s),
        "found_within_5s": _ratio(len(bed_found), len(t.bed_errors_s)),
        "onset_error_median_s": _percentile(bed_found, 50),
        "reported_after_median_s": _percentile(t.bed_latency_s, 50),
    }
    plm_rel = [abs(d - p) / p for p, d in t.plm if d is not None and p >= PLM_RELATIVE_MIN]
    # A share is "n/a" (None) when the detector gave no estimate at all; once it gives
    # some, a night or time without one counts as a miss.
    plm_estimated = sum(d is not None for _, d in t.plm)
    out["plm_index"] = {
        "nights": len(t.plm),
        "estimated": plm_estimated,
        "within_10pct": None if not plm_estimated else _ratio(
            sum(d is not None and abs(d - p) <= 0.1 * p + 0.5 for p, d in t.plm), len(t.plm)),
        "relative_error_median": _percentile(plm_rel, 50),
    }
    reported = t.plm_series_reported > 0
    out["plm_series"] = {
        "labels": t.plm_series[1], "detected": t.plm_series[3],
        "recall": _ratio(t.plm_series[0], t.plm_series[1]) if reported else None,
        "precision": _ratio(t.plm_series[2], t.plm_series[3]) if reported else None,
    }
    onset_err = [d - s for s, d in t.sleep_onset if d is not None]
    within = sum(abs(e) <= SLEEP_ONSET_TOLERANCE_S for e in onset_err)
    out["sleep_onset"] = {
        "nights": len(t.sleep_onset),
        "estimated": len(onset_err),
        "within_10min": _ratio(within, len(t.sleep_onset)) if onset_err else None,
        "error_median_min": None if not onset_err else float(np.median(np.abs(onset_err)))
        / 60.0,
    }
    for name, tolerance in VITALS_TOLERANCE.items():
        all_errors = np.array(t.vitals_errors.get(name, []), dtype=np.float64)
        have = all_errors[~np.isnan(all_errors)]
        right = int(np.count_nonzero(have <= tolerance))
        out[name] = {
            "labels": len(all_errors),
            "estimated": _ratio(len(have), len(all_errors)),
            "error_median_bpm": float(np.median(have)) if len(have) else None,
            "coverage": _ratio(right, len(all_errors)) if len(have) else None,
        }
    out["presence_agreement"] = _ratio(*t.presence)
    return out
