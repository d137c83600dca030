"""The night as the detector sees it: coverage, events in context, and the night figures.

The detector hands over each classified movement and, every epoch, the breathing and heart
estimates; ``Night`` runs them past the night's trackers (``presence``, ``sleep``,
``series``, ``baseline``) in time order and finishes each event (sleep start, series,
intensity). ``summary`` only reads the trackers, so it is cheap enough to call after every
Block. Times are on the sensor's clock (``Block.t_s``), in seconds; a figure not known yet
is None.

- restlessness   limb movements and posture changes per hour in bed
- plm_index      limb movements in periodic series during sleep, per hour of sleep (the
                 adult clinical threshold is 15 an hour)
- jerk_clusters  bursts of three or more jerks, each within 5 min of the one before
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from hypnic.daemon.detect.baseline import Baseline, NightJerks
from hypnic.daemon.detect.filters import F64
from hypnic.daemon.detect.presence import Presence
from hypnic.daemon.detect.series import ClusterCounter, SeriesTracker
from hypnic.daemon.detect.settling import irregularity
from hypnic.daemon.detect.sleep import SleepTracker
from hypnic.daemon.detect.vitals import NO_BREATH, Breath, Heart, VitalsTracker
from hypnic.daemon.events import EVENT_TYPES, Event

JERK_CLUSTER_GAP_S = 300.0
JERK_CLUSTER_MIN = 3
#: Breathing followed this poorly while still means restless wakefulness (see ``sleep``).
IRREGULAR_BREATHING = 0.2
#: A tentative limb movement waits this long for one that starts too soon after it (see
#: ``Night.tentative_limb``); any such is decided well within it.
TENTATIVE_WAIT_S = 60.0
#: Limb movements reported outside any series that are kept for a new series to take in
#: (and for its first members' peaks): as many as fit in the look back before it
#: (``series_gaps.MAX_GAP_S``) at 20 s apart.
LOOSE_LIMBS_KEPT = 16


@dataclass(frozen=True)
class NewSeries:
    """A PLM series just formed: its id, its members' onsets (in time order), their median
    peak, and the limb movements reported before it outside any series (since the series
    before ended): the series may have begun with some of them, its rhythm broken by a faint
    one missed in between."""

    id: int
    onsets_s: tuple[float, ...]
    median_peak_g: float
    loose_before: tuple[Event, ...] = ()


class Night:
    def __init__(self, plm_rule: str = "aasm", baseline: Baseline | None = None) -> None:
        self.counts = dict.fromkeys(EVENT_TYPES, 0)
        self.samples = 0
        self.lost_samples = 0
        self.gaps = 0
        self.first_t_s: float | None = None
        self.last_t_s: float | None = None
        self.baseline = baseline
        self.presence = Presence()
        self.sleep = SleepTracker()
        self.vitals = VitalsTracker()
        self.plm = SeriesTracker(plm_rule)
        self.jerk_runs = SeriesTracker(plm_rule)
        self.jerk_clusters = ClusterCounter(JERK_CLUSTER_GAP_S, JERK_CLUSTER_MIN)
        self.jerks = NightJerks()
        #: Tentative limb movements in the PLM run so far, by onset, and the latest one while
        #: it waits to join the run (see ``tentative_limb``).
        self._held: dict[float, Event] = {}
        self._waiting: Event | None = None
        #: Where the detector looks again for faint movements on a new series' beats (see
        #: ``series_gaps``): set by the detector, which holds the raw samples.
        self.look_into: Callable[[NewSeries], list[Event]] | None = None
        self._loose_limbs: deque[Event] = deque(maxlen=LOOSE_LIMBS_KEPT)

    def use(self, plm_rule: str, baseline: Baseline | None) -> None:
        """New settings: a new series rule applies to movements from now on."""
        if plm_rule != self.plm.rule:
            self.plm = SeriesTracker(plm_rule)
            self.jerk_runs = SeriesTracker(plm_rule)
            self._held, self._waiting = {}, None
            self._loose_limbs.clear()
        self.baseline = baseline

    def new_night(self) -> None:
        """A new night begins (the daemon runs for days): the night's counts, sleep, series
        and figures start afresh. What is known of the bed and the sleeper stays: who is in
        bed stays in bed (their stay starts now, its sleep onset unknown), and breathing,
        heart rate and the empty bed's gravity carry on."""
        self.counts = dict.fromkeys(EVENT_TYPES, 0)
        self.samples = self.lost_samples = self.gaps = 0
        t_s = self.last_t_s
        self.first_t_s = t_s
        self.presence.new_night(t_s)
        self.presence.changes.clear()
        self.sleep = SleepTracker()
        if self.presence.in_bed and t_s is not None:
            self.sleep.begin(t_s, None)
        self.plm = SeriesTracker(self.plm.rule)
        self.jerk_runs = SeriesTracker(self.plm.rule)
        self._held, self._waiting = {}, None
        self._loose_limbs.clear()
        self.jerk_clusters = ClusterCounter(JERK_CLUSTER_GAP_S, JERK_CLUSTER_MIN)
        self.jerks = NightJerks()

    def observe(self, first_t_s: float, last_t_s: float, n: int) -> None:
        if self.first_t_s is None:
            self.first_t_s = first_t_s
        self.last_t_s = last_t_s
        self.samples += n
        self.presence.observe(first_t_s, last_t_s)

    def movement(self, event: Event, before_g: F64 | None, after_g: F64 | None,
                 breath_before: Breath | None = None) -> list[Event]:
        """A classified movement, decided at the end of its gravity-after window."""
        return self._finish(self.presence.movement(event, before_g, after_g, breath_before))

    def tentative_limb(self, event: Event) -> list[Event]:
        """A limb movement but for the shift of the load it left, as a partner turning over
        on the other side leaves one (``classify``). It is the sleeper's if it belongs to a
        periodic series: nobody turns over every half minute. So it is held while its run may
        still become a series, and reported (late) when the run does; otherwise it is not
        an event.

        A limb movement that starts within a series' shortest interval of it (5 s) would
        break the run, and wins: one before it drops this one, so does one after it, which is
        why it first waits up to ``TENTATIVE_WAIT_S`` before it joins the run."""
        if self.presence.in_bed is not True:
            return []
        last = self._waiting.onset_s if self._waiting else self.plm.last_onset_s
        if last is not None and event.onset_s - last < self.plm.shortest_s:
            return []
        self._sync_stays()
        out = self._join_waiting()
        self._waiting = event
        return out

    def epoch(self, t_s: float, breath: Breath | None, heart: Heart | None,
              presence_breath: Breath | None, still_gravity_g: F64 | None) -> list[Event]:
        """Every epoch: the rates of the last minute, where estimated this time (None: not
        estimated), and ``presence_breath``: of the still signal after a movement that waits
        for a decision, else the same as ``breath``."""
        self.vitals.update(t_s, breath, heart)
        events = self._finish(self.presence.epoch(t_s, presence_breath or NO_BREATH,
                                                  still_gravity_g))
        self._sync_stays()
        if breath is not None:
            still = breath.swing_ratio == breath.swing_ratio  # not nan: there was still signal
            self.sleep.breathing_followed = not still or breath.confidence >= IRREGULAR_BREATHING
            irregular = irregularity(breath)
            if irregular is not None:
                self.sleep.breathing(t_s, irregular)
        self.sleep.advance(t_s)
        if self._waiting is not None and t_s - self._waiting.onset_s >= TENTATIVE_WAIT_S:
            events += self._join_waiting()
        return events

    def finish(self, breath_after: Breath | None) -> list[Event]:
        events = self._finish(self.presence.finish(breath_after)) + self._join_waiting()
        if self.last_t_s is not None:
            self.sleep.finish(self.last_t_s)
        return events

    def _sync_stays(self) -> None:
        for change, t_s, entry_s in self.presence.changes:
            if change == "in":
                self.sleep.begin(t_s, entry_s)
            else:
                self.sleep.end(t_s)
        self.presence.changes.clear()

    def _finish(self, events: list[Event]) -> list[Event]:
        out = []
        for event in events:
            self._sync_stays()
            kind = event.type
            if kind == "jerk":
                series, _ = self.jerk_runs.add(event.onset_s, event.offset_s)
                event = replace(
                    event,
                    sleep_onset=self.sleep.jerk(event.onset_s),
                    series=series,
                    intense=self.baseline is not None and self.baseline.is_intense(event.peak_g),
                )
                self.jerk_clusters.add(event.onset_s)
                self.jerks.add(event.peak_g)
            elif kind == "limb_movement":
                out += self._before_limb(event.onset_s) + self._limb(event)
                continue
            elif kind == "posture_change":
                self.sleep.movement(kind, event.onset_s, event.offset_s)
            self.counts[kind] += 1
            out.append(event)
        self._sync_stays()
        return out

    def _before_limb(self, onset_s: float) -> list[Event]:
        """Settle the waiting tentative limb movement before a limb movement starting at
        ``onset_s``: dropped if that is too close to it, else it joins the run first if it
        came first (one found late on a second look may not have)."""
        if self._waiting is None:
            return []
        gap_s = onset_s - self._waiting.onset_s
        if abs(gap_s) < self.plm.shortest_s:
            self._waiting = None
            return []
        return self._join_waiting() if gap_s > 0 else []

    def _join_waiting(self) -> list[Event]:
        """The waiting tentative limb movement joins the PLM run."""
        waiting, self._waiting = self._waiting, None
        return [] if waiting is None else self._limb(waiting, tentative=True)

    def _limb(self, event: Event, tentative: bool = False) -> list[Event]:
        """A limb movement through the PLM series: reported with any held one that its series
        takes in; a tentative one not (yet) in a series is held instead. When a series forms,
        faint movements found on its beats before its latest (``look_into``) join it first."""
        series, members = self.plm.add(event.onset_s, event.offset_s)
        taken = [replace(e, series=series) for t, e in sorted(self._held.items()) if t in members]
        run = self.plm.run_onsets
        self._held = {t: e for t, e in self._held.items() if t in run}
        if tentative and series is None:
            self._held[event.onset_s] = event
            return []
        found: list[Event] = []
        joined: list[float] = []
        if len(members) > 1 and series is not None:  # a series has just formed
            found, joined = self._on_its_beats(series, members, [*taken, event])
            self.sleep.series(min([members[0], *joined]), event.offset_s,
                              [e.onset_s for e in found])
        elif series is None:
            self._loose_limbs.append(event)
        for onset_s in [*members, *joined, *(e.onset_s for e in found)]:
            self.sleep.count_if_asleep(onset_s)
        self.sleep.movement("limb_movement", event.onset_s, event.offset_s, series is not None)
        self.counts["limb_movement"] += len(found) + len(taken) + 1
        return [*found, *taken, replace(event, series=series)]

    def _on_its_beats(self, series: int, members: list[float],
                      unreported: list[Event]) -> tuple[list[Event], list[float]]:
        """What the detector finds on the beats of a series just formed, before its latest
        member, that joins it: faint limb movements, reported now with its id, and the
        onsets of limb movements reported earlier outside a series (reported already, they
        only join its count). ``unreported``: its members not reported yet (held ones and
        the latest); the others were reported outside a series."""
        if self.look_into is None:
            return [], []
        peaks = sorted(e.peak_g for e in [*self._loose_limbs, *unreported]
                       if e.onset_s in members)
        first = min(members)
        loose = tuple(e for e in self._loose_limbs if self.plm.ended_s < e.onset_s < first)
        formed = NewSeries(series, tuple(sorted(members)), peaks[len(peaks) // 2], loose)
        known = {e.onset_s for e in loose}
        found, joined = [], []
        for e in sorted(self.look_into(formed), key=lambda e: e.onset_s):
            if not self.plm.take_in(series, e.onset_s):
                continue
            if e.onset_s in known:
                joined.append(e.onset_s)
            else:
                found.append(replace(e, series=series))
        # By the scoring rule, those reported before it within a series interval of its
        # first movement (now that any found late fill the gap) are in it too.
        first = min([first, *joined, *(e.onset_s for e in found)])
        for e in reversed(loose):
            if e.onset_s >= first:
                continue
            if not self.plm.shortest_s <= first - e.onset_s <= self.plm.longest_s:
                break
            if self.plm.take_in(series, e.onset_s):
                joined.append(e.onset_s)
                first = e.onset_s
        return found, joined

    def summary(self) -> dict[str, Any]:
        duration = 0.0
        if self.first_t_s is not None and self.last_t_s is not None:
            duration = self.last_t_s - self.first_t_s
        p, sl, v = self.presence, self.sleep, self.vitals
        in_bed_s = p.current_time_in_bed_s
        asleep_s = sl.asleep_s(self.last_t_s)
        in_bed = p.in_bed is True
        longest_run = max((s.count for s in self.jerk_runs.series), default=0)
        reasons = self.jerks.unusual(self.baseline, in_bed_s / 3600.0, longest_run)
        moves = self.counts["limb_movement"] + self.counts["posture_change"]
        return {
            "duration_s": round(duration, 3),
            "samples": self.samples,
            "lost_samples": self.lost_samples,
            "gaps": self.gaps,
            "counts": dict(self.counts),
            "in_bed": p.in_bed,
            "bed_entry_s": _rounded(p.entry_s),
            "bed_exit_s": _rounded(p.exit_s),
            "time_in_bed_s": round(in_bed_s, 1),
            "sleep_onset_s": _rounded(sl.first_onset_s),
            "sleep_onset_latency_s": _rounded(sl.first_latency_s, 1),
            "time_asleep_s": _rounded(asleep_s, 1),
            "restlessness": _per_hour(moves, in_bed_s),
            "plm_index": _per_hour(sl.counted_asleep, asleep_s),
            "plm_series": self.plm.listed(),
            "plm_rule": self.plm.rule,
            "jerk_runs": self.jerk_runs.listed(),
            "jerk_clusters": self.jerk_clusters.clusters,
            # Rates are someone's in bed: with nobody there, nothing is known of them.
            "respiration_rate_bpm": v.respiration_rate_bpm if in_bed else None,
            "respiration_confidence": round(v.breath.confidence, 3) if in_bed else 0.0,
            "heart_rate_bpm": v.heart_rate_bpm if in_bed else None,
            "heart_rate_confidence": round(v.heart.confidence, 3) if in_bed else 0.0,
            "unusual": bool(reasons),
            "unusual_reasons": reasons,
        }


def _per_hour(count: int, seconds: float | None) -> float | None:
    """``count`` per hour of ``seconds``; None with under a minute to divide by."""
    if seconds is None or seconds < 60.0:
        return None
    return round(count / (seconds / 3600.0), 2)


def _rounded(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else round(x, digits)
