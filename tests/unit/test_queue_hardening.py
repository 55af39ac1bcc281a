"""A queued run whose preset became unreadable: the runner says why, in the run's summary
(so `grok-tui runs` and History show it), and the queue goes on (issue 32)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from grok_tui.cli import main
from grok_tui.config import Preset, apply_overrides, validate_preset
from grok_tui.rundirs import launch, runqueue, store

FAKE = [sys.executable, "-m", "tests.support.fake_trainer"]


def tiny(name: str) -> Preset:
    raw = apply_overrides(
        Preset().to_dict(),
        [("name", name), ("data.p", 7), ("train.steps", 30), ("train.eval_every", 10)],
    )
    return validate_preset(apply_overrides(raw, [("train.device", "cpu")]))


def _syntax(run: store.RunDir, outside: Path) -> None:
    run.preset_path.write_text("name = 'x'\n[data\n")


def _schema(run: store.RunDir, outside: Path) -> None:  # edited by hand: 8 is not prime
    run.preset_path.write_text(run.preset_path.read_text().replace("p = 7", "p = 8"))


def _link(run: store.RunDir, outside: Path) -> None:  # replaced by a link: never followed
    outside.write_text(run.preset_path.read_text())
    run.preset_path.unlink()
    run.preset_path.symlink_to(outside)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_syntax, "TOML syntax error"),
        (_schema, "p must be prime"),
        (_link, "symbolic link"),
    ],
    ids=["syntax", "schema", "link"],
)
@pytest.mark.slow  # starts processes
def test_a_queued_run_whose_preset_became_unreadable_fails_saying_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, damage, reason
) -> None:
    monkeypatch.setattr(launch, "RUN_COMMAND", FAKE)  # the good run: fast, no torch
    monkeypatch.setenv("GROK_FAKE_DELAY", "0.01")
    runs = tmp_path / "runs"
    bad = runqueue.enqueue(runs, tiny("bad")).run
    good = runqueue.enqueue(runs, tiny("good")).run
    damage(bad, tmp_path / "elsewhere.toml")

    lines: list[str] = []
    assert runqueue.serve(runs, poll_s=0.05, log=lines.append) == 0
    assert store.wait_for(lambda: good.summary().get("status") == store.COMPLETED, 30)

    summary = bad.summary()
    assert summary["status"] == store.FAILED and reason in summary["error"]
    assert summary["error"].startswith("the queue could not start it: preset.toml")
    assert "pid" not in summary  # nothing was started for it
    assert any(line.startswith(f"could not start {bad.run_id}:") for line in lines)
    assert runqueue.read_queue(runs).entries == []

    assert main(["runs", "--runs-dir", str(runs)]) == 0
    listed = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert listed[bad.run_id].split()[1] == "failed" and reason in listed[bad.run_id]
    assert listed[good.run_id].split()[1] == "completed"
