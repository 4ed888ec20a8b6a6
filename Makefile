# Quick start: `make demo` (the main job) and `make test` (ruff, mypy, pytest). Both create .venv if missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test docs lint typecheck pytest bench clean lock
LINTED := carbonrisk models finance portfolios tests benchmarks docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Dependencies from the lock file (exact versions), then carbonrisk itself (editable, no dependency resolution).
$(STAMP): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Re-resolve the dependency set from pyproject.toml in a scratch environment and write requirements.lock.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet -e ".[dev]"
	head -3 requirements.lock > requirements.lock.new
	.venv-lock/bin/python -m pip freeze --exclude-editable >> requirements.lock.new
	mv requirements.lock.new requirements.lock && rm -rf .venv-lock

demo: $(STAMP)
	$(BIN)/carbonrisk demo

test: typecheck
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/python -m pytest

# mypy follows import names, and setuptools' package-dir is invisible to it: .mypy_tree/carbonrisk links the facade's
# files and the three folders under the one import name (carbonrisk.models -> models/, ...).
typecheck: $(STAMP)
	rm -rf .mypy_tree && mkdir -p .mypy_tree/carbonrisk
	for f in carbonrisk/*.py carbonrisk/py.typed; do ln -s ../../$$f .mypy_tree/carbonrisk/; done
	for p in models finance portfolios; do ln -s ../../$$p .mypy_tree/carbonrisk/$$p; done
	$(BIN)/mypy

# The documentation site (offline: MathJax is vendored), warnings are errors; also built by the test suite.
docs: $(STAMP)
	$(BIN)/python -m sphinx -E -W --keep-going -b html docs docs/_build/html

bench: $(STAMP)
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) carbonrisk-demo .pytest_cache .mypy_cache .mypy_tree .ruff_cache docs/_build docs/reference/generated docs/evidence/generated
