# Dripline: two commands do everything — `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint unit bench docs install clean browser spamassassin

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	@$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Start the whole local stack (embedded PostgreSQL + Tansu + SMTP inbox + four services).
run: $(STAMP)
	$(BIN)/dripline run

## Lint, type-check and run every test against a real broker and database.
test: $(STAMP) lint browser spamassassin
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=30; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

## Debian's Chromium for the dashboard's browser test (installed only when missing and we are root).
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi

## Debian's SpamAssassin, which scores every example email (offline, with the rules the package ships).
spamassassin:
	@if ! command -v spamassassin >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq spamassassin >/dev/null && \
	  { spamassassin -L --lint || { echo "spamassassin has no usable rules"; exit 1; }; }; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## Regenerate what is generated: docs/ (JSON Schemas, AsyncAPI), the README settings table, deploy manifests.
docs: $(STAMP)
	$(BIN)/dripline docs
	$(BIN)/python -m deploy.generate

bench: $(STAMP)
	$(BIN)/dripline bench

clean:
	rm -rf $(VENV) .dripline
