"""Each writer the fault campaign found going around the door, met with a planted link:
analyze's figures, a vectorised sweep's member logs, `export --tensorboard DIR`, the Ray
mirror's kept weights; a FIFO planted at a member's log. The reads are met in
tests/unit/test_door_reads.py."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from grok_tui import files
from grok_tui.config import load_preset
from grok_tui.rundirs import launch, store
from grok_tui.sweep.executor import PointJob, ProcessExecutor
from tests.conftest import REPO


@pytest.fixture
def run(tmp_path: Path) -> store.RunDir:
    return store.create_run(load_preset(REPO / "presets/quickstart.toml"), tmp_path / "runs")


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    folder = tmp_path / "victim"
    folder.mkdir()
    (folder / "precious").write_text("x")
    return folder


def test_analyze_never_writes_through_a_link_planted_as_analysis(run, victim) -> None:
    from grok_tui.analysis.report import write_report

    (run.path / "analysis").symlink_to(victim)
    with pytest.raises(files.UnsafeFileError, match="link"):
        write_report({"notes": []}, run.path / "analysis", figures=False)
    assert sorted(p.name for p in victim.iterdir()) == ["precious"]


def test_a_figure_replaces_a_link_planted_at_its_name(run, victim) -> None:
    pytest.importorskip("matplotlib", reason="figures need the analysis extra")
    import matplotlib.pyplot as plt

    from grok_tui.analysis.figures import _save

    (run.path / "analysis").mkdir()
    (run.path / "analysis" / "norms.png").symlink_to(victim / "precious")
    with files.subfolder(run.path / "analysis") as folder:
        _save(plt.figure(), folder, "norms.png")
    assert (victim / "precious").read_text() == "x"
    assert files.is_regular(run.path / "analysis" / "norms.png")
    assert (run.path / "analysis" / "norms.png").read_bytes().startswith(b"\x89PNG")


def test_a_group_s_member_log_is_never_appended_through_a_link(
    run, victim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = store.create_run(load_preset(REPO / "presets/quickstart.toml"), tmp_path / "runs")
    member.log_path.symlink_to(victim / "precious")
    spawned = []
    monkeypatch.setattr(launch, "spawn", lambda *a, **kw: spawned.append(a))
    executor = ProcessExecutor(1, vectorize=2)
    executor._start([PointJob(1, "a", run), PointJob(2, "b", member)], None)
    assert spawned and (victim / "precious").read_text() == "x"


@pytest.mark.timeout(10)  # open(fifo, "a") waited for a reader for ever
def test_a_group_s_member_log_planted_as_a_fifo_never_blocks_the_sweep(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = store.create_run(load_preset(REPO / "presets/quickstart.toml"), tmp_path / "runs")
    member.log_path.unlink(missing_ok=True)
    os.mkfifo(member.log_path)
    spawned = []
    monkeypatch.setattr(launch, "spawn", lambda *a, **kw: spawned.append(a))
    executor = ProcessExecutor(1, vectorize=2)
    executor._start([PointJob(1, "a", run), PointJob(2, "b", member)], None)
    assert spawned and stat.S_ISFIFO(os.lstat(member.log_path).st_mode)


def test_export_tensorboard_never_clears_or_writes_a_linked_run_folder(
    run, victim, tmp_path: Path
) -> None:
    from grok_tui.export.tensorboard import write_tensorboard

    out = tmp_path / "tb"
    out.mkdir()
    (out / run.run_id).symlink_to(victim)
    (victim / "events.out.tfevents.1.host.grok-tui").write_text("someone else's")
    with pytest.raises(files.UnsafeFileError, match="link"):
        write_tensorboard(run, out)
    assert sorted(p.name for p in victim.iterdir()) == [
        "events.out.tfevents.1.host.grok-tui",
        "precious",
    ]


@pytest.mark.slow  # importing Ray takes seconds
def test_the_ray_mirror_never_writes_kept_weights_through_a_linked_checkpoints(run, victim) -> None:
    pytest.importorskip("ray", reason="the Ray executor needs the cluster extra")
    from grok_tui.sweep.ray_executor import MirrorRun

    (run.path / store.SNAPSHOT_DIR).symlink_to(victim)
    mirror = MirrorRun(run)
    try:
        with pytest.raises(files.UnsafeFileError, match="link"):
            mirror.apply(1, "snapshot", {"step": 10, "data": b"weights"})
    finally:
        mirror.lock.release()
    assert sorted(p.name for p in victim.iterdir()) == ["precious"]
