#!/bin/bash
# Installs hypnic as a systemd service on Raspberry Pi OS (Bookworm, Trixie) or Debian, from
# this clone of the repository:  sudo deploy/install.sh
#
# Run it again at any time: it changes only what is missing or out of date, so a second run
# changes nothing, and a run after `git pull` is the upgrade (the config and the event log stay).
set -euo pipefail
umask 022 # the service user must be able to read the venv whatever umask sudo passes on

PROG=install.sh
PREFIX=/opt/hypnic
CONFIG=/etc/hypnic/hypnic.toml
STATE_DIR=/var/lib/hypnic
# Vendor locations, so that /etc stays the user's (`systemctl edit hypnic`, /etc/tmpfiles.d).
UNIT=/usr/lib/systemd/system/hypnic.service
SYSUSERS=/usr/lib/sysusers.d/hypnic.conf
TMPFILES=/usr/lib/tmpfiles.d/hypnic.conf
STAMP=$PREFIX/.installed-from # the Python version and a digest of the sources pip installed
# apt package:oldest upstream version hypnic works with (empty: any). A package apt lacks or
# has too old (paho-mqtt on Bookworm is 1.6) is left to pip, which puts it in the venv.
APT_PACKAGES=(python3-venv: python3-numpy:1.24 python3-systemd:234 python3-smbus2:0.4.2
    python3-gpiozero:2.0 python3-lgpio: python3-paho-mqtt:2.0)
# What pip needs from the clone to build hypnic.
SOURCES=(pyproject.toml README.md daemon drivers)

# Every path below is "$ROOT$path". ROOT is always empty when the script runs; the tests source
# this file and set it to try the file-level steps on a folder.
ROOT=""
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NO_START=false
REBOOT_NEEDED=false # I2C was switched on in the boot config: it works after a reboot
SERVICE_CHANGED=false # the code or the unit changed: a running service runs the old one
STEP=""
BUILD_DIR="" # a copy of the sources for pip, removed on exit

usage() {
    cat <<EOF
usage: sudo deploy/install.sh [--no-start]

Installs hypnic as a systemd service: enables I2C, installs the apt packages, a venv with
hypnic in $PREFIX, the service unit and the hypnic user, writes $CONFIG (only if
it is absent), enables and starts the service, and runs \`hypnic doctor\`.
Run it again after \`git pull\` to upgrade; the config and the event log in $STATE_DIR stay.

  --no-start  install and enable, but neither start nor restart the service
              (for a chroot or an image build: it starts at the next boot)
  -h, --help  show this help and exit
EOF
}

die() {
    echo "$PROG: error: $*" >&2
    exit 2
}

say() { echo "==> $*"; }

on_error() {
    echo "$PROG: error: ${STEP:-a step} failed (see above); fix that and run $PROG again," \
        "it picks up where it stopped" >&2
}

parse_args() {
    while (($#)); do
        case $1 in
            --no-start) NO_START=true ;;
            -h | --help) usage; exit 0 ;;
            *) die "unknown option '$1'; the options are --no-start and --help" ;;
        esac
        shift
    done
}

check_system() { # the script's arguments, to repeat them in the advice
    local missing=() f
    for f in "${SOURCES[@]}" systemd/hypnic.service systemd/hypnic.sysusers \
        systemd/hypnic.tmpfiles deploy/hypnic.example.toml; do
        [[ -e $REPO/$f ]] || missing+=("$f")
    done
    ((${#missing[@]} == 0)) || die "$REPO lacks ${missing[*]}: run install.sh from a full" \
        "clone (git clone https://github.com/hypnic/hypnic && sudo hypnic/deploy/install.sh)"
    if [[ ! -f /etc/debian_version ]] || ! command -v apt-get >/dev/null ||
        ! command -v dpkg >/dev/null; then
        die "this is not Debian or Raspberry Pi OS (no apt/dpkg): install hypnic by hand," \
            "see README.md"
    fi
    command -v systemctl >/dev/null || die "systemd is missing: apt-get install systemd"
    ((EUID == 0)) || die "run it as root: sudo $0${*:+ $*}"
}

booted() { [[ -z $ROOT && -d /run/systemd/system ]]; } # systemd runs this system (not a chroot)

# I2C: raspi-config where it exists (it also loads the driver at once), else the boot config.
enable_i2c() {
    STEP="enabling I2C"
    if [[ -z $ROOT ]] && command -v raspi-config >/dev/null; then
        if [[ $(raspi-config nonint get_i2c) == 0 ]]; then
            say "I2C: already enabled"
        else
            raspi-config nonint do_i2c 0
            say "I2C: enabled with raspi-config"
        fi
        return
    fi
    local boot="" candidate
    for candidate in /boot/firmware/config.txt /boot/config.txt; do # Bookworm on, older
        if [[ -f $ROOT$candidate ]]; then boot=$candidate; break; fi
    done
    if [[ -z $boot ]]; then
        say "I2C: no raspi-config and no /boot/firmware/config.txt: not a Raspberry Pi?" \
            "enable I2C as your board needs"
        return
    fi
    local file=$ROOT$boot
    # Switched on in the boot config but no /dev/i2c-*: on until the next boot, also on a rerun.
    if ! compgen -G "$ROOT/dev/i2c-[0-9]*" >/dev/null; then REBOOT_NEEDED=true; fi
    if grep -Eq '^[[:space:]]*dtparam=([^#]*,)?i2c(_arm)?(=on)?([,[:space:]]|$)' "$file"; then
        say "I2C: already on in $boot"
    elif grep -Eq '^[[:space:]]*(#[[:space:]]*)?dtparam=i2c_arm=(on|off)[[:space:]]*$' "$file"; then
        sed -i -E '0,/^[[:space:]]*(#[[:space:]]*)?dtparam=i2c_arm=(on|off)[[:space:]]*$/s//dtparam=i2c_arm=on/' "$file"
        say "I2C: switched on in $boot"
    else
        # [all]: the file may end inside a section that applies to one Pi model only.
        printf '\n[all]\ndtparam=i2c_arm=on\n' >>"$file"
        say "I2C: added dtparam=i2c_arm=on to $boot"
    fi
    # /dev/i2c-* come from the i2c-dev module, which nothing loads by default outside raspi-config.
    if ! grep -Eqs '^[[:space:]]*i2c[-_]dev([[:space:]]|$)' "$ROOT"/etc/modules \
        "$ROOT"/etc/modules-load.d/*.conf; then
        mkdir -p "$ROOT/etc/modules-load.d"
        echo i2c-dev >"$ROOT/etc/modules-load.d/i2c-dev.conf"
        say "I2C: loading i2c-dev at boot (/etc/modules-load.d/i2c-dev.conf)"
    fi
}

upstream_version() { # Debian version -> the upstream part: 1:1.24.2-1+deb12u1 -> 1.24.2
    local v=${1#*:}
    echo "${v%-*}"
}

# Installed (or apt's candidate) version is at least the minimum?
recent_enough() { # version minimum
    [[ -n $1 && $1 != "(none)" ]] || return 1
    [[ -z $2 ]] || dpkg --compare-versions "$(upstream_version "$1")" ge "$2"
}

install_apt_packages() {
    STEP="installing the apt packages"
    local entry name min version wanted=() install=() pip_left=()
    for entry in "${APT_PACKAGES[@]}"; do
        name=${entry%%:*} min=${entry#*:}
        # shellcheck disable=SC2016 # ${…} is dpkg-query's format, not the shell's
        version=$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$name" 2>/dev/null || true)
        if [[ $version == installed\ * ]] && recent_enough "${version#installed }" "$min"; then
            continue
        fi
        wanted+=("$entry")
    done
    if ((${#wanted[@]} == 0)); then
        say "apt: all packages installed"
        return
    fi
    # A fresh image may come without package lists; an old list is refreshed below if need be.
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        say "apt: fetching the package lists"
        apt-get update -qq
    fi
    for entry in "${wanted[@]}"; do
        name=${entry%%:*} min=${entry#*:}
        version=$(LC_ALL=C apt-cache policy "$name" 2>/dev/null | sed -n 's/^ *Candidate: //p')
        if recent_enough "$version" "$min"; then
            install+=("$name")
        else
            pip_left+=("$name${version:+ ${version}}")
        fi
    done
    if ((${#pip_left[@]})); then
        say "apt: not used (missing or too old, pip adds what hypnic needs): ${pip_left[*]}"
    fi
    if ((${#install[@]})); then
        say "apt: installing ${install[*]}"
        apt_install "${install[@]}" || { apt-get update -qq && apt_install "${install[@]}"; }
    fi
}

apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

source_digest() {
    (cd "$REPO" && find "${SOURCES[@]}" -type f ! -path '*/__pycache__/*' -print0 |
        LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

install_venv() {
    STEP="installing hypnic into $PREFIX"
    local python_version want
    python_version=$(python3 -c 'import sys; print(sys.version.split()[0])')
    # A Python upgrade (e.g. Bookworm to Trixie) leaves the old venv unusable: make it afresh.
    if [[ $("$PREFIX/bin/python" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null) \
        != "$python_version" ]]; then
        say "venv: creating $PREFIX (Python $python_version, with the apt packages)"
        python3 -m venv --clear --system-site-packages "$PREFIX"
    fi
    want="python $python_version, sources $(source_digest)"
    if [[ -f $STAMP && $(<"$STAMP") == "$want" ]] && "$PREFIX/bin/hypnic" --version >/dev/null 2>&1
    then
        say "venv: $("$PREFIX/bin/hypnic" --version) up to date in $PREFIX"
        return
    fi
    if ! $NO_START && booted && systemctl is-active --quiet hypnic.service; then
        say "service: stopping it for the upgrade"
        systemctl stop hypnic.service
    fi
    # pip builds in the source folder; a copy keeps root-owned build files out of the clone.
    BUILD_DIR=$(mktemp -d)
    tar -C "$REPO" --exclude=__pycache__ -cf - "${SOURCES[@]}" | tar -C "$BUILD_DIR" -xf -
    say "venv: installing hypnic and what apt lacks into $PREFIX (pip)"
    "$PREFIX/bin/python" -m pip install --quiet --disable-pip-version-check \
        --root-user-action=ignore --no-warn-script-location "$BUILD_DIR"
    echo "$want" >"$STAMP"
    say "venv: $("$PREFIX/bin/hypnic" --version) installed"
    SERVICE_CHANGED=true
}

install_file() { # source destination: copies only when the content differs
    if cmp -s "$1" "$ROOT$2"; then
        say "files: $2 unchanged"
        return 1
    fi
    install -D -m 0644 "$1" "$ROOT$2"
    say "files: installed $2"
}

install_files() {
    STEP="installing the service files"
    if install_file "$REPO/systemd/hypnic.service" "$UNIT"; then
        SERVICE_CHANGED=true
        if booted; then systemctl daemon-reload; fi
    fi
    install_file "$REPO/systemd/hypnic.sysusers" "$SYSUSERS" || true
    install_file "$REPO/systemd/hypnic.tmpfiles" "$TMPFILES" || true
}

create_user_and_dirs() {
    STEP="creating the hypnic user and $STATE_DIR"
    if grep -q '^hypnic:' "$ROOT/etc/passwd" 2>/dev/null; then
        say "user: hypnic exists"
    else
        say "user: creating hypnic (systemd-sysusers)"
    fi
    # Also adds hypnic to the i2c and gpio groups, on a later run too if someone took it out.
    systemd-sysusers ${ROOT:+--root="$ROOT"} "$ROOT$SYSUSERS"
    systemd-tmpfiles ${ROOT:+--root="$ROOT"} --create "$ROOT$TMPFILES"
}

write_config() {
    STEP="writing $CONFIG"
    if [[ -e $ROOT$CONFIG ]]; then
        say "config: keeping $CONFIG"
    else
        install -D -m 0644 "$REPO/deploy/hypnic.example.toml" "$ROOT$CONFIG"
        say "config: wrote $CONFIG (all defaults; edit it, then: sudo systemctl reload hypnic)"
    fi
}

enable_service() {
    STEP="enabling the service"
    if systemctl ${ROOT:+--root="$ROOT"} is-enabled --quiet hypnic.service 2>/dev/null; then
        say "service: enabled"
    else
        systemctl ${ROOT:+--root="$ROOT"} enable --quiet hypnic.service
        say "service: enabled (it starts at boot)"
    fi
}

# hypnic doctor as the service user, in the service's working directory. It streams from the
# sensor for 10 s, which it cannot do while the service holds the sensor.
run_doctor() {
    STEP="running hypnic doctor"
    if booted && systemctl is-active --quiet hypnic.service; then
        if $NO_START; then
            say "doctor: skipped, the running service has the sensor (--no-start leaves it be)"
            return
        fi
        say "service: stopping it while hypnic doctor uses the sensor"
        systemctl stop hypnic.service
    fi
    say "doctor: checking this Pi and the sensor (hypnic doctor)"
    if (cd "$STATE_DIR" && runuser -u hypnic -- "$PREFIX/bin/hypnic" doctor); then
        return
    fi
    say "doctor: see the FAIL lines above; after fixing them check again with" \
        "sudo -u hypnic $PREFIX/bin/hypnic doctor"
}

start_service() {
    STEP="starting the service"
    if $NO_START; then
        if $SERVICE_CHANGED && booted && systemctl is-active --quiet hypnic.service; then
            say "service: still runs the old version (--no-start): sudo systemctl restart hypnic"
        else
            say "service: not started (--no-start)"
        fi
    elif ! booted; then
        say "service: not started, systemd is not running here (a chroot?); it starts at boot"
    elif $REBOOT_NEEDED; then
        say "service: not started yet: reboot (sudo reboot) to switch I2C on, and hypnic starts"
    else
        systemctl start hypnic.service
        say "service: running; see: systemctl status hypnic, journalctl -u hypnic -f"
    fi
}

main() {
    parse_args "$@"
    check_system "$@"
    set -E # functions too report a failed step
    trap on_error ERR
    trap 'if [[ -n $BUILD_DIR ]]; then rm -rf "$BUILD_DIR"; fi' EXIT
    say "installing hypnic from $REPO"
    enable_i2c
    install_apt_packages
    install_venv
    install_files
    create_user_and_dirs
    write_config
    enable_service
    run_doctor # stops a running service first; start_service starts it with the new code
    start_service
    say "done: config $CONFIG, event log $STATE_DIR, log: journalctl -u hypnic"
}

# Sourced by the tests: define the functions, run nothing.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    main "$@"
fi
