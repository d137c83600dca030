"""Is someone in bed? Bed entry and exit from big movements, the tilt they leave and breathing.

An empty bed gives the sensor only its own noise and the room's vibration; a person lying on
it adds breathing (a slow swing of the gravity vector, see ``vitals``) and the weight that
tilts the mattress under the sensor by a degree or more. So:

- Breathing evidence, every epoch: *breathing* when the slow swing is well above sensor noise
  and periodic (swing ratio >= 1.6 and autocorrelation >= 0.35), *absent* when it is at the
  noise (ratio <= 1.35, autocorrelation < 0.3), otherwise (or while moving) no vote. A chip
  with flicker (1/f) noise or slow drift swings more than its noise predicts even with nobody
  there, but without a rhythm: a swing with hardly any (autocorrelation < 0.1) is absent too,
  up to 8x the noise, until the empty bed has been heard; then one with little (< 0.2), up to
  1.1x the empty bed's upper quartile. While a big movement waits for a decision, only the
  still signal after it votes.
- At the start nobody knows: two breathing epochs in a row say "in bed" (since the start),
  two absent ones say "empty"; three minutes of a swing above the sensor's noise with no
  absent epoch also say "in bed" (a faint breather on a noisy sensor). A big movement in
  that time that tilts the bed as getting in does, after which the swing is ``SWELL`` times
  what it was just before, was getting in (on a quiet chip, flicker noise in the empty bed
  may never say absent).
- After that only a big movement (one classed as a posture change) can change the state, so a
  quiet sleeper never "leaves" the bed. From empty, it is a bed entry at once if it left the
  surface tilted away from the empty bed's tilt by ``ENTRY_TILT_DEG`` (the tilt before it,
  if no still epoch has shown the empty bed's yet; the same when the state is not known yet
  but the breathing so far said absent), or a strong one (``STRONG_ENTRY_PEAK_G``) by
  ``STRONG_ENTRY_TILT_DEG``, even if it was too short or tilted too little to class as a
  posture change: a light body whose breathing a noisy sensor cannot hear may tilt a firm
  mattress by under half a degree. Otherwise it waits for the breathing after it
  (breathing: entry; absent: it was something else, and is not reported). From in bed, a
  big movement that leaves the tilt away from the empty bed's (when that is known) is an
  ordinary posture change. One that brings it back to within
  ``EXIT_MATCH_DEG`` (an empty mattress returns to its own tilt within a few hundredths of a
  degree) waits for the breathing after it: absent, or no still signal before the stream
  ends, makes it a bed exit; breathing, a posture change. "Breathing" at a rate far from the
  sleeper's (``STRANGE_RATE_SHARE``) counts as absent here: on a quiet chip, flicker noise in
  the empty bed can look like a faint rhythm, and turning over does not change how fast
  someone breathes. One that takes the tilt at least
  half way back (a foam mattress creeps the rest of the way over minutes), or any big
  movement when no empty bed's tilt is known (the stream began with someone in bed), needs
  two absent epochs to be an exit, and one breathing epoch makes it a posture change. A
  movement too slight to class as a posture change that moved the tilt by a tenth of a degree
  and left it within ``LIGHT_EXIT_MATCH_DEG`` of the empty bed's is weighed the same way (a
  light body getting out), and stays what it was classified as if breathing follows.
- The empty bed's tilt is learnt only from epochs in which nothing moved: the still moments
  around a movement may already carry the tilt of someone getting in.
- An empty bed that hears breathing for ``BREATHING_ENTRY_EPOCHS`` epochs in a row has someone
  in it after all: getting in was too gentle to be told from a footstep. The last movement
  dropped as not the sleeper's becomes the bed entry, if it was recent; a big one stays the
  candidate over smaller ones for ``LATE_ENTRY_S`` (the sleeper's first fidgets and jerks
  come after getting in). So does a dropped
  movement (it tilted the bed too little, and the breathing after it was too faint to hear
  at first) that a swing above the sensor's noise follows for ``FAINT_EPOCHS`` epochs with
  no sign of absence: a light sleeper on a noisy sensor.
- Jerks and limb movements in an empty bed are not a sleeper's (a footstep, a door, a pet) and
  are dropped; while the state is still unknown they wait for it.

A movement that waits is reported once decided, so it can come out up to two minutes late and
after later events; its times are those of the movement.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace

import numpy as np

from hypnic.daemon.detect.classify import angle_deg
from hypnic.daemon.detect.filters import F64
from hypnic.daemon.detect.vitals import EPOCH_S, Breath
from hypnic.daemon.events import Event

BREATHING_RATIO = 1.6
BREATHING_CONFIDENCE = 0.35
ABSENT_RATIO = 1.35
ABSENT_CONFIDENCE = 0.3
#: A swing above this many times the sensor's noise is above the noise (see FAINT_EPOCHS).
SWING_RATIO = 1.35
#: A chip whose noise rises at low frequencies (1/f noise, slow temperature drift) swings
#: more than its block-to-block noise predicts even in an empty bed, but without a rhythm. So
#: a swing with hardly any rhythm (confidence under UNHEARD_QUIET_CONFIDENCE) is absence up
#: to NOISY_ABSENT_RATIO while the empty bed has not been heard yet (stricter: a sleeper may
#: be there from the start), and after that one under QUIET_CONFIDENCE up to EMPTY_MARGIN
#: times the EMPTY_PERCENTILE of the last EMPTY_KEPT ratios the empty bed gave (flicker noise
#: swings unevenly: an empty bed's ratios spread from 1.5 to 7).
QUIET_CONFIDENCE = 0.2
UNHEARD_QUIET_CONFIDENCE = 0.1
NOISY_ABSENT_RATIO = 8.0
EMPTY_MARGIN = 1.1
EMPTY_PERCENTILE = 75.0
EMPTY_KEPT = 15
#: A movement that may have been getting out: "breathing" after it at a rate this far (as a
#: share) from the sleeper's before it is not theirs (flicker noise on a quiet chip can look
#: like a rhythm; turning over does not change how fast someone breathes).
STRANGE_RATE_SHARE = 0.3
#: The sleeper's breathing: the rates of this many latest breathing epochs in bed.
IN_BED_KEPT = 6
#: While nobody knows yet whether the bed is empty (flicker noise on a quiet chip swings with
#: too much rhythm to say absent), a big movement that tilts the bed as getting in does, and
#: after which the swing is this many times what it was before, was getting in.
SWELL = 20.0
ENTRY_TILT_DEG = 0.5
#: ... or this much for a strong movement: in an empty bed nothing but someone getting in
#: moves it by a tenth of a g and tilts it at all (a light body on a firm mattress tilts it
#: by under half a degree).
STRONG_ENTRY_TILT_DEG = 0.2
STRONG_ENTRY_PEAK_G = 0.1
EXIT_MATCH_DEG = 0.15
#: An exit must also move the tilt at least this much.
EXIT_TILT_DEG = 0.4
#: ... or, for a movement too slight to class as a posture change (a light body getting out),
#: this much, ending within a few hundredths of a degree of the empty bed's tilt.
LIGHT_EXIT_TILT_DEG = 0.1
LIGHT_EXIT_MATCH_DEG = 0.05
#: A big movement that leaves the tilt this close to the empty bed's, as a share of how far
#: it was before, may be an exit that the mattress has not finished showing.
TOWARD_EMPTY = 0.5
#: A movement still undecided this long after it ended is taken as it was classified.
WAIT_MAX_S = 120.0
#: An empty bed in which this many epochs in a row hear breathing has someone in it after
#: all (getting in was too gentle to tell); the bed entry is the last movement dropped as
#: not the sleeper's, if it came at most ``LATE_ENTRY_S`` before.
BREATHING_ENTRY_EPOCHS = 3
LATE_ENTRY_S = 240.0
#: At the start, this many epochs in a row with a slow swing above the sensor's noise and no
#: sign of absence say "in bed" too: a faint breather on a noisy sensor (an empty bed shows
#: absence within a minute).
FAINT_EPOCHS = 9


@dataclass
class _Waiting:
    event: Event
    #: What the movement becomes on breathing evidence, and on absence evidence (None: drop).
    if_breathing: str | None
    if_absent: str | None
    gravity_after_g: F64 | None = None
    gravity_before_g: F64 | None = None
    absent_votes: int = 0
    absent_needed: int = 2
    #: At the end of the stream with no evidence either way: take it as a bed exit.
    exit_if_unsure: bool = False
    #: Breathing that swings at least this much after it makes it a bed entry (see SWELL).
    entry_swing_ratio: float = math.inf


class Presence:
    def __init__(self) -> None:
        self.in_bed: bool | None = None
        self.entry_s: float | None = None
        self.exit_s: float | None = None
        #: Start of the current stay in bed, for the time in bed.
        self.since_s: float | None = None
        self.time_in_bed_s = 0.0
        self.empty_gravity_g: F64 | None = None
        self._votes: list[int] = []
        self._waiting: list[_Waiting] = []
        self._first_t_s: float | None = None
        self._last_t_s: float | None = None
        #: The latest movement dropped in the empty bed, and the breathing epochs since.
        self._dropped: Event | None = None
        #: ... and the tilt before it: the empty bed's, should it turn out to be the entry.
        self._dropped_before_g: F64 | None = None
        self._breathing_epochs = 0
        #: Epochs in a row, while nobody is known to be in bed, whose slow swing stood above
        #: the sensor's noise without being clear breathing.
        self._above_noise = 0
        #: Swing ratios of the latest epochs that heard nobody in bed, and the breathing rates
        #: of the latest that heard the sleeper.
        self._empty_ratios: deque[float] = deque(maxlen=EMPTY_KEPT)
        self._in_bed_rates: deque[float] = deque(maxlen=IN_BED_KEPT)
        #: Stays in bed beginning ("in") or ending ("out"): (change, time, bed entry onset or
        #: None), for the sleep tracker to read.
        self.changes: list[tuple[str, float, float | None]] = []

    def observe(self, first_t_s: float, last_t_s: float) -> None:
        if self._first_t_s is None:
            self._first_t_s = first_t_s
        self._last_t_s = last_t_s

    def new_night(self, t_s: float | None) -> None:
        """Time in bed counts afresh from ``t_s``; whoever is in bed stays in bed."""
        self.time_in_bed_s = 0.0
        self.exit_s = None
        if t_s is not None:
            self._first_t_s = t_s
        if self.in_bed and t_s is not None:
            self.since_s = t_s
        else:
            self.entry_s = None

    @property
    def current_time_in_bed_s(self) -> float:
        extra = 0.0
        if self.in_bed and self.since_s is not None and self._last_t_s is not None:
            extra = max(0.0, self._last_t_s - self.since_s)
        return self.time_in_bed_s + extra

    @property
    def waiting_since_s(self) -> float | None:
        """End of the latest movement waiting for breathing evidence (None if none waits)."""
        big = [w.event.offset_s for w in self._waiting if w.event.type == "posture_change"]
        return max(big) if big else None

    def movement(self, event: Event, before_g: F64 | None, after_g: F64 | None,
                 breath_before: Breath | None = None) -> list[Event]:
        """A classified movement: what to report now (maybe re-typed), or hold it.
        ``breath_before``: breathing of the still signal before it (used while the state is
        unknown)."""
        big = event.type == "posture_change"
        if not big:
            if self.in_bed is None:
                self._waiting.append(_Waiting(event, event.type, None))
            elif self.in_bed is False:
                # Getting in too lightly to tilt the bed as turning over does.
                entry = self._entry_from_empty(event, before_g, after_g, strong_only=True) \
                    if event.type == "limb_movement" else None
                if entry is not None:
                    return [entry]
                self._drop(event, before_g)
            elif self._light_exit(before_g, after_g):
                # Waits as a big movement would (only the still signal after it votes).
                self._waiting.append(_Waiting(replace(event, type="posture_change"),
                                              event.type, "bed_exit", after_g,
                                              absent_needed=1, exit_if_unsure=True))
                return []
            return [event] if self.in_bed else []
        if self.in_bed is None:
            # Absent breathing before it: a bed entry if breathing follows.
            empty_before = -1 in self._votes or (
                breath_before is not None and self._vote(breath_before) == -1)
            became = "bed_entry" if empty_before else "posture_change"
            waiting = _Waiting(event, became, None, after_g, before_g)
            entered = _entered(event, angle_deg(before_g, after_g))
            if empty_before and entered:
                return [self._apply("bed_entry", waiting)]
            if entered and breath_before is not None and breath_before.swing_ratio > 0:
                waiting.entry_swing_ratio = SWELL * breath_before.swing_ratio
            self._waiting.append(waiting)
            return []
        if self.in_bed is False:
            entry = self._entry_from_empty(event, before_g, after_g)
            if entry is not None:
                return [entry]
            self._waiting.append(_Waiting(event, "bed_entry", None, after_g, before_g))
            return []
        back = angle_deg(self.empty_gravity_g, after_g)
        back_before = angle_deg(self.empty_gravity_g, before_g)
        moved = angle_deg(before_g, after_g) or 0.0
        tilted_back = (back is not None and back <= EXIT_MATCH_DEG and moved >= EXIT_TILT_DEG
                       ) or self._light_exit(before_g, after_g)
        # A mattress that creeps back slowly (foam), or an empty bed's tilt learnt a while
        # ago, may not be matched at once: a big movement that took the tilt most of the way
        # back may be an exit too, and the breathing after it decides.
        toward_empty = (back is not None and back_before is not None
                        and moved >= EXIT_TILT_DEG and back <= TOWARD_EMPTY * back_before)
        if back is not None and not (tilted_back or toward_empty):
            # The empty bed's tilt is known and this went elsewhere: still in bed, however
            # faint the breathing (a light breather on a noisy sensor can seem absent).
            return [event]
        # Back at the empty bed's tilt: one absent vote (or none coming before the end) is
        # enough; with no tilt to go by, or only part of the way back, it takes two.
        self._waiting.append(_Waiting(event, "posture_change", "bed_exit", after_g,
                                      absent_needed=1 if tilted_back else 2,
                                      exit_if_unsure=tilted_back))
        return []

    def _light_exit(self, before_g: F64 | None, after_g: F64 | None) -> bool:
        """Did a movement too slight for a posture change take the bed back to its empty tilt?
        (A sleeper's own limb movements leave the tilt alone.)"""
        back = angle_deg(self.empty_gravity_g, after_g)
        moved = angle_deg(before_g, after_g)
        return back is not None and moved is not None and back <= LIGHT_EXIT_MATCH_DEG \
            and moved >= LIGHT_EXIT_TILT_DEG

    def epoch(self, t_s: float, breath: Breath, still_gravity_g: F64 | None) -> list[Event]:
        """Breathing evidence (of the whole last minute, or, while a big movement waits, of
        the still signal after it); returns the movements now decided."""
        vote = self._vote(breath)
        if self.in_bed is not True and vote != -1 and breath.swing_ratio > SWING_RATIO:
            self._above_noise += 1
        elif vote == -1:
            self._above_noise = 0
        if self.in_bed is None and (vote or self._above_noise >= FAINT_EPOCHS):
            self._votes = [*self._votes[-1:], vote]
            faint = self._above_noise >= FAINT_EPOCHS
            if (self._votes == [1, 1] or faint) and self.waiting_since_s is None:
                self.in_bed, self.since_s = True, self._first_t_s
                self.changes.append(("in", self._first_t_s or t_s, None))
            elif self._votes == [-1, -1]:
                self.in_bed = False
                self.empty_gravity_g = still_gravity_g
        elif self.in_bed is False and vote == -1 and still_gravity_g is not None \
                and not self._waiting:
            self.empty_gravity_g = still_gravity_g
        if self.in_bed is not True and vote == -1 and not self._waiting:
            self._empty_ratios.append(breath.swing_ratio)
        if self.in_bed is True and vote == 1 and not self._waiting and breath.rate_bpm:
            self._in_bed_rates.append(breath.rate_bpm)
        events = self._decide(t_s, vote, self._strange_rate(breath), breath.swing_ratio)
        if self.in_bed is False and not self._waiting:
            if vote:
                self._breathing_epochs = self._breathing_epochs + 1 if vote == 1 else 0
            if self._breathing_epochs >= BREATHING_ENTRY_EPOCHS:
                events += self._breathing_entry(t_s)
            elif self._above_noise >= FAINT_EPOCHS and self._dropped is not None:
                faint_since_s = t_s - (FAINT_EPOCHS + 1) * EPOCH_S
                if self._dropped.offset_s >= faint_since_s - LATE_ENTRY_S:
                    events.append(self._enter_late())
        return events

    def _vote(self, breath: Breath) -> int:
        """1: breathing, -1: nobody there, 0: cannot tell."""
        if len(self._empty_ratios) < 2:
            return _vote(breath, NOISY_ABSENT_RATIO, UNHEARD_QUIET_CONFIDENCE)
        learnt = EMPTY_MARGIN * float(np.percentile(self._empty_ratios, EMPTY_PERCENTILE))
        return _vote(breath, max(ABSENT_RATIO, min(NOISY_ABSENT_RATIO, learnt)),
                     QUIET_CONFIDENCE)

    def _breathing_entry(self, t_s: float) -> list[Event]:
        """Breathing in the bed thought empty: someone got in without telling movement."""
        breathing_since_s = t_s - (BREATHING_ENTRY_EPOCHS + 1) * EPOCH_S
        dropped = self._dropped
        if dropped is not None and dropped.offset_s >= breathing_since_s - LATE_ENTRY_S:
            return [self._enter_late()]
        self.in_bed, self.since_s = True, breathing_since_s
        self._votes, self._breathing_epochs, self._dropped = [], 0, None
        self._above_noise = 0
        self.changes.append(("in", breathing_since_s, None))
        return []

    def finish(self, breath_after: Breath | None) -> list[Event]:
        """End of the stream: a last look at what still waits, with whatever still signal
        followed it (one vote is enough now). If it is still not known whether anyone was
        in bed, the movements are reported as they were classified."""
        vote = self._vote(breath_after) if breath_after is not None else 0
        strange = breath_after is not None and self._strange_rate(breath_after)
        out: list[Event] = []
        for w in self._waiting:
            w_vote = _exit_vote(w, vote, strange)
            if w_vote == -1 and w.if_absent is not None:
                out.append(self._apply(w.if_absent, w))
            elif w_vote == 1 and w.if_breathing is not None:
                out.append(self._apply(w.if_breathing, w))
            elif w_vote == 0 and w.exit_if_unsure:
                out.append(self._apply("bed_exit", w))
            elif self.in_bed is not False and w.if_breathing == w.event.type:
                # Never decided: reported as it was classified, unless the bed is empty.
                out.append(w.event)
        self._waiting = []
        return out

    def _strange_rate(self, breath: Breath) -> bool:
        """Is this "breathing" at a rate far from the sleeper's (see STRANGE_RATE_SHARE)?"""
        if not self._in_bed_rates or not breath.rate_bpm:
            return False
        usual = float(np.median(self._in_bed_rates))
        return abs(breath.rate_bpm - usual) > STRANGE_RATE_SHARE * usual

    def _decide(self, t_s: float, vote: int, strange: bool = False,
                swing_ratio: float = math.nan) -> list[Event]:
        out: list[Event] = []
        keep: list[_Waiting] = []
        for w in self._waiting:
            kind: str | None = w.event.type
            decided = False
            w_vote = _exit_vote(w, vote, strange)
            if w.event.type != "posture_change":
                decided = self.in_bed is not None
                kind = w.event.type if self.in_bed else None
            elif w_vote == 1:
                decided, kind = True, w.if_breathing
                if swing_ratio >= w.entry_swing_ratio:
                    kind = "bed_entry"
            elif w_vote == -1:
                w.absent_votes += 1
                if w.if_absent is None or w.absent_votes >= w.absent_needed:
                    decided, kind = True, w.if_absent
            if not decided and t_s - w.event.offset_s > WAIT_MAX_S:
                # Still unknown whether anyone is in bed (a faint breather on a noisy
                # sensor): a movement under the mattress is most likely theirs.
                decided = True
                if self.in_bed is False:
                    kind = None
                elif self.in_bed is None or w.if_breathing != "bed_entry":
                    kind = w.if_breathing
                else:
                    kind = "posture_change"
            if not decided:
                keep.append(w)
            elif kind is not None:
                out.append(self._apply(kind, w))
            elif self.in_bed is False:
                self._drop(w.event, w.gravity_before_g)
        self._waiting = keep
        return out

    def _entry_from_empty(self, event: Event, before_g: F64 | None, after_g: F64 | None,
                          strong_only: bool = False) -> Event | None:
        """The bed entry, if a movement in the empty bed left it tilted as getting in does
        (see ``_entered``)."""
        # The bed was empty just before, should its still tilt not be known yet.
        empty_g = self.empty_gravity_g if self.empty_gravity_g is not None else before_g
        if not _entered(event, angle_deg(empty_g, after_g), strong_only):
            return None
        self.empty_gravity_g = empty_g
        return self._enter(event)

    def _drop(self, event: Event, before_g: F64 | None) -> None:
        """A movement dropped in the empty bed, kept should it turn out to be the entry. A
        big one stays the candidate over smaller ones after it for ``LATE_ENTRY_S``: the
        sleeper's first jerks and fidgets follow getting in."""
        kept = self._dropped
        if kept is not None and kept.type == "posture_change" and event.type != kept.type \
                and event.onset_s - kept.offset_s <= LATE_ENTRY_S:
            return
        self._dropped, self._dropped_before_g = event, before_g

    def _enter_late(self) -> Event:
        """The movement dropped as not the sleeper's was the bed entry after all: the bed's
        tilt learnt since was the sleeper's, and the empty bed's is the one before it."""
        assert self._dropped is not None
        if self._dropped_before_g is not None:
            self.empty_gravity_g = self._dropped_before_g
        return self._enter(self._dropped)

    def _apply(self, kind: str, w: _Waiting) -> Event:
        if kind == "bed_entry":
            # The tilt before getting in is the empty bed's (the still epochs before it may
            # all have held some movement).
            if w.gravity_before_g is not None:
                self.empty_gravity_g = w.gravity_before_g
            return self._enter(w.event)
        if kind == "bed_exit":
            return self._leave(w.event, w.gravity_after_g)
        return replace(w.event, type=kind)

    def _enter(self, event: Event) -> Event:
        self.in_bed, self.entry_s, self.since_s = True, event.onset_s, event.onset_s
        self._votes, self._breathing_epochs, self._dropped = [], 0, None
        self._above_noise = 0
        self.changes.append(("in", event.offset_s, event.onset_s))
        return replace(event, type="bed_entry")

    def _leave(self, event: Event, after_g: F64 | None) -> Event:
        if self.since_s is not None:
            self.time_in_bed_s += max(0.0, event.onset_s - self.since_s)
        self.in_bed, self.exit_s, self.since_s = False, event.onset_s, None
        self._breathing_epochs, self._dropped = 0, None
        self._above_noise = 0
        if after_g is not None:
            self.empty_gravity_g = after_g
        self.changes.append(("out", event.onset_s, None))
        return replace(event, type="bed_exit")


def _exit_vote(w: _Waiting, vote: int, strange: bool) -> int:
    """The vote on a waiting movement: breathing at a rate not the sleeper's (``strange``)
    after what may have been getting out is not theirs."""
    return -1 if strange and w.if_absent == "bed_exit" else vote


def _entered(event: Event, tilt_deg: float | None, strong_only: bool = False) -> bool:
    """Does a movement in the empty bed leave it tilted as someone getting in does?
    (``strong_only``: only by the rule for strong movements.)"""
    if tilt_deg is None:
        return False
    strong = tilt_deg >= STRONG_ENTRY_TILT_DEG and event.peak_g >= STRONG_ENTRY_PEAK_G
    return strong or (not strong_only and tilt_deg >= ENTRY_TILT_DEG)


def _vote(breath: Breath, quiet_ceiling: float, quiet_confidence: float) -> int:
    ratio, confidence = breath.swing_ratio, breath.confidence
    if math.isnan(ratio):
        return 0
    if ratio >= BREATHING_RATIO and confidence >= BREATHING_CONFIDENCE:
        return 1
    if ratio <= ABSENT_RATIO and confidence < ABSENT_CONFIDENCE:
        return -1
    if ratio <= quiet_ceiling and confidence < quiet_confidence:
        return -1
    return 0
