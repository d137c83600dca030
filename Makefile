# Two commands for a fresh Debian / Raspberry Pi OS machine: `make run` and `make test`.
# Each installs what it needs: the apt packages systemd-python builds against, a .venv, hypnic.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# systemd-python compiles against libsystemd; venv and the Python headers are split out on Debian.
APT_BUILD := python3-venv python3-dev gcc pkg-config libsystemd-dev
# The tests run a real MQTT broker (with a throw-away CA made by openssl for its TLS test) and
# check deploy/*.sh with shellcheck; test-install builds a Debian root with debootstrap.
APT_TEST := mosquitto mosquitto-clients openssl shellcheck
APT_INSTALL_TEST := debootstrap debian-archive-keyring
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# The oldest versions Debian Bookworm ships: the Pi's venv reuses apt's packages, so hypnic
# must work with these as well as with the newest from PyPI (pyproject states them as bounds).
OLDEST := numpy==1.24.4 smbus2==0.4.2 gpiozero==2.0 paho-mqtt==2.0.0
VENV_OLDEST ?= .venv-oldest

.PHONY: run test lint typecheck pytest pytest-oldest test-install bench clean

# Installs those of the apt packages in $(1) that are missing; elsewhere says what to install.
define apt_install
@if command -v dpkg-query >/dev/null 2>&1; then \
  missing=""; \
  for p in $(1); do \
    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
  done; \
  if [ -n "$$missing" ]; then \
    echo "installing apt packages:$$missing"; \
    $(SUDO) apt-get update -qq && \
    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
      $$missing >/dev/null || exit 1; \
  fi; \
else echo "not a Debian system: make sure $(strip $(1)) (or their equivalents) are installed"; fi
endef

run: $(VENV)/.installed
	$(BIN)/hypnic run --sensor sim --speed 60 --data-dir data

test: $(VENV)/.installed-test $(VENV)/.apt-test lint typecheck pytest pytest-oldest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

# mypy cannot follow setuptools' editable-install finder, so it checks the packages through a
# tree of links laid out as they are installed (hypnic/daemon, hypnic/drivers).
typecheck: $(VENV)/.installed-test
	@mkdir -p build/typecheck/hypnic
	@ln -sfn ../../../daemon build/typecheck/hypnic/daemon
	@ln -sfn ../../../drivers build/typecheck/hypnic/drivers
	cd build/typecheck && ../../$(BIN)/mypy --config-file ../../pyproject.toml -p hypnic

pytest: $(VENV)/.installed-test $(VENV)/.apt-test
	$(BIN)/pytest

# The whole suite again on the oldest supported versions.
pytest-oldest: $(VENV_OLDEST)/.installed $(VENV)/.apt-test
	$(VENV_OLDEST)/bin/pytest -p no:cacheprovider

$(VENV_OLDEST)/.installed: $(VENV)/.apt pyproject.toml
	$(PYTHON) -m venv $(VENV_OLDEST)
	$(VENV_OLDEST)/bin/python -m pip install --quiet --disable-pip-version-check \
	  $(OLDEST) systemd-python pytest pyyaml
	$(VENV_OLDEST)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

bench: $(VENV)/.installed
	$(BIN)/python bench/replay_speed.py
	$(BIN)/python bench/acquisition.py

$(VENV)/.apt:
	$(call apt_install,$(APT_BUILD))
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	@touch $@

$(VENV)/.installed: $(VENV)/.apt pyproject.toml
	$(PIP) -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -e '.[test]'
	@touch $@

$(VENV)/.apt-test: $(VENV)/.apt
	$(call apt_install,$(APT_TEST))
	@touch $@

# deploy/install.sh for real in a debootstrapped Debian Bookworm (as root: it mounts and
# chroots). About 1.5 min the first time, half a minute after (the base system is cached in
# /var/cache/hypnic-install-test). Run it after changing deploy/ or systemd/.
test-install: $(VENV)/.installed-test
	$(call apt_install,$(APT_INSTALL_TEST))
	$(SUDO) $(BIN)/pytest -p no:cacheprovider -m install -rP tests/deploy

clean:
	rm -rf $(VENV) $(VENV_OLDEST) build .pytest_cache .mypy_cache .ruff_cache *.egg-info
