"""runner.resume: the one road from a stopped run back to training (the cli's resume and
a Ray worker's point take it): load, move to the device asked for, check it, train."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grok_tui.config import load_preset
from grok_tui.errors import UserError
from grok_tui.rundirs import store
from grok_tui.training import runner


def test_resume_loads_moves_checks_then_trains(
    tiny_preset_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = store.create_run(load_preset(tiny_preset_path), tmp_path / "runs")
    frozen = run.preset_path.read_bytes()
    seen: list[Any] = []

    def execute(preset: Any, run_dir: store.RunDir, **kwargs: Any) -> tuple[int, dict]:
        seen.append(("execute", preset.train.device, kwargs["restart"], kwargs["device"]))
        return 0, {"status": "completed"}

    monkeypatch.setattr(runner, "execute", execute)
    ready = lambda preset, checkpoint: seen.append(("ready", checkpoint))  # noqa: E731
    with runner.claim(run):
        code, summary = runner.resume(run, device="cpu", on_ready=ready)
    assert (code, summary["status"]) == (0, "completed")
    assert seen == [("ready", None), ("execute", "cpu", True, "cpu")]
    assert run.preset_path.read_bytes() == frozen  # where it trains, not what it trains


def test_resume_raises_before_training_what_cannot_be_resumed(
    tiny_preset_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = store.create_run(load_preset(tiny_preset_path), tmp_path / "runs")
    monkeypatch.setattr(runner, "execute", lambda *a, **k: pytest.fail("trained"))
    store.update_summary(run.path, status="completed")
    with runner.claim(run), pytest.raises(UserError, match="already completed"):
        runner.resume(run)
    store.update_summary(run.path, status="stopped")
    with runner.claim(run), pytest.raises(UserError, match="cuda:7"):
        runner.resume(run, device="cuda:7", on_ready=lambda *a: pytest.fail("ready"))


def test_one_mapping_of_outcomes_to_exit_codes() -> None:
    assert runner.end_code("completed") == 0
    assert runner.end_code("stopped", 143) == 143 and runner.end_code("stopped") == 130
    assert runner.end_code("diverged") == runner.end_code("failed") == 1
    oom = type("OutOfMemoryError", (RuntimeError,), {})("CUDA out of memory")
    assert runner.failure(oom, lambda exc: "smaller") == (1, "smaller", False)
    assert runner.failure(UserError("no CUDA"), str)[:2] == (2, "no CUDA")
    assert runner.failure(OSError(28, "No space left on device"), str)[0] == 1
    assert runner.failure(ValueError("bug"), str) == (1, "ValueError: bug", True)
