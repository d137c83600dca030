"""The evaluation's figures as a plain-text table: one row per figure, one column per group.

"n/a" where there is nothing to report: the detector gave no such figure, or the nights had
nothing of the kind (no labels, no event-free time).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Figures = dict[str, Any]


def _num(x: float | None, fmt: str = "{:.2f}") -> str:
    return "n/a" if x is None else fmt.format(x)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _prf(kind: str) -> Callable[[Figures], str]:
    def cell(f: Figures) -> str:
        d = f[kind]
        if not d["labels"] and not d["detected"]:
            return "n/a"
        return f"{_num(d['precision'])}/{_num(d['recall'])}/{_num(d['f1'])}"
    return cell


def _count(kind: str) -> Callable[[Figures], str]:
    return lambda f: f"{f[kind]['labels']}/{f[kind]['detected']}"


def _fa(kind: str | None) -> Callable[[Figures], str]:
    def cell(f: Figures) -> str:
        return _num(f["false_alarms_per_h"] if kind is None else f[kind]["false_alarms_per_h"])
    return cell


def _onset(kind: str) -> Callable[[Figures], str]:
    def cell(f: Figures) -> str:
        d = f[kind]
        if d["onset_error_median_s"] is None:
            return "n/a"
        return f"{1000 * d['onset_error_median_s']:.0f}/{1000 * d['onset_error_p95_s']:.0f}"
    return cell


def _strength(kind: str) -> Callable[[Figures], str]:
    def cell(f: Figures) -> str:
        d = f[kind]["recall_by_strength"]
        bins = ("<5x floor", "5-10x", ">=10x")
        return "/".join(_num(d[k]["recall"]) if k in d else "n/a" for k in bins)
    return cell


def _vitals(name: str) -> Callable[[Figures], str]:
    def cell(f: Figures) -> str:
        d = f[name]
        if not d["labels"]:
            return "n/a"
        return f"{_pct(d['coverage'])} {_num(d['error_median_bpm'], '{:.1f}')}"
    return cell


#: (row label, cell function). The label says the unit and what the cell's parts are.
ROWS: list[tuple[str, Callable[[Figures], str]]] = [
    ("nights / hours", lambda f: f"{f['nights']} / {f['hours']:.1f}"),
    ("event-free hours", lambda f: f"{f['event_free_hours']:.1f}"),
    ("jerk labels/detected", _count("jerk")),
    ("jerk P/R/F1", _prf("jerk")),
    ("jerk false alarms /h", _fa("jerk")),
    ("jerk onset err ms med/p95", _onset("jerk")),
    ("jerk recall <5x/5-10x/>=10x", _strength("jerk")),
    ("limb labels/detected", _count("limb_movement")),
    ("limb P/R/F1", _prf("limb_movement")),
    ("limb false alarms /h", _fa("limb_movement")),
    ("limb onset err ms med/p95", _onset("limb_movement")),
    ("limb recall <5x/5-10x/>=10x", _strength("limb_movement")),
    ("posture P/R/F1", _prf("posture_change")),
    ("posture false alarms /h", _fa("posture_change")),
    ("all false alarms /h", _fa(None)),
    ("bed in/out found <=5 s", lambda f: _pct(f["bed"]["found_within_5s"])),
    ("bed in/out onset err s", lambda f: _num(f["bed"]["onset_error_median_s"], "{:.1f}")),
    ("bed in/out reported after s", lambda f: _num(f["bed"]["reported_after_median_s"],
                                                   "{:.1f}")),
    ("presence agreement", lambda f: _pct(f["presence_agreement"])),
    ("PLM series P/R", lambda f: "n/a" if f["plm_series"]["recall"] is None and
     f["plm_series"]["precision"] is None else
     f"{_num(f['plm_series']['precision'])}/{_num(f['plm_series']['recall'])}"),
    ("PLM index within 10%", lambda f: _pct(f["plm_index"]["within_10pct"])),
    ("PLM index rel err (>=5/h)", lambda f: _pct(f["plm_index"]["relative_error_median"])),
    ("sleep onset within 10 min", lambda f: _pct(f["sleep_onset"]["within_10min"])),
    ("sleep onset err min", lambda f: _num(f["sleep_onset"]["error_median_min"], "{:.1f}")),
    ("resp coverage(±1) med err", _vitals("respiration")),
    ("heart coverage(±2) med err", _vitals("heart")),
]


def table(groups: dict[str, Figures], targets: dict[str, str] | None = None) -> str:
    """Rows of figures, a column per group (and the targets, when given, first)."""
    names = list(groups)
    header = ["", *(["target"] if targets else []), *names]
    lines = [header]
    for label, cell in ROWS:
        row = [label]
        if targets:
            row.append(targets.get(label, ""))
        row += [cell(groups[name]) for name in names]
        lines.append(row)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for line in lines:
        cells = [line[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(line[1:], widths[1:],
                                                                          strict=True)]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def causes(f: Figures, limit: int = 8) -> str:
    """The commonest false alarms by what caused them, and the commonest confusions."""
    parts = []
    fa = sorted(f["false_alarm_causes"].items(), key=lambda kv: -kv[1])[:limit]
    if fa:
        parts.append("false alarms (type<-during): " + ", ".join(f"{k} {n}" for k, n in fa))
    conf = sorted(f["confusion"].items(), key=lambda kv: -kv[1])[:limit]
    if conf:
        parts.append("missed labels found as another type: "
                     + ", ".join(f"{k} {n}" for k, n in conf))
    return "\n".join(parts)
