# Two commands for a fresh Debian / Raspberry Pi OS machine: `make run` and `make test`.
# Each installs what it needs: the apt packages systemd-python builds against, a .venv, hypnic.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# systemd-python compiles against libsystemd; venv and the Python headers are split out on Debian.
APT_BUILD := python3-venv python3-dev gcc pkg-config libsystemd-dev
# The tests run a real MQTT broker, with a throw-away CA made by openssl for its TLS test.
APT_TEST := mosquitto mosquitto-clients openssl
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# The oldest versions Debian Bookworm ships: the Pi's venv reuses apt's packages, so hypnic
# must work with these as well as with the newest from PyPI (pyproject states them as bounds).
OLDEST := numpy==1.24.4 smbus2==0.4.2 gpiozero==2.0 paho-mqtt==2.0.0
VENV_OLDEST ?= .venv-oldest

.PHONY: run test lint typecheck pytest pytest-oldest bench clean

run: $(VENV)/.installed
	$(BIN)/hypnic run --sensor sim --speed 60 --data-dir data

test: $(VENV)/.installed-test lint typecheck pytest pytest-oldest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

# mypy cannot follow setuptools' editable-install finder, so it checks the packages through a
# tree of links laid out as they are installed (hypnic/daemon, hypnic/drivers).
typecheck: $(VENV)/.installed-test
	@mkdir -p build/typecheck/hypnic
	@ln -sfn ../../../daemon build/typecheck/hypnic/daemon
	@ln -sfn ../../../drivers build/typecheck/hypnic/drivers
	cd build/typecheck && ../../$(BIN)/mypy --config-file ../../pyproject.toml -p hypnic

pytest: $(VENV)/.installed-test
	$(BIN)/pytest

# The whole suite again on the oldest supported versions.
pytest-oldest: $(VENV_OLDEST)/.installed
	$(VENV_OLDEST)/bin/pytest -p no:cacheprovider

$(VENV_OLDEST)/.installed: $(VENV)/.apt-test pyproject.toml
	$(PYTHON) -m venv $(VENV_OLDEST)
	$(VENV_OLDEST)/bin/python -m pip install --quiet --disable-pip-version-check \
	  $(OLDEST) systemd-python pytest pyyaml
	$(VENV_OLDEST)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

bench: $(VENV)/.installed
	$(BIN)/python bench/replay_speed.py
	$(BIN)/python bench/acquisition.py

# Installs the apt packages of $(1) that are missing (sudo unless root); elsewhere, says what
# to install.
define apt_install
if command -v dpkg-query >/dev/null 2>&1; then \
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
else echo "not a Debian system: make sure$(foreach p,$(1), $(p)) (or their equivalents) are installed"; fi
endef

$(VENV)/.apt:
	@$(call apt_install,$(APT_BUILD))
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	@touch $@

$(VENV)/.installed: $(VENV)/.apt pyproject.toml
	$(PIP) -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed $(VENV)/.apt-test
	$(PIP) -e '.[test]'
	@touch $@

$(VENV)/.apt-test: $(VENV)/.apt
	@$(call apt_install,$(APT_TEST))
	@touch $@

clean:
	rm -rf $(VENV) $(VENV_OLDEST) build .pytest_cache .mypy_cache .ruff_cache *.egg-info
