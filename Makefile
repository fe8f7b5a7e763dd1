# Fluentio: `make run` serves the production app, `make test` runs every test.
# Both set up everything they need first (.venv, bun, the database schema).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 3000

export PATH := $(CURDIR)/.tools/bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export REFLEX_TELEMETRY_ENABLED ?= false
export REFLEX_CHECK_LATEST_VERSION ?= false
export REFLEX_DIR ?= $(CURDIR)/.tools/reflex
export NPM_CONFIG_REGISTRY ?= $(shell npm config get registry 2>/dev/null || echo https://registry.npmjs.org/)
export PORT

.PHONY: run dev test bench lint format migrate reconcile setup setup-dev clean cluster

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

.tools/bin/bun:
	@scripts/ensure-bun.sh

setup: $(VENV)/.installed .tools/bin/bun
	@scripts/ensure-espeak.sh
	@scripts/ensure-vad.sh
	@scripts/ensure-purgecss.sh

setup-dev: setup $(VENV)/.installed-dev
	@scripts/ensure-chromium.sh
	@scripts/ensure-firefox.sh
	@scripts/ensure-js-checks.sh
	@scripts/ensure-postgres.sh
	@scripts/ensure-redis.sh

migrate: setup
	$(PY) -m fluentio.cli migrate

## The production app on http://127.0.0.1:$(PORT) (SQLite and the local simulators by default).
## One web worker whatever REFLEX_REDIS_URL says (Reflex would start cpu×2+1 with it).
run: migrate
	GRANIAN_WORKERS=1 $(VENV)/bin/reflex run --env prod --single-port --backend-port $(PORT) --backend-host 127.0.0.1

## The scaled-out configuration on this machine: PostgreSQL, Redis, two web workers behind
## http://127.0.0.1:$(PORT), two workers and the simulator, each its own process (Ctrl-C stops all).
cluster: setup
	$(PY) -m fluentio.cluster --port $(PORT)

## Credit Dodo payments from the last days whose webhooks never arrived (DAYS=3).
reconcile: migrate
	$(PY) -m fluentio.cli reconcile --days $(or $(DAYS),3)

## Hot reload for the maintainer.
dev: migrate
	$(VENV)/bin/reflex run --env dev

## Unit, integration (real PostgreSQL) and browser end-to-end tests.
test: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy fluentio bench
	$(PY) -m pytest

bench: setup-dev
	@scripts/ensure-lighthouse.sh
	$(PY) -m bench

lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy fluentio bench

format: setup-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf .web .states .tools/reflex fluentio.db
