# Two commands: `make run` serves the product with demo data; `make test` runs the whole suite.
# Everything else (uv, Python 3.12, locked dependencies, embedded Postgres and Redis) is set up here.

SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo var/bootstrap/bin/uv)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test install lint pytest chromium clean

var/bootstrap/bin/uv:
	$(PYTHON) -m venv var/bootstrap
	var/bootstrap/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.installed: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen
	@touch $@

install: $(VENV)/.installed

run: install
	$(PY) -m config.launcher

lint: install
	$(VENV)/bin/ruff check .

# Browser tests drive Debian's Chromium; install it when it is missing and we may (root).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Browser tests need Chromium: install the 'chromium' package (e.g. sudo apt-get install chromium)." >&2; exit 1; fi; }

pytest: install chromium
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint pytest

clean:
	rm -rf $(VENV) var/bootstrap var/staticfiles
