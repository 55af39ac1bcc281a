# Two commands do all set-up: `make run` (the TUI on the quickstart) and `make test`.
# Each creates .venv when missing: `make run` installs the package with the analysis extra,
# `make test` adds the dev extra (test and lint tools, Ray) to the same .venv, each
# remembered by a stamp of its own. torch is installed first and on its own so that
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

# Two tiers. `make test` is the quick one: no test that starts a process (a trainer, real
# or the tests' fake, a sweep, the queue runner, Ray or a terminal: tests/conftest.py fails
# a quick test that does), and none that takes 5 s or more on an idle 2-core machine.
# `make test-slow` runs those (marked `slow`). CI (.ci/run) runs both.
# Where Python is told not to write bytecode (PYTHONDONTWRITEBYTECODE, as on the CI
# machines), every worker would compile every module, and rewrite every test module's
# asserts, on every run (~7 CPU-s each): the test targets let Python write them (to
# __pycache__, which git ignores), so that from the second run on collection takes half.
PYTEST := env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup
FAST := -m "not gpu and not slow"
SLOW := -m "slow and not gpu"

.PHONY: run test test-slow test-lowest lint bench gpu-check clean-venv

# Recent pip shows the build backend's warnings even with -q. The install has none
# (pyproject.toml), but setuptools adds a note to every editable install of a package
# that is not under src/ ("Editable installation. Please be careful with folders in your
# working directory..."): left out, by its text; any other warning still shows.
EDITABLE := env PYTHONWARNINGS="ignore:Editable installation"

# The TUI and headless runs, with the analysis extra: all that `make run` needs.
$(VENV)/.base: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q $(TORCH_INDEX) "$(TORCH_SPEC)"
	$(EDITABLE) $(PY) -m pip install -q -e ".[analysis]"
	touch $@

# ... and the dev extra, for the tests (torch and the base are kept as they are).
$(VENV)/.dev: $(VENV)/.base
	$(EDITABLE) $(PY) -m pip install -q -e ".[dev,analysis,serve]"
	touch $@

run: $(VENV)/.base
	$(VENV)/bin/grok-tui

lint: $(VENV)/.dev
	$(PY) -m ruff check grok_tui tests
	$(PY) -m ruff format --check grok_tui tests
	$(VENV)/bin/lint-imports

test: lint
	$(PYTEST) $(FAST)

test-slow: $(VENV)/.dev
	$(PYTEST) $(SLOW)

# The lowest versions that pyproject.toml allows (tests/lowest.txt, which a unit test keeps
# equal to its bounds) in a venv of their own, made anew (nothing of .venv leaks in), with
# torch installed first as above; then a smoke subset: the app imports, a headless run,
# Pilot tests that open every screen, History and Compare, and the TUI's exit status.
# CI runs it after the two tiers (56-72 s on a 2-core machine, idle or busy). --no-compile:
# pip would byte-compile all of torch (a minute); Python compiles what is imported.
LOWEST_VENV ?= build/lowest-venv
LOWEST_PY := $(LOWEST_VENV)/bin/python
LOWEST_TESTS := tests/tui/test_exit_code.py tests/unit/test_config.py \
	tests/unit/test_sweep_stats.py \
	tests/tui/test_tui_app.py::test_every_screen_renders_at_80x24_with_help_and_palette \
	tests/tui/test_tui_app.py::test_history_filters_sorts_marks_and_compares
test-lowest:
	rm -rf $(LOWEST_VENV)
	$(PYTHON) -m venv $(LOWEST_VENV)
	$(LOWEST_PY) -m pip install -q --upgrade pip
	$(LOWEST_PY) -m pip install -q --no-compile $(TORCH_INDEX) "$(TORCH_SPEC)"
	$(LOWEST_PY) -m pip install -q --no-compile -r tests/lowest.txt "pytest>=8" "pytest-timeout>=2.3"
	$(EDITABLE) $(LOWEST_PY) -m pip install -q --no-compile --no-deps -e .
	$(LOWEST_PY) -m pip check
	$(LOWEST_PY) -m pip list --format=freeze | grep -iE '^(torch|numpy|pydantic|textual|rich|textual-plotext|plotext|tomli[-_]w)=='
	env -u PYTHONDONTWRITEBYTECODE $(LOWEST_PY) -c "import grok_tui.tui.app"
	env -u PYTHONDONTWRITEBYTECODE $(LOWEST_VENV)/bin/grok-tui --run presets/quickstart.toml \
		--set train.steps=20 --runs-dir $(LOWEST_VENV)/runs
	env -u PYTHONDONTWRITEBYTECODE $(LOWEST_PY) -m pytest -q -p no:cacheprovider $(LOWEST_TESTS)
	rm -rf $(LOWEST_VENV)

bench: $(VENV)/.base
	$(VENV)/bin/grok-tui bench

# On a GPU box (nvidia-smi present, so `make` installs the CUDA build of torch): the GPU
# tests, the bench on CUDA, the quickstart to grok and the default transformer's speed,
# in gpu-check/report.md and report.json. Exits 2 at once where there is no CUDA.
gpu-check: $(VENV)/.dev
	$(VENV)/bin/grok-tui gpu-check --out gpu-check

clean-venv:
	rm -rf $(VENV) $(LOWEST_VENV)
