"""Measure a closed movement and say what kind it was.

The rules, in order:

- under 2 s, *linear* and spent early, or an *impulse* → jerk, if it stands out from the
  seconds around it (``stands_out``); otherwise it is not an event
- the gravity direction moved by 0.05-0.3° with a peak under 40 mg, or by more with a peak
  under 15 mg                                        → not an event: the load shifted, but not
  as the sleeper's own turning over does, as when a partner turns on the other side of the bed
  (the sleeper's own limb movements mostly leave the tilt alone, under 0.04°; turning over
  moves it by 0.3° and more, and strongly). Where slow deep breathing or flicker noise makes
  even a still bed seem to tilt by more than 0.05°, the tilt must exceed that (``tilt_noise``).
  A leg that ends up elsewhere can tilt the bed as much, so the detector keeps those that would
  otherwise be limb movements in case they turn out to be in a periodic series
  (``Night.tentative_limb``)
- longer than 10 s, or still going at 60 s          → posture_change (AASM limb movements
  last at most 10 s)
- the gravity direction moved by 0.3° or more       → posture_change (the body's weight moved)
- otherwise                                          → limb_movement

Linearity is what tells a jerk from a short limb movement (with a core, the envelope above 30
% of its peak, of at most a second: a jerk's ring dies well within one). A myoclonic jerk is
one brief muscle burst (under a quarter second): it kicks the mattress once and the mattress
rings along one direction, so the band-passed acceleration during it stays on a line (the
largest eigenvalue of its 3-axis covariance holds nearly all of it). A limb movement lasts
longer and moves the body several ways in turn, so the motion wanders in all three axes
(typically 50-80 % on the main axis). The sensor's own noise, estimated just before the
movement, is taken out of the covariance first, so a faint jerk is not called wandering
because of noise. But a mattress may pass a limb movement only vertically, on a line too;
so a jerk must also be *spent early*: at least half its motion's energy in its first 0.3 s
(the burst and the first cycles of the ring), where a brief limb movement keeps moving. And a
mattress may ring sideways at its own, slower pace, taking a jerk off its line (linearity
0.7-0.95): an *impulse* is a jerk too, so long as it stays mostly on a line (0.8) and is
over at once: 90 % of its energy in the first 0.3 s, a peak within 0.15 s and a core of at
most 0.5 s, which a limb movement seldom is. Where the noise leaves too little to judge, the
older shape rule decides: a sharp rise (peak within 0.3 s of onset) and a short core
(envelope above 30 % of its peak for at most 0.6 s).

A movement that only the slow 1-5 Hz band found (a leg moving under a noisy sensor, its
broadband motion lost in the noise) is measured in that band, and is never a jerk, unless
the broadband shows one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from hypnic.daemon.detect.filters import Fine

LIMB_MOVEMENT_MAX_S = 10.0
JERK_MAX_DURATION_S = 2.0
JERK_MIN_RING_S = 0.05
JERK_MIN_LINEARITY = 0.95
#: Signal energy over the noise's that the linearity needs to be trusted.
LINEARITY_MIN_SNR = 1.0
JERK_MAX_RISE_S = 0.3
JERK_MAX_CORE_S = 0.6
#: Even a linear movement is no jerk if its core lasts longer than this: a jerk's ring through
#: the mattress dies well within a second (heartbeats merged over a breath are linear too).
JERK_MAX_RING_S = 1.0
#: ... and most of a jerk's motion comes in its first JERK_BURST_S (the burst and the first
#: cycles of the ring), while a brief limb movement keeps moving: where a limb's motion stays
#: on one line too (all of it vertical through the mattress), that is what tells them apart.
JERK_BURST_S = 0.3
JERK_EARLY_SHARE = 0.5
#: An impulse: off its line a little, but over at once.
IMPULSE_MIN_LINEARITY = 0.8
IMPULSE_SHARE = 0.9
IMPULSE_MAX_CORE_S = 0.5
IMPULSE_MAX_RISE_S = 0.15
POSTURE_TILT_DEG = 0.3
#: A shift of the load between these (and weaker than PARTNER_MAX_PEAK_G) is not the sleeper's.
PARTNER_TILT_DEG = 0.05
PARTNER_MAX_PEAK_G = 0.04
#: Turning over moves the sleeper's whole weight: weaker than this, whatever the tilt, the
#: load moved elsewhere on the bed.
TURN_MIN_PEAK_G = 0.015
CORE_FRACTION = 0.3
EDGE_FRACTION = 0.1
#: A movement's full-rate envelope must rise above this many times the noise before it.
LEVEL_NOISE = 1.6
#: A jerk stands out from the signal around it: its peak is at least STANDOUT times the upper
#: quartile of the one-second peaks of the STANDOUT_AROUND_S before and after it (see
#: ``stands_out``).
STANDOUT = 1.2
STANDOUT_PERCENTILE = 75.0
STANDOUT_AROUND_S = 4.0
#: For this long after a big movement ends, a limb movement must stand out too.
SETTLING_S = 30.0
#: Its edges are where the motion itself first and last passes this many times the noise
#: (a noise spike's height) or EDGE_FRACTION of its peak, whichever is higher.
EDGE_NOISE = 2.5
#: The first rise counts once the envelope passes this share of its peak.
RISE_FRACTION = 0.25
#: Bursts this far apart are separate jerks (if each is one); the mattress rings shorter.
#: A burst must reach this many times the noise.
BURST_GAP_S = 0.15
BURST_NOISE = 3.0


@dataclass(frozen=True)
class Shape:
    """What a movement looked like."""

    onset_s: float
    offset_s: float
    peak_g: float
    peak_jerk_g_s: float
    rise_s: float
    core_s: float
    tilt_deg: float | None
    truncated: bool
    #: Share of the motion along its main direction (nan: too faint to tell).
    linearity: float = float("nan")
    #: Measured in the slow band, the only one it showed in: too slow for a jerk.
    slow: bool = False
    #: Share of its motion's energy in its first JERK_BURST_S.
    early_share: float = 1.0

    @property
    def duration_s(self) -> float:
        return self.offset_s - self.onset_s


def measure(
    samples: Fine,
    noise: Fine | None,
    gravity_before_g: NDArray[np.float64] | None,
    gravity_after_g: NDArray[np.float64] | None,
    truncated: bool,
    slow_only: bool = False,
) -> list[Shape]:
    """Measure a movement found in the blocks from its full-rate samples; ``noise``: the still
    samples just before it. Returns its shape, or several when it was a run of separate jerks
    that the block envelope's hold merged, or none if at the full rate it does not rise above
    the noise (a chance alignment of noise in the blocks).

    Onset and offset are where the motion first and last reaches 10 % of its peak (but at
    least a noise spike's height), which is sharper than the envelope it was found in. The
    onset is looked for only in the envelope's unbroken rise to its first substantial peak,
    so neither noise nor the filters' faint ringing ahead of a strong jerk pulls it early.

    A movement found only in the slow band (``slow_only``) is measured in that band unless
    the broadband shows a jerk (on a soft mattress a faint one rings slowly): a faint limb
    movement's broadband motion is lost in the noise, which cuts it short or hides it."""
    shapes = _measure(samples, noise, gravity_before_g, gravity_after_g, truncated)
    if not slow_only or any(classify(s) == "jerk" for s in shapes):
        return shapes
    slow, slow_noise = samples.slow_band(), noise.slow_band() if noise is not None else None
    shape = _shape(slow, slow_noise, _noise_g(slow, slow_noise), gravity_before_g,
                   gravity_after_g, truncated)
    return [] if shape is None else [replace(shape, slow=True)]


def measure_faint(samples: Fine, noise: Fine | None,
                  gravity_before_g: NDArray[np.float64] | None,
                  gravity_after_g: NDArray[np.float64] | None) -> Shape | None:
    """Measure a faint movement found on a second look (see ``series_gaps``): in the slow
    band only, and at least as long as ``samples``, the stretch where it stood out. Its
    motion barely reaches a noise spike's height, so edges set by that height would cut it
    to a few samples; and its broadband shows only noise, so it is not asked for a jerk."""
    slow, slow_noise = samples.slow_band(), noise.slow_band() if noise is not None else None
    shape = _shape(slow, slow_noise, _noise_g(slow, slow_noise), gravity_before_g,
                   gravity_after_g, False)
    if shape is None:
        return None
    return replace(shape, slow=True, onset_s=min(shape.onset_s, float(samples.t_s[0])),
                   offset_s=max(shape.offset_s, float(samples.t_s[-1])))


def _measure(samples: Fine, noise: Fine | None, gravity_before_g: NDArray[np.float64] | None,
             gravity_after_g: NDArray[np.float64] | None, truncated: bool) -> list[Shape]:
    env = samples.envelope_g
    noise_g = _noise_g(samples, noise)
    level = LEVEL_NOISE * noise_g
    if env.max() <= level:
        return []
    quiet = env < max(level, EDGE_FRACTION * float(env.max()))
    parts = _bursts(samples.t_s, env, quiet, BURST_NOISE * noise_g)
    if len(parts) > 1:
        shapes = [_shape(samples.part(_mask(len(env), a, b)), noise, noise_g, None, None, False)
                  for a, b in parts]
        if all(s is not None and classify(s) == "jerk" for s in shapes):
            return [s for s in shapes if s is not None]
    shape = _shape(samples, noise, noise_g, gravity_before_g, gravity_after_g, truncated)
    return [] if shape is None else [shape]


def _noise_g(samples: Fine, noise: Fine | None) -> float:
    """The noise's RMS motion: of the still samples before, else a low percentile."""
    if noise is not None and len(noise) >= 10:
        return float(np.sqrt(np.mean(noise.motion_g**2)))
    return float(np.percentile(samples.envelope_g, 20))


def _mask(n: int, a: int, b: int) -> NDArray[np.bool_]:
    keep = np.zeros(n, bool)
    keep[a:b] = True
    return keep


def _bursts(t_s: NDArray[np.float64], env: NDArray[np.float64], quiet: NDArray[np.bool_],
            height_g: float) -> list[tuple[int, int]]:
    """Index ranges of the bursts (envelope reaching ``height_g``) separated by quiet
    stretches of at least BURST_GAP_S."""
    edges = np.flatnonzero(np.diff(np.concatenate([[True], quiet, [True]]).astype(np.int8)))
    runs = [(a, b) for a, b in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True)
            if env[a:b].max() >= height_g]
    if not runs:
        return []
    merged: list[tuple[int, int]] = []
    for a, b in runs:
        if merged and t_s[a] - t_s[merged[-1][1] - 1] < BURST_GAP_S:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    # Each part keeps the quiet samples up to the next one, for its edges to be searched in.
    bounds = [0] + [b for _, b in merged[:-1]] + [len(quiet)]
    return [(bounds[i], bounds[i + 1]) for i in range(len(merged))]


def _shape(samples: Fine, noise: Fine | None, noise_g: float,
           gravity_before_g: NDArray[np.float64] | None,
           gravity_after_g: NDArray[np.float64] | None, truncated: bool) -> Shape | None:
    motion, env, t = samples.motion_g, samples.envelope_g, samples.t_s
    level = LEVEL_NOISE * noise_g
    if len(env) == 0 or env.max() <= level:
        return None
    peak_g = float(motion.max())
    edge_g = min(max(EDGE_NOISE * noise_g, EDGE_FRACTION * peak_g), peak_g)
    i_peak = int(np.argmax(env))
    # The first substantial rise: when two bursts were merged into one movement, the first
    # must not vanish behind a higher second.
    i_first = int(np.flatnonzero(env > max(level, RISE_FRACTION * float(env[i_peak])))[0])
    low_before = np.flatnonzero(env[:i_first] < max(level, EDGE_FRACTION * env[i_first]))
    rise_start = int(low_before[-1]) if len(low_before) else 0
    strong = np.flatnonzero(motion >= edge_g)
    rising = strong[strong >= rise_start]
    first = int(rising[0] if len(rising) else strong[0])
    last = max(first, int(strong[-1]))
    onset_s = float(t[first])
    core = np.flatnonzero(env >= CORE_FRACTION * env[i_peak])
    energy = motion[first : last + 1] ** 2
    total = float(energy.sum())
    early = float(energy[t[first : last + 1] <= onset_s + JERK_BURST_S].sum())
    return Shape(
        onset_s=onset_s,
        offset_s=float(t[last]),
        peak_g=peak_g,
        peak_jerk_g_s=float(samples.jerk_g_s.max()),
        rise_s=max(0.0, float(t[i_peak]) - onset_s),
        core_s=float(t[core[-1]] - t[core[0]]),
        tilt_deg=angle_deg(gravity_before_g, gravity_after_g),
        truncated=truncated,
        linearity=_linearity(samples.band_g[first : last + 1], noise),
        early_share=early / total if total > 0 else 1.0,
    )


def classify(shape: Shape, partner_tilt_deg: float = PARTNER_TILT_DEG) -> str | None:
    """The event type, or None for a movement that is not the sleeper's. A tilt under
    ``partner_tilt_deg`` is taken for no tilt at all (see ``tilt_noise``)."""
    if shape.duration_s < JERK_MIN_RING_S:
        # Through a mattress even the briefest kick rings for a cycle or more (resonances
        # of 4-12 Hz): a lone spike is the sensor or the room, not the sleeper.
        return None
    if shape.duration_s < JERK_MAX_DURATION_S and not shape.truncated and not shape.slow:
        if math.isnan(shape.linearity):
            jerk = shape.rise_s <= JERK_MAX_RISE_S and shape.core_s <= JERK_MAX_CORE_S
        else:
            jerk = shape.linearity >= JERK_MIN_LINEARITY and shape.core_s <= JERK_MAX_RING_S \
                and shape.early_share >= JERK_EARLY_SHARE
            jerk = jerk or _impulse(shape)
        if jerk:
            return "jerk"
    tilt = shape.tilt_deg
    if tilt is not None and tilt >= partner_tilt_deg and shape.peak_g < PARTNER_MAX_PEAK_G \
            and (tilt < POSTURE_TILT_DEG or shape.peak_g < TURN_MIN_PEAK_G):
        return None
    if shape.truncated or shape.duration_s > LIMB_MOVEMENT_MAX_S:
        return "posture_change"
    if tilt is not None and tilt >= POSTURE_TILT_DEG:
        return "posture_change"
    return "limb_movement"


def stands_out(shape: Shape, around: Fine, start_s: float) -> bool:
    """Does a movement rise above the still signal around it? ``around``: the full-rate
    filter outputs of the seconds before and after it (not of the movement itself), cut into
    seconds from ``start_s``.

    Right after someone lies down on an empty bed under a quiet sensor, the noise floor
    lags the still signal for up to a minute; and a quick, deep breath followed by a pause
    heaves the sensor in a second or so, then leaves it still for longer than a frame of
    the floor, which so learns the pauses. Either way heartbeats or breaths cross the
    threshold one after another. Each is brief and on a line, like a jerk, but no taller
    than the others around it (the upper quartile of the seconds' peaks: breaths may fill
    only every other second), where a jerk stands well above them. On the tuning nights all
    of 2,504 real jerks peaked at least 1.32 times that quartile; of the 323 beats, breaths
    and other stray movements taken for jerks, 285 stood under 1.2 times.

    Limb movements are held to it only for SETTLING_S after a big movement (getting in,
    turning over), when the floor is at its slowest to follow: many real ones on a noisy
    chip stand no taller than the noise around them (one in thirteen under 1.2 times), but
    on the tuning nights 52 of the 119 stray limb movements, deep breaths after lying down,
    came in those 30 s and stood under 1.2 times, against 5 real ones."""
    if len(around) == 0:
        return True
    second = np.floor(around.t_s - start_s).astype(np.int64)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(second)) + 1])
    if len(starts) < 3:
        return True
    peaks = np.maximum.reduceat(around.motion_g, starts)
    return shape.peak_g >= STANDOUT * float(np.percentile(peaks, STANDOUT_PERCENTILE))


def _impulse(shape: Shape) -> bool:
    """A kick that is over almost at once, though not on one line."""
    return shape.linearity >= IMPULSE_MIN_LINEARITY and shape.early_share >= IMPULSE_SHARE \
        and shape.core_s <= IMPULSE_MAX_CORE_S and shape.rise_s <= IMPULSE_MAX_RISE_S


def _linearity(band_g: NDArray[np.float64], noise: Fine | None) -> float:
    """Largest eigenvalue over the trace of the motion's covariance, less the noise's."""
    n = len(band_g)
    if n < 3:
        return float("nan")
    cov = band_g.T @ band_g
    noise_cov = np.zeros((3, 3))
    if noise is not None and len(noise) >= 10:
        noise_cov = noise.band_g.T @ noise.band_g * (n / len(noise))
    noise_energy = float(np.trace(noise_cov))
    values = np.clip(np.linalg.eigvalsh(cov - noise_cov), 0.0, None)
    signal = float(values.sum())
    if signal <= 0 or signal < LINEARITY_MIN_SNR * noise_energy:
        return float("nan")
    return float(values[-1] / signal)


def angle_deg(a: NDArray[np.float64] | None, b: NDArray[np.float64] | None) -> float | None:
    """The angle between two gravity vectors in degrees (None if either is unknown)."""
    if a is None or b is None:
        return None
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 or nb == 0.0:
        return None
    cos = max(-1.0, min(1.0, float(np.dot(a, b)) / (na * nb)))
    return math.degrees(math.acos(cos))
