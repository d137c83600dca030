"""The service unit passes systemd's own checks: verify (silent) and the security score."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SYSTEMD = Path(__file__).parents[2] / "systemd"
UNIT = SYSTEMD / "hypnic.service"


def test_unit_verifies_without_a_word(tmp_path: Path) -> None:
    # The installed path (/opt/hypnic/bin/hypnic) is not here; point ExecStart at a real
    # program and check everything else. verify exits 0 even on a misspelt key, so any
    # output at all is a failure.
    unit = tmp_path / "hypnic.service"
    unit.write_text(UNIT.read_text().replace("/opt/hypnic/bin/hypnic", sys.executable))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)],
                            capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout + result.stderr == ""


def test_security_exposure_is_at_most_1_5() -> None:
    # --threshold takes the 0-100 scale: 15 is the 1.5 shown to people.
    gate = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--threshold=15", str(UNIT)],
        capture_output=True, text=True,
    )
    assert gate.returncode == 0, gate.stdout[-2000:]
    score = re.search(r"Overall exposure level for hypnic.service: ([\d.]+)", gate.stdout)
    assert score is not None and float(score.group(1)) <= 1.5


def test_unit_keeps_the_devices_and_proc_entries_the_daemon_needs() -> None:
    text = UNIT.read_text()
    # PrivateDevices= would hide /dev/i2c-* and /dev/gpiochip*; ProcSubset=pid hides
    # /proc/cpuinfo and /proc/device-tree, which gpiozero reads; PrivateUsers= turns the
    # i2c/gpio supplementary groups into nogroup.
    for trap in ("PrivateDevices=yes", "ProcSubset=pid", "PrivateUsers=yes"):
        assert trap not in text
    assert "DeviceAllow=char-i2c rw" in text and "DeviceAllow=char-gpiochip rw" in text
    assert "SupplementaryGroups=i2c gpio" in text
    assert re.search(r"^Type=notify$", text, re.M) and re.search(r"^WatchdogSec=", text, re.M)


def test_sysusers_file_parses() -> None:
    result = subprocess.run(
        ["systemd-sysusers", "--dry-run", str(SYSTEMD / "hypnic.sysusers")],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "hypnic" in result.stdout + result.stderr
