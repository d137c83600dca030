"""How well hypnic detects, on simulated nights it was never tuned on, against the targets.

Prints figures; asserts nothing.

    .venv/bin/python bench/evaluate.py [--hours 1.5] [--nights 1] [--jobs 2] [--split heldout]

Seeds: nights with seeds below 1000 are for tuning the detector (``--split tune``); seeds
from 1000 up (``HELDOUT_FIRST_SEED``, the default) are held out and must never be looked at
while tuning — they stand in for the independent simulator hypnic is finally judged on. Each
(scenario, chip, night) has its own seed, and the nominal rate cycles through 100, 200 and
400 Hz (the chip's nearest), so every scenario is heard through every chip.

1. ``hypnic simulate --scenario S --chip C`` writes each night (in a temporary folder, kept
   with ``--keep DIR``);
2. ``hypnic evaluate`` scores the detector and the naive baseline (|a| minus its running
   median) on each;
3. the figures are printed against the issue's targets, per scenario, per chip, and as a
   scenario x chip grid of where the detector falls short;
4. ``bench/replay_speed.py`` times replaying an 8-hour 200 Hz night (``--no-speed`` skips it).

The default run is modest (48 nights of 1.5 h, a few minutes on 2 cores); ``--hours 8
--nights 3`` is the full-length version.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from hypnic.daemon.detect import Detector
from hypnic.daemon.evaluate import NightResult, StreamingDetector, evaluate_folder, group
from hypnic.daemon.evaluate_baseline import BaselineDetector
from hypnic.daemon.evaluate_report import causes, table
from hypnic.drivers.sim.export import write_night
from hypnic.drivers.sim.scenarios import CHIP_SENSORS, SCENARIOS, scenario_night

HELDOUT_FIRST_SEED = 1000
TUNE_SEEDS = range(0, HELDOUT_FIRST_SEED)
RATES_HZ = (100.0, 200.0, 400.0)
#: The scenarios the jerk false-alarm target is set on.
FALSE_ALARM_SCENARIOS = ("quiet", "empty", "partner")
#: The chip the breathing and heart-rate targets are set on.
VITALS_CHIP = "adxl355"
REPLAY_TARGET_X = 20_000.0


def _detector() -> StreamingDetector:
    return Detector()


def _baseline() -> StreamingDetector:
    return BaselineDetector()


def run_cell(job: tuple[str, str, int, float, float, str]) -> tuple[NightResult, NightResult]:
    """Simulate one night and score both detectors on it."""
    scenario, chip, seed, rate_hz, hours, folder = job
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    night = scenario_night(scenario, chip, seed, rate_hz, hours * 3600.0)
    write_night(night, out, scenario=scenario, chip=chip)
    return evaluate_folder(out, _detector), evaluate_folder(out, _baseline)


def jobs_for(args: argparse.Namespace, work: Path) -> list[tuple[str, str, int, float, float,
                                                                  str]]:
    first = HELDOUT_FIRST_SEED if args.split == "heldout" else TUNE_SEEDS.start
    jobs = []
    k = 0
    for scenario in args.scenarios:
        for chip in args.chips:
            for night in range(args.nights):
                seed = first + args.seed_offset + k
                if args.split == "tune" and seed >= HELDOUT_FIRST_SEED:
                    sys.exit(f"--split tune: seed {seed} is a held-out seed; use fewer nights")
                rate = RATES_HZ[k % len(RATES_HZ)]
                folder = work / f"{scenario}-{chip}-{night}-s{seed}"
                jobs.append((scenario, chip, seed, rate, args.hours, str(folder)))
                k += 1
    return jobs


def _get(figs: dict[str, Any], *path: str) -> Any:
    for key in path:
        figs = figs[key]
    return figs


def target_lines(det: dict[str, dict[str, Any]], base: dict[str, dict[str, Any]],
                 replay_x: float | None) -> list[str]:
    """Each target: hypnic's figure, the baseline's, and whether hypnic meets it."""
    rows: list[tuple[str, str, Any, Any, bool | None]] = []

    def add(name: str, goal: str, group_name: str, path: tuple[str, ...], ok: Any) -> None:
        d = _get(det[group_name], *path) if group_name in det else None
        b = _get(base[group_name], *path) if group_name in base else None
        rows.append((name, goal, d, b, None if d is None else bool(ok(d))))

    add("jerk F1", ">= 0.95", "all", ("jerk", "f1"), lambda x: x >= 0.95)
    add("jerk false alarms /h (quiet, empty, partner)", "<= 0.5", "fa", ("jerk",
        "false_alarms_per_h"), lambda x: x <= 0.5)
    add("limb movement F1", ">= 0.9", "all", ("limb_movement", "f1"), lambda x: x >= 0.9)
    add("PLM index within 10 % (share of nights)", "all", "all",
        ("plm_index", "within_10pct"), lambda x: x >= 0.999)
    add("bed entry/exit found within 5 s", ">= 99.5 %", "all", ("bed", "found_within_5s"),
        lambda x: x >= 0.995)
    add("sleep onset within 10 min (share of nights)", "all", "all",
        ("sleep_onset", "within_10min"), lambda x: x >= 0.999)
    add(f"respiration within 1 /min, share of in-bed time ({VITALS_CHIP})", ">= 80 %",
        VITALS_CHIP, ("respiration", "coverage"), lambda x: x >= 0.8)
    add(f"heart rate within 2 bpm, share of in-bed time ({VITALS_CHIP})", ">= 80 %",
        VITALS_CHIP, ("heart", "coverage"), lambda x: x >= 0.8)
    lines = [f"{'target':58} {'goal':>9} {'hypnic':>8} {'baseline':>9}"]
    for name, goal, d, b, ok in rows:
        verdict = {True: "met", False: "MISSED", None: "n/a"}[ok]
        lines.append(f"{name:58} {goal:>9} {_fmt(d):>8} {_fmt(b):>9}  {verdict}")
    if replay_x is not None:
        ok = replay_x >= REPLAY_TARGET_X
        lines.append(f"{'replay speed, 8 h 200 Hz (x real time)':58} {'>= 20000':>9} "
                     f"{replay_x:>8.0f} {'':>9}  {'met' if ok else 'MISSED'}")
    return lines


def _fmt(x: Any) -> str:
    if x is None:
        return "n/a"
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def grid(results: list[NightResult], scenarios: list[str], chips: list[str]) -> str:
    """Scenario x chip: jerk F1 / limb F1 / jerk false alarms per hour ("-": none to score)."""
    lines = ["jerk F1 / limb F1 / jerk false alarms per h, by scenario and chip:",
             f"{'':12}" + "".join(f"{c:>20}" for c in chips)]
    for s in scenarios:
        cells = []
        for c in chips:
            chosen = [r for r in results if r.scenario == s and r.chip == c]
            f = group(chosen, None)["all"] if chosen else None
            if f is None:
                cells.append("-")
                continue
            jf1, lf1 = f["jerk"]["f1"], f["limb_movement"]["f1"]
            fa = f["jerk"]["false_alarms_per_h"]
            cells.append("/".join("-" if x is None else f"{x:.2f}" for x in (jf1, lf1, fa)))
        lines.append(f"{s:12}" + "".join(f"{c:>20}" for c in cells))
    return "\n".join(lines)


def _replay_speed(hours: float) -> float | None:
    spec = importlib.util.spec_from_file_location(
        "replay_speed", Path(__file__).with_name("replay_speed.py"))
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    work = Path(tempfile.mkdtemp(prefix="hypnic-speed-"))
    try:
        return float(module.simulate_and_replay(hours, 200.0, work)["replay_x"])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hours", type=float, default=1.5, help="length of each night")
    p.add_argument("--nights", type=int, default=1, help="nights per scenario and chip")
    p.add_argument("--jobs", type=int, default=2, help="nights simulated and scored at once")
    p.add_argument("--split", choices=("heldout", "tune"), default="heldout")
    p.add_argument("--seed-offset", type=int, default=0,
                   help="start this far into the split's seeds (for a fresh set of nights)")
    p.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    p.add_argument("--chips", nargs="+", default=list(CHIP_SENSORS), choices=list(CHIP_SENSORS))
    p.add_argument("--no-speed", action="store_true", help="skip the 8 h replay-speed run")
    p.add_argument("--keep", type=Path, help="write the nights here and keep them")
    p.add_argument("--json", type=Path, help="also write all figures to this file")
    args = p.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="hypnic-eval-"))
    started = time.perf_counter()
    try:
        jobs = jobs_for(args, work)
        print(f"{len(jobs)} {args.split} nights of {args.hours:g} h "
              f"({len(args.scenarios)} scenarios x {len(args.chips)} chips x {args.nights}), "
              f"seeds {jobs[0][2]}-{jobs[-1][2]}, {args.jobs} at once ...", flush=True)
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            pairs = list(pool.map(run_cell, jobs))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    det = [d for d, _ in pairs]
    base = [b for _, b in pairs]
    print(f"simulated and scored in {time.perf_counter() - started:.0f} s\n")

    by_scenario = {"hypnic": group(det, "scenario"), "baseline": group(base, "scenario")}
    by_chip = {"hypnic": group(det, "chip"), "baseline": group(base, "chip")}
    fa_set = {"hypnic": group([r for r in det if r.scenario in FALSE_ALARM_SCENARIOS], None),
              "baseline": group([r for r in base if r.scenario in FALSE_ALARM_SCENARIOS], None)}
    summary = {}
    for name in ("hypnic", "baseline"):
        summary[name] = {"all": by_scenario[name]["all"], "fa": fa_set[name]["all"],
                         **{c: f for c, f in by_chip[name].items() if c != "all"}}

    print("== hypnic detector, by scenario ==")
    print(table(by_scenario["hypnic"]))
    print(causes(by_scenario["hypnic"]["all"]))
    print("\n== hypnic detector, by chip ==")
    print(table(by_chip["hypnic"]))
    print("\n== hypnic vs the naive baseline, all nights ==")
    print(table({"hypnic": by_scenario["hypnic"]["all"],
                 "baseline": by_scenario["baseline"]["all"]}))
    print("\n== baseline, by scenario ==")
    print(table(by_scenario["baseline"]))
    print()
    print(grid(det, args.scenarios, args.chips))

    replay_x = None if args.no_speed else _replay_speed(8.0)
    print("\n== targets (held-out nights)" if args.split == "heldout"
          else "\n== targets (TUNING nights: not the held-out figures)")
    print("\n".join(target_lines(summary["hypnic"], summary["baseline"], replay_x)))
    if args.json:
        args.json.write_text(json.dumps({"by_scenario": by_scenario, "by_chip": by_chip,
                                         "false_alarm_scenarios": fa_set,
                                         "replay_x": replay_x}, indent=1))


if __name__ == "__main__":
    main()
