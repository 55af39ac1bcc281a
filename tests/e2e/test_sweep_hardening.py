"""Resuming a sweep one of whose points has a planted log.txt: that point is refused in
one line, the others train (issue 32). Real processes: marked slow."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grok_tui.rundirs import store
from grok_tui.sweep.spec import load_sweep
from grok_tui.sweep.sweepdir import create_sweep_dir, read_sweep_dir
from tests.support.processes import grok
from tests.support.sweeps import write_sweep

pytestmark = pytest.mark.slow

# Two points of 20 steps that may share a vectorised group (they differ only in lr).
PAIR = """\
extends = "tiny.toml"
name = "pair"

[train]
steps = 20

[sweep]
"optim.lr" = [1e-3, 3e-3]
"""


@pytest.mark.parametrize("vectorize", ["1", "2"], ids=["a-process-each", "one-group"])
def test_a_point_whose_log_is_a_planted_link_is_refused_and_the_others_train(
    tmp_path: Path, vectorize: str
) -> None:
    sweep = load_sweep(write_sweep(tmp_path, "pair.toml", PAIR))
    sweep_dir = create_sweep_dir(sweep, sweep.points(), tmp_path / "runs")
    planted, other = (point.run for point in sweep_dir.points())
    outside = tmp_path / "outside.txt"  # what the link leads to: never created nor written
    os.symlink(outside, planted.log_path)

    result = grok("--resume", str(sweep_dir.path), "--vectorize", vectorize)

    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("[")]
    assert len(lines) == 2, result.stdout
    (refused,) = [line for line in lines if " #1 " in line]
    assert refused.split()[1] == "failed" and "not started:" in refused
    assert f"{planted.log_path} refused: is a symbolic link, not followed (ELOOP)" in refused
    assert "sweep done: 2 points · 1 completed, 1 failed" in result.stdout or (
        "sweep done: 2 points · 1 failed, 1 completed" in result.stdout
    )
    assert not outside.exists() and planted.log_path.is_symlink()
    statuses = read_sweep_dir(sweep_dir.path).statuses()
    assert statuses == {1: store.FAILED, 2: store.COMPLETED}
    assert "refused" in planted.summary()["error"] and other.summary()["step"] == 20
