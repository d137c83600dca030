"""How fast hypnic replays an 8-hour 200 Hz night, and how much memory the daemon holds.

Prints figures; asserts nothing (a timed assertion on a noisy machine is a flaky test).

    .venv/bin/python bench/replay_speed.py [--hours 8] [--rate 200] [--keep]

1. `hypnic simulate` writes an 8 h, 200 Hz NPZ recording (5.76 M samples).
2. `hypnic replay` runs it through the detector: the figure is night length / wall time.
3. `hypnic run --sensor sim --speed 0` runs the daemon over a 1 h and a full 8 h simulated
   night (as fast as it can) into a fresh SQLite log: peak RSS of each, and their ratio, which
   stays near 1.0 when memory is constant over the night.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HYPNIC = [sys.executable, "-m", "hypnic.daemon"]


def timed(cmd: list[str]) -> tuple[float, float]:
    """Run a command; return its wall time in seconds and its peak RSS in MiB."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        assert proc.stderr is not None
        sys.exit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode().strip()}")
    return elapsed, usage.ru_maxrss / 1024.0  # ru_maxrss is in KiB on Linux


def simulate_and_replay(hours: float, rate_hz: float, work: Path) -> dict[str, float]:
    """Write an ``hours``-long night at ``rate_hz`` into ``work`` and replay it; the wall
    times, peak RSS (MiB), size (MB) and how many times faster than real time each ran."""
    night_s = hours * 3600.0
    rec_dir = work / "night"
    sim_s, sim_rss = timed(
        [*HYPNIC, "simulate", "--seed", "1", "--duration", str(night_s),
         "--rate", str(rate_hz), "--out", str(rec_dir)]
    )
    recording = rec_dir / "recording.npz"
    replay_s, replay_rss = timed([*HYPNIC, "replay", str(recording), "--format", "jsonl"])
    return {"simulate_s": sim_s, "simulate_rss_mib": sim_rss,
            "simulate_x": night_s / sim_s, "size_mb": recording.stat().st_size / 1e6,
            "replay_s": replay_s, "replay_rss_mib": replay_rss, "replay_x": night_s / replay_s}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hours", type=float, default=8.0)
    p.add_argument("--rate", type=float, default=200.0)
    p.add_argument("--keep", action="store_true", help="keep the recording in bench/out")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hypnic-bench-"))
    try:
        rec_dir = work / "night"
        r = simulate_and_replay(args.hours, args.rate, work)
        print(f"simulate: {args.hours:g} h at {args.rate:g} Hz -> {r['size_mb']:.0f} MB NPZ in "
              f"{r['simulate_s']:.1f} s ({r['simulate_x']:.0f}x real time), peak RSS "
              f"{r['simulate_rss_mib']:.0f} MiB")
        print(f"replay:   {r['replay_s']:.1f} s = {r['replay_x']:.0f}x faster than real time, "
              f"peak RSS {r['replay_rss_mib']:.0f} MiB")

        rss = {}
        for hours in (1.0, args.hours):
            data = work / f"data-{hours:g}h"
            run_s, rss[hours] = timed(
                [*HYPNIC, "run", "--sensor", "sim", "--speed", "0", "--duration",
                 str(hours * 3600.0), "--data-dir", str(data), "--log-level", "warning"]
            )
            print(f"daemon:   {hours:g} h simulated night in {run_s:.1f} s "
                  f"({hours * 3600.0 / run_s:.0f}x real time), peak RSS {rss[hours]:.0f} MiB")
        print(f"daemon peak RSS, {args.hours:g} h night / 1 h night: "
              f"{rss[args.hours] / rss[1.0]:.2f}")
        if args.keep:
            out = Path(__file__).parent / "out"
            out.mkdir(exist_ok=True)
            shutil.copytree(rec_dir, out / "night", dirs_exist_ok=True)
            print(f"recording kept in {out / 'night'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
