"""deploy/install.sh for real: a fresh Debian Bookworm root (debootstrap), chroot, install.

Minutes, not seconds, so it is marked ``install``, which the default run deselects;
``make test-install`` runs it (as root: it mounts and chroots). The debootstrapped base is
cached as a tarball in /var/cache/hypnic-install-test (HYPNIC_INSTALL_TEST_CACHE), as are
the .debs and wheels it downloads; each run unpacks a fresh root in a temporary folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.install

REPO = Path(__file__).parents[2]
CACHE = Path(os.environ.get("HYPNIC_INSTALL_TEST_CACHE", "/var/cache/hypnic-install-test"))
SUITE = "bookworm"
# A Pi OS Lite-like base: systemd and apt; install.sh brings Python and the rest.
INCLUDE = "systemd,systemd-sysv,ca-certificates"
# What a Bookworm Pi's /boot/firmware/config.txt has about I2C: the line, commented out.
BOOT_CONFIG = """\
# For more options and information see http://rptl.io/configtxt
#dtparam=i2c_arm=on
#dtparam=i2s=on
#dtparam=spi=on
dtparam=audio=on
auto_initramfs=1
dtoverlay=vc4-kms-v3d

[cm4]
otg_mode=1

[all]
"""
# Everything the installer may touch, for "a second run changes nothing".
WATCHED = [
    "opt/hypnic", "etc/hypnic", "etc/systemd", "usr/lib/systemd/system/hypnic.service",
    "usr/lib/sysusers.d", "usr/lib/tmpfiles.d", "var/lib/hypnic", "etc/passwd", "etc/group",
    "etc/shadow", "etc/gshadow", "boot/firmware/config.txt", "etc/modules-load.d",
    "var/lib/dpkg/status",
]


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses: the one known to be reachable from here."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        if not path.is_file() or path.suffix not in (".list", ".sources", ""):
            continue
        text = path.read_text(errors="replace")
        for stanza in re.split(r"\n\s*\n", text):  # deb822: URIs: / Suites:
            uri = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            if uri and re.search(rf"^Suites:.*\b{SUITE}\b", stanza, re.M) and re.search(
                r"/debian/?$", uri.group(1)
            ):
                return uri.group(1)
        for line in text.splitlines():  # one-line: deb [options] URI suite components
            m = re.match(rf"\s*deb\s+(?:\[[^]]*\]\s+)?(\S+/debian/?)\s+{SUITE}\s", line)
            if m:
                return m.group(1)
    return "http://deb.debian.org/debian"


def pip_settings(root: Path) -> dict[str, str]:
    """The host's pip index, proxy and CA settings as PIP_* variables for the chroot: behind
    a proxy or a TLS-inspecting firewall, pip in the chroot needs the same to reach PyPI."""
    listing = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True
    ).stdout
    settings: dict[str, str] = {}
    for line in listing.splitlines():
        m = re.fullmatch(r"([:\w]+)\.([\w-]+)='(.*)'", line.strip())
        if m and (m.group(1) == ":env:" or m.group(2) not in settings):
            settings[m.group(2)] = m.group(3)
    env: dict[str, str] = {}
    cert = settings.get("cert")
    if cert and Path(cert).is_file():
        shutil.copyfile(cert, root / "root/pip-ca.pem")
        env["PIP_CERT"] = "/root/pip-ca.pem"
    for key in ("index-url", "extra-index-url"):
        # Local folders (file://) are not inside the chroot.
        urls = [u for u in settings.get(key, "").split() if u.startswith(("http:", "https:"))]
        if urls:
            env["PIP_" + key.upper().replace("-", "_")] = " ".join(urls)
    for key in ("proxy", "trusted-host", "default-timeout"):
        if key in settings:
            env["PIP_" + key.upper().replace("-", "_")] = settings[key]
    for name in ("http_proxy", "https_proxy", "no_proxy"):
        for variant in (name, name.upper()):
            if variant in os.environ:
                env[variant] = os.environ[variant]
    return env


def apt_proxy() -> str:
    """The host's apt proxy lines, if any, for the chroot's apt."""
    dump = subprocess.run(["apt-config", "dump"], capture_output=True, text=True).stdout
    return "".join(f"{line}\n" for line in dump.splitlines() if "::proxy" in line.lower())


def base_tarball() -> Path:
    """A debootstrapped Bookworm, made once and kept as a tarball."""
    mirror = debian_mirror()
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()
    key = hashlib.sha256(f"{SUITE} {INCLUDE} {mirror}".encode()).hexdigest()[:10]
    tarball = CACHE / f"{SUITE}-{arch}-{key}.tar"
    if tarball.exists():
        return tarball
    CACHE.mkdir(parents=True, exist_ok=True)
    work = CACHE / "debootstrap.tmp"
    shutil.rmtree(work, ignore_errors=True)
    subprocess.run(["debootstrap", "--variant=minbase", f"--include={INCLUDE}", SUITE,
                    str(work), mirror], check=True, capture_output=True)
    subprocess.run(["chroot", str(work), "apt-get", "clean"], check=True)
    partial = tarball.with_suffix(".partial")
    subprocess.run(["tar", "-C", str(work), "-cf", str(partial), "."], check=True)
    partial.rename(tarball)
    shutil.rmtree(work)
    return tarball


def mounts_under(path: Path) -> list[str]:
    prefix = str(path.resolve())
    points = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    return [p for p in points if p == prefix or p.startswith(prefix + "/")]


@dataclass
class Chroot:
    root: Path
    env: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)

    def run(
        self, *cmd: str, check: bool = True, timing: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        start = time.monotonic()
        env = [f"{name}={value}" for name, value in self.env.items()]
        result = subprocess.run(
            ["chroot", str(self.root), "env", "-i", *env, *cmd],
            capture_output=True, text=True,
        )
        if timing:
            self.timings[timing] = time.monotonic() - start
        if check:
            assert result.returncode == 0, (
                f"{' '.join(cmd)} exited {result.returncode}\n"
                f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
            )
        return result


@pytest.fixture(scope="module")
def chroot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chroot]:
    if os.geteuid() != 0:
        pytest.fail("debootstrap, mount and chroot need root: run `make test-install`")
    for tool in ("debootstrap", "chroot", "systemctl"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: `make test-install` installs it")
    started = time.monotonic()
    tarball = base_tarball()
    made_s = time.monotonic() - started
    root = tmp_path_factory.mktemp("bookworm") / "root"
    root.mkdir()
    subprocess.run(["tar", "-C", str(root), "-xf", str(tarball)], check=True)
    # Unlinked first: a symlink there would point the copy at this machine's own file.
    (root / "etc/resolv.conf").unlink(missing_ok=True)
    shutil.copyfile("/etc/resolv.conf", root / "etc/resolv.conf")
    (root / "etc/apt/apt.conf.d/01proxy").write_text(apt_proxy())
    (root / "boot/firmware").mkdir(parents=True)
    (root / "boot/firmware/config.txt").write_text(BOOT_CONFIG)
    shutil.copytree(REPO, root / "root/hypnic", symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "build", "data", "__pycache__", ".*_cache", "*.egg-info"))
    # Downloads are kept between runs: apt's .debs and pip's wheels.
    caches = {CACHE / "apt-archives": root / "var/cache/apt/archives",
              CACHE / "pip-cache": root / "root/.cache/pip"}
    mounts: list[Path] = []
    try:
        for args, target in (
            (["-t", "proc", "proc"], root / "proc"),
            (["-t", "sysfs", "sysfs"], root / "sys"),
            (["--bind", "/dev"], root / "dev"),
            (["--bind", "/dev/pts"], root / "dev/pts"),
            *((["--bind", str(src)], dst) for src, dst in caches.items()),
        ):
            target.mkdir(parents=True, exist_ok=True)
            if args[0] == "--bind":
                Path(args[1]).mkdir(parents=True, exist_ok=True)
            subprocess.run(["mount", *args, str(target)], check=True)
            mounts.append(target)
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "HOME": "/root", "LANG": "C.UTF-8", **pip_settings(root)}
        box = Chroot(root, env)
        box.timings["base system"] = made_s
        yield box
        print("\n" + "\n".join(f"{name:>28}: {s:6.1f} s" for name, s in box.timings.items()))
    finally:
        for target in reversed(mounts):
            if subprocess.run(["umount", str(target)]).returncode != 0:
                subprocess.run(["umount", "--lazy", str(target)])
        # Never delete through a mount that is still there (it could be the real /dev).
        if mounts_under(root):
            pytest.fail(f"still mounted, not deleted: {mounts_under(root)}")
        shutil.rmtree(root.parent)


def manifest(root: Path) -> dict[str, tuple[object, ...]]:
    """Path → (type and mode, owner, size, mtime, checksum or link target) under WATCHED."""
    entries: dict[str, tuple[object, ...]] = {}
    for top in WATCHED:
        start = root / top
        paths = [start] if not start.is_dir() or start.is_symlink() else [
            start, *sorted(start.rglob("*"))]
        for path in paths:
            if not os.path.lexists(path):
                continue
            st = path.lstat()
            if stat.S_ISREG(st.st_mode):
                detail = hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                detail = os.readlink(path)
            else:
                detail = ""
            entries[str(path.relative_to(root))] = (
                oct(st.st_mode), st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, detail)
    return entries


def changes(before: dict[str, tuple[object, ...]],
            after: dict[str, tuple[object, ...]]) -> list[str]:
    return sorted(
        [f"new {p}" for p in after.keys() - before.keys()]
        + [f"gone {p}" for p in before.keys() - after.keys()]
        + [f"changed {p}: {before[p]} -> {after[p]}"
           for p in before.keys() & after.keys() if before[p] != after[p]]
    )


def passwd_entry(root: Path, name: str, file: str = "etc/passwd") -> list[str] | None:
    for line in (root / file).read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return fields
    return None


def version_of_repo() -> str:
    with open(REPO / "pyproject.toml", "rb") as f:
        version: str = tomllib.load(f)["project"]["version"]
    return version


def is_enabled(root: Path) -> str:
    return subprocess.run(["systemctl", f"--root={root}", "is-enabled", "hypnic.service"],
                          capture_output=True, text=True).stdout.strip()


INSTALL = "/root/hypnic/deploy/install.sh"
UNINSTALL = "/root/hypnic/deploy/uninstall.sh"
# Probes must not write __pycache__ into the venv: the manifest would see it.
PROBE = ("env", "PYTHONDONTWRITEBYTECODE=1")


def test_install_rerun_upgrade_and_uninstall_on_a_fresh_bookworm(chroot: Chroot) -> None:
    root = chroot.root
    first = chroot.run(INSTALL, "--no-start", timing="install.sh, first run")
    out = first.stdout

    # A working hypnic in the venv, numpy from apt, paho-mqtt 2 (Bookworm has 1.6) from PyPI.
    version = chroot.run(*PROBE, "/opt/hypnic/bin/hypnic", "--version").stdout.strip()
    assert version == f"hypnic {version_of_repo()}"
    origins = chroot.run(*PROBE, "/opt/hypnic/bin/python", "-c",
                         "import numpy, paho.mqtt, systemd.journal, smbus2, gpiozero; "
                         "print(numpy.__file__, paho.mqtt.__file__, paho.mqtt.__version__)"
                         ).stdout.split()
    assert origins[0].startswith("/usr/lib/python3/dist-packages/numpy/"), origins
    assert origins[1].startswith("/opt/hypnic/lib/") and origins[2].startswith("2."), origins
    assert "python3-paho-mqtt 1.6" in out  # said why apt's was not used

    # The service enabled, the user in the device groups, the state dir, the config.
    assert is_enabled(root) == "enabled"
    user = passwd_entry(root, "hypnic")
    assert user is not None and user[5:] == ["/var/lib/hypnic", "/usr/sbin/nologin"]
    for group in ("i2c", "gpio"):
        entry = passwd_entry(root, group, "etc/group")
        assert entry is not None and "hypnic" in entry[3].split(","), entry
    state = (root / "var/lib/hypnic").stat()
    assert (state.st_uid, stat.S_IMODE(state.st_mode)) == (int(user[2]), 0o750)
    config = root / "etc/hypnic/hypnic.toml"
    assert config.read_text() == (REPO / "deploy/hypnic.example.toml").read_text()
    assert (root / "usr/lib/systemd/system/hypnic.service").read_text() == (
        REPO / "systemd/hypnic.service").read_text()

    # I2C: the commented line switched on once, i2c-dev loaded at boot, a reboot asked for.
    boot = (root / "boot/firmware/config.txt").read_text()
    assert boot.splitlines().count("dtparam=i2c_arm=on") == 1
    assert "#dtparam=i2c_arm=on" not in boot and boot.replace(
        "dtparam=i2c_arm=on", "#dtparam=i2c_arm=on", 1) == BOOT_CONFIG
    assert (root / "etc/modules-load.d/i2c-dev.conf").read_text() == "i2c-dev\n"
    # No sensor in a chroot: the check ran as the service user and said what is missing.
    assert "FAIL  i2c enabled      /dev/i2c-1 does not exist" in out
    assert "service: not started (--no-start)" in out

    # The installed daemon runs as the service user and keeps its log in the state dir.
    run = chroot.run("runuser", "-u", "hypnic", "--", "/opt/hypnic/bin/hypnic", "run",
                     "--sensor", "sim", "--speed", "0", "--duration", "300")
    assert "stopped cleanly" in run.stderr, run.stderr
    events = chroot.run("runuser", "-u", "hypnic", "--", "/opt/hypnic/bin/hypnic", "events",
                        "--json").stdout
    assert '"type": "jerk"' in events, events

    # A second run changes nothing, and says so.
    before = manifest(root)
    second = chroot.run(INSTALL, "--no-start", timing="install.sh, second run")
    assert changes(before, manifest(root)) == []
    assert f"venv: hypnic {version_of_repo()} up to date in /opt/hypnic" in second.stdout
    for line in ("I2C: already on in /boot/firmware/config.txt", "config: keeping",
                 "files: /usr/lib/systemd/system/hypnic.service unchanged",
                 "user: hypnic exists", "service: enabled\n"):
        assert line in second.stdout, second.stdout
    assert "apt: installing" not in second.stdout, second.stdout

    # Upgrade: new sources (a new version) → reinstalled; the user's config and log stay.
    edited = config.read_text().replace("# sensitivity = 5", "sensitivity = 7")
    assert edited != config.read_text()
    config.write_text(edited)
    pyproject = root / "root/hypnic/pyproject.toml"
    old = f'version = "{version_of_repo()}"'
    assert old in pyproject.read_text()
    pyproject.write_text(pyproject.read_text().replace(old, old[:-1] + '.post1"'))
    log_file = root / "var/lib/hypnic/hypnic.sqlite3"
    log_before = log_file.read_bytes()
    upgrade = chroot.run(INSTALL, "--no-start", timing="install.sh, upgrade")
    assert f"venv: hypnic {version_of_repo()}.post1 installed" in upgrade.stdout
    assert chroot.run(*PROBE, "/opt/hypnic/bin/hypnic", "--version").stdout.strip() == (
        f"hypnic {version_of_repo()}.post1")
    assert config.read_text() == edited
    assert log_file.read_bytes() == log_before

    # Uninstall keeps the log, the config and the user; twice is fine; --purge removes them.
    chroot.run(UNINSTALL, timing="uninstall.sh")
    for gone in ("opt/hypnic", "usr/lib/systemd/system/hypnic.service",
                 "usr/lib/sysusers.d/hypnic.conf", "usr/lib/tmpfiles.d/hypnic.conf",
                 "etc/systemd/system/multi-user.target.wants/hypnic.service"):
        assert not os.path.lexists(root / gone), gone
    assert is_enabled(root) != "enabled"
    assert log_file.read_bytes() == log_before and config.read_text() == edited
    assert passwd_entry(root, "hypnic") is not None
    again = chroot.run(UNINSTALL)
    assert "removed" not in again.stdout, again.stdout
    purged = chroot.run(UNINSTALL, "--purge")
    assert "removed the user hypnic" in purged.stdout
    for gone in ("var/lib/hypnic", "etc/hypnic"):
        assert not (root / gone).exists(), gone
    assert passwd_entry(root, "hypnic") is None
    assert passwd_entry(root, "hypnic", "etc/group") is None
    assert passwd_entry(root, "i2c", "etc/group") is not None  # other users' groups stay
