"""The shipped CPU siblings: every ``*-cpu.toml`` under presets/ trains without error.

Files are found by glob, so a new ``-cpu`` preset or sweep is covered without editing
this file. A plain preset runs as is; a sweep runs its first and its last point. Each
run is shortened with ``train.steps`` and evaluates only at step 0 and at the last step.

The issue asks for "a few hundred steps" per sibling; with about thirty of them (two
points per sweep) on a 2-core machine, this file must stay within ~40 s of CPU, so the
runs are shorter: ``MLP_STEPS`` for the cheap MLPs, ``OTHER_STEPS`` for transformers
and recurrent models, and evaluate a sample of 1,024 test tuples (the K = 4 points
have 3e4 to 3e5). That every preset *validates* is checked in test_cli.py and
test_config.py.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from grok_tui.config import Preset, load_preset, with_overrides
from grok_tui.sweep import is_sweep_file, load_sweep
from tests.conftest import REPO
from tests.support.sinks import Collect

PRESETS = REPO / "presets"
CPU_FILES = sorted(PRESETS.rglob("*-cpu.toml"))
MLP_STEPS = 60
OTHER_STEPS = 20


def _cases() -> list[Any]:
    cases = []
    for path in CPU_FILES:
        rel = path.relative_to(PRESETS).as_posix()
        if is_sweep_file(path):
            cases.append(pytest.param(path, 0, id=f"{rel}:first"))
            if len(load_sweep(path).points()) > 1:
                cases.append(pytest.param(path, -1, id=f"{rel}:last"))
        else:
            cases.append(pytest.param(path, None, id=rel))
    return cases


def _preset(path: Path, point: int | None) -> Preset:
    if point is None:
        return load_preset(path)
    return load_sweep(path).points()[point].preset


def test_cpu_siblings_are_found():
    # The glob must see the siblings of every family, in presets/ and its sub-folders.
    names = {p.stem for p in CPU_FILES}
    assert {"t1-transformer-cpu", "t2-lstm-cpu", "t2-birnn-cpu", "nanda-p113-cpu"} <= names
    assert {"mlp-fraction-cpu", "power22-operations-cpu", "transformer-ksum-cpu"} <= names
    assert all(p.name.endswith("-cpu.toml") for p in CPU_FILES)


@pytest.mark.slow
@pytest.mark.parametrize(("path", "point"), _cases())
def test_cpu_sibling_trains_a_short_run(path: Path, point: int | None):
    from grok_tui.training.loop import train  # torch: imported only when a run is made

    preset = _preset(path, point)
    assert preset.train.device == "cpu", f"{path.name}: a -cpu sibling pins train.device = 'cpu'"
    assert preset.description.strip(), f"{path.name}: a -cpu sibling says what it changed"
    steps = MLP_STEPS if preset.model.type == "mlp" else OTHER_STEPS
    # a sample of the test set: evaluating a K = 4 task's whole test set twice costs more
    # than the steps (the sampling itself is tested in test_data.py)
    overrides = [("train.steps", steps), ("train.eval_every", steps), ("data.test_size", 1024)]
    short = with_overrides(preset, overrides)

    sink = Collect()
    summary = train(short, [sink])

    assert summary["status"] == "completed", summary.get("error")
    assert summary["step"] == steps
    assert [r["step"] for r in sink.records] == [0, steps]
    assert sink.info["n_train"] > 0 and 0 < sink.info["n_test"] <= 1024
    for record in sink.records:
        for key in ("train_loss", "test_loss", "param_norm"):
            assert math.isfinite(record[key]), (key, record)
        for key in ("train_acc", "test_acc"):
            assert 0.0 <= record[key] <= 1.0, (key, record)
    first, last = sink.records
    # The weights moved: the optimizer ran and its gradients were finite.
    assert last["grad_norm"] is not None and math.isfinite(last["grad_norm"])
    assert last["grad_norm"] > 0
    # (the norm itself may stay put: Omnigrok's constrained runs hold it fixed)
    assert last["train_loss"] != first["train_loss"]
    if not preset.train.constrain_norm:
        assert last["param_norm"] != first["param_norm"]
    else:
        assert last["param_norm"] == pytest.approx(first["param_norm"], rel=1e-4)
    assert last["lr"] > 0
