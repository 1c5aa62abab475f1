# Everything starts from a fresh clone: `make run` and `make test` install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXAMPLE := examples/wuhan

.PHONY: install run test unit lint bench controlplane e2e clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/citycloud --registry $(EXAMPLE) validate
	$(BIN)/citycloud --registry $(EXAMPLE) capacity
	$(BIN)/citycloud --registry $(EXAMPLE) plan

test: lint unit

unit: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/overlaps.py
	$(BIN)/python bench/exporter.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
