# The README's two commands: `make demo` and `make test`. CI calls `make test` (.ci/run).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FP := $(VENV)/bin/footprint
STAMP := $(VENV)/.installed-stamp
OUT ?= out

.PHONY: install demo test bench lint clean ensure-chromium

# Creates .venv when missing and installs the package with its dev extras.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

test: install ensure-chromium
	$(PY) -m pytest -q

# The report tests render HTML in Debian's headless chromium; install it when missing and we can.
ensure-chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the report tests" >&2; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found and cannot be installed: report screenshot tests will not run" >&2; fi; }

lint: install
	$(VENV)/bin/ruff check footprint
	$(VENV)/bin/mypy

bench: install
	$(PY) benchmarks/run.py

demo: install
	$(PY) -m footprint.demo --out $(OUT)

clean:
	rm -rf $(OUT) .pytest_cache build *.egg-info
