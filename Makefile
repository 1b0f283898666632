# The README's two commands: `make demo` and `make test`. CI calls `make test` (.ci/run).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FP := $(VENV)/bin/footprint
STAMP := $(VENV)/.installed-stamp
OUT ?= out

.PHONY: install demo test bench lint typecheck clean

# Creates .venv when missing and installs the package with its dev extras.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check footprint
	$(VENV)/bin/mypy

bench: install
	$(PY) benchmarks/run.py

demo: install
	$(PY) -m footprint.demo --out $(OUT)

clean:
	rm -rf $(OUT) .pytest_cache build *.egg-info
