"""Hand-made signals of a bed, for the detector's tests: every rhythm and movement is known.

A ``Bed`` is a stretch of samples (gravity on a tilted axis plus white sensor noise) to which
the tests add breathing, heartbeats, movements and changes of tilt, then feed to a Detector.
"""

from __future__ import annotations

import numpy as np

from hypnic.daemon.detect import Detector, DetectorSettings
from hypnic.daemon.events import Event
from hypnic.drivers.base import Block

RATE_HZ = 200.0
# Gravity in the sensor's axes (any mounting): mostly z, a little x and y.
GRAVITY = np.array([0.05, -0.3, 0.95]) / np.linalg.norm([0.05, -0.3, 0.95])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


class Bed:
    def __init__(self, duration_s: float, noise_g: float = 0.003, seed: int = 0,
                 rate_hz: float = RATE_HZ) -> None:
        self.rng = np.random.default_rng(seed)
        self.rate_hz = rate_hz
        self.t = np.arange(int(duration_s * rate_hz)) / rate_hz
        self.acc = np.tile(GRAVITY, (len(self.t), 1))
        self.acc += self.rng.normal(0.0, noise_g, self.acc.shape)

    def span(self, start_s: float, end_s: float) -> np.ndarray:
        return (self.t >= start_s) & (self.t < end_s)

    def breathe(self, bpm: float, tilt_g: float = 0.0015, start_s: float = 0.0,
                end_s: float = np.inf, irregular: float = 0.0) -> Bed:
        """A slow swing of gravity along one horizontal direction, with a 2nd harmonic;
        ``irregular``: how far (as a share) the rate wanders from breath to breath."""
        on = self.span(start_s, end_s)
        phase = 2 * np.pi * bpm / 60.0 * self.t[on]
        if irregular:
            # The rate wanders smoothly: a new random rate every 4 s, linearly joined.
            knots = self.rng.normal(1.0, irregular, int(len(phase) / self.rate_hz / 4) + 2)
            rate = np.interp(np.arange(len(phase)) / (4 * self.rate_hz),
                             np.arange(len(knots)), knots)
            phase = 2 * np.pi * bpm / 60.0 * np.cumsum(rate) / self.rate_hz
        swing = tilt_g * (np.sin(phase) + 0.15 * np.sin(2 * phase))
        self.acc[on] += np.outer(swing, _unit(np.cross(GRAVITY, [1.0, 0.0, 0.0])))
        return self

    def heartbeat(self, bpm: float, peak_g: float = 0.0008, start_s: float = 0.0,
                  end_s: float = np.inf) -> Bed:
        """Each beat rings the bed at 7 Hz for ~0.3 s, with a little beat-to-beat jitter."""
        beats = np.arange(start_s, min(end_s, self.t[-1]), 60.0 / bpm)
        beats = beats + self.rng.normal(0.0, 0.01, len(beats))
        direction = _unit(np.array([0.3, 0.2, 1.0]))
        for b in beats:
            on = self.span(b, b + 0.4)
            tt = self.t[on] - b
            ring = peak_g * np.exp(-tt / 0.08) * np.sin(2 * np.pi * 7.0 * tt)
            self.acc[on] += np.outer(ring, direction)
        return self

    def jerk(self, onset_s: float, peak_g: float, direction: tuple[float, ...] = (0.2, 0.3, 0.93)
             ) -> Bed:
        """A muscle burst ringing the mattress at 6 Hz along one direction, gone in 0.8 s."""
        on = self.span(onset_s, onset_s + 0.8)
        tt = self.t[on] - onset_s
        ring = peak_g * np.exp(-tt / 0.12) * np.sin(2 * np.pi * 6 * tt)
        self.acc[on] += np.outer(ring, _unit(np.array(direction)))
        return self

    def sway_jerk(self, onset_s: float, peak_g: float, sway: float = 0.4) -> Bed:
        """A jerk on a mattress whose sideways mode is softer: the kick rings at 6 Hz along
        gravity and, ``sway`` as strong, at 3.6 Hz sideways, so its motion is not on a line."""
        on = self.span(onset_s, onset_s + 1.0)
        tt = self.t[on] - onset_s
        vertical = np.exp(-tt / 0.12) * np.sin(2 * np.pi * 6.0 * tt)
        sideways = np.exp(-tt / 0.2) * np.sin(2 * np.pi * 3.6 * tt)
        side = _unit(np.cross(GRAVITY, [1.0, 0.0, 0.0]))
        self.acc[on] += peak_g * (np.outer(vertical, GRAVITY) + sway * np.outer(sideways, side))
        return self

    def limb(self, onset_s: float, duration_s: float, peak_g: float) -> Bed:
        """A leg moving: 1-5 Hz motion wandering over three axes under a smooth envelope."""
        on = self.span(onset_s, onset_s + duration_s)
        tt = self.t[on] - onset_s
        window = np.sin(np.pi * tt / duration_s) ** 2
        motion = np.zeros((len(tt), 3))
        for axis in range(3):
            for _ in range(6):
                f = self.rng.uniform(1.0, 5.0)
                motion[:, axis] += np.sin(2 * np.pi * f * tt + self.rng.uniform(0, 2 * np.pi))
        motion *= (window / np.abs(motion).max())[:, None] * peak_g
        self.acc[on] += motion
        return self

    def fidget(self, onset_s: float, duration_s: float, peak_g: float, ramp_s: float = 0.3,
               direction: tuple[float, ...] | None = None) -> Bed:
        """A restless leg as the simulator draws one: 16 sines at 1-6 Hz with their own
        strength and phase on each axis, at full strength within ``ramp_s``. The sines beat
        against each other, so its strength throbs about once a second. With ``direction``
        all of it moves along that one line (a mattress that passes only the vertical)."""
        on = self.span(onset_s, onset_s + duration_s)
        tt = self.t[on] - onset_s
        edge = np.minimum(tt, duration_s - tt)
        window = 0.5 * (1.0 - np.cos(np.pi * np.clip(edge / ramp_s, 0.0, 1.0)))
        freq = self.rng.uniform(1.0, 6.0, 16)
        amp = self.rng.rayleigh(1.0, (16, 3))
        phase = self.rng.uniform(0.0, 2 * np.pi, (16, 3))
        motion = (amp * np.sin(2 * np.pi * freq[:, None] * tt[:, None, None] + phase)).sum(axis=1)
        motion *= window[:, None]
        if direction is not None:
            motion = np.outer(motion[:, 0], _unit(np.array(direction)))
        self.acc[on] += motion * (peak_g / np.linalg.norm(motion, axis=1).max())
        return self

    def tilt(self, at_s: float, degrees: float, over_s: float = 4.0, peak_g: float = 0.1,
             axis: tuple[float, ...] = (1.0, 0.0, 0.0)) -> Bed:
        """The load moves: gravity tilts by ``degrees`` over ``over_s`` (and stays), with
        movement of ``peak_g`` while it happens (getting in, turning over, a partner)."""
        if peak_g > 0:
            self.limb(at_s, over_s, peak_g)
        after = self.t >= at_s
        u = np.clip((self.t[after] - at_s) / over_s, 0.0, 1.0)
        step = u * u * (3 - 2 * u)
        direction = _unit(np.cross(GRAVITY, axis))
        self.acc[after] += np.outer(step * np.radians(degrees), direction)
        return self

    def blocks(self, block_n: int = 2048) -> list[Block]:
        return [Block(self.t[i : i + block_n], self.acc[i : i + block_n], self.rate_hz)
                for i in range(0, len(self.t), block_n)]

    def run(self, settings: DetectorSettings | None = None, block_n: int = 2048,
            every_s: float | None = None) -> tuple[list[Event], Detector, list[dict]]:
        """Feed the whole bed to a fresh Detector; also summary() every ``every_s``."""
        detector = Detector(settings)
        events: list[Event] = []
        summaries: list[dict] = []
        next_s = 0.0
        for block in self.blocks(block_n):
            events += detector.feed(block)
            if every_s is not None and block.t_s[-1] >= next_s:
                summaries.append({"t_s": float(block.t_s[-1]), **detector.summary()})
                next_s = float(block.t_s[-1]) + every_s
        events += detector.finish()
        return events, detector, summaries
