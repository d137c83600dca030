"""Breathing and heart rate from the still stretches of the block stream.

At most every 20 s (an *epoch*; see ``Detector._epoch`` for when each is skipped) a rate is
estimated from the last minute (breathing) or minute and a half (heart), using only its still
stretches: at least a second away from any movement, each at least 6 s long, 30 s (15 s for
the heart) in all.

Respiration. Breathing tilts the mattress under the sensor by hundredths of a degree and
lifts it by a millimetre or so: a slow swing of the gravity vector along one direction. The
block means are averaged to 5 Hz, each still stretch detrended on its own (a straight line,
then a 12 s running mean for slower drift such as a mattress creeping back), whitened by the
sensor's noise (estimated from the block-to-block steps, axis by axis) and projected on their
principal axis (the direction that stands out from the noise most, whatever way the sensor is
mounted); the breathing period is the first autocorrelation peak between 2 and 10 s (6-30
breaths/min) nearly as high as the highest, refined by a parabola through it, and the
autocorrelation must swing down before it (drift only wobbles). The
autocorrelation counts only pairs of still rows, so the gaps movements leave do not bias it.
Its height (0-1) is the confidence: noise gives low, scattered peaks, a steady breather a peak
near 1. ``presence`` also gets the swing ratio: the projected power against what the sensor's
noise alone would give (about 1 in an empty bed).

Heart rate. Each heartbeat jolts the body and rings the mattress at 5-10 Hz for a few tenths
of a second (the ballistocardiogram). The jolt has a direction (along the body, or into the
mattress, depending on how one lies), while the sensor's noise is spread over all three axes.
So the 4-15 Hz band is taken along its principal axis over the still stretches (the direction
in which it swings most: the beat's, once the beat is there at all), which leaves out the
noise of the other two directions; its square, smoothed over 0.14 s, rises with each beat's
energy. The beat period is found in that the same way as the breath's, between 0.5 and 1.5 s
(40-120 bpm). A minute and a half of it averages the noise down further than half a minute
would; the heart rate hardly moves in that time. Under a noisy sensor (ADXL345-class) the beats
drown and the confidence stays low; an ADXL355-class sensor hears them, faint ones too. With
only the heart and the noise in it, the band's energy is steady over a few beats; where it
swells (a movement too faint to be caught, a leg twitching under a noisy sensor) those rows
are left out like a movement's: such a movement throbs about once a second and would pass
for a heartbeat that the sensor cannot hear.

A rate is published when its confidence is high enough (``*_PUBLISH``) and one of the two
estimates before it agrees; otherwise the night summary says None. A published heart rate is
then carried on by estimates that stay close to it, even weak ones (``HEART_FOLLOW``): a
faint heart gives the right rate with little confidence more often than noise lands within
3 bpm of it by chance. An inconclusive estimate does not withdraw it at once; it stands
for up to ``STALE_S``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hypnic.daemon.detect.filters import F64, running_mean

EPOCH_S = 20.0
RESP_WINDOW_S = 60.0
RESP_MIN_S = 30.0
#: Rows per second of the breathing stream.
SLOW_RATE_HZ = 5.0
RESP_PERIOD_S = (2.0, 10.0)
HEART_WINDOW_S = 90.0
HEART_MIN_S = 15.0
HEART_PERIOD_S = (0.5, 1.5)
HEART_SMOOTH_S = 0.14
#: Still rows where the heart band's energy, averaged over a few beats, swells past this many
#: times its stretch's median are left out, with the same margin as movements (see
#: ``_steady_parts``).
HEART_SWELL = 1.5
#: That energy is summed in steps this long first: the average over beats hardly moves in it.
SWELL_STEP_S = 0.1
#: What is slower than this is drift, not breathing (see ``_local_mean``).
DRIFT_WINDOW_S = 12.0
#: The breathing autocorrelation must dip this far below its peak before it (see ``_period``).
RESP_SWING = 0.3
#: Rows this close to a movement are left out; still stretches shorter than this are too.
MOVE_MARGIN_S = 1.0
MIN_SEGMENT_S = 6.0
#: An earlier autocorrelation peak this close to the highest is taken as the period.
FIRST_PEAK_MARGIN = 0.15
#: A rate is published when its confidence reaches this and one of the two estimates before
#: it agrees within ``*_AGREE_BPM``: noise gives scattered rates.
RESP_PUBLISH = 0.5
HEART_PUBLISH = 0.17
RESP_AGREE_BPM = 1.5
HEART_AGREE_BPM = 3.0
#: ... and, for the heart, one of the last ten estimates reached this (the sensor hears it).
HEART_AUDIBLE = 0.24
#: A published heart rate is carried on by an estimate this confident that stays close to it.
HEART_FOLLOW = 0.08
#: While estimates are missing or inconclusive, the last published rate stands this long.
STALE_S = 60.0


@dataclass(frozen=True)
class Breath:
    rate_bpm: float | None
    confidence: float
    #: Power of the slow swing against sensor noise alone (about 1 with nobody in bed).
    swing_ratio: float


@dataclass(frozen=True)
class Heart:
    rate_bpm: float | None
    confidence: float


NO_BREATH = Breath(None, 0.0, float("nan"))
NO_HEART = Heart(None, 0.0)


def still_segments(t_s: F64, moving: F64, period_s: float, margin: int,
                   min_len: int) -> list[tuple[int, int]]:
    """The still stretches of a window, as (start, end) row ranges: rows at least ``margin``
    rows from any moving one, after the last gap, at least ``min_len`` rows long."""
    n = len(t_s)
    start = 0
    jumps = np.flatnonzero(np.diff(t_s) > 2.5 * period_s)
    if len(jumps):
        start = int(jumps[-1]) + 1
    if not moving[start:].any():
        return [(start, n)] if n - start >= min_len else []
    moved = np.concatenate([[0], np.cumsum(moving > 0)])
    lo = np.clip(np.arange(n) - margin, 0, n)
    hi = np.clip(np.arange(n) + margin + 1, 0, n)
    still = moved[hi] == moved[lo]
    still[:start] = False
    edges = np.flatnonzero(np.diff(np.concatenate([[False], still, [False]]).astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)
            if b - a >= min_len]


#: Columns of a breathing row: mean acceleration (3), moving (1) or not (0).
ROW_MEAN = slice(0, 3)
ROW_MOVING = 3


@dataclass(frozen=True)
class BreathingRows:
    """Blocks averaged in groups of ``group`` (about 5 a second), each row stamped with its
    last block's time, and the sensor noise of one block (covariance, 3 x 3, from the
    block-to-block steps of still blocks: breathing barely moves in 20 ms)."""

    t_s: F64
    rows: F64
    noise_cov: F64
    group: int

    def __len__(self) -> int:
        return len(self.t_s)


def breathing_rows(t_s: F64, mean_g: F64, moving: F64, index: F64,
                   group: int) -> BreathingRows:
    """Groups are counted by block index, so a row is the same whichever window it was taken
    from; steps across a gap (a jump in the index) are not noise."""
    n = len(t_s)
    if n < 2:
        return BreathingRows(np.zeros(0), np.zeros((0, 4)), np.zeros((3, 3)), group)
    axes = np.array(mean_g.T)  # (3, n), contiguous: the sums below run along rows
    d = axes[:, 1:] - axes[:, :-1]
    steady = (index[1:] - index[:-1] == 1) & (moving[1:] == 0) & (moving[:-1] == 0)
    steps = d.compress(steady, axis=1)  # a fresh copy: the same sums at the same alignment
    noise = steps @ steps.T / (2.0 * max(1, steps.shape[1]))
    # The index is a whole number (held as a float): integer division is exact and quick.
    group_id = index.astype(np.int64) // group
    starts = np.concatenate([[0], np.flatnonzero(group_id[1:] != group_id[:-1]) + 1])
    ends = np.concatenate([starts[1:], [n]])
    rows = np.empty((len(starts), 4))
    rows[:, ROW_MEAN] = (np.add.reduceat(axes, starts, axis=1) / (ends - starts)).T
    rows[:, ROW_MOVING] = np.maximum.reduceat(moving, starts)
    return BreathingRows(t_s[ends - 1], rows, noise, group)


def _power(x: F64) -> F64:
    return np.asarray(x[:, 0] * x[:, 0] + x[:, 1] * x[:, 1] + x[:, 2] * x[:, 2])


def respiration(data: BreathingRows, shortest_s: float | None = None) -> Breath:
    """Breathing rate from breathing rows (oldest first), using their still parts (at least
    ``shortest_s`` of them, RESP_MIN_S unless given)."""
    t_s, rows = data.t_s, data.rows
    n = len(t_s)
    if n < 4:
        return NO_BREATH
    dt = (t_s[-1] - t_s[0]) / (n - 1)
    segments = still_segments(t_s, rows[:, ROW_MOVING], dt, round(MOVE_MARGIN_S / dt),
                              round(MIN_SEGMENT_S / dt))
    used = sum(b - a for a, b in segments)
    if used * dt < (RESP_MIN_S if shortest_s is None else shortest_s):
        return NO_BREATH
    x = np.zeros((3, n))
    weight = np.zeros(n)
    for a, b in segments:
        # Each still stretch separately: a movement between two may have shifted gravity.
        seg = np.array(rows[a:b, ROW_MEAN].T)
        k = np.arange(b - a, dtype=np.float64) - (b - a - 1) / 2.0
        seg -= seg.mean(axis=1, keepdims=True)
        seg -= np.outer((seg @ k) / (k @ k), k)
        x[:, a:b] = seg - _local_mean(seg, round(DRIFT_WINDOW_S / dt))
        weight[a:b] = 1.0
    # Sensor noise per row: the block's noise (axes may differ, and often do) over the blocks
    # in a row. The signal is whitened by it, so the principal axis is the direction that
    # stands out from noise most and the swing ratio is about 1 for noise alone whatever
    # the chip.
    scale, axes = np.linalg.eigh(data.noise_cov / data.group)
    if scale[0] <= 0:
        return NO_BREATH
    whiten = (axes / np.sqrt(scale)).T  # rows: noise axes, scaled to unit noise
    xw = whiten @ x
    _, vectors = np.linalg.eigh(xw @ xw.T)
    p = vectors[:, -1] @ xw
    ratio = float(p @ p) / used
    lag, peak = _period(p, weight, dt, RESP_PERIOD_S, RESP_SWING)
    if lag is None:
        return Breath(None, 0.0, ratio)
    return Breath(60.0 / lag, max(0.0, peak), ratio)


def _local_mean(seg: F64, window: int) -> F64:
    """Each row's mean over the ``window`` rows centred on it (fewer at the stretch's ends):
    what is slower than a breath. A boxcar as long as the slowest breath barely touches
    breathing (it passes 1.16 of a 10 s breath, all of a faster one) but takes out a slow
    drift that a straight line does not fit, such as a mattress creeping back."""
    if window < 2 or seg.shape[1] < 2:
        return np.zeros_like(seg)
    return running_mean(seg, window)


def heart_rate(t_s: F64, bcg_g: F64, moving: F64) -> Heart:
    """Heart rate from the heartbeat band of each block (per axis), using its still parts."""
    n = len(t_s)
    if n < 4:
        return NO_HEART
    dt = (t_s[-1] - t_s[0]) / (n - 1)
    w = max(1, round(HEART_SMOOTH_S / dt))
    margin = round(MOVE_MARGIN_S / dt) + w
    segments = still_segments(t_s, moving, dt, margin, round(MIN_SEGMENT_S / dt))
    if sum(b - a for a, b in segments) * dt < HEART_MIN_S:
        return NO_HEART
    axes = np.array(bcg_g.T)  # (3, n), contiguous: the same sums wherever the window lay
    segments = _steady_parts(t_s, axes, segments, dt, margin)
    used = sum(b - a for a, b in segments)
    if used * dt < HEART_MIN_S:
        return NO_HEART
    still = np.zeros(n, dtype=bool)
    for a, b in segments:
        still[a:b] = True
    # The beat pushes the body along one direction (per posture), while the sensor's noise is
    # spread over all three axes: along the band's principal axis over the still rows the
    # beats stand out from a third of the noise. Its square is the beat's energy.
    band = axes.compress(still, axis=1)
    _, vectors = np.linalg.eigh(band @ band.T)
    along = vectors[:, -1] @ axes
    energy = np.concatenate([[0.0], np.cumsum(along * along)])
    # The beat's envelope: the energy smoothed over about 0.14 s.
    smooth = np.zeros(n)
    smooth[w // 2 : w // 2 + n - w + 1] = (energy[w:] - energy[:-w]) / w
    x = np.zeros(n)
    weight = np.zeros(n)
    for a, b in segments:
        x[a:b] = smooth[a:b] - smooth[a:b].mean()
        weight[a:b] = 1.0
    # Every second value of it: 25 a second are plenty for a beat's shape and make the
    # rest cheaper.
    half = n // 2 * 2
    lag, peak = _period(x[n - half :: 2], weight[n - half :: 2], 2 * dt, HEART_PERIOD_S)
    if lag is None:
        return Heart(None, 0.0)
    return Heart(60.0 / lag, max(0.0, peak))


def _steady_parts(t_s: F64, axes: F64, segments: list[tuple[int, int]], dt: float,
                  margin: int) -> list[tuple[int, int]]:
    """The still stretches less ``margin`` rows around where the heart band's energy (of
    ``axes``, 3 x n) swells.

    With only the heart and the sensor's noise in it, that energy is steady over a few beats:
    averaged twice over the slowest beat's period (a triangle 3 s wide, which takes out the
    beats' rhythm at any rate), it seldom rises a third above its median. A movement too
    faint to be caught (a leg twitching under a noisy sensor, the first second or two of a
    movement before it is caught) swells it, and its components beat against each other
    about once a second: left in, it passes for a heartbeat the sensor cannot hear. Each
    stretch is measured against its own median, since the level may change between them
    (someone lies down, the heart couples better after turning over)."""
    n = len(t_s)
    still = np.zeros(n, dtype=bool)
    for a, b in segments:
        still[a:b] = True
    # The still rows' energy in steps, then its mean over the steps within half the slowest
    # beat's period either side, twice. Still stretches lie further apart than that (a
    # movement and its margins on both sides), so each mean stays within its own stretch, and
    # all of them are computed at once.
    group = max(1, round(SWELL_STEP_S / dt))
    starts = np.arange(0, n, group)
    power = axes[0] * axes[0] + axes[1] * axes[1] + axes[2] * axes[2]
    energy = np.add.reduceat(np.where(still, power, 0.0), starts)
    rows = np.add.reduceat(still.astype(np.float64), starts)
    half = max(1, round(HEART_PERIOD_S[1] / (group * dt))) // 2
    pad = np.zeros(half)

    def window_sum(x: F64) -> F64:
        total = np.cumsum(np.concatenate([pad, [0.0], x, pad]))
        return np.asarray(total[2 * half + 1 :] - total[: -2 * half - 1])

    count = np.maximum(window_sum(rows), 1.0)
    level = window_sum(window_sum(energy) / count * rows) / count
    limit = np.full(len(starts), np.inf)
    for a, b in segments:
        lo, hi = a // group, -(-b // group)
        middle = (hi - lo) // 2  # the median; np.median's checks would double the cost
        limit[lo:hi] = HEART_SWELL * float(np.partition(level[lo:hi], middle)[middle])
    swell = np.repeat(level > limit, group)[:n] & still
    if not swell.any():
        return segments
    swelled = np.concatenate([[0], np.cumsum(swell)])
    idx = np.arange(n)
    near = swelled[np.clip(idx + margin + 1, 0, n)] > swelled[np.clip(idx - margin, 0, n)]
    left_out = np.asarray(~still | near, dtype=np.float64)
    return still_segments(t_s, left_out, dt, 0, round(MIN_SEGMENT_S / dt))


def _period(x: F64, weight: F64, dt: float, period_s: tuple[float, float],
            swing: float = 0.0) -> tuple[float | None, float]:
    """The lag of the highest autocorrelation peak within ``period_s`` (refined by a parabola
    through the peak) and the peak's height (1 for a perfectly periodic signal).

    With ``swing``, the autocorrelation must also dip at least that far below the peak
    before it, as it does half a period in: a slow drift left over after detrending (a
    mattress creeping back, a sensor warming up) decays smoothly and only wobbles.

    ``x`` is zero where ``weight`` is 0 (rows left out); each lag's sum is divided by how many
    pairs of rows it had, so gaps left by movements do not bias it."""
    lo = max(1, int(np.floor(period_s[0] / dt)))
    hi = int(np.ceil(period_s[1] / dt)) + 1
    n = len(x)
    if n < 2 * hi:
        return None, 0.0
    # Lags 0 .. hi + 1 of the first ``length`` rows against the rest (fresh copies: the same
    # numbers at the same alignment give the same sums wherever the window lay in memory).
    length = n - hi - 1
    x = np.array(x, dtype=np.float64)
    acf = np.correlate(x, x[:length], mode="valid")
    if weight.all():
        pairs = np.full(hi + 2, float(length))
    else:
        weight = np.array(weight, dtype=np.float64)
        pairs = np.correlate(weight, weight[:length], mode="valid")
    if acf[0] <= 0 or pairs.min() < 0.25 * length:
        return None, 0.0
    r = (acf[lo - 1 :] / pairs[lo - 1 :]) / (acf[0] / pairs[0])
    inner = r[1:-1]
    is_peak = (inner >= r[:-2]) & (inner > r[2:])
    peaks = np.flatnonzero(is_peak)
    if len(peaks) == 0:
        return None, 0.0
    # A periodic signal repeats at every multiple of its period: take the first peak that is
    # nearly as high as the highest, not a multiple that noise happened to favour.
    best = float(inner[peaks].max())
    j = int(peaks[np.flatnonzero(inner[peaks] >= best - FIRST_PEAK_MARGIN)[0]])
    a, b, c = r[j], r[j + 1], r[j + 2]
    denom = a - 2 * b + c
    shift = 0.5 * (a - c) / denom if denom < 0 else 0.0
    lag = (lo + j + shift) * dt
    if not period_s[0] <= lag <= period_s[1]:
        return None, 0.0
    if swing:
        upto = lo + j + 1
        dip = float((acf[1:upto] / pairs[1:upto]).min() / (acf[0] / pairs[0]))
        if b - dip < swing:
            return None, 0.0
    return lag, min(1.0, float(b - 0.25 * (a - c) * shift))


class VitalsTracker:
    """The latest estimates, and what of them may be published."""

    def __init__(self) -> None:
        self.breath = NO_BREATH
        self.heart = NO_HEART
        self.t_s: float | None = None
        self._breathing = _Publisher(RESP_PUBLISH, RESP_AGREE_BPM)
        self._heart = _Publisher(HEART_PUBLISH, HEART_AGREE_BPM, HEART_AUDIBLE, HEART_FOLLOW)

    def update(self, t_s: float, breath: Breath | None, heart: Heart | None) -> None:
        """New estimates (None: not estimated this epoch, the last one stands)."""
        self.t_s = t_s
        if breath is not None:
            self.breath = breath
            self._breathing.update(t_s, breath.rate_bpm, breath.confidence)
        if heart is not None:
            self.heart = heart
            self._heart.update(t_s, heart.rate_bpm, heart.confidence)

    @property
    def respiration_rate_bpm(self) -> float | None:
        return self._breathing.value

    @property
    def heart_rate_bpm(self) -> float | None:
        return self._heart.value


class _Publisher:
    """Publishes a rate when it is confident and agrees with one of the two estimates before
    it, and (if ``audible`` is given) one of the last ten estimates was at least that
    confident, which noise hardly ever is. With ``follow`` (the heart), once a rate is
    published a later estimate needs only that confidence to carry it on, as long as it stays
    within ``agree_bpm`` of it (noise seldom lands that close by chance, and the rate changes
    slowly), and an inconclusive estimate (a weak stretch) does not withdraw it. While a
    movement leaves too little still signal for an estimate (or, with ``follow``, while
    estimates are inconclusive), the last published rate stands for up to ``STALE_S``."""

    def __init__(self, needed: float, agree_bpm: float, audible: float = 0.0,
                 follow: float | None = None) -> None:
        self.needed = needed
        self.agree_bpm = agree_bpm
        self.audible = audible
        self.follow = follow
        self.value: float | None = None
        self._value_t_s = -np.inf
        self._previous: list[float | None] = [None, None]
        self._confidences: list[float] = []

    def update(self, t_s: float, rate: float | None, confidence: float) -> None:
        self._confidences = [*self._confidences[-9:], confidence]
        candidate = rate if rate is not None and confidence >= 0.8 * self.needed else None
        confirmed = candidate is not None and confidence >= self.needed and any(
            p is not None and abs(p - candidate) <= self.agree_bpm for p in self._previous
        ) and max(self._confidences) >= self.audible
        followed = (self.follow is not None and self.value is not None and rate is not None
                    and confidence >= self.follow and abs(rate - self.value) <= self.agree_bpm)
        if followed and candidate is None:
            candidate = rate
        self._previous = [self._previous[-1], candidate]
        if (confirmed or followed) and rate is not None:
            self.value, self._value_t_s = round(float(rate), 1), t_s
        elif (rate is not None and self.follow is None) or t_s - self._value_t_s > STALE_S:
            self.value = None
