"""A full disk while a run or a sweep is being created: one line, and nothing half-made
left behind (issue 32). The disk fills up at a chosen file: its write raises ENOSPC."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from grok_tui import files
from grok_tui.cli import main
from grok_tui.config import Preset
from grok_tui.rundirs import store
from tests.support.sweeps import GRID, write_sweep


@pytest.fixture
def disk_full_at(monkeypatch: pytest.MonkeyPatch):
    """disk_full_at(NAME, after=K): the writes of files called NAME fail as on a full disk
    (ENOSPC), once K of them went through. Every write of a run or sweep folder ends in
    files.Folder.write_atomic (the one door)."""
    real = files.Folder.write_atomic

    def arm(name: str, after: int = 0) -> None:
        seen = []

        def write_atomic(self: files.Folder, relative: str | Path, data: bytes) -> None:
            if Path(os.fspath(relative)).name == name:
                seen.append(relative)
                if len(seen) > after:
                    where = str(self.path / relative)
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), where)
            real(self, relative, data)

        monkeypatch.setattr(files.Folder, "write_atomic", write_atomic)

    return arm


def run_dirs(runs: Path) -> list[str]:
    return sorted(p.name for p in runs.iterdir()) if runs.exists() else []


@pytest.mark.parametrize("full_at", [store.PRESET_FILE, store.SUMMARY_FILE])
def test_a_run_that_cannot_be_created_leaves_no_directory(
    tmp_path, tiny_preset_path, capsys, disk_full_at, full_at
):
    runs = tmp_path / "runs"
    before = store.create_run(Preset(name="earlier"), runs)  # someone's run: left alone
    disk_full_at(full_at)
    assert main(["--run", str(tiny_preset_path), "--runs-dir", str(runs)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: cannot create a run directory in {runs}: no space left on device (ENOSPC)"
    ]
    assert run_dirs(runs) == [before.run_id]  # no empty run, no run without a summary
    assert before.summary()["status"] == store.CREATED


@pytest.mark.parametrize(
    ("full_at", "after"),
    [
        ("sweep.toml", 0),  # the sweep's first file
        (store.SUMMARY_FILE, 2),  # the third point's run directory
        ("sweep.json", 0),  # its last file, once every point is made
    ],
    ids=["sweep.toml", "third-point", "sweep.json"],
)
def test_a_sweep_that_cannot_be_created_leaves_no_folder(
    tmp_path, capsys, disk_full_at, full_at, after
):
    grid = write_sweep(tmp_path, "grid.toml", GRID)
    runs = tmp_path / "runs"
    before = store.create_run(Preset(name="earlier"), runs)
    disk_full_at(full_at, after)
    assert main(["--run", str(grid), "--vectorize", "1", "--runs-dir", str(runs)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert err == [
        f"error: cannot create the sweep directory in {runs}: no space left on device (ENOSPC)"
    ]
    assert run_dirs(runs) == [before.run_id]  # no sweep folder without its sweep.json


def test_a_resumed_sweep_that_cannot_recreate_its_points_adds_no_stray_runs(
    tmp_path, capsys, disk_full_at
):
    grid = write_sweep(tmp_path, "grid.toml", GRID)
    runs = tmp_path / "runs"
    from grok_tui.sweep.spec import load_sweep
    from grok_tui.sweep.sweepdir import create_sweep_dir, read_sweep_dir

    sweep = load_sweep(grid)
    sweep_dir = create_sweep_dir(sweep, sweep.points(), runs)
    gone = sweep_dir.points()[1].run
    files.rmtree(gone.path)  # deleted in History
    kept = sorted(p.name for p in sweep_dir.path.iterdir())
    disk_full_at("sweep.json")
    assert main(["--resume", str(sweep_dir.path), "--vectorize", "1"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "no space left on device (ENOSPC)" in err[0]
    assert sorted(p.name for p in sweep_dir.path.iterdir()) == kept
    assert read_sweep_dir(sweep_dir.path).points()[1].run is None  # still missing, as said
