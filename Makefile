# Two commands matter: `make demo` and `make test`. Both build the venv, start the local stack and seed it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STACK_ENV := .local/stack.env
WITH_STACK := set -a && . $(STACK_ENV) && set +a &&
# The Dagster UI's port for `make dev` and `make ui-check` (export it to run both at once, or two checkouts).
ECOM_DAGSTER_PORT ?= 3000

.PHONY: install constraints stack-up stack-down stack-status seed demo test lint dev validate \
	bench bench-bronze bench-product-uploads bench-energy-series bench-metric-imports bench-lambda-executor \
	bench-lambda-executor-width bench-dynamic-partitions bench-sensors cdk-synth ui-check

# constraints.txt pins every version; the Lambda/ECS image installs from the same file.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# After changing dependencies in pyproject.toml: resolve them afresh and pin the result.
constraints:
	rm -rf .venv-resolve && $(PYTHON) -m venv .venv-resolve && .venv-resolve/bin/pip install --quiet -e '.[dev]'
	{ sed -n '1,2p' constraints.txt; .venv-resolve/bin/pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt && rm -rf .venv-resolve

stack-up: install
	$(PY) -m deploy.local.stack up
	$(WITH_STACK) $(PY) -m deploy.local.lambda_functions
	$(WITH_STACK) $(PY) -m deploy.instance.pools

stack-down:
	@if [ -x $(PY) ]; then $(PY) -m deploy.local.stack down; else echo "no venv, nothing to stop"; fi

stack-status: install
	$(PY) -m deploy.local.stack status

seed: stack-up
	$(WITH_STACK) $(PY) -m deploy.local.sources seed

demo: seed
	$(WITH_STACK) $(PY) -m deploy.local.demo

test: seed
	$(WITH_STACK) $(PY) -m pytest

# Style, then the layering of docs/ARCHITECTURE.md: import contracts (pyproject.toml) and private Dagster imports.
lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	@if git grep -nE '^\s*(from|import) dagster\._' -- ecom_pipeline assets resources sensors \
		':!ecom_pipeline/lambda_executor' ':!assets/partitions.py'; then \
		echo "private Dagster imports belong only in ecom_pipeline/lambda_executor/ and assets/partitions.py"; exit 1; fi

validate: stack-up
	$(WITH_STACK) $(VENV)/bin/dagster definitions validate -w workspace.yaml

# `ECOM_STEP_EXECUTOR=lambda make dev`: every run (sensor, schedule, backfill) runs its steps as invocations of
# the local step functions, which stack-up (re)creates with the same ECOM_STEP_EXECUTOR.
dev: seed
	$(WITH_STACK) $(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(ECOM_DAGSTER_PORT)

# The user's tasks clicked through the Dagster UI by a headless Chromium (Debian's chromium and chromium-driver,
# installed when missing), with `dagster dev` on ECOM_DAGSTER_PORT; one screenshot per task in .local/ui-check/.
ui-check: seed
	$(WITH_STACK) ECOM_DAGSTER_PORT=$(ECOM_DAGSTER_PORT) $(PY) -m deploy.local.ui_check

# Every pipeline benchmark, 3 rounds each, then one table (also .local/bench/<timestamp>.json): bench/__main__.py.
bench: seed
	$(WITH_STACK) $(PY) -m bench

bench-bronze: stack-up
	$(WITH_STACK) $(PY) -m bench.bronze --rows 1000000

bench-product-uploads: stack-up
	$(WITH_STACK) $(PY) -m bench.product_uploads --rows 100000 --repeat 3

bench-metric-imports: seed
	$(WITH_STACK) $(PY) -m bench.metric_imports --files 200 --records 5000 --repeat 3

bench-energy-series: stack-up
	$(WITH_STACK) $(PY) -m bench.energy_series

bench-lambda-executor: stack-up
	$(WITH_STACK) $(PY) -m bench.lambda_executor

# 100 steps fanned out from one op: Lambda executor at max_concurrent 10 and 50, multiprocess at 10.
bench-lambda-executor-width: stack-up
	$(WITH_STACK) $(PY) -m bench.lambda_executor_width

bench-dynamic-partitions: seed
	$(WITH_STACK) $(PY) -m bench.dynamic_partitions --sizes 1000 100000

# Tick time of metric_imports_sensor, the hourly sweep and energy_series_sensor at 1k, 10k and 100k objects.
bench-sensors: stack-up
	$(WITH_STACK) $(PY) -m bench.sensors

cdk-synth: install
	cd deploy/cdk && JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1 CDK_OUTDIR=$(CURDIR)/cdk.out \
	CDK_CONTEXT_JSON='{"environment":"dev","environmentSuffix":"dev","influxdbUrl":"https://influxdb.example.com:8086","paymentsApiUrl":"https://api.example.com/payments","shipmentsApiUrl":"https://api.example.com/shipments","webserverCertificateArn":"arn:aws:acm:us-east-1:123456789012:certificate/example","webserverAllowedCidr":"10.0.0.0/8","oidcIssuer":"https://login.example.com","oidcAuthorizationEndpoint":"https://login.example.com/authorize","oidcTokenEndpoint":"https://login.example.com/token","oidcUserInfoEndpoint":"https://login.example.com/userinfo","oidcClientId":"dagster-ui","oidcClientSecretName":"ecom/dagster-ui/oidc-client-secret"}' \
	$(CURDIR)/$(PY) app.py
