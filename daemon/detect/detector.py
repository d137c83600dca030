"""The streaming detector: Blocks in, Events out. Pure computation: no clocks, files or threads.

The stages, each in its own module:

1. ``frames``   gathers Blocks into passes of one second to a minute (for speed only).
2. ``filters``  averages samples into 20 ms blocks and computes three envelopes of motion:
                broadband, along gravity (where a faint jerk stands out) and a slow 1-5 Hz
                band (where a faint limb movement does).
3. ``floor``    learns each envelope's noise floor; thresholds follow it:
                on = max(min_peak_g, k(sensitivity) × floor) (0.85 k on the slow path, and
                at least 1.6: see ``PATH_FACTOR``), off = halfway between floor and on.
4. ``segment``  opens a movement when any envelope crosses its on-threshold and closes it
                after half a second below the off-thresholds, then waits for the gravity
                after it.
5. ``classify`` measures the movement at the full sample rate from the raw samples kept in
                ``history`` (onset to the sample, peak, jerk, linearity, tilt) and names it;
                one only the slow path found is measured in the slow band.
   ``series_gaps`` names where a periodic series skipped a beat before a limb movement
                (or, once a series forms, on its beats before its first movement and in
                its gaps) and looks there again, in the raw samples, with a lower threshold.
6. ``night``    runs the named movement past ``presence`` (bed entry and exit, and what is
                not the sleeper's), ``sleep`` (sleep starts, onset), ``series`` (periodic
                limb movements, jerk runs) and ``baseline`` (intense jerks), and every 20 s
                (an epoch) the breathing and heart rate of ``vitals``.

Every stage gives the same numbers however the stream is cut (integer running sums, windows
fixed by block index or time), and movements and epochs are decided in time order, so the
events and figures are the same whatever size of Block the driver delivers, and the memory
used is the same after one minute or eight hours.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hypnic.daemon.detect.baseline import Baseline
from hypnic.daemon.detect.classify import (
    SETTLING_S,
    STANDOUT_AROUND_S,
    Shape,
    classify,
    measure,
    measure_faint,
    stands_out,
)
from hypnic.daemon.detect.filters import F64, Blocks, FrontEnd, fine_filter
from hypnic.daemon.detect.floor import NoiseFloors
from hypnic.daemon.detect.frames import Pass, PassAssembler
from hypnic.daemon.detect.history import History
from hypnic.daemon.detect.night import NewSeries, Night
from hypnic.daemon.detect.segment import GRAVITY_AFTER_S, GRAVITY_BEFORE_S, Movement, Segmenter
from hypnic.daemon.detect.series import RULES
from hypnic.daemon.detect.series_gaps import (
    FAINT_PEAK_SHARE,
    MAX_GAP_S,
    SeriesGaps,
    faint_spans,
    look_before,
    skipped_beats,
)
from hypnic.daemon.detect.tilt_noise import TiltNoise
from hypnic.daemon.detect.vitals import (
    EPOCH_S,
    HEART_WINDOW_S,
    MOVE_MARGIN_S,
    RESP_WINDOW_S,
    SLOW_RATE_HZ,
    Breath,
    BreathingRows,
    VitalsTracker,
    breathing_rows,
    heart_rate,
    respiration,
)
from hypnic.daemon.events import Event, intensity_from_peak_g
from hypnic.drivers.base import Block

FRAME_S = 1.0
#: The noise floor learns from the envelope's maximum in each frame of this length: long
#: enough that every frame holds a heartbeat (down to 30 bpm), so the floor sits above them.
FLOOR_FRAME_S = 2.0
#: Samples are processed in passes of one second (at least) to this long (at most): long
#: enough that a replay's Blocks (16384 samples, 82 s at 200 Hz) are one pass each rather than
#: a full pass and a short one, as each pass has a fixed cost.
MAX_PASS_S = 90.0
MAX_EVENT_S = 60.0
# After a gap the filters restart from held samples; give them this long before trusting onsets.
GAP_SETTLE_S = 0.6
# Raw samples around a movement that the full-rate filters need (their half-widths).
FINE_MARGIN_S = 0.7
#: How far before the block onset the full-rate search for the onset may go.
ONSET_SEARCH_S = 0.1
#: What is around a movement starts this far from its edges (where its ring is under a tenth
#: of its peak).
EDGE_CLEAR_S = 0.1
#: The sensor noise a movement is measured against: the second before it.
NOISE_WINDOW_S = 1.0
#: The still tilt (``tilt_noise``) is measured in the longest still run of the last this long.
TILT_NOISE_S = 30.0
#: Still signal needed after a movement for presence to judge it.
PRESENCE_MIN_S = 15.0
#: A heart-rate estimate this confident shows the sensor can hear the heart; after this many
#: epochs without one, the heart rate is estimated only every fifth epoch.
HEART_HEARD = 0.15
HEART_UNHEARD_EPOCHS = 15
#: Each path's threshold factor against the sensitivity's: the slow envelope averages over
#: 0.5 s, five times longer than the others, so its noise peaks sit closer to its floor and a
#: lower factor gives it no more false alarms.
PATH_FACTOR = np.array([1.0, 1.0, 0.85])[:, None]
#: ... and the least factor whatever the sensitivity: below about 1.6x its floor the slow
#: envelope's own noise swells pass (on white noise, 20 a hour at 1.2x), and a movement only
#: the slow band saw has no broadband second opinion to weed them out.
PATH_LEAST_FACTOR = np.array([0.0, 0.0, 1.6])[:, None]
#: Breathing and heart rate leave out what is above the off-threshold at this threshold
#: factor (the default sensitivity's), whatever the sensitivity.
DEFAULT_FACTOR = 2.0
#: Memory of raw samples and blocks: the longest movement (or the gap of a series looked at
#: again, with the limb movement after it and the wait for its gravity after), one pass, and
#: a margin.
HISTORY_S = max(MAX_EVENT_S, MAX_GAP_S + 20.0) + MAX_PASS_S + 10.0
#: A faint limb movement found on a second look, with the gravity before and after it.
Found = tuple[Event, F64 | None, F64 | None]
#: A look for faint limb movements in one window (from, to) of the raw samples held.
FaintLook = Callable[[float, float], list[Found]]


def threshold_factor(sensitivity: int) -> float:
    """How far above the noise floor a movement must rise: 4.0 at sensitivity 1, 2.0 at 5,
    1.4 at 10. At 2.0 the simulated nights gave no false alarm and 1.7 gave the first, so the
    default keeps a margin for the noise of real bedrooms."""
    if sensitivity <= 5:
        return float(2.0 * 2.0 ** ((5 - sensitivity) / 4.0))
    return float(2.0 * 0.7 ** ((sensitivity - 5) / 5.0))


@dataclass(frozen=True)
class DetectorSettings:
    """sensitivity  1 (only strong movements) to 10 (the faintest the sensor can tell)
    min_peak_g      movements weaker than this at the sensor are never events
    plm_rule        periodic limb movement scoring: "aasm" (5-90 s apart) or "wasm" (10-90 s)
    baseline        this person's recent nights, for intense jerks and unusual nights
    """

    sensitivity: int = 5
    min_peak_g: float = 0.0012
    plm_rule: str = "aasm"
    baseline: Baseline | None = None

    def __post_init__(self) -> None:
        if self.plm_rule not in RULES:
            raise ValueError(f"plm_rule must be one of {sorted(RULES)}, got {self.plm_rule!r}")


class Detector:
    """Turns Blocks into Events. Feed every Block in order; call ``finish`` at the end."""

    def __init__(self, settings: DetectorSettings | None = None) -> None:
        self.settings = settings or DetectorSettings()
        self.night = Night(self.settings.plm_rule, self.settings.baseline)
        self.night.look_into = self._look_into
        self.rate_hz: float | None = None
        self._passes: PassAssembler | None = None
        self._front: FrontEnd | None = None
        self._segmenter: Segmenter | None = None
        # One floor per detection path: broadband, vertical, slow (see ``filters``).
        self._floors = NoiseFloors(3)
        self._raw: History | None = None
        self._blocks: History | None = None
        self._frame_blocks = 1
        self._epoch_blocks = 1
        self._last_epoch = -1
        self._epochs = 0
        self._heart_unheard = 0
        self._suppress_until_s = -np.inf
        self._segment_start_s = -np.inf
        self._segment_end_s = np.inf
        self._previous_end_s = -np.inf
        #: Until when limb movements must stand out too: just after a big movement.
        self._settling_until_s = -np.inf
        self._gaps = SeriesGaps()
        self._tilt_noise = TiltNoise()

    @property
    def vitals(self) -> VitalsTracker:
        return self.night.vitals

    @property
    def noise_floor_g(self) -> float | None:
        """Current noise floor (envelope, g), or None while still warming up."""
        floor = float(self._floors.current_g[0])
        return None if np.isnan(floor) else floor

    def thresholds_g(self) -> tuple[float, float]:
        floor = self.noise_floor_g
        if floor is None:
            return np.inf, np.inf
        on, off = self._thresholds(np.array([floor]))
        return float(on[0]), float(off[0])

    def _thresholds(self, floor: F64, factor: float | None = None, scale: F64 | float = 1.0,
                    least: F64 | float = 0.0) -> tuple[F64, F64]:
        k = threshold_factor(self.settings.sensitivity) if factor is None else factor
        on = np.maximum(self.settings.min_peak_g, np.maximum(k * scale, least) * floor)
        off = floor + 0.5 * (on - floor)
        warming = np.isnan(floor)
        return np.where(warming, np.inf, on), np.where(warming, np.inf, off)

    def update_settings(self, settings: DetectorSettings) -> None:
        """New settings take effect from the next pass; nothing learnt is forgotten (a new
        PLM rule applies to limb movements from then on)."""
        self.settings = settings
        self.night.use(settings.plm_rule, settings.baseline)

    def remeasure_noise_floor(self) -> None:
        """Forget the learnt noise floor and learn it afresh (after the sensor was moved or
        the mattress changed). Nothing is detected until the new floor has warmed up."""
        self._floors.forget()
        self._tilt_noise = TiltNoise()

    def new_night(self) -> None:
        """Start the night's figures and counts afresh (for a daemon that runs for days; call
        it between Blocks). The noise floors, the bed's state and the vitals carry on."""
        self.night.new_night()

    def feed(self, block: Block) -> list[Event]:
        if len(block) == 0:
            return []
        if self._passes is None:
            self._start(block.rate_hz)
        assert self._passes is not None
        self.night.lost_samples += block.lost_samples
        events: list[Event] = []
        for chunk in self._passes.push(block):
            events.extend(self._pass(chunk))
        return events

    def finish(self) -> list[Event]:
        """End of stream: process what is buffered and close any open movement."""
        if self._passes is None:
            return []
        events: list[Event] = []
        for chunk in self._passes.drain():
            events.extend(self._pass(chunk))
        events.extend(self._break())
        return events + self.night.finish(self._presence_breath(final=True))

    def summary(self) -> dict[str, Any]:
        s = self.night.summary()
        floor = self.noise_floor_g
        s["rate_hz"] = round(self.rate_hz, 3) if self.rate_hz else None
        s["noise_floor_g"] = round(floor, 6) if floor is not None else None
        return s

    def _start(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        frame_n = max(1, round(FRAME_S * rate_hz))
        self._passes = PassAssembler(frame_n, max(frame_n, round(MAX_PASS_S * rate_hz)))
        self._front = FrontEnd(rate_hz)
        block_rate = self._front.block_rate_hz
        self._frame_blocks = max(1, round(FLOOR_FRAME_S * block_rate))
        self._epoch_blocks = max(1, round(EPOCH_S * block_rate))
        self._segmenter = Segmenter(block_rate, max_event_s=MAX_EVENT_S)
        self._raw = History(round(HISTORY_S * rate_hz * 1.1), 3)
        # Per block: mean acceleration (3), heartbeat band (3), moving (1) or not (0), and
        # the block's index.
        self._blocks = History(round(HISTORY_S * block_rate * 1.1), 8)
        self._group = max(1, round(block_rate / SLOW_RATE_HZ))

    def _pass(self, chunk: Pass) -> list[Event]:
        assert self._front is not None and self._raw is not None
        self._raw.push(chunk.t_s, chunk.acc_g)
        self.night.observe(float(chunk.t_s[0]), float(chunk.t_s[-1]), len(chunk))
        events: list[Event] = []
        cuts = [0, *np.flatnonzero(chunk.gap_before).tolist(), len(chunk)]
        for start, end in itertools.pairwise(cuts):
            if start == end:
                continue
            if chunk.gap_before[start]:
                events.extend(self._break())
                self.night.gaps += 1
                self._suppress_until_s = float(chunk.t_s[start]) + GAP_SETTLE_S
                self._segment_start_s = float(chunk.t_s[start])
            self._segment_end_s = float(chunk.t_s[end - 1])
            out = self._front.process(chunk.t_s[start:end], chunk.acc_g[start:end])
            events.extend(self._analyse(out))
        return events

    def _analyse(self, out: Blocks) -> list[Event]:
        assert self._segmenter is not None and self._blocks is not None
        if not len(out):
            return []
        frame = out.index // self._frame_blocks
        settling = out.t_s < self._suppress_until_s
        # A movement is anything that rises above its own path's threshold: a jerk stands out
        # most along gravity, a faint limb movement in the slow band, anything big in all.
        env = np.stack([out.envelope_g, out.vertical_g, out.slow_g])
        if settling[0]:
            env[:, settling] = 0.0
        # The floor changes only between frames: thresholds are computed once a frame.
        floor, frame_blocks = self._floors.frame_floors(frame, env)
        on_g, off_g = self._thresholds(floor, scale=PATH_FACTOR, least=PATH_LEAST_FACTOR)
        # What counts as moving for breathing and heart rate does not follow the sensitivity:
        # those estimates need still signal, whatever is reported.
        still_g = self._thresholds(floor[0], DEFAULT_FACTOR)[1]
        on_g, off_g, still_g = (np.repeat(g, frame_blocks, axis=-1)
                                for g in (on_g, off_g, still_g))
        above_on = np.asarray((env > on_g).any(axis=0))
        above_off = np.asarray((env > off_g).any(axis=0))
        moving = (env[0] > still_g) | above_on
        on_fast = on_g[0]
        self._blocks.push(out.t_s, np.column_stack([out.mean_g, out.bcg_g, moving,
                                                    out.index.astype(np.float64)]))
        fast_on = np.asarray((env[:2] > on_g[:2]).any(axis=0))
        self._segmenter.process(out.t_s, above_on, above_off, on_fast, fast_on)
        settled = self._segmenter.settled(float(out.t_s[-1]))
        # Epochs and movements are handled in time order, so what each decision sees of the
        # other is the same however the stream was cut into passes.
        todo: list[tuple[float, int, Movement | None]] = [
            (m.after_until_s, 1, m) for m in settled
        ] + [(t, 0, None) for t in self._epoch_times(out)]
        events: list[Event] = []
        for when_s, _, movement in sorted(todo, key=lambda item: item[:2]):
            if movement is None:
                events.extend(self._epoch(when_s))
            else:
                events.extend(self._events([movement]))
        return events

    def _epoch_times(self, out: Blocks) -> list[float]:
        """Times of the blocks of ``out`` that begin a new epoch."""
        epoch = out.index // self._epoch_blocks
        previous = np.concatenate([[self._last_epoch], epoch[:-1]])
        self._last_epoch = int(epoch[-1])
        return [float(t) for t in out.t_s[epoch != previous]]

    def _epoch(self, t_s: float) -> list[Event]:
        """Every epoch: breathing and heart rate from the still parts of the last minute.

        To save time, breathing is estimated every third epoch while someone is known to be
        in bed and nothing waits on it (it changes over minutes), and the heart rate only in
        bed, and on a sensor that has not heard it for a while only every fifth epoch."""
        assert self._front is not None and self._blocks is not None
        self._epochs += 1
        presence = self.night.presence
        # Only what came before the epoch's first block counts.
        breath = None
        if self._epochs % 3 == 0 or presence.in_bed is not True or presence.waiting_since_s:
            breath = respiration(self._rows(t_s - RESP_WINDOW_S, t_s - 1e-9))
        heart = None
        deaf = self._heart_unheard >= HEART_UNHEARD_EPOCHS and self._epochs % 5
        if presence.in_bed is not False and not deaf:
            t, x = self._blocks.between(t_s - HEART_WINDOW_S, t_s - 1e-9)
            heart = heart_rate(t, x[:, 3:6], x[:, 6])
            heard = heart.confidence >= HEART_HEARD
            self._heart_unheard = 0 if heard else self._heart_unheard + 1
        presence_breath = self._presence_breath(until_s=t_s) or breath
        # How far the gravity of a still bed seems to tilt, from still time in the last half
        # minute (once a minute is plenty: it changes over minutes).
        if self._epochs % 3 == 1:
            t, x = self._blocks.between(t_s - TILT_NOISE_S, t_s - 1e-9)
            self._tilt_noise.observe(t, x[:, :3], x[:, 6])
        # The gravity of the still bed matters only while it may be empty.
        gravity = self._still_gravity(t_s) if presence.in_bed is not True else None
        return self.night.epoch(t_s, breath, heart, presence_breath, gravity)

    def _presence_breath(self, until_s: float = np.inf, final: bool = False) -> Breath | None:
        """While a big movement waits for presence to decide: breathing of the still signal
        after it (at the end of the stream, however little there is)."""
        since = self.night.presence.waiting_since_s
        if since is None:
            return None
        # Absence shows in a quarter of a minute (noise, nothing periodic); breathing may need
        # more, and then simply gives no vote yet.
        return respiration(self._rows(since + MOVE_MARGIN_S, until_s - 1e-9),
                           shortest_s=10.0 if final else PRESENCE_MIN_S)

    def _rows(self, lo_s: float, hi_s: float) -> BreathingRows:
        """The breathing rows of the blocks between two times."""
        assert self._blocks is not None
        t, x = self._blocks.between(lo_s, hi_s)
        return breathing_rows(t, x[:, :3], x[:, 6], x[:, 7], self._group)

    def _still_gravity(self, t_s: float) -> F64 | None:
        """Mean gravity of the last epoch if nothing moved in it: the still blocks around a
        movement may already hold the tilt of someone getting in, before the movement is
        decided."""
        assert self._blocks is not None
        _, x = self._blocks.between(t_s - EPOCH_S, t_s - 1e-9)
        if not len(x) or x[:, 6].any():
            return None
        return np.asarray(x[:, :3].mean(axis=0))

    def _break(self) -> list[Event]:
        """A gap or the end: complete the filters' tail and close everything open."""
        assert self._front is not None and self._segmenter is not None
        events = self._analyse(self._front.flush())
        return events + self._events(self._segmenter.close_now())

    def _gravity(self, lo_s: float, hi_s: float) -> F64 | None:
        assert self._blocks is not None
        lo_s = max(lo_s, self._segment_start_s)
        hi_s = min(hi_s, self._segment_end_s)
        _, x = self._blocks.between(lo_s, hi_s)
        mean_g = x[:, :3]
        return mean_g.mean(axis=0) if len(mean_g) else None

    def _events(self, movements: list[Movement]) -> list[Event]:
        assert self._raw is not None and self.rate_hz is not None
        events = []
        for movement in movements:
            if np.isnan(movement.last_active_s):
                continue
            span_lo = max(movement.onset_s - ONSET_SEARCH_S, self._segment_start_s)
            span_hi = movement.last_active_s + 0.5 / self.rate_hz
            t, acc = self._raw.between(
                max(span_lo - NOISE_WINDOW_S - FINE_MARGIN_S, self._segment_start_s),
                min(span_hi + FINE_MARGIN_S, self._segment_end_s))
            fine = fine_filter(t, acc, self.rate_hz)
            inside = (fine.t_s >= span_lo) & (fine.t_s <= span_hi)
            # The noise is the still second before the movement, not the ring of the last one.
            quiet = (fine.t_s >= max(span_lo - NOISE_WINDOW_S, self._previous_end_s + 0.05)) \
                & (fine.t_s < span_lo - 0.05)
            if not inside.any():
                continue
            # Gravity before, from the end of the previous movement on at the earliest.
            before_g = self._gravity(
                max(movement.onset_s + GRAVITY_BEFORE_S[0],
                    self._previous_end_s + GRAVITY_AFTER_S[0]),
                movement.onset_s + GRAVITY_BEFORE_S[1])
            self._previous_end_s = movement.last_active_s
            after_g = self._gravity(movement.last_active_s + GRAVITY_AFTER_S[0],
                                    movement.after_until_s)
            for shape in measure(fine.part(inside), fine.part(quiet), before_g, after_g,
                                 movement.truncated, slow_only=not movement.fast):
                events += self._event(shape, before_g, after_g)
        return events

    def _event(self, shape: Shape, before_g: F64 | None, after_g: F64 | None) -> list[Event]:
        """Classify a measured movement and hand it to the night (which may hold it), after
        any faint movement of a series found before it on a second look."""
        kind = classify(shape, self._tilt_noise.partner_tilt_deg)
        if kind is None:
            return self._tentative(shape)
        if kind == "jerk" and self.night.presence.in_bed is True and self._gaps.on_beat(
                shape.onset_s):
            # Through the mattress a brief leg movement looks like a jerk; on the beat of a
            # running periodic series it is far more likely the series' next one (on the
            # tuning nights such jerks were limb movements three times in four).
            kind = "limb_movement"
        if kind == "posture_change":
            self._settling_until_s = shape.offset_s + SETTLING_S
        settling = kind == "limb_movement" and shape.onset_s < self._settling_until_s
        if (kind == "jerk" or settling) and not self._stands_out(shape):
            return []
        event = _event_of(kind, shape)
        breath_before = None
        if kind == "posture_change" and self.night.presence.in_bed is None:
            rows = self._rows(event.onset_s - RESP_WINDOW_S, event.onset_s - MOVE_MARGIN_S)
            breath_before = respiration(rows, shortest_s=15.0)
        out: list[Event] = []
        if kind == "limb_movement" and self.night.presence.in_bed is True:
            for found, found_before_g, found_after_g in self._second_look(event.onset_s):
                out += self.night.movement(found, found_before_g, found_after_g)
        out += self.night.movement(event, before_g, after_g, breath_before)
        return self._reported(out)

    def _tentative(self, shape: Shape) -> list[Event]:
        """A movement dropped for the shift of the load it left, which would otherwise be a
        limb movement: the night keeps it should it turn out to be in a periodic series (see
        ``Night.tentative_limb``)."""
        if classify(shape, math.inf) != "limb_movement":
            return []
        if shape.onset_s < self._settling_until_s and not self._stands_out(shape):
            return []
        return self._reported(self.night.tentative_limb(_event_of("limb_movement", shape)))

    def _reported(self, events: list[Event]) -> list[Event]:
        """Events being reported: their times are no longer looked through for faint ones."""
        for e in events:
            self._gaps.moved(e.onset_s, e.offset_s)
            if e.type == "limb_movement":
                self._gaps.limb(e.onset_s, e.peak_g)
        return events

    def _stands_out(self, shape: Shape) -> bool:
        """Does a movement rise above the still signal of the seconds around it (see
        ``classify.stands_out``)? Those after it are there: a movement is decided only once the
        gravity after it has been seen."""
        assert self._raw is not None and self.rate_hz is not None
        lo_s = max(shape.onset_s - STANDOUT_AROUND_S, self._segment_start_s)
        hi_s = min(shape.offset_s + STANDOUT_AROUND_S, self._segment_end_s)
        t, acc = self._raw.between(max(lo_s - FINE_MARGIN_S, self._segment_start_s),
                                   min(hi_s + FINE_MARGIN_S, self._segment_end_s))
        if len(t) < 2:
            return True
        fine = fine_filter(t, acc, self.rate_hz)
        around = (fine.t_s >= lo_s) & (fine.t_s <= hi_s) & (
            (fine.t_s < shape.onset_s - EDGE_CLEAR_S) | (fine.t_s > shape.offset_s + EDGE_CLEAR_S))
        return stands_out(shape, fine.part(around), lo_s)

    def _second_look(self, onset_s: float) -> list[Found]:
        """Faint limb movements where the series was due before a limb movement starting at
        ``onset_s`` (see ``series_gaps``), looked for in the raw samples of the gap."""
        since_s, windows = self._gaps.due(onset_s)
        if not windows:
            return []
        look = self._faint_look(since_s, onset_s)
        least_g = self._gaps.least_faint_g()
        return [] if look is None else [found for window in windows for found in look(*window)
                                        if found[0].peak_g >= least_g]

    def _look_into(self, formed: NewSeries) -> list[Event]:
        """Faint limb movements on the beats of a periodic series that has just formed: before
        its first movement (see ``series_gaps.look_before``) and in the whole-beat gaps among
        its movements. A series may have begun faint, or skipped a faint beat before its
        rhythm was known. Not before getting into bed, nor before the raw samples held."""
        assert self._raw is not None
        stay = self.night.sleep.stay
        if self.night.presence.in_bed is not True or stay is None or not len(self._raw):
            return []
        onsets = formed.onsets_s
        # In bed from the start of monitoring (no entry seen), the stay reaches back as far.
        entry_s = -np.inf if stay.entry_s is None else stay.entry_s
        earliest_s = max(onsets[0] - MAX_GAP_S, self._segment_start_s, entry_s,
                         float(self._raw.t_s[0]) + FINE_MARGIN_S)
        look = self._faint_look(earliest_s, onsets[-1])
        least_g = FAINT_PEAK_SHARE * formed.median_peak_g

        def find(lo_s: float, hi_s: float) -> tuple[float, Event] | None:
            # A limb movement reported already on the beat is the series' (its rhythm was
            # broken by a faint one missed between them), else look for a faint one.
            found = [e for e in formed.loose_before if lo_s <= e.onset_s <= hi_s]
            if not found and look is not None:
                found = [e for e, _, _ in look(lo_s, hi_s) if e.peak_g >= least_g]
            return (found[0].onset_s, found[0]) if found else None

        rhythm_s = float(np.median(np.diff(onsets)))
        kept = look_before(onsets[0], rhythm_s, earliest_s, find,
                           (self.night.plm.shortest_s, self.night.plm.longest_s))
        for last_s, next_s in itertools.pairwise(onsets):
            for window in self._gaps.unmoved(skipped_beats(last_s, next_s, rhythm_s)):
                found = find(*window)
                if found is not None:
                    kept.append(found[1])
        return kept

    def _faint_look(self, since_s: float, until_s: float) -> FaintLook | None:
        """A look for faint limb movements in windows of the still raw samples from
        ``since_s`` to a second before ``until_s`` (None: too little of it is still)."""
        assert self._raw is not None and self.rate_hz is not None
        rate_hz = self.rate_hz
        lo_s = max(since_s, self._segment_start_s)
        t, acc = self._raw.between(lo_s - FINE_MARGIN_S, until_s)
        if len(t) < 2:
            return None
        fine = fine_filter(t, acc, rate_hz)
        still = self._gaps.still(fine.t_s) & (fine.t_s >= lo_s) & (fine.t_s < until_s - 1.0)
        if still.sum() < len(t) // 4:
            return None

        def look(from_s: float, to_s: float) -> list[Found]:
            found = []
            for first, last in faint_spans(fine.t_s, fine.slow_motion_g, still,
                                           [(from_s, to_s)], rate_hz):
                span = np.zeros(len(fine), bool)
                span[first : last + 1] = True
                on_s, off_s = float(fine.t_s[first]), float(fine.t_s[last])
                before_g = self._gravity(on_s + GRAVITY_BEFORE_S[0], on_s + GRAVITY_BEFORE_S[1])
                after_g = self._gravity(off_s + GRAVITY_AFTER_S[0], off_s + GRAVITY_AFTER_S[1])
                shape = measure_faint(fine.part(span), fine.part(still & ~span), before_g,
                                      after_g)
                if shape is not None and classify(shape, self._tilt_noise.partner_tilt_deg) \
                        == "limb_movement":
                    found.append((_event_of("limb_movement", shape), before_g, after_g))
            return found

        return look


def _event_of(kind: str, shape: Shape) -> Event:
    return Event(
        type=kind,
        onset_s=shape.onset_s,
        offset_s=shape.offset_s,
        peak_g=round(shape.peak_g, 5),
        peak_jerk_g_s=round(shape.peak_jerk_g_s, 4),
        intensity=intensity_from_peak_g(shape.peak_g),
    )
