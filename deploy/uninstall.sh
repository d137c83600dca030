#!/bin/bash
# Removes what deploy/install.sh installed:  sudo deploy/uninstall.sh [--purge]
# The event log, the config and the hypnic user stay unless --purge. Safe to run again.
set -euo pipefail

PROG=uninstall.sh
PREFIX=/opt/hypnic
CONFIG_DIR=/etc/hypnic
STATE_DIR=/var/lib/hypnic
UNIT=/usr/lib/systemd/system/hypnic.service
SYSUSERS=/usr/lib/sysusers.d/hypnic.conf
TMPFILES=/usr/lib/tmpfiles.d/hypnic.conf

# Every path below is "$ROOT$path". ROOT is always empty when the script runs; the tests source
# this file and set it to try the file-level steps on a folder.
ROOT=""
PURGE=false

usage() {
    cat <<EOF
usage: sudo deploy/uninstall.sh [--purge]

Stops and disables the hypnic service and removes the venv in $PREFIX, the service unit
and the sysusers and tmpfiles files. Keeps the event log ($STATE_DIR), the config
($CONFIG_DIR) and the hypnic user, so that install.sh brings everything back.
I2C stays enabled and the apt packages stay installed.

  --purge     also delete the event log, the config and the hypnic user
  -h, --help  show this help and exit
EOF
}

die() {
    echo "$PROG: error: $*" >&2
    exit 2
}

say() { echo "==> $*"; }

parse_args() {
    while (($#)); do
        case $1 in
            --purge) PURGE=true ;;
            -h | --help) usage; exit 0 ;;
            *) die "unknown option '$1'; the options are --purge and --help" ;;
        esac
        shift
    done
}

booted() { [[ -z $ROOT && -d /run/systemd/system ]]; } # systemd runs this system (not a chroot)

stop_service() {
    if booted && systemctl is-active --quiet hypnic.service; then
        systemctl stop hypnic.service
        say "service: stopped"
    fi
    if systemctl ${ROOT:+--root="$ROOT"} is-enabled --quiet hypnic.service 2>/dev/null; then
        systemctl ${ROOT:+--root="$ROOT"} disable --quiet hypnic.service
        say "service: disabled"
    fi
}

remove() { # path...: deletes those that exist, says which
    local path
    for path in "$@"; do
        if [[ -e $ROOT$path || -L $ROOT$path ]]; then
            rm -rf -- "$ROOT$path"
            say "removed $path"
        fi
    done
}

remove_files() {
    remove "$UNIT" "$SYSUSERS" "$TMPFILES" "$PREFIX"
    if booted; then
        systemctl daemon-reload
        systemctl reset-failed hypnic.service 2>/dev/null || true
    fi
}

purge() {
    # systemctl edit's drop-ins are the user's too.
    remove "$STATE_DIR" "$CONFIG_DIR" /etc/systemd/system/hypnic.service.d
    if grep -q '^hypnic:' "$ROOT/etc/passwd" 2>/dev/null; then
        userdel ${ROOT:+--root "$ROOT"} hypnic
        say "removed the user hypnic"
    fi
    if grep -q '^hypnic:' "$ROOT/etc/group" 2>/dev/null; then
        groupdel ${ROOT:+--root "$ROOT"} hypnic
    fi
}

main() {
    parse_args "$@"
    ((EUID == 0)) || die "run it as root: sudo $0${*:+ $*}"
    command -v systemctl >/dev/null || die "systemd is missing: nothing of hypnic to remove"
    stop_service
    remove_files
    if $PURGE; then
        purge
        say "done: hypnic, its event log, config and user are gone"
    else
        say "done; kept the event log ($STATE_DIR), the config ($CONFIG_DIR) and the" \
            "hypnic user: sudo deploy/uninstall.sh --purge removes them"
    fi
}

# Sourced by the tests: define the functions, run nothing.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    main "$@"
fi
