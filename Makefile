# Everything a fresh machine with Python 3.11 and pip needs; the venv is built on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install web system-packages run run-ha test lint format proto bench eval-motion lock clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

WEB := gateway/web
WEB_STAMP := $(WEB)/node_modules/.installed

$(WEB_STAMP): $(WEB)/package.json $(WEB)/package-lock.json
	@command -v npm >/dev/null || bash deploy/system_packages.sh
	cd $(WEB) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(WEB_STAMP)

install: $(STAMP) $(WEB_STAMP)  ## Create .venv and install the pinned dependencies (Python and the dashboard's)

web: $(WEB_STAMP)  ## The dashboard's pinned browser libraries (uPlot; axe-core for its tests), from npm

run: install  ## Start 2 user + 2 activity instances and the gateway on embedded stores
	$(BIN)/python -m deploy.local

run-ha: install system-packages  ## The HA topology: Redis Cluster, PostgreSQL formation, 2 gateways
	$(BIN)/python -m deploy.local --ha

system-packages:  ## Debian's redis-server 7 and pg_auto_failover, installed when missing (as root)
	bash deploy/system_packages.sh

test: install system-packages lint  ## Lint, type-check, then run every test suite
	$(BIN)/pytest

lint: install  ## Ruff and mypy, as configured in pyproject.toml
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

proto: install  ## Regenerate the protobuf/gRPC code from proto/
	$(BIN)/python proto/generate.py

bench: install  ## Run the benchmarks and print the results
	$(BIN)/python -m bench.gateway_hop
	$(BIN)/python -m bench.logins
	$(BIN)/python -m bench.fanout
	$(BIN)/python -m bench.cache
	$(BIN)/python -m bench.watch_logs
	$(BIN)/python -m bench.motion
	$(BIN)/python -m bench.etl
	$(BIN)/python -m bench.health
	$(BIN)/python -m bench.dashboard

eval-motion: install  ## Motion classifier accuracy on stm32-har and UCI HAPT (fetched with pip into .run/datasets), offline and replayed through the platform
	$(BIN)/python -m bench.motion_eval --replay

lock: install  ## Re-pin the dependencies after changing pyproject.toml
	$(BIN)/pip freeze --exclude-editable | grep -v '^fitness-goal-tracker' > requirements.lock

clean:
	rm -rf $(VENV) $(WEB)/node_modules .run .run-ha .pytest_cache .mypy_cache .ruff_cache
