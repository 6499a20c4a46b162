# The two commands of the README: `make run` (service + demo data on the embedded PostgreSQL)
# and `make test` (lint + the whole suite). Both create .venv and install esoz on first use.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint mypy-baseline
# The modules pyproject.toml checks with --strict, as paths: their errors are fixed, never recorded in the baseline.
STRICT_PATHS := ^src/esoz/(core/|audit/|jobs\.py|[a-z_]+/(api|admin|auth|models|schemas|render|cli|jobs)\.py|registry/repository\.py|signatures/(flow|service)\.py|events/service\.py):

$(BIN)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

run: $(BIN)/.installed
	$(BIN)/esoz serve --demo

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests migrations bench
	$(BIN)/lint-imports
	$(BIN)/mypy | $(BIN)/mypy-baseline filter
	@if grep -E '$(STRICT_PATHS)' mypy-baseline.txt; then echo "strict modules may have no mypy-baseline.txt entries"; exit 1; fi

# Rewrites mypy-baseline.txt to mypy's current errors (see the README's development notes).
mypy-baseline: $(BIN)/.installed
	$(BIN)/mypy | $(BIN)/mypy-baseline sync

test: lint
	$(BIN)/python -m pytest
