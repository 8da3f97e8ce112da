# Tech Transfer Warehouse — `make demo` and `make test` work on a clean clone with only
# Python 3.11 and make: the first target that needs it creates .venv from uv.lock.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# uv from PATH, else a private copy in .venv-tools (pip into a venv of its own works
# even where the system Python refuses `pip install --user`, PEP 668).
TOOLS := .venv-tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
STAMP := $(VENV)/.installed

export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export GX_ANALYTICS_ENABLED := False

# The suites spread over worker processes (pytest-xdist), one test file per worker so that a
# module's fixtures are made once; each worker starts an embedded warehouse of its own on a
# free port. An external TTW_WAREHOUSE_URL is one database the tests drop and recreate
# schemas in: there, one process (TEST_WORKERS=0). The scheduler and Superset suites are one
# file each and stay in one process.
TEST_WORKERS ?= $(if $(TTW_WAREHOUSE_URL),0,2)
SPREAD := -n $(TEST_WORKERS) --dist loadfile

.PHONY: help install demo test test-marts test-reliability test-scheduler test-bi bi lint format unit integration dags airflow warehouse-stop clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(TOOLS)/bin/uv:
	@echo "uv not found: installing it with pip into $(TOOLS)"
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv

# --compile-bytecode: every ttw, dbt and Airflow task process starts from compiled modules,
# also where PYTHONDONTWRITEBYTECODE keeps Python from writing them itself (importing Great
# Expectations alone would compile about 2,000 modules on each run)
$(STAMP): pyproject.toml tools/pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	@touch $@

install: $(STAMP) ## Create .venv from uv.lock (done automatically by the other targets)

demo: $(STAMP) ## Main job: embedded warehouse, sample exports through Airflow, summary
	$(BIN)/ttw demo

lint: $(STAMP) ## ruff (Python) and sqlfluff (dbt SQL)
	$(BIN)/ruff check plugins tools dags tests
	$(BIN)/ruff format --check plugins tools dags tests
	cd dbt_project && ../$(BIN)/sqlfluff lint models tests macros

format: $(STAMP) ## Apply ruff and sqlfluff fixes
	$(BIN)/ruff check --fix plugins tools dags tests
	$(BIN)/ruff format plugins tools dags tests
	cd dbt_project && ../$(BIN)/sqlfluff fix models tests macros

test: lint ## Lint, then every test: unit, integration (embedded Postgres), DAGs (DagBag + dag.test)
	$(BIN)/pytest $(SPREAD)

test-marts: $(STAMP) ## The published marts as BI and evaluators read them: catalog, freshness, evaluation rules, deliverables (tests/marts)
	$(BIN)/pytest $(SPREAD) tests/marts

test-reliability: $(STAMP) ## Reliability and security suite: faults, hostile input, reruns (tests/reliability)
	$(BIN)/pytest $(SPREAD) tests/reliability

test-scheduler: $(STAMP) ## The DAGs under a real scheduler and API server (tests/scheduler)
	$(BIN)/pytest tests/scheduler

test-bi: $(STAMP) ## Superset with the dashboards, every chart's query and a screenshot (tests/bi)
	$(BIN)/pytest tests/bi

unit: $(STAMP) ## Unit tests only (no database)
	$(BIN)/pytest tests/unit

airflow: $(STAMP) ## Local Airflow (scheduler + UI on 127.0.0.1:$TTW_AIRFLOW_PORT, default 8080) until Ctrl-C
	$(BIN)/ttw local-airflow

bi: $(STAMP) ## Superset with the project's dashboards on 127.0.0.1:$TTW_BI_PORT (default 8088) until Ctrl-C
	$(BIN)/ttw bi

warehouse-stop: $(STAMP) ## Stop the embedded warehouse
	$(BIN)/ttw warehouse stop

clean: ## Stop the warehouse and remove .venv and .ttw
	-@[ -x $(BIN)/ttw ] && $(BIN)/ttw warehouse stop
	rm -rf $(VENV) $(TOOLS) .ttw
