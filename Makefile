# One entry point. CI calls `make test`; a newcomer calls `make run`.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/radloop
export PYTHONPATH := $(CURDIR)/platform:$(CURDIR)
# Bytecode is cached (__pycache__, git-ignored) even where the machine's environment says not to:
# the suite starts a hundred-odd Python processes (Celery workers, manage.py, benches), and
# compiling the project's modules afresh in each cost the test run about a third of a Celery
# test's CPU time (tests/learning/test_worker_lifecycle.py: 55 -> 38 s user).
unexport PYTHONDONTWRITEBYTECODE
# Two test processes (one per core); a module's tests stay together so module fixtures are shared.
# The 25 slowest tests are listed at the end, so a test that grows past its share is seen.
PYTEST_PARALLEL ?= -n 2 --dist loadfile --durations=25

.PHONY: run serve test test-python test-sqlite test-frontend lint typecheck migrations-check \
        frontend system-deps bench clean

$(VENV)/.installed: requirements/web.txt requirements/worker.txt requirements/dev.txt
	@command -v $(PY) >/dev/null || { echo "$(PY) not found: install Python 3.11 (apt-get install python3.11 python3.11-venv)"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/python docker/check_no_cuda.py requirements/dev.txt
	$(BIN)/pip install -q -r requirements/dev.txt
	touch $@

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	@node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
	  || { echo "Node $$(node --version 2>/dev/null || echo missing): the front end (Vite 8) needs Node >= 20.19"; exit 1; }
	cd frontend && npm ci --no-audit --no-fund
	touch $@

frontend/dist/.vite/manifest.json: frontend/node_modules/.installed $(shell find frontend/src frontend/index.html frontend/vite.config.ts -type f 2>/dev/null)
	cd frontend && npm run build

frontend: frontend/dist/.vite/manifest.json

## run: everything on one machine (SQLite, local Redis, one worker, web on 127.0.0.1:8000, demo data)
run: $(VENV)/.installed frontend
	$(BIN)/python manage.py runlocal $(RUN_ARGS)

## serve: web + worker against DATABASE_URL/REDIS_URL, no demo seeding (scripts, benchmarks)
serve: $(VENV)/.installed frontend
	$(BIN)/python manage.py runlocal --no-demo $(RUN_ARGS)

## system-deps: Debian packages the tests drive for real (root only; skipped when present)
system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v pdftoppm >/dev/null || missing="$$missing poppler-utils"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v Orthanc >/dev/null || missing="$$missing orthanc orthanc-dicomweb"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else echo "missing Debian packages:$$missing (install them as root)"; exit 1; fi; \
	fi

lint: $(VENV)/.installed frontend/node_modules/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd frontend && npm run lint

typecheck: $(VENV)/.installed
	$(BIN)/mypy platform annotations ml_worker

migrations-check: $(VENV)/.installed
	$(BIN)/python manage.py makemigrations --check --dry-run

test-frontend: frontend/node_modules/.installed
	cd frontend && npm run typecheck && npm run test

## test-python: the whole suite on PostgreSQL (real Redis, a real Celery worker, real Chromium)
test-python: $(VENV)/.installed frontend system-deps
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -q $(PYTEST_PARALLEL)

## test-sqlite: the same suite on the embedded default (row-lock tests skip themselves; tests
## that never touch a database, tests/ml, already ran in the PostgreSQL pass; Schemathesis sends
## 2 requests per operation and caller here, 5 there)
test-sqlite: $(VENV)/.installed frontend
	DATABASE_URL=sqlite:///$(CURDIR)/var/test-sqlite.sqlite3 RADLOOP_SCHEMATHESIS_EXAMPLES=2 $(BIN)/pytest -q $(PYTEST_PARALLEL) -m "not browser and not slow and not orthanc and not database_free"

## test: what CI runs
test: lint typecheck migrations-check test-frontend test-python test-sqlite

bench: $(VENV)/.installed
	$(BIN)/python bench/dicomweb.py
	$(BIN)/python bench/queue.py
	$(BIN)/python bench/active_learning.py --quick
	$(BIN)/python bench/retrain.py
	$(BIN)/python bench/export.py
	$(BIN)/python bench/workspace.py

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist
