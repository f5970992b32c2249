# The two commands of the README:  make run   and   make test
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test install bench lint check browser clean hazards mutants

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed
	$(PY) manage.py collectstatic --noinput --verbosity 0

## Set up, migrate, fill the demo unit and run on http://127.0.0.1:$(PORT) (SQLite by default).
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

## Set up and run every test (unit, database, browser). DATABASE_URL picks the database.
## The browser tests drive Debian's Chromium: installed here when missing (as root), else the
## one command to run is printed and the target fails.
CHROMIUM := /usr/bin/chromium
test: install
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's Chromium for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else \
	    echo "The browser tests need Chromium. Run: sudo apt-get install -y chromium" >&2; \
	    exit 1; \
	  fi; \
	fi
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

check: install
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

## The safety case: remove each hazard's control and show its cited tests fail (docs/hazards.py).
hazards: install
	$(PY) docs/hazards.py

## Mutation testing of the dosing engine: mutmut over schedules/engine.py plus the hand-written
## mutants of docs/mutants.toml, against the engine's fast tests; prints the score and the
## survivors, fails below 98% of non-equivalent mutants killed (docs/mutants.py). Not in CI:
## run it before a change to the engine or the safety rules is called done.
mutants: install
	$(PY) docs/mutants.py

## Performance at 5,000 patients on PostgreSQL (DATABASE_URL), gunicorn, real HTTP (writes
## docs/performance.md); then booking throughput, deadlocks and retries on the same server.
bench: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/tofersen_bench} $(PY) docs/bench.py --patients 5000 --write docs/performance.md
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/tofersen_bench} $(PY) docs/bench_booking.py

clean:
	rm -rf $(VENV) node_modules staticfiles db.sqlite3 mutants
