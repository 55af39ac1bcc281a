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
# Test processes (pytest-xdist), each training with one thread (conftest.py). Two leave
# the cores idle a quarter of the time, but four, measured on an idle 2-core machine
# (9 min 51 s -> 7 min 47 s), slow the Ray tests 3-20x, to within reach of their time
# limits. --dist loadgroup keeps each module whose fixture trains (xdist_group) on one
# worker, so that the fixture trains once: 2 workers then take 7 min 50 s (9 min 51 s
# without), on the same idle machine.
TEST_WORKERS ?= 2

.PHONY: run test lint bench gpu-check clean-venv

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q $(TORCH_INDEX) "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[dev,analysis]"
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/grok-tui

test: $(VENV)/.installed
	$(PY) -m ruff check grok_tui tests
	$(PY) -m ruff format --check grok_tui tests
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup

bench: $(VENV)/.installed
	$(VENV)/bin/grok-tui bench

# On a GPU box (nvidia-smi present, so `make` installs the CUDA build of torch): the GPU
# tests, the bench on CUDA, the quickstart to grok and the default transformer's speed,
# in gpu-check/report.md and report.json. Exits 2 at once where there is no CUDA.
gpu-check: $(VENV)/.installed
	$(VENV)/bin/grok-tui gpu-check --out gpu-check

clean-venv:
	rm -rf $(VENV)
