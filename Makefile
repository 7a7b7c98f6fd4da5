# `make` sets everything up and runs the pipeline; `make test` runs the linters and the tests.
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# The Python that makes .venv: one of PYTHONS, the versions pyproject.toml's requires-python admits (TensorFlow 2.21.0
# has no wheels for 3.14): `make PYTHON=python3.13` where python3 is another.
PYTHON ?= python3
PYTHONS := 3.11 3.12 3.13

.PHONY: all setup repro test other-cpu platforms report reproduced bench

all: repro

# Idempotent: reinstalls packages only when requirements.txt changes, and installs a dataset's
# registry copy only where Keras's origin is unreachable and the copy is not there yet.
setup: $(VENV)/.installed
	python -m tools.mirrors
	python -m tools.offline_plots

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; v = "%d.%d" % sys.version_info[:2]; v in "$(PYTHONS)".split() or sys.exit( \
	  "make: $(PYTHON) is Python %s; the project needs one of $(PYTHONS): make PYTHON=python3.13, say" % v)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --requirement requirements.txt
	touch $@

repro: setup
	dvc repro

# A test opens the plots page in Chromium or Chrome: Debian's chromium is installed here if there is apt-get and no
# browser; elsewhere (macOS) an installed Chrome is used, or the test is skipped, saying so.
test: $(VENV)/.installed
	command -v chromium > /dev/null || command -v google-chrome > /dev/null || ! command -v apt-get > /dev/null || \
	  { $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null; }
	ruff format --check .
	ruff check .
	pytest

# The numerics test once more on an emulated CPU of the other family: QEMU's EPYC-Milan model has AVX2 and FMA but
# no AVX-512, so an AVX-512 machine checks the AVX2-only numerics too (QEMU installed here if it is missing); then
# on the same model reporting QEMU's legacy cache sizes, a 64 KiB L1 data cache instead of 32 KiB.
other-cpu: $(VENV)/.installed
ifeq ($(shell uname -m),x86_64)
	command -v qemu-x86_64 > /dev/null || { $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user > /dev/null; }
	qemu-x86_64 -cpu EPYC-Milan $(BIN)/python -m pytest -q tests/test_numerics.py
	qemu-x86_64 -cpu EPYC-Milan,legacy-cache=on $(BIN)/python -m pytest -q tests/test_numerics.py
else
	@echo "other-cpu: the pinned numerics are x86-64's; nothing to emulate on $(shell uname -m)"
endif

# requirements.txt resolved, from PyPI and without installing, for Linux x86-64, macOS on Apple Silicon and Linux
# aarch64, each with each supported Python: every pin must have a wheel on each.
platforms: $(VENV)/.installed
	python .ci/check_platforms.py

# After `make`: the Markdown report of this run against BASE (metrics and params diffs, curves, confusion matrices).
BASE ?= HEAD
report: $(VENV)/.installed
	@python .ci/report.py $(BASE)

# After `make` in a clean clone: did the run reproduce the committed metrics and data?
reproduced: $(VENV)/.installed
	python .ci/check_reproduced.py

# Not part of the tests: about 25 minutes of timing, written to reports/bench/avx512.json or avx2.json (the CPU's).
bench: repro
	python bench/run.py
