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

# Two workers (the CI machine has two cores), one test file each at a time, so a
# file's module fixtures are built once.
test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 --dist loadfile

clean:
	rm -rf $(VENV) demo-out
