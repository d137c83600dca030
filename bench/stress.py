"""How hypnic holds up under physics the scenarios never draw.

Prints figures; asserts nothing.

    .venv/bin/python bench/stress.py [--hours 1.5] [--nights 1] [--jobs 2]

hypnic is judged on recordings from a simulator it has never seen, so the scenarios of
``bench/evaluate.py`` are not the last word. Each stress here changes one piece of physics
that a real bed or another simulator may well have and ours does not by default:

- ``flicker``: 1/f sensor noise below a few hertz at 15-35 % of the white noise's rms (MEMS
  chips have a 1/f corner somewhere below a few hertz; datasheets do not say where);
- ``sideways-jerks``: the mattress's sideways mode rings at 0.5-0.7x its bounce, so a jerk's
  ring leaves its line;
- ``vertical-limbs``: the mattress passes a leg's movement almost only vertically (sideways
  weight 0.05-0.2), so a limb movement stays on one line as a jerk does;
- ``slow-breathing``: 6-10 breaths a minute in sleep (the scenarios draw 10-22), slower than
  the few seconds of gravity either side of a movement can average out;
- ``deep-breathing``: breathing that heaves the sensor by 1.5-4 mg and tilts it by 0.1-0.25°
  (the scenarios: at most 1.5 mg and 0.1°), as under a thin mattress or a heavy chest;
- ``tilting-limbs``: a limb movement leaves the surface tilted by 0.03-0.2° (the leg's
  weight moved; the scenarios' legs come back), as much as a partner turning over does;
- ``light-sleeper``: a light body (45-70 kg) on a firm mattress, which getting in tilts by
  0.3-1.2° before the body's weight scales it (the scenarios: 0.5-5°), and whose breathing a
  noisy sensor hardly hears;
- ``steady-awake``: breathing as steady awake as asleep (the scenarios make it less regular
  awake), so only stillness and sleep starts tell when sleep came;
- ``fitful-awake``: awake breathing far less regular than the scenarios draw (3-5 bpm of
  breath-to-breath swing, 30-50 % in depth) and 12-30 sighs an hour.

Every stressed night is scored next to the same night (same seed) without the stress, so
the table shows what the stress alone costs. Seeds start at 3000: held out like those of
``bench/evaluate.py``, and apart from them.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from hypnic.daemon.detect import Detector
from hypnic.daemon.evaluate import NightResult, evaluate_folder, group
from hypnic.daemon.evaluate_report import table
from hypnic.drivers.sim.export import write_night
from hypnic.drivers.sim.night import SimulatedNight
from hypnic.drivers.sim.scenarios import CHIP_SENSORS, scenario_params

FIRST_SEED = 3000
RATES_HZ = (100.0, 200.0, 400.0)
#: Each stress: the scenarios it is tried on and the physics it changes.
STRESSES: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "flicker": (("typical", "plm", "empty"), {"flicker_noise_ratio": (0.15, 0.35)}),
    "sideways-jerks": (("onset-jerks", "typical"), {"jerk_sideways_freq_ratio": (0.5, 0.7)}),
    "vertical-limbs": (("plm", "restless"), {"limb_sideways_weight": (0.05, 0.2)}),
    "slow-breathing": (("plm", "typical", "quiet"), {"breath_rate_bpm": (6.0, 10.0)}),
    "deep-breathing": (("plm", "typical", "quiet"),
                       {"breath_vertical_g": (0.0015, 0.004), "breath_tilt_deg": (0.1, 0.25)}),
    # Added last, so the seeds of the stresses before them stay as they were.
    "tilting-limbs": (("plm", "restless"), {"limb_tilt_deg": (0.03, 0.2)}),
    "light-sleeper": (("typical", "quiet", "noisy-room"),
                      {"body_mass_kg": (45.0, 70.0), "bed_entry_tilt_deg": (0.3, 1.2)}),
    "steady-awake": (("quiet", "typical"), {"wake_breathing_scale": 0.0}),
    "fitful-awake": (("quiet", "typical"), {"wake_breath_rate_jitter_bpm": (3.0, 5.0),
                                            "wake_breath_depth_jitter": (0.3, 0.5),
                                            "wake_sighs_per_h": (12.0, 30.0)}),
}


def run_pair(job: tuple[str, str, str, int, float, float, str]) -> tuple[NightResult, NightResult]:
    """One night with and without the stress, each simulated and scored."""
    stress, scenario, chip, seed, rate_hz, hours, folder = job
    rate = CHIP_SENSORS[chip].rate_hz(rate_hz)
    plain = scenario_params(scenario, chip)
    results = []
    for name, params in (("plain", plain), ("stressed", replace(plain, **STRESSES[stress][1]))):
        out = Path(folder) / name
        out.mkdir(parents=True, exist_ok=True)
        write_night(SimulatedNight(seed, rate, hours * 3600.0, "evening", params), out,
                    scenario=scenario, chip=chip)
        results.append(evaluate_folder(out, Detector))
        shutil.rmtree(out, ignore_errors=True)
    return results[0], results[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hours", type=float, default=1.5, help="length of each night")
    p.add_argument("--nights", type=int, default=1, help="nights per scenario and chip")
    p.add_argument("--jobs", type=int, default=2, help="nights simulated and scored at once")
    p.add_argument("--stresses", nargs="+", default=list(STRESSES), choices=list(STRESSES))
    args = p.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hypnic-stress-"))
    started = time.perf_counter()
    jobs = []
    seed = FIRST_SEED
    for stress in args.stresses:
        for scenario in STRESSES[stress][0]:
            for chip in CHIP_SENSORS:
                for _ in range(args.nights):
                    rate = RATES_HZ[seed % len(RATES_HZ)]
                    folder = work / f"{stress}-{scenario}-{chip}-s{seed}"
                    jobs.append((stress, scenario, chip, seed, rate, args.hours, str(folder)))
                    seed += 1
    print(f"{len(jobs)} nights of {args.hours:g} h, each with and without its stress, "
          f"seeds {FIRST_SEED}-{seed - 1}, {args.jobs} at once ...", flush=True)
    try:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            pairs = list(pool.map(run_pair, jobs))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"simulated and scored in {time.perf_counter() - started:.0f} s")
    for stress in args.stresses:
        mine = [pair for job, pair in zip(jobs, pairs, strict=True) if job[0] == stress]
        print(f"\n== {stress}: {', '.join(STRESSES[stress][0])}; "
              f"{', '.join(f'{k}={v}' for k, v in STRESSES[stress][1].items())} ==")
        print(table({"plain": group([a for a, _ in mine], None)["all"],
                     "stressed": group([b for _, b in mine], None)["all"]}))


if __name__ == "__main__":
    main()
