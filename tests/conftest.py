"""Shared fixtures: tiny presets that train in well under a second on a CPU."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

TINY_PRESET = """\
name = "tiny"
description = "a few dozen steps of an MLP on (x + y) mod 11"

[data]
operation = "add"
p = 11
train_fraction = 0.5
include_op_tokens = false

[model]
type = "mlp"
embed_dim = 16
widths = [32]

[optim]
name = "adamw"
lr = 3e-3

[train]
steps = 60
batch_size = 16
eval_every = 10
checkpoint_every = 20
seed = 0
device = "cpu"
"""


@pytest.fixture
def tiny_preset_path(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_PRESET)
    return path


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, each worker trains with one thread: two workers on two cores
    with two OpenMP threads each would spin at each other's barriers (5-10x slower)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        try:
            import torch
        except ImportError:  # pragma: no cover
            return
        torch.set_num_threads(1)


# What starts a process of the product: a trainer (real or the tests' fake), a sweep, the
# queue runner, a terminal. launch.py is the only module that does (test_contracts).
PROCESS_STARTERS = ("spawn", "spawn_on_terminal", "run_command", "query_gpu")


@pytest.fixture(autouse=True)
def _processes_belong_to_the_slow_tier(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tiers by behaviour: a test that starts a process (a fake trainer is a process too)
    is in the slow tier, whatever its speed on a quiet machine; in the quick tier the
    process starters fail the test and say so."""
    if request.node.get_closest_marker("slow") or request.node.get_closest_marker("gpu"):
        return
    from grok_tui.rundirs import launch

    def refuse(name: str) -> object:
        def starter(*args: object, **kwargs: object) -> None:
            pytest.fail(
                f"{request.node.nodeid} starts a process (launch.{name}): mark it slow",
                pytrace=False,
            )

        return starter

    for name in PROCESS_STARTERS:
        monkeypatch.setattr(launch, name, refuse(name))
