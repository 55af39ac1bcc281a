# Two commands do all set-up: `make run` (the TUI on the quickstart) and `make test`.
# Each creates .venv when missing. torch is installed first and on its own so that
# pip never replaces it: a box with an NVIDIA driver gets the default (CUDA) build from
# PyPI, a CPU-only box gets torch==2.13.0 (the CPU build when a local wheel or
# TORCH_INDEX_URL provides one, e.g. TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HAS_GPU := $(shell command -v nvidia-smi >/dev/null 2>&1 && echo yes)
TORCH_SPEC ?= $(if $(HAS_GPU),torch>=2.2,torch==2.13.0)
TORCH_INDEX_URL ?=
TORCH_INDEX := $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL),)
# Test processes (pytest-xdist), each training with one thread (conftest.py). Four
# (measured on an idle 2-core machine, when the suite was one tier) slow the Ray tests
# 3-20x, to within reach of their time limits. --dist loadgroup keeps each module
# whose fixture trains (xdist_group) on one worker, so that the fixture trains once.
TEST_WORKERS ?= 2

# Two tiers. `make test` is the quick one: no test that starts a real training process,
# sweep, Ray cluster or terminal, and none that takes 5 s or more on an idle 2-core
# machine. `make test-slow` runs those (marked `slow`). CI (.ci/run) runs both.
# Where Python is told not to write bytecode (PYTHONDONTWRITEBYTECODE, as on the CI
# machines), every worker would compile every module, and rewrite every test module's
# asserts, on every run (~7 CPU-s each): the test targets let Python write them (to
# __pycache__, which git ignores), so that from the second run on collection takes half.
PYTEST := env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup
FAST := -m "not gpu and not slow"
SLOW := -m "slow and not gpu"

.PHONY: run test test-slow lint bench gpu-check clean-venv

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q $(TORCH_INDEX) "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[dev,analysis]"
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/grok-tui

lint: $(VENV)/.installed
	$(PY) -m ruff check grok_tui tests
	$(PY) -m ruff format --check grok_tui tests
	$(VENV)/bin/lint-imports

test: lint
	$(PYTEST) $(FAST)

test-slow: $(VENV)/.installed
	$(PYTEST) $(SLOW)

bench: $(VENV)/.installed
	$(VENV)/bin/grok-tui bench

# On a GPU box (nvidia-smi present, so `make` installs the CUDA build of torch): the GPU
# tests, the bench on CUDA, the quickstart to grok and the default transformer's speed,
# in gpu-check/report.md and report.json. Exits 2 at once where there is no CUDA.
gpu-check: $(VENV)/.installed
	$(VENV)/bin/grok-tui gpu-check --out gpu-check

clean-venv:
	rm -rf $(VENV)
