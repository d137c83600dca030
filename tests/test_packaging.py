"""The distribution installs daemon/ and drivers/ as hypnic.daemon and hypnic.drivers only."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_every_source_package_is_listed_in_pyproject() -> None:
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(tool["packages"])
    found = set()
    for prefix, folder in tool["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([prefix, *rel.parts]))
    assert found == listed


def test_wheel_puts_everything_under_hypnic(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path),
         str(ROOT)],
        check=True,
    )
    (wheel,) = tmp_path.glob("hypnic-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    code = [n for n in names if n.endswith(".py")]
    assert "hypnic/daemon/cli.py" in code and "hypnic/drivers/base.py" in code
    assert all(n.startswith("hypnic/") for n in code), code
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "hypnic = hypnic.daemon.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
