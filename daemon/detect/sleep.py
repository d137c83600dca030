"""When did the sleeper fall asleep? A causal estimate of sleep onset, as actigraphy makes it.

Under the mattress the clearest signs of falling asleep are that the body goes still and that
the transition itself often brings hypnic jerks (sleep starts). The estimate, for each stay
in bed:

1. Quiescence. The candidate sleep period starts at the end of the last movement (getting
   in, turning over, shifting a leg, scratching) that came less than 15 min into the
   stillness before it, and before the onset the sleep starts give if there were any: like
   actigraphy's "minutes of immobility" rules, moving about means still awake, and a
   quarter of an hour without moving means that stillness was sleep. Periodic limb
   movements do not count (they come in sleep), nor does anything later (people turn and
   twitch in their sleep). Back in bed in the night, sleep comes back within minutes, so
   there a movement 5 min into the stillness is already one in sleep: a restless sleeper
   who turns over every ten minutes would otherwise be counted awake until the first
   quarter hour without a movement, and the night's time asleep (and its PLM index with
   it) would come out far off.
2. The sleep-start cluster. Jerks that come within 40 min of the start of that stillness open
   the wake-to-sleep transition; each jerk within 10 min of the one before extends it, for
   12 min from the first. After that only jerks that keep coming thick, within 5 min of the
   one before, extend it, and never past 20 min from the first: someone whose sleep starts
   keep waking them drifts off later, but a lone jerk in sleep soon after the transition
   must not pull the onset late. Sleep onset is
   put 2 min before the cluster's last jerk (sleep starts crowd the last minutes before sleep
   and spill a little past it), and the transition closes once no jerk could extend it. A
   lone jerk counts for less: through the mattress a brief fidget can look like one, so the
   onset is then also no sooner than 10 min into the stillness, as without jerks.
3. Without jerks, onset is 10 min into the stillness (actigraphy's "ten immobile minutes"),
   and the first time in the night no sooner than 15 min after getting into bed. So someone
   who lies down and keeps still from the start is put 15 min after getting in, within 10 min
   of any latency from 5 to 25 min (healthy adults take 10-30 min; quick sleepers less).
   A periodic limb movement series is a sign of sleep: onset is then no later than its first
   movement, and is decided at once. Otherwise it is decided 40 min into the stillness, when
   no sleep-start cluster can still come.
   Whatever the signs, onset is no sooner than 5 min after getting into bed: even the very
   sleepy rarely fall asleep faster, and a jerk in the first minutes is someone settling in.
4. Breathing regularity. Awake, even lying still, breathing is irregular; it grows steady
   through the first minutes of sleep (``settling``). Where the sensor hears breathing well
   enough to tell, and the onset is not placed by a sleep-start cluster or a series, it is
   put 2 min before the breathing settled in the stillness, if it did; and while it has not,
   the decision waits up to 15 min longer for it to. So someone lying awake and still for
   half an hour is not taken for asleep after ten minutes. And a jerk more than a minute
   after the breathing settled is a jerk in sleep: it decides the onset (the sleep starts
   before it, if any, place it) and never extends the sleep-start cluster, which in a
   restless sleeper's first hour sporadic jerks a few minutes apart otherwise would.
   Breathing that never changes (no step, or a sensor too noisy to tell) leaves the onset
   to the rules above.
   Onset is also not declared while breathing cannot be followed at all, which in a real
   bedroom marks wakeful restlessness.

A jerk is a *sleep start* (``Event.sleep_onset``) when it comes while the transition is open:
in bed, before the onset has been decided, or within 3 min after the onset. Jerks after that
are jerks during sleep. After getting out and back into bed the transition opens again.

Time asleep is the time in bed after each stay's sleep onset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from hypnic.daemon.detect.settling import SettlingLog

FIRST_JERK_WINDOW_S = 40 * 60.0
CHAIN_GAP_S = 10 * 60.0
#: The transition lasts up to DRIFT_S with sleep starts up to CHAIN_GAP_S apart, and on to
#: CLUSTER_SPAN_S while they come within LATE_CHAIN_GAP_S of each other.
DRIFT_S = 12 * 60.0
LATE_CHAIN_GAP_S = 5 * 60.0
CLUSTER_SPAN_S = 20 * 60.0
ONSET_BEFORE_LAST_JERK_S = 2 * 60.0
SLEEP_START_AFTER_ONSET_S = 3 * 60.0
FALLBACK_QUIET_S = 10 * 60.0
AWAKE_HOLD_S = 15 * 60.0
#: ... and back in bed in the night (see 1. above).
RETURN_AWAKE_HOLD_S = 5 * 60.0
TYPICAL_LATENCY_S = 15 * 60.0
SHORTEST_LATENCY_S = 5 * 60.0
MAX_PENDING = 1000
#: A series forms at its fourth movement; a few more are kept for movements found late.
LIMB_QUIET_KEPT = 8
#: Breathing is first steady this long after sleep onset (see ``settling``).
SETTLED_AFTER_ONSET_S = 120.0
#: While the sensor hears the breathing and it has not settled, the decision waits this much
#: longer for it to.
SETTLE_WAIT_S = 15 * 60.0


@dataclass
class Stay:
    """One stay in bed."""

    start_s: float
    entry_s: float | None
    quiet_s: float
    latency_s: float = TYPICAL_LATENCY_S
    #: A movement this far into the stillness is one in sleep.
    awake_hold_s: float = AWAKE_HOLD_S
    series_s: float | None = None
    first_jerk_s: float | None = None
    last_jerk_s: float | None = None
    onset_s: float | None = None
    end_s: float | None = None
    #: The latest limb movements that moved ``quiet_s``: (onset, quiet_s before it).
    limb_quiet: list[tuple[float, float]] = field(default_factory=list)


class SleepTracker:
    def __init__(self) -> None:
        self.stay: Stay | None = None
        self.first_onset_s: float | None = None
        self.first_latency_s: float | None = None
        self._asleep_closed_s = 0.0
        self.breathing_followed = True
        #: Things (periodic limb movements) counted because they came while asleep.
        self.counted_asleep = 0
        self._pending: list[float] = []
        self.settling = SettlingLog()

    def begin(self, t_s: float, entry_s: float | None) -> None:
        """A stay in bed begins (``entry_s``: the bed entry's onset, None if in bed from the
        start of monitoring)."""
        # Back in bed in the night, sleep comes back sooner: the stillness alone decides.
        if self.first_onset_s is None:
            self.stay = Stay(start_s=t_s, entry_s=entry_s, quiet_s=t_s)
        else:
            self.stay = Stay(start_s=t_s, entry_s=entry_s, quiet_s=t_s, latency_s=0.0,
                             awake_hold_s=RETURN_AWAKE_HOLD_S)

    def end(self, t_s: float) -> None:
        stay = self.stay
        if stay is None:
            return
        self._decide(t_s, final=True)
        if stay.onset_s is not None:
            self._asleep_closed_s += max(0.0, t_s - stay.onset_s)
        self.stay = None
        self._pending = []

    def movement(self, kind: str, onset_s: float, offset_s: float,
                 in_series: bool = False) -> None:
        """A limb movement or posture change from ``onset_s`` to ``offset_s`` (``in_series``:
        a limb movement in a periodic series)."""
        stay = self.stay
        if stay is None or stay.onset_s is not None:
            return
        self._decide(offset_s)
        if stay.onset_s is not None or offset_s >= self._provisional(stay, stay.awake_hold_s):
            return
        if kind == "posture_change":
            stay.quiet_s = max(stay.quiet_s, offset_s)
            stay.first_jerk_s = stay.last_jerk_s = stay.series_s = None
        elif not in_series:
            # Lying awake, people shift and scratch: the stillness starts after it. Should
            # the movement turn out to open a periodic series, a sign of sleep, this is undone.
            stay.limb_quiet = [*stay.limb_quiet[-(LIMB_QUIET_KEPT - 1):],
                               (onset_s, stay.quiet_s)]
            stay.quiet_s = max(stay.quiet_s, offset_s)

    def series(self, first_onset_s: float, now_s: float,
               found_before_s: Sequence[float] = ()) -> None:
        """A periodic limb movement series has formed, its first movement at
        ``first_onset_s``: a sign of sleep. ``found_before_s``: faint movements of it found
        late, before that one; it shows sleep from the first of them in the stillness (not
        from one before a movement that ended it)."""
        stay = self.stay
        if stay is None or stay.onset_s is not None:
            return
        for onset_s, quiet_before_s in stay.limb_quiet:
            if onset_s >= first_onset_s:
                stay.quiet_s = min(stay.quiet_s, quiet_before_s)
                break
        stay.limb_quiet = [m for m in stay.limb_quiet if m[0] < first_onset_s]
        if first_onset_s < stay.quiet_s:
            return
        first_onset_s = min([first_onset_s, *(t for t in found_before_s if t >= stay.quiet_s)])
        stay.series_s = first_onset_s if stay.series_s is None else min(stay.series_s,
                                                                         first_onset_s)
        if stay.last_jerk_s is None:
            self._decide(now_s, final=True)

    def jerk(self, onset_s: float) -> bool:
        """A jerk: is it a sleep start?"""
        stay = self.stay
        if stay is None:
            return False
        self._decide(onset_s)
        settled_s = self.settling.settled_s(stay.quiet_s) if stay.onset_s is None else None
        in_sleep = settled_s is not None and onset_s > (settled_s - SETTLED_AFTER_ONSET_S
                                                        + SLEEP_START_AFTER_ONSET_S)
        if in_sleep:
            # The breathing has been steady for minutes: asleep, and this jerk came in sleep.
            self._decide(onset_s, final=True)
        if stay.onset_s is not None:
            return onset_s <= stay.onset_s + SLEEP_START_AFTER_ONSET_S
        if in_sleep:
            return False
        if stay.first_jerk_s is None:
            if onset_s - stay.quiet_s > FIRST_JERK_WINDOW_S:
                return False
            stay.first_jerk_s = onset_s
        if onset_s - stay.first_jerk_s > CLUSTER_SPAN_S:
            return False
        if (stay.last_jerk_s is not None and onset_s - stay.first_jerk_s > DRIFT_S
                and onset_s - stay.last_jerk_s > LATE_CHAIN_GAP_S):
            return False
        stay.last_jerk_s = onset_s
        return True

    def breathing(self, t_s: float, irregularity: float) -> None:
        """How irregular the breathing of the minute up to ``t_s`` was (see ``settling``)."""
        if self.stay is not None and self.stay.onset_s is None:
            self.settling.add(t_s, irregularity)

    def count_if_asleep(self, t_s: float) -> None:
        """Count something that happened at ``t_s`` if it was during sleep (known once the
        onset is decided, so until then it waits)."""
        stay = self.stay
        if stay is None or t_s < stay.start_s:
            return
        if stay.onset_s is None:
            if len(self._pending) < MAX_PENDING:
                self._pending.append(t_s)
        elif t_s >= stay.onset_s:
            self.counted_asleep += 1

    def advance(self, t_s: float) -> None:
        """Time has reached ``t_s``: decide the onset if it is due."""
        self._decide(t_s)

    def finish(self, t_s: float) -> None:
        if self.stay is not None:
            self._decide(t_s, final=True)

    def asleep_s(self, now_s: float | None) -> float | None:
        """Time asleep so far (None before any onset)."""
        if self.first_onset_s is None:
            return None
        current = 0.0
        stay = self.stay
        if stay is not None and stay.onset_s is not None and now_s is not None:
            current = max(0.0, now_s - stay.onset_s)
        return self._asleep_closed_s + current

    @staticmethod
    def _provisional(stay: Stay, still_for_s: float | None = None) -> float:
        """The onset as things stand (without sleep starts, ``still_for_s`` into the
        stillness: FALLBACK_QUIET_S unless given)."""
        if stay.last_jerk_s is not None:
            onset = max(stay.quiet_s, stay.last_jerk_s - ONSET_BEFORE_LAST_JERK_S)
            if stay.first_jerk_s == stay.last_jerk_s:
                # A lone jerk may be a fidget that looked like one through the mattress.
                onset = max(onset, stay.quiet_s + FALLBACK_QUIET_S)
        else:
            onset = stay.quiet_s + (FALLBACK_QUIET_S if still_for_s is None else still_for_s)
            if stay.entry_s is not None:
                onset = max(onset, stay.entry_s + stay.latency_s)
            if stay.series_s is not None:
                onset = max(stay.quiet_s, min(onset, stay.series_s))
        if stay.entry_s is not None:
            onset = max(onset, stay.entry_s + SHORTEST_LATENCY_S)
        return onset

    @staticmethod
    def _placed(stay: Stay) -> bool:
        """Did a cluster of sleep starts or a series place the onset?"""
        return stay.series_s is not None or (stay.last_jerk_s is not None
                                             and stay.first_jerk_s != stay.last_jerk_s)

    def _may_settle(self, stay: Stay) -> bool:
        """Is the breathing heard in the stillness, and not settled yet?"""
        return (not self._placed(stay) and self.settling.heard(stay.quiet_s)
                and self.settling.settled_s(stay.quiet_s) is None)

    def _settled(self, stay: Stay, onset: float, t_s: float) -> float:
        """Without a cluster of sleep starts or a series to place it, the onset is where the
        breathing settled, if it did in the stillness (see ``settling``)."""
        if self._placed(stay):
            return onset
        settled_s = self.settling.settled_s(stay.quiet_s)
        if settled_s is None:
            return onset
        earliest = stay.quiet_s
        if stay.entry_s is not None:
            earliest = max(earliest, stay.entry_s + SHORTEST_LATENCY_S)
        return min(t_s, max(earliest, settled_s - SETTLED_AFTER_ONSET_S))

    def _decide(self, t_s: float, final: bool = False) -> None:
        stay = self.stay
        if stay is None or stay.onset_s is not None:
            return
        onset = self._provisional(stay)
        if stay.last_jerk_s is not None and stay.first_jerk_s is not None:
            # The latest time a sleep start could still extend the cluster.
            first, last = stay.first_jerk_s, stay.last_jerk_s
            due = max(min(last + CHAIN_GAP_S, first + DRIFT_S),
                      min(last + LATE_CHAIN_GAP_S, first + CLUSTER_SPAN_S))
        else:
            due = stay.quiet_s + FIRST_JERK_WINDOW_S
        if not (t_s >= due or (final and t_s >= onset)):
            return
        if not final and t_s < due + SETTLE_WAIT_S and self._may_settle(stay):
            return
        if not (self.breathing_followed or final):
            return
        stay.onset_s = onset = self._settled(stay, onset, t_s)
        self.counted_asleep += sum(1 for t in self._pending if t >= onset)
        self._pending = []
        if self.first_onset_s is None:
            self.first_onset_s = onset
            start = stay.entry_s if stay.entry_s is not None else stay.start_s
            self.first_latency_s = max(0.0, onset - start) if stay.entry_s is not None else None
