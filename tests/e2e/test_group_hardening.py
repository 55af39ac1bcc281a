"""A vectorised group one of whose member directories is removed while it trains: that
member ends, the others train on to the end (issue 32). Real processes: marked slow."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grok_tui.rundirs import store
from grok_tui.sweep import list_sweeps
from tests.conftest import TINY_PRESET

pytestmark = pytest.mark.slow

# The tiny MLP, long enough for a member to be removed half-way (a few seconds in all).
STEPS = 1500
LONG = TINY_PRESET.replace("steps = 60", f"steps = {STEPS}").replace(
    "eval_every = 10\ncheckpoint_every = 20", "eval_every = 100\ncheckpoint_every = 100"
)


def members(runs: Path) -> list[store.RunDir]:
    sweeps = list_sweeps(runs)
    if not sweeps:
        return []
    return [point.run for point in sweeps[0].points() if point.run is not None]


def test_a_member_removed_mid_group_ends_alone_and_the_others_complete(tmp_path: Path) -> None:
    (tmp_path / "tiny.toml").write_text(LONG)
    runs = tmp_path / "runs"
    command = [sys.executable, "-m", "grok_tui", "--runs-dir", str(runs)]
    driver = subprocess.Popen(
        [*command, "--run", str(tmp_path / "tiny.toml"), "--seeds", "3", "--vectorize", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert store.wait_for(lambda: len(members(runs)) == 3, 60, 0.02)
        first, removed, last = members(runs)

        def underway() -> bool:
            return all((m.summary().get("checkpoint_step") or 0) >= 200 for m in members(runs))

        assert store.wait_for(underway, 120, 0.02), "the group did not get under way"
        shutil.rmtree(removed.path)  # by hand, from a shell, while the group trains
        out, _ = driver.communicate(timeout=240)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.communicate()

    assert "Traceback" not in out, out
    for member in (first, last):
        summary = member.summary()
        assert summary["status"] == store.COMPLETED, (summary, out)
        assert summary["step"] == STEPS and summary["group"]["size"] == 3
        assert member.records()[-1]["step"] == STEPS
    assert not removed.path.exists()  # nothing of it written again
    log = (first.log_path).read_text()
    said = [line for line in log.splitlines() if removed.run_id in line and "failed" in line]
    assert said, log  # the group's output says, in one line, that it ended and why
    assert "cannot write" in said[0] and "the others go on" in said[0]
    assert driver.returncode == 1  # a point did not complete: the sweep says so
    assert "sweep done: 3 points · 2 completed, 1 missing" in out, out
    (line,) = [line for line in out.splitlines() if line.startswith("[") and " #2 " in line]
    assert line.split()[1] == "missing" and "its run directory was removed" in line
