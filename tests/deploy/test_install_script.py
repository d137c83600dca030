"""deploy/install.sh and uninstall.sh without a Debian root to install into: shellcheck, the
command line, the refusals, and the file-level steps run against a folder.

The whole install in a debootstrapped Bookworm is tests/deploy/test_install_chroot.py
(`make test-install`)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
INSTALL = REPO / "deploy/install.sh"
UNINSTALL = REPO / "deploy/uninstall.sh"


def run(*args: str | Path, env: dict[str, str] | None = None,
        as_nobody: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = [str(a) for a in args]
    if as_nobody and os.geteuid() == 0:
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd="/")


@pytest.fixture(scope="module")
def nobody_clone() -> Iterator[Path]:
    """A copy of the clone that ``nobody`` can reach: a clone may sit in a folder only its
    owner can enter (``mktemp -d`` makes those)."""
    folder = Path(tempfile.mkdtemp(prefix="hypnic-deploy-"))
    folder.chmod(0o755)
    shutil.copytree(REPO, folder / "hypnic", ignore=shutil.ignore_patterns(
        ".git", ".venv*", "build", "*.egg-info", "__pycache__", ".*_cache", "bench", "tests"))
    yield folder / "hypnic"
    shutil.rmtree(folder)


def steps(script: Path, root: Path, *calls: str,
          path: str | None = None) -> subprocess.CompletedProcess[str]:
    """Source the script (which then runs nothing), point it at root, run the given steps."""
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = path
    return run("bash", "-c", 'source "$1"; ROOT=$2; shift 2; for c in "$@"; do eval "$c"; done',
               "_", script, "" if root == Path("/") else root, *calls, env=env)


def test_shellcheck_finds_nothing() -> None:
    if shutil.which("shellcheck") is None:
        pytest.fail("shellcheck is missing: `make test` installs it (apt-get install shellcheck)")
    result = run("shellcheck", "--severity=style", INSTALL, UNINSTALL)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("script, flag", [(INSTALL, "--no-start"), (UNINSTALL, "--purge")])
def test_help_names_the_options(script: Path, flag: str, nobody_clone: Path) -> None:
    result = run(nobody_clone / script.relative_to(REPO), "--help", as_nobody=True)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith(f"usage: sudo deploy/{script.name} [{flag}]\n")
    assert f"\n  {flag}  " in result.stdout


@pytest.mark.parametrize("script, options", [
    (INSTALL, "the options are --no-start and --help"),
    (UNINSTALL, "the options are --purge and --help"),
])
def test_an_unknown_option_is_one_line_and_exit_2(script: Path, options: str) -> None:
    result = run(script, "--no-start", "--purge", "--frobnicate")
    assert result.returncode == 2 and result.stdout == ""
    bad = "--purge" if script == INSTALL else "--no-start"
    assert result.stderr == f"{script.name}: error: unknown option '{bad}'; {options}\n"


@pytest.mark.parametrize("script, args", [(INSTALL, ["--no-start"]), (UNINSTALL, ["--purge"])])
def test_not_root_is_refused_with_the_command_to_use(script: Path, args: list[str],
                                                     nobody_clone: Path) -> None:
    script = nobody_clone / script.relative_to(REPO)
    result = run(script, *args, as_nobody=True)
    assert result.returncode == 2 and result.stdout == ""
    expected = f"sudo {script} {args[0]}"
    assert result.stderr == f"{script.name}: error: run it as root: {expected}\n"


def test_install_outside_a_clone_names_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    lone = tmp_path / "deploy/install.sh"
    shutil.copy(INSTALL, lone)
    (tmp_path / "pyproject.toml").write_text("")
    result = run(lone)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        f"install.sh: error: {tmp_path} lacks README.md daemon drivers systemd/hypnic.service "
        "systemd/hypnic.sysusers systemd/hypnic.tmpfiles deploy/hypnic.example.toml: run "
        "install.sh from a full clone (git clone https://github.com/hypnic/hypnic && sudo "
        "hypnic/deploy/install.sh)\n")


def test_install_without_apt_says_it_needs_debian(tmp_path: Path) -> None:
    # Only what the script needs before that check is on PATH: no apt-get, no dpkg.
    (tmp_path / "bin").mkdir()
    for tool in ("dirname",):
        (tmp_path / "bin" / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    result = run(shutil.which("bash") or "/bin/bash", INSTALL,
                 env={"PATH": str(tmp_path / "bin")})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        "install.sh: error: this is not Debian or Raspberry Pi OS (no apt/dpkg): install "
        "hypnic by hand, see README.md\n")


@pytest.mark.parametrize("version, minimum, ok", [
    ("1:1.24.2-1+deb12u1", "1.24", True),   # Bookworm's numpy: the epoch does not count
    ("1.6.1-1", "2.0", False),              # Bookworm's paho-mqtt
    ("2.1.0-1", "2.0", True),               # Trixie's
    ("0.4.2-1", "0.4.2", True),
    ("1.6.2-1+b1", "2.0", False),           # Debian's gpiozero
    ("(none)", "", False),                  # apt has no such package
    ("", "", False),
    ("2.04-1~rpt1", "", True),
])
def test_apt_versions_are_compared_on_their_upstream_part(
    version: str, minimum: str, ok: bool
) -> None:
    result = steps(INSTALL, Path("/"), f'if recent_enough "{version}" "{minimum}"; '
                   "then echo yes; else echo no; fi")
    assert result.stdout == ("yes\n" if ok else "no\n"), result.stderr


def manifest(root: Path) -> dict[str, tuple[object, ...]]:
    return {
        str(p.relative_to(root)): (
            p.lstat().st_mode, p.lstat().st_mtime_ns,
            os.readlink(p) if p.is_symlink() else
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "",
        )
        for p in sorted(root.rglob("*"))
    }


FILE_STEPS = ("enable_i2c", "install_files", "write_config", "enable_service")


def test_file_steps_on_a_folder_install_once_then_change_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "boot/firmware").mkdir(parents=True)
    boot = root / "boot/firmware/config.txt"
    boot.write_text("#dtparam=i2c_arm=on\ndtparam=audio=on\n[cm4]\notg_mode=1\n")
    first = steps(INSTALL, root, *FILE_STEPS)
    assert first.returncode == 0, first.stderr
    assert first.stdout == (
        "==> I2C: switched on in /boot/firmware/config.txt\n"
        "==> I2C: loading i2c-dev at boot (/etc/modules-load.d/i2c-dev.conf)\n"
        "==> files: installed /usr/lib/systemd/system/hypnic.service\n"
        "==> files: installed /usr/lib/sysusers.d/hypnic.conf\n"
        "==> files: installed /usr/lib/tmpfiles.d/hypnic.conf\n"
        "==> config: wrote /etc/hypnic/hypnic.toml (all defaults; edit it, then: sudo "
        "systemctl reload hypnic)\n"
        "==> service: enabled (it starts at boot)\n")
    assert boot.read_text() == "dtparam=i2c_arm=on\ndtparam=audio=on\n[cm4]\notg_mode=1\n"
    for installed, source in (("usr/lib/systemd/system/hypnic.service", "systemd/hypnic.service"),
                              ("usr/lib/sysusers.d/hypnic.conf", "systemd/hypnic.sysusers"),
                              ("usr/lib/tmpfiles.d/hypnic.conf", "systemd/hypnic.tmpfiles"),
                              ("etc/hypnic/hypnic.toml", "deploy/hypnic.example.toml")):
        assert (root / installed).read_bytes() == (REPO / source).read_bytes()
    wants = root / "etc/systemd/system/multi-user.target.wants/hypnic.service"
    assert os.readlink(wants) == "/usr/lib/systemd/system/hypnic.service"

    before = manifest(root)
    second = steps(INSTALL, root, *FILE_STEPS)
    assert second.returncode == 0, second.stderr
    assert manifest(root) == before
    assert second.stdout == (
        "==> I2C: already on in /boot/firmware/config.txt\n"
        "==> files: /usr/lib/systemd/system/hypnic.service unchanged\n"
        "==> files: /usr/lib/sysusers.d/hypnic.conf unchanged\n"
        "==> files: /usr/lib/tmpfiles.d/hypnic.conf unchanged\n"
        "==> config: keeping /etc/hypnic/hypnic.toml\n"
        "==> service: enabled\n")

    # Uninstall's file steps take it all away again, but for the config.
    gone = steps(UNINSTALL, root, "stop_service", "remove_files")
    assert gone.returncode == 0, gone.stderr
    assert not os.path.lexists(wants)
    assert not (root / "usr/lib/systemd/system/hypnic.service").exists()
    assert (root / "etc/hypnic/hypnic.toml").exists()


def test_a_users_config_is_never_overwritten(tmp_path: Path) -> None:
    config = tmp_path / "etc/hypnic/hypnic.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[detection]\nsensitivity = 8\n")
    result = steps(INSTALL, tmp_path, "write_config")
    assert result.stdout == "==> config: keeping /etc/hypnic/hypnic.toml\n"
    assert config.read_text() == "[detection]\nsensitivity = 8\n"


@pytest.mark.parametrize("before, after", [
    # No I2C line, ending in a section for one model: appended under [all].
    ("dtparam=audio=on\n[cm4]\notg_mode=1\n",
     "dtparam=audio=on\n[cm4]\notg_mode=1\n\n[all]\ndtparam=i2c_arm=on\n"),
    ("dtparam=i2c_arm=off\n", "dtparam=i2c_arm=on\n"),
    ("dtparam=i2c_arm=on,i2c_arm_baudrate=400000\n",
     "dtparam=i2c_arm=on,i2c_arm_baudrate=400000\n"),
])
def test_i2c_in_the_boot_config(tmp_path: Path, before: str, after: str) -> None:
    boot = tmp_path / "boot/config.txt"  # before Bookworm
    boot.parent.mkdir()
    boot.write_text(before)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/modules").write_text("i2c-dev\n")  # raspi-config's way: no second one
    result = steps(INSTALL, tmp_path, "enable_i2c")
    assert result.returncode == 0, result.stderr
    assert boot.read_text() == after
    assert not (tmp_path / "etc/modules-load.d").exists()


def test_i2c_without_a_boot_config_is_left_to_the_user(tmp_path: Path) -> None:
    result = steps(INSTALL, tmp_path, "enable_i2c")
    assert result.stdout == ("==> I2C: no raspi-config and no /boot/firmware/config.txt: not a "
                             "Raspberry Pi? enable I2C as your board needs\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("state, said, calls", [
    ("1", "==> I2C: enabled with raspi-config\n", "nonint get_i2c\nnonint do_i2c 0\n"),
    ("0", "==> I2C: already enabled\n", "nonint get_i2c\n"),
])
def test_i2c_with_raspi_config(tmp_path: Path, state: str, said: str, calls: str) -> None:
    # A stand-in raspi-config that notes how it was called (get_i2c: 0 is on, 1 off).
    fake = tmp_path / "raspi-config"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/calls\n'
                    f'[ "$2" = get_i2c ] && echo {state}\nexit 0\n')
    fake.chmod(0o755)
    result = steps(INSTALL, Path("/"), "enable_i2c", path=f"{tmp_path}:{os.environ['PATH']}")
    assert result.returncode == 0, result.stderr
    assert result.stdout == said
    assert (tmp_path / "calls").read_text() == calls


def test_the_source_digest_follows_the_sources_not_the_caches(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    for part in ("pyproject.toml", "README.md", "daemon", "drivers", "deploy/install.sh"):
        src, dst = REPO / part, clone / part
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dst)

    def digest() -> str:
        result = steps(clone / "deploy/install.sh", Path("/"), "source_digest")
        assert result.returncode == 0 and len(result.stdout) == 65, result
        return result.stdout

    first = digest()
    (clone / "daemon/__pycache__").mkdir()
    (clone / "daemon/__pycache__/cli.cpython-311.pyc").write_bytes(b"\0")
    assert digest() == first
    with open(clone / "daemon/cli.py", "a") as f:
        f.write("# changed\n")
    assert digest() != first


@pytest.fixture
def running_system(tmp_path: Path) -> Path:
    """Stand-ins for systemctl and runuser on a booted system, noting their calls; the
    service is running until systemctl stops it."""
    (tmp_path / "active").touch()
    (tmp_path / "systemctl").write_text(
        f'#!/bin/sh\necho "systemctl $*" >> {tmp_path}/calls\n'
        f'case $1 in\n  is-active) [ -e {tmp_path}/active ] ;;\n'
        f'  stop) rm -f {tmp_path}/active ;;\n  start) touch {tmp_path}/active ;;\nesac\n')
    (tmp_path / "runuser").write_text(f'#!/bin/sh\necho "runuser $*" >> {tmp_path}/calls\n')
    for tool in ("systemctl", "runuser"):
        (tmp_path / tool).chmod(0o755)
    return tmp_path


def on_running_system(fakes: Path, *calls: str) -> tuple[str, str]:
    result = steps(INSTALL, Path("/"), "booted() { true; }", "STATE_DIR=/", *calls,
                   path=f"{fakes}:{os.environ['PATH']}")
    assert result.returncode == 0, result.stderr
    return result.stdout, (fakes / "calls").read_text()


def test_a_running_service_is_stopped_for_doctor_and_started_after(running_system: Path) -> None:
    said, calls = on_running_system(running_system, "run_doctor", "start_service")
    assert calls == ("systemctl is-active --quiet hypnic.service\n"
                     "systemctl stop hypnic.service\n"
                     "runuser -u hypnic -- /opt/hypnic/bin/hypnic doctor\n"
                     "systemctl start hypnic.service\n")
    assert said.splitlines()[-1] == (
        "==> service: running; see: systemctl status hypnic, journalctl -u hypnic -f")


def test_no_start_leaves_a_running_service_alone(running_system: Path) -> None:
    said, calls = on_running_system(running_system, "NO_START=true", "SERVICE_CHANGED=true",
                                    "run_doctor", "start_service")
    assert "stop" not in calls and "start " not in calls and "runuser" not in calls
    assert said == (
        "==> doctor: skipped, the running service has the sensor (--no-start leaves it be)\n"
        "==> service: still runs the old version (--no-start): sudo systemctl restart hypnic\n")


def test_after_switching_i2c_on_the_service_waits_for_the_reboot(running_system: Path) -> None:
    said, calls = on_running_system(running_system, "REBOOT_NEEDED=true", "run_doctor",
                                    "start_service")
    assert "systemctl start" not in calls
    assert said.splitlines()[-1] == ("==> service: not started yet: reboot (sudo reboot) to "
                                     "switch I2C on, and hypnic starts")
