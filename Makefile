# Everything a newcomer needs: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP_INSTALL := $(VENV)/.installed
STAMP_DEV     := $(VENV)/.installed-dev

.PHONY: install dev run test fuzz lint bench eval-suggestions clean

install: $(STAMP_INSTALL)  ## the venv with the package and its CLI at .venv/bin/creditdesk

$(STAMP_INSTALL): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

dev: $(STAMP_DEV)

$(STAMP_DEV): $(STAMP_INSTALL) pyproject.toml
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

run: install  ## upgrade the schema and serve the demo at http://127.0.0.1:8000
	$(BIN)/creditdesk serve --demo

test: dev  ## the whole suite (PostgreSQL too when CREDITDESK_TEST_POSTGRES_URL is set)
	$(BIN)/python -m pytest

FUZZ_EXAMPLES ?= 300

fuzz: dev  ## schemathesis over every API operation, many more examples than `make test` (E7)
	CREDITDESK_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -p no:cacheprovider \
		tests/api/test_schemathesis.py

lint: dev  ## ruff everywhere; mypy --strict on domain/ and services/ ([tool.mypy])
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: dev  ## benchmarks (not tests); results under bench/results/
	$(BIN)/python -m bench

eval-suggestions: dev  ## suggestion precision/recall per reason + calibration (G4)
	$(BIN)/python -m creditdesk_devtools.evaluation

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .hypothesis creditdesk.db creditdesk.db-wal creditdesk.db-shm
