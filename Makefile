# GovFlow: `make run` (demo service on 127.0.0.1:8000) and `make test` (whole suite).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The suite runs on every CPU (pytest-xdist); each test has its own database, so workers never meet.
# The 25 slowest tests are listed at the end (CI time is watched: keep it under 15 minutes).
# A subset: make test PYTEST_ARGS="-q tests/workdays"
PYTEST_ARGS ?= -n auto --durations=25

.PHONY: run test install install-test migrate seed serve bench bench-pages clean assets assets-check messages deploy-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

migrate: install
	$(BIN)/python -m app.cli migrate

seed: migrate
	$(BIN)/python -m app.cli seed-demo

# --no-access-log: GovFlow writes its own access line per request (request id, user, route, status, time;
# app/core/logs.py), so Uvicorn's would only repeat it. GOVFLOW_LOG_FORMAT=json|text (json in production).
serve: install
	GOVFLOW_RUN_SCHEDULER=$${GOVFLOW_RUN_SCHEDULER:-true} GOVFLOW_ENABLE_TIME_TRAVEL=$${GOVFLOW_ENABLE_TIME_TRAVEL:-true} \
	  $(BIN)/uvicorn app.main:create_app --factory --host $(HOST) --port $(PORT) --no-access-log

run: seed serve

# pytest's exit code 5 (no tests collected) is a failure here: make would report it only as "Error 2".
test: install-test
	@$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

bench: install-test
	$(BIN)/python bench/share_request.py

# Pages with a diagram (task page, modeler) in headless Chromium until drawn; bundle sizes.
bench-pages: install-test
	$(BIN)/python bench/page_load.py

# Front-end bundles (bpmn-js modeler and viewer) into static/vendor/, from the lockfile. The built files
# are committed: `make run` and a deployer's server need no Node.js. Needs Node.js 18+ and npm.
assets:
	npm ci --ignore-scripts --no-audit --no-fund
	node assets/build.mjs

# CI: a rebuild from the lockfile must give exactly the committed bundles.
assets-check: assets
	git diff --exit-code --stat -- static/vendor

# CI: docker/compose.yaml must resolve (`docker compose config`, with the example env file) and the
# Dockerfile must pass hadolint. Both tools come from PyPI into the venv (test extras): no Docker engine.
deploy-check: install-test
	@# The package's bin/docker-compose wrapper drops the exit code: run the Compose binary it wraps.
	GOVFLOW_ENV_FILE=govflow.env.example "$$($(BIN)/python -c 'import compose, pathlib; \
	  print(pathlib.Path(compose.__file__).parent / "docker-compose")')" -f docker/compose.yaml config --quiet
	$(BIN)/hadolint docker/Dockerfile
	@echo "docker/compose.yaml and docker/Dockerfile: OK"

# Translations: collect the Chinese texts (msgids) of templates and app/ into the catalog template, then
# add new ones to each language's .po (app/locale/<lang>/LC_MESSAGES/messages.po) for a translator to fill.
# The service reads the .po files directly: nothing to compile.
PYBABEL_KEYWORDS := -k _ -k N_ -k gettext -k ngettext:1,2 -k flash_redirect:3
messages: install
	$(BIN)/pybabel extract -F babel.cfg $(PYBABEL_KEYWORDS) --no-location --sort-output \
	  --project GovFlow --copyright-holder GovFlow -o app/locale/messages.pot .
	$(BIN)/pybabel update -i app/locale/messages.pot -d app/locale -D messages --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) var/*.db var/*.db-wal var/*.db-shm
