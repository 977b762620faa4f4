# Two commands set everything up: `make demo` and `make test`.
# Each creates .venv if it is missing and (re)installs when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev,spark]"
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/evalink demo

# One process: DuckDB, Polars and Spark already use both cores, so two pytest workers
# (tried: pytest-xdist -n 2) only fought over them and built the shared flow fixtures twice.
test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/pytest

clean:
	rm -rf $(VENV) demo-out
