# The two commands a newcomer needs: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

## run: install what is missing, migrate the store, serve http://127.0.0.1:5000
run: $(STAMP)
	$(BIN)/flask --app webapp db upgrade
	$(BIN)/flask --app webapp run --host 127.0.0.1 --port $${PORT:-5000}

## test: install what is missing (Python packages, Chromium, server binaries), ruff, pytest
test: $(STAMP)
	bash scripts/ensure-system.sh
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

## bench: speed measurements, printed as ratios against a baseline measured in the same run
bench: $(STAMP)
	bash scripts/ensure-system.sh
	$(BIN)/python -m pytest tests/bench -s -q -o python_files="bench_*.py"

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache

## screenshots: drive the app in Chromium and write PNGs of the main pages to docs/screenshots/
screenshots: $(STAMP)
	bash scripts/ensure-system.sh
	$(BIN)/python -m pytest tests/e2e/shots_pages.py -q -o python_files="shots_*.py"
