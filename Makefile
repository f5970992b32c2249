# The two commands of the README:  make run   and   make test
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# The address printed in calendar links and the letter's QR code: where `make run` serves.
SITE_URL ?= http://127.0.0.1:$(PORT)

.PHONY: run test install install-dev bench lint check browser clean hazards mutants

# The app's own packages (make run); the test and lint tools on top (make test, lint, check...).
$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed
	$(PY) manage.py collectstatic --noinput --verbosity 0

install-dev: install $(VENV)/.dev-installed

## Set up, migrate, fill the demo unit and run on http://127.0.0.1:$(PORT) (SQLite by default).
## Beside the server: django-tasks' database worker (messages to patients, printed to the
## console without a NOTIFY_API_KEY) and, as the deploy's timer would, the reminder sweep
## queued every minute; both stop when the server does.
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	export SITE_URL=$(SITE_URL); \
	$(PY) manage.py db_worker --no-startup-delay & worker=$$!; \
	(while sleep 60; do $(PY) manage.py send_reminders --enqueue >/dev/null; done) & timer=$$!; \
	trap 'kill $$worker $$timer 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

## Set up and run every test (unit, database, browser), in two passes on two workers each:
## SQLite without the browser and postgres_only tests, then PostgreSQL (TEST_DATABASE_URL, by
## default DATABASE_URL if set, else the local server) with everything. Then the ledger proves
## every collected test passed on some database and none was skipped (tests/conftest.py).
## The browser tests drive Debian's Chromium: installed here when missing (as root), else the
## one command to run is printed and the target fails.
CHROMIUM := /usr/bin/chromium
TEST_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/tofersen_test)
TEST_WORKERS ?= 2
LEDGER := .test-ledger
PYTEST := $(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)
test: install-dev
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's Chromium for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else \
	    echo "The browser tests need Chromium. Run: sudo apt-get install -y chromium" >&2; \
	    exit 1; \
	  fi; \
	fi
	rm -rf $(LEDGER)
	@echo "== Tests on SQLite (all but the browser and postgres_only tests) =="
	env -u DATABASE_URL TEST_LEDGER=$(LEDGER) $(PYTEST)
	@echo "== Tests on PostgreSQL ($(TEST_DATABASE_URL)): all =="
	DATABASE_URL=$(TEST_DATABASE_URL) TEST_LEDGER=$(LEDGER) $(PYTEST)
	$(PY) -m tests.support.ledger $(LEDGER)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

check: install-dev
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

## The safety case: remove each hazard's control and show its cited tests fail (docs/hazards.py).
hazards: install-dev
	$(PY) docs/hazards.py

## Mutation testing of the dosing engine: mutmut over schedules/engine.py plus the hand-written
## mutants of docs/mutants.toml, against the engine's fast tests; prints the score and the
## survivors, fails below 98% of non-equivalent mutants killed (docs/mutants.py). Not in CI:
## run it before a change to the engine or the safety rules is called done.
mutants: install-dev
	$(PY) docs/mutants.py

## Performance at 5,000 patients on PostgreSQL (DATABASE_URL), gunicorn, real HTTP (writes
## docs/performance.md); then booking throughput, deadlocks and retries on the same server;
## then a synthetic year booked first-free and levelled, side by side (in memory, no database),
## then 10,000 reminders sent through the outbox by one and two task workers (BENCH_MESSAGES).
bench: install-dev
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/tofersen_bench} $(PY) docs/bench.py --patients 5000 --write docs/performance.md
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/tofersen_bench} $(PY) docs/bench_booking.py
	$(PY) manage.py simulate_year --patients 200 --seed 1
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/tofersen_bench} $(PY) docs/bench_messages.py

clean:
	rm -rf $(VENV) node_modules staticfiles db.sqlite3 $(LEDGER) test-artifacts mutants
