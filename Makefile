# The two commands a newcomer needs: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
# The lock files (exact versions; `make lock` refreshes them from pyproject.toml): what running
# needs (`make run` and a Heroku-style buildpack install it), and the same pins plus the test
# tools and every cloud driver (`make test`).
RUN_LOCK := requirements.txt
DEV_LOCK := requirements-dev.txt
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.9
# Engines' extras, comma-separated (EXTRAS=snowflake,bigquery): `make run` adds their drivers
# at the dev lock's versions; `make lock` writes them into requirements.txt (for a deployment).
EXTRAS ?=
comma := ,
EXTRA_FLAGS := $(foreach e,$(subst $(comma), ,$(EXTRAS)),--extra $(e))
LOCK_COMMAND := make lock$(if $(EXTRAS), EXTRAS=$(EXTRAS))
# UPGRADE=1 moves every pin to the newest release the bounds allow (else pins are kept).
COMPILE := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 -q \
	--custom-compile-command '$(LOCK_COMMAND)' $(if $(UPGRADE),--upgrade)

.PHONY: run test lint lock wheel bench screenshots clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(PIP) install -q 'pip>=25,<27'

# Running: the run lock and the package itself (editable: templates/ etc. from the checkout).
$(RUN_STAMP): $(RUN_LOCK) pyproject.toml | $(BIN)/python
	$(PIP) install -q -r $(RUN_LOCK) -e .
	touch $@

# Tests: the dev lock (a superset of the run lock), then the package with its dev extra; a
# dependency added to pyproject.toml but not yet locked is still installed (run `make lock`).
# The run lock is also kept as wheels: tests/integration/test_wheel.py fills a venv from them.
$(STAMP): $(DEV_LOCK) $(RUN_LOCK) pyproject.toml | $(BIN)/python
	$(PIP) install -q -r $(DEV_LOCK)
	$(PIP) install -q --no-build-isolation -c $(DEV_LOCK) -e '.[dev]'
	$(PIP) wheel -q -r $(RUN_LOCK) -w $(VENV)/wheelhouse
	touch $(RUN_STAMP) $@

## run: install what running needs, migrate the store, serve http://127.0.0.1:5000
run: $(RUN_STAMP)
ifneq ($(EXTRAS),)
	$(PIP) install -q -c $(DEV_LOCK) -e '.[$(EXTRAS)]'
endif
	$(BIN)/flask --app webapp db upgrade
	$(BIN)/flask --app webapp run --host 127.0.0.1 --port $${PORT:-5000}

## test: install what is missing (Python packages, Chromium, server binaries), ruff, pytest
test: $(STAMP)
	bash scripts/ensure-system.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=25

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## lock: re-resolve requirements.txt and requirements-dev.txt from pyproject.toml with uv
lock: | $(BIN)/python
	$(PIP) install -q 'uv==$(UV_VERSION)'
	$(COMPILE) $(EXTRA_FLAGS) -o $(RUN_LOCK)
	$(COMPILE) --all-extras -c $(RUN_LOCK) -o $(DEV_LOCK)

## wheel: build dist/datadock-*.whl (templates, static files and migrations inside)
wheel: $(STAMP)
	rm -rf build/lib
	$(PIP) wheel -q --no-deps --no-build-isolation -w dist .

## bench: speed measurements, printed as ratios against a baseline measured in the same run
bench: $(STAMP)
	bash scripts/ensure-system.sh
	$(BIN)/python -m pytest tests/bench -s -q -o python_files="bench_*.py"

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache build dist

## screenshots: drive the app in Chromium and write PNGs of the main pages to docs/screenshots/
screenshots: $(STAMP)
	bash scripts/ensure-system.sh
	$(BIN)/python -m pytest tests/e2e/shots_pages.py -q -o python_files="shots_*.py"
