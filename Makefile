# The two commands that matter: `make run` and `make test`. Everything they need is installed here.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: run test bench setup install install-dev migrate lint clean

run: install migrate  ## Run web, worker and scheduler in the foreground (Ctrl-C stops all three)
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo
	@echo "  Dashboard: http://127.0.0.1:8000/admin/dashboard/   Metrics: http://127.0.0.1:8000/metrics"
	@echo "  Demo traffic, from a second terminal: $(BIN)/python manage.py simulate --orders 50 --rate 2"
	$(BIN)/honcho start -f Procfile

test: install-dev  ## Run the whole test suite and print its 15 slowest tests (PostgreSQL/Redis tests skip when unreachable, outside CI)
	$(BIN)/pytest --durations=15 $(PYTEST_ARGS)

BENCH_ARGS ?= --workers 1,2,4 --lines 1,5,20 --json var/bench.json --plot var/bench-scaling.svg
bench: install migrate  ## Benchmark sagas and reads against the configured database and broker
	mkdir -p var
	$(BIN)/python manage.py bench_sagas $(BENCH_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports

migrate: install
	$(BIN)/python manage.py migrate --noinput

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(VENV)/.installed-runtime
install-dev: $(VENV)/.installed-dev

$(VENV)/.installed-runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed-runtime

clean:
	rm -rf $(VENV) var
