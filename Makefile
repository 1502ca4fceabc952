# Otklik. The two commands: `make run` (embedded: SQLite, web + Celery worker + beat) and `make test`.
# Everything below works from a fresh clone: scripts/bootstrap.sh finds Python 3.12+, installs uv and the locked
# packages into .venv, and compiles the translations.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PORT ?= 8000
# Extra options for the supervisor, e.g. `make run RUN_ARGS=--reload` or `RUN_ARGS="--pool solo"`.
RUN_ARGS ?=
PY := .venv/bin/python
MANAGE := $(PY) manage.py

.PHONY: help venv setup setup-test run run-pg test lint format migrations-check check bench

help:
	@echo "make run              set up (venv, packages, translations, migrations, reference and demo data) and"
	@echo "                      serve http://127.0.0.1:$(PORT) with a Celery worker and beat; Ctrl-C stops all"
	@echo "make run PORT=8001    the same on another port"
	@echo "make run-pg           the demo on PostgreSQL (127.0.0.1:5432, else a throwaway cluster) with a Redis"
	@echo "                      broker: gunicorn, a worker and beat on http://127.0.0.1:$(PORT) (docs/DEPLOY.md)"
	@echo "make test             set up, then ruff, migrations check, manage.py check, pytest on SQLite and on"
	@echo "                      PostgreSQL (local server or a throwaway cluster)"
	@echo "make setup            set up only (with demo data)"
	@echo "make lint             ruff check + ruff format --check"
	@echo "make format           ruff format + ruff check --fix"
	@echo "make migrations-check fail when a model change has no migration"
	@echo "make bench            the ingestion benchmark (bench/ingest_bench.py)"

venv:
	@scripts/bootstrap.sh

setup: venv
	@$(PY) scripts/prepare_db.py

setup-test: venv
	@$(PY) scripts/prepare_db.py --no-demo

run: setup
	@$(PY) scripts/run_embedded.py --port $(PORT) $(RUN_ARGS)

# The demo on PostgreSQL + Redis (scripts/run_pg.sh): RUN_PG=auto|local|throwaway, RUN_PG_DB=otklik_demo,
# RUN_PG_REDIS_PORT=6379, RUN_PG_REDIS_DB=0, RUN_ARGS as for run (e.g. "--server runserver --reload").
run-pg: venv
	@PORT=$(PORT) RUN_ARGS="$(RUN_ARGS)" scripts/run_pg.sh

test:
	@scripts/test.sh

lint: venv
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format: venv
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

migrations-check: venv
	$(MANAGE) makemigrations --check --dry-run

check: venv
	$(MANAGE) check

bench: venv
	$(PY) bench/ingest_bench.py
