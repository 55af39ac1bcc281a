"""`grok-tui run` to its first step: torch's import and little else (issue 34, item 4).

No torch._dynamo (an import as long as torch's own) on the way, no wait for a load
window before the first step, nothing of the TUI, the analysis or a cluster imported
by a headless run; the breakdown `grok-tui bench --startup-run` prints."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings

import pytest
import torch

from grok_tui.bench import run_startup
from grok_tui.rundirs import threads
from grok_tui.training.optim import step_optimizer
from tests.conftest import REPO, TINY_PRESET

# What a headless run must not import (the TUI, plots, a cluster, tables, dynamo).
NOT_IMPORTED = ("textual", "matplotlib", "ray", "sklearn", "pandas", "plotext", "torch._dynamo")
REAL_SLEEP = time.sleep  # the test of look_ahead replaces time.sleep


def _train(kind: str, use_step_optimizer: bool) -> list[torch.Tensor]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    optimizer = {
        "adamw": lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=1.0, fused=True),
        "sgd": lambda p: torch.optim.SGD(p, lr=1e-2, momentum=0.9, foreach=True),
        "nadam": lambda p: torch.optim.NAdam(p, lr=1e-2, foreach=True),
    }[kind](list(model.parameters()))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: min(1.0, (i + 1) / 5))
    x, y = torch.randn(32, 8), torch.randint(0, 4, (32,))
    for _ in range(12):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        if use_step_optimizer:
            step_optimizer(optimizer)
        else:
            optimizer.step()
        schedule.step()
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("kind", ["adamw", "sgd", "nadam"])
def test_the_step_round_torchs_wrapper_is_the_same_arithmetic(kind):
    """step_optimizer skips the wrapper that imports torch._dynamo: the weights are
    bit-identical, and the LR scheduler does not warn that the optimizer never stepped."""
    expected = _train(kind, use_step_optimizer=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = _train(kind, use_step_optimizer=True)
    assert all(torch.equal(a, b) for a, b in zip(expected, got, strict=True))


def test_a_step_hook_gets_torchs_own_step():
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    called = []
    optimizer.register_step_post_hook(lambda *_: called.append(1))
    model(torch.ones(1, 2)).sum().backward()
    step_optimizer(optimizer)
    assert called == [1]


def test_the_load_window_looked_at_before_torchs_import_spares_the_wait(tmp_path, monkeypatch):
    """look_ahead (before torch's import) starts the window the choice before the first
    step needs: on_start does not sleep for one. Another folder's look is not used."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    slept: list[float] = []
    monkeypatch.setattr(threads.time, "sleep", slept.append)
    info = {"device": "cpu", "param_count": 156_000, "batch_size": 512}

    def share(folder):
        return threads.ThreadShare(folder, apply=lambda n: None, current=lambda: 1)

    threads.look_ahead(tmp_path / "runs")
    REAL_SLEEP(threads.FIRST_LOOK_S + 0.05)  # as torch's import takes its seconds
    ahead = share(tmp_path / "runs")
    ahead.on_start(info)
    assert slept == [] and ahead.choice is not None and ahead.choice["n"] >= 1
    threads.look_ahead(tmp_path / "elsewhere")
    fresh = share(tmp_path / "runs")  # none ahead for this folder now: it waits
    fresh.on_start(info)
    assert len(slept) == 1 and 0 < slept[0] <= threads.FIRST_LOOK_S


def test_the_breakdown_orders_the_marks_and_says_the_rest_beside_torchs_import():
    marks = {
        "first training step": (2.6, 2.2),
        "interpreter ready": (0.05, 0.03),
        "torch import begins": (0.4, 0.3),
        "torch imported": (2.3, 2.0),
    }
    rows = run_startup.breakdown(marks)
    assert [r[0] for r in rows] == [
        "interpreter ready",
        "torch import begins",
        "torch imported",
        "first training step",
    ]
    assert rows[2][2] == pytest.approx(1.9) and rows[2][3] == pytest.approx(1.7)
    said = run_startup.verdict(marks, alone=(2.2, 1.9))
    assert said["rest_s"] == pytest.approx(0.4) and said["rest_cpu_s"] == pytest.approx(0.3)
    assert said["torch_in_run_s"] == pytest.approx(1.9) and said["dynamo_imported"] == 0.0
    text = run_startup.format_breakdown(rows)
    assert "first training step" in text.splitlines()[-1] and "2.600" in text


@pytest.mark.slow
def test_a_headless_run_imports_neither_the_tui_nor_dynamo(tmp_path):
    """`grok-tui run PRESET` in a fresh interpreter: what it imported by its end."""
    preset = tmp_path / "tiny.toml"
    preset.write_text(TINY_PRESET.replace("steps = 60", "steps = 2"))
    out = tmp_path / "modules.json"
    code = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: json.dump(sorted(sys.modules), open({str(out)!r}, 'w')))\n"
        "from grok_tui.cli import main\n"
        f"sys.exit(main(['run', {str(preset)!r}, '--runs-dir', {str(tmp_path / 'runs')!r}]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    modules = set(json.loads(out.read_text()))
    assert "grok_tui.training.loop" in modules  # it trained
    assert [m for m in sorted(modules) if m.startswith(NOT_IMPORTED)] == []
    assert not any(m.startswith(("grok_tui.tui.app", "grok_tui.analysis")) for m in modules)


@pytest.mark.slow
def test_the_startup_run_bench_prints_its_breakdown(capsys):
    from grok_tui import cli

    assert cli.main(["bench", "--startup-run", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    for mark in ["interpreter ready", "grok_tui.cli imported", "torch imported", "data built"]:
        assert mark in out
    last = out.strip().splitlines()[-1]
    assert last.startswith("first step at ") and "the rest" in last and "?" not in last
