# `make run` and `make test` work from a fresh clone with only python3 and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export HOST ?= 127.0.0.1
export PORT ?= 5000
export APP_ENV ?= development
# Test processes (pytest-xdist); a file's tests stay in one process, so its servers are shared.
TEST_WORKERS ?= 2

.PHONY: run test lint format install clean openapi bench

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

run: install
	$(BIN)/flask --app wsgi db upgrade
	WEB_CONCURRENCY=$${WEB_CONCURRENCY:-2} $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# The tests' OpenID provider (panva's oidc-provider, pinned in its package-lock.json), when
# npm is here; without it those tests fail and say how to install it.
OPENID_PROVIDER := tests/openid_provider/node_modules/.package-lock.json

$(OPENID_PROVIDER): tests/openid_provider/package-lock.json
	npm ci --prefix tests/openid_provider --no-audit --no-fund --silent

# axe-core, which the console tests inject into each page (test-only, pinned likewise).
AXE_CORE := tests/pages/node_modules/.package-lock.json

$(AXE_CORE): tests/pages/package-lock.json
	npm ci --prefix tests/pages --no-audit --no-fund --silent

test: install lint $(if $(shell command -v npm),$(OPENID_PROVIDER) $(AXE_CORE))
	APP_ENV=testing $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile -m "not timing"
	APP_ENV=testing $(BIN)/pytest -m timing

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

# Throughput and latency under gunicorn + wrk; writes bench/results/*.json and docs/benchmarks.md.
bench: install
	$(BIN)/python -m bench.run

openapi: install
	APP_ENV=testing $(BIN)/flask --app wsgi openapi write docs/openapi.json

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache tests/openid_provider/node_modules
