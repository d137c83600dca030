"""Write a simulated night to a folder: the recording ``hypnic replay`` reads and truth.json.

The recording is rendered a minute at a time (constant memory however long the night); the
samples a simulated FIFO overrun lost are left out, so the recording has a real hole there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypnic.drivers.recording import RecordingWriter
from hypnic.drivers.sim.night import SimulatedNight


def write_night(night: SimulatedNight, folder: Path, fmt: str = "npz",
                **meta: Any) -> Path:
    """Write ``recording.<fmt>`` ("npz" or "csv") and ``truth.json`` (``meta`` first, e.g.
    scenario and chip, then ``night.truth_record()``) into ``folder``, which must exist.
    Returns the recording's path."""
    recording = folder / f"recording.{fmt}"
    chunk = max(1, 60 * int(night.rate_hz))
    with RecordingWriter(recording) as writer:
        for first in range(0, night.n_samples, chunk):
            t, acc = night.render(first, min(chunk, night.n_samples - first))
            kept = night.kept(t)
            writer.write(t[kept], acc[kept])
    truth = {**meta, **night.truth_record()}
    (folder / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    return recording
