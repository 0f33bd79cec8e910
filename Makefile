# Two commands a new user needs: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_RECORDS ?= 3000
export MIRA_REAL_DATA ?= $(abspath ../shared/data/real)

.PHONY: run test bench venv chromium lint clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e '.[test,ray]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/mira-curator migrate
	$(BIN)/mira-curator demo --records $(DEMO_RECORDS) --if-empty
	$(BIN)/mira-curator serve --simulator --demo-scores

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check mira_core app tests benchmarks
	$(BIN)/mypy

test: $(STAMP) chromium lint
	bash tests/support/with_postgres.sh $(BIN)/python -m pytest -q -p no:cacheprovider --durations=25 $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/mira-curator bench all

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
