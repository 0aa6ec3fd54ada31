# Cat Feeder. `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
ARGS   ?=

.DEFAULT_GOAL := help
.PHONY: help install install-runtime run test test-cluster soak lint fmt migrations-check settings-docs check-deploy bench lock screenshots ci clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# The virtualenv is brought up to date only when a requirements file changes. Two stamps:
# serving needs the runtime set alone; tests and tools add the development set (mypy, moto,
# playwright, ...), which includes the runtime one.
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check
$(BIN)/.installed-runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements.txt
	touch $@

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed ## Create .venv and install the pinned runtime and development dependencies

install-runtime: $(BIN)/.installed-runtime ## Create .venv and install the pinned runtime dependencies only

run: install-runtime ## Migrate, collect static files, then start web + worker + beat (+ embedded Redis): make run HOST=0.0.0.0 PORT=8080
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py collectstatic --no-input -v0
	exec $(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

test: install ## Run the whole test suite (ARGS="-k name" to pick tests)
	$(BIN)/python -m pytest $(ARGS)

soak: install ## The feeding chaos test at length: kill -9 the delivering worker 100 times (CHAOS_KILLS=N to change)
	CHAOS_KILLS=$${CHAOS_KILLS:-100} $(BIN)/python -m pytest tests/test_feeding_chaos.py -q $(ARGS)

# The many-hosts topology in network namespaces (tests/cluster/, root only): every scenario with the
# issue's 300 feeders; CI runs the short version (fewer feeders, three scenarios) inside `make test`.
test-cluster: install haproxy ## The many-hosts scenarios, all of them, 300 feeders (root; CLUSTER_FEEDERS=N to change)
	CATFEEDER_CLUSTER=full CLUSTER_FEEDERS=$${CLUSTER_FEEDERS:-300} $(BIN)/python -m pytest tests/cluster -q -s $(ARGS)

lint: install ## ruff (lint + format check), mypy and the layer contracts (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: install ## Format and auto-fix with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrations-check: install-runtime ## Fail if a model change has no migration
	$(BIN)/python manage.py makemigrations --check --dry-run

settings-docs: install-runtime ## Rewrite .env.example and the configuration tables from catfeeder/settings/variables.py
	$(BIN)/python manage.py settings --write-docs

check-deploy: install-runtime ## Django's deployment checks with production values: no warning allowed
	DJANGO_DEBUG=false DJANGO_SECRET_KEY=check-deploy-$$(head -c 48 /dev/urandom | base64 | tr -d '/+=') \
	DJANGO_ALLOWED_HOSTS=feeders.example.com $(BIN)/python manage.py check --deploy --fail-level WARNING

bench: install ## Run every benchmark in bench/ (each prints its figures)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt  # bench-only peers
	@set -e; for b in bench/*.py; do [ -e "$$b" ] || continue; echo "== $$b"; $(BIN)/python $$b; done

lock: install ## Re-pin requirements*.txt from requirements*.in
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links --annotation-style line -o requirements.txt requirements.in
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links --annotation-style line -o requirements-dev.txt requirements-dev.in

ci: ## What CI runs: tests on both paths, lint, types, migrations
	bash .ci/run

screenshots: install browser ## Refresh the README's pictures in docs/screenshots/ (tests write theirs under var/)
	SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest tests/test_web_browser.py -q $(ARGS)

clean: ## Remove .venv and var/ (the embedded database, Redis data, media, mail)
	rm -rf $(VENV) var

# $(call debian_package,BINARY,PACKAGE,WHAT FOR): Debian's PACKAGE, installed with apt (with sudo
# unless root) when BINARY is missing.
debian_package = @test -x $(1) || { \
	  echo "Installing Debian's $(2) package for $(3)"; \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(2); }

# --- Browser tests (apps.devreload): Debian's Chromium, driven by Playwright ----
# Playwright's own browser downloads are never used (`playwright install`):
# tests and benchmarks launch /usr/bin/chromium; `make test` and `make bench`
# install it when missing.
CHROMIUM := /usr/bin/chromium
.PHONY: browser
browser: ## Install Chromium (Debian's package) for the browser tests, if missing
	$(call debian_package,$(CHROMIUM),chromium,the browser tests)
test: browser
bench: browser
# --- end browser tests ---

# --- HAProxy (deploy/haproxy.cfg): Debian's package, checked by `haproxy -c` in the tests ----
# Only the binary is used; the package's own service is left as apt leaves it.
HAPROXY := /usr/sbin/haproxy
.PHONY: haproxy
haproxy: ## Install HAProxy (Debian's package) for the deployment files' test, if missing
	$(call debian_package,$(HAPROXY),haproxy,the deployment files' test)
test: haproxy
# --- end HAProxy ---
