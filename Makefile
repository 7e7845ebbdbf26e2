# orderflow: every target sets itself up. `make run` and `make test` work on a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ORDERFLOW := $(BIN)/orderflow
PACKAGES := $(sort $(dir $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)))
STAMP := $(VENV)/.installed
SRC_DIRS := $(wildcard libs/*/src services/*/src)
EMPTY :=
SPACE := $(EMPTY) $(EMPTY)
# Checkers built from their Go modules (pinned), into .tools/bin.
TOOLS := $(CURDIR)/.tools/bin
PROMTOOL_VERSION := v0.316.0
PROMTOOL := $(TOOLS)/promtool
HELM_VERSION := v4.3.2
HELM := $(TOOLS)/helm
# KEDA's ScaledObject CRD and the Compose spec's JSON Schema, from their Go modules
# (versions in libs/cli/src/orderflow_cli/deploy_check.py).
DEPLOY_SCHEMAS := $(CURDIR)/.tools/schemas/.fetched

.PHONY: help setup tools run test test-unit test-integration test-chaos test-chaos-fast lint fmt schemas docs infra-up infra-down bench bench-quick soak clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): constraints.txt requirements-dev.txt $(addsuffix pyproject.toml,$(PACKAGES))
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "orderflow needs Python 3.11+")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip install -q --python $(BIN)/python -c constraints.txt \
		-r requirements-dev.txt $(addprefix -e ,$(PACKAGES))
	@touch $@

setup: $(STAMP) ## create .venv and install every package, editable (idempotent)

# promtool (Prometheus's rule checker): about 5 minutes the first time on 2 cores, then
# kept in .tools/bin (and Go's module cache).
$(PROMTOOL):
	@command -v go > /dev/null || { echo "building promtool needs Go (go.dev/dl)"; exit 1; }
	GOBIN=$(TOOLS) GOFLAGS=-mod=mod go install \
		github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION)

# helm (renders the chart for the deploy check): several minutes the first time too.
$(HELM):
	@command -v go > /dev/null || { echo "building helm needs Go (go.dev/dl)"; exit 1; }
	GOBIN=$(TOOLS) GOFLAGS=-mod=mod go install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)

$(DEPLOY_SCHEMAS): $(STAMP) libs/cli/src/orderflow_cli/deploy_check.py
	$(BIN)/python -m orderflow_cli.deploy_check fetch-schemas
	@touch $@

tools: $(PROMTOOL) $(HELM) $(DEPLOY_SCHEMAS) ## build the checkers (promtool, helm) into .tools/bin, fetch the deploy schemas

run: setup ## start the stack and every service, run a demo, serve until Ctrl-C
	$(ORDERFLOW) run

lint: setup tools ## ruff, mypy --strict, contract/doc drift, alert rules, compose and Kubernetes manifests
	$(BIN)/python -m orderflow_contracts.compat --history
	$(BIN)/python -m orderflow_contracts.schema_export check
	$(BIN)/python -m orderflow_contracts.examples check
	$(ORDERFLOW) docs check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	MYPYPATH=$(subst $(SPACE),:,$(SRC_DIRS)) $(BIN)/mypy $(SRC_DIRS)
	$(PROMTOOL) check rules deploy/prometheus/alerts.yml
	$(BIN)/python -m orderflow_cli.deploy_check

schemas: setup ## regenerate schemas/ (JSON Schema + golden examples) and the generated docs
	$(BIN)/python -m orderflow_contracts.schema_export write
	$(BIN)/python -m orderflow_contracts.examples write
	$(ORDERFLOW) docs write

docs: schemas ## alias of `schemas` (event catalogue, AsyncAPI, OpenAPI)

fmt: setup ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test-unit: setup ## unit tests only (no broker, no database)
	$(BIN)/pytest -q -m "not integration and not chaos" libs services tests

# Integration tests need the real stack: start it when none is up, stop only what we started.
test-integration: setup tools ## integration + end-to-end tests on the real Kafka and PostgreSQL
	@started=0; \
	if [ -z "$$KAFKA_BOOTSTRAP_SERVERS" ] && ! $(ORDERFLOW) status --quiet --infra-only; then \
			$(ORDERFLOW) up --infra-only || exit 1; started=1; \
	fi; \
	ORDERFLOW_REQUIRE_STACK=1 $(BIN)/pytest -q -m "integration and not chaos" libs services tests; rc=$$?; \
	if [ $$started = 1 ]; then $(ORDERFLOW) down; fi; \
	exit $$rc

# Chaos: each run starts a private cluster of its own (own ORDERFLOW_HOME and ports
# 19092/19093/15432/18001-18007), never the stack above; starts nothing itself.
# The fault scenarios quick enough for every CI run (about 4-5 min): on their own private cluster.
test-chaos-fast: setup ## fast subset of the fault suite (kills, duplicates + rewind, SIGTERM mid-handler, poison matrix)
	$(BIN)/pytest -q -m chaos_fast tests/chaos

test-chaos: setup ## every fault scenario on a private cluster (tests/chaos, about 25 min; must stay under 60)
	$(BIN)/pytest -q -m chaos tests/chaos

test: lint test-unit test-integration test-chaos-fast ## lint, unit, integration, fast fault subset (what CI runs)

# Benchmarks measure speed; tests never do. They start what is not running (and stop
# only that): the outbox latency at idle, the ceilings, open-loop load steps through the
# Kafka door (orders.inbound) and checkout's HTTP API, then a burst through the door.
# Keep in step with FULL and QUICK in libs/cli/src/orderflow_cli/commands/bench.py.
BENCH_MODE ?= both
BENCH_RATES ?= 50,100,200,300,400,600,800,1000,1200,1500
BENCH_HTTP_RATES ?= 25,50,100,200,300,400,600,800,1000,1200
BENCH_BURST ?= 5000
QUICK_RATES ?= 50,200
QUICK_HTTP_RATES ?= 25,50
QUICK_BURST ?= 500
define with_stack
	@started=0; \
	if ! $(ORDERFLOW) status --quiet --infra-only; then started=1; fi; \
	$(ORDERFLOW) up > /dev/null || exit 1; \
	$(1); rc=$$?; \
	if [ $$started = 1 ]; then $(ORDERFLOW) down; fi; \
	exit $$rc
endef

bench: setup ## full benchmark: outbox latency, ceilings, Kafka-door and HTTP load at rising rates, a burst (bench/results/)
	$(call with_stack,$(BIN)/python bench/outbox_latency.py --rows 200 && $(BIN)/python -m bench.run --mode $(BENCH_MODE) --rates $(BENCH_RATES) --http-rates $(BENCH_HTTP_RATES) --seconds 20 --burst $(BENCH_BURST) --burst-timeout 300)

bench-quick: setup ## a smaller benchmark (under 5 minutes)
	$(call with_stack,$(BIN)/python bench/outbox_latency.py --rows 100 && $(BIN)/python -m bench.run --mode $(BENCH_MODE) --rates $(QUICK_RATES) --http-rates $(QUICK_HTTP_RATES) --seconds 10 --kafka-messages 20000 --burst $(QUICK_BURST) --burst-timeout 60)

# Tracing's cost: the burst (and a 200/s step) alternately with tracing off and on (OTLP
# to a stand-in collector, the default 5% sampling), ABBA order (bench/tracing_ab.py).
# Twin stacks of its own (.orderflow-twin-a/-b, ports 22xxx/23xxx), stopped at the end.
bench-tracing: setup ## tracing off vs on at the same time on twin stacks, arms swapped each round (bench/results/tracing_ab.json)
	$(BIN)/python -m bench.tracing_ab --rounds 6 --burst 2000

# The soak runs on a stack of its own (.orderflow-soak, the default ports: stop the dev
# stack first) whose topics keep records 2 minutes and whose services prune outbox and
# inbox rows after 150 s, so that the tables reach their bound within the run.
SOAK_RATE ?= 80
SOAK_HOME := $(CURDIR)/.orderflow-soak
SOAK_ENV := ORDERFLOW_HOME=$(SOAK_HOME) ORDERFLOW_KAFKA_RETENTION_MS=120000 \
	ORDERFLOW_KAFKA_SEGMENT_MS=20000 ORDERFLOW_KAFKA_RETENTION_CHECK_MS=10000 \
	RETENTION_MESSAGES_S=150 RETENTION_INTERVAL_S=10
soak: setup ## 10 min at SOAK_RATE (80/s) through the Kafka door, 60 s at twice that, drain (bench/results/soak.*)
	@if $(ORDERFLOW) status --quiet --infra-only; then \
		echo "the dev stack is up: stop it (orderflow down); the soak runs its own"; exit 1; fi
	rm -rf $(SOAK_HOME)
	@$(SOAK_ENV) $(ORDERFLOW) up > /dev/null || exit 1; \
	$(SOAK_ENV) $(BIN)/python -m bench.soak --rate $(SOAK_RATE); rc=$$?; \
	$(SOAK_ENV) $(ORDERFLOW) verify || rc=1; \
	$(SOAK_ENV) $(ORDERFLOW) down; exit $$rc

infra-up: setup ## start Kafka + PostgreSQL in the background
	$(ORDERFLOW) up --infra-only

infra-down: setup ## stop everything `infra-up` started
	$(ORDERFLOW) down

clean: ## stop the stack and remove .venv and .orderflow
	-test -x $(ORDERFLOW) && $(ORDERFLOW) down
	rm -rf $(VENV) .orderflow
