"""Who owns a run, as a user or an attacker meets it: the lock file deleted, hard-linked or
forged, the run directory swapped while it trains, a lock of the same inode number on
another filesystem. Real trainers, real links, real mounts (a mount namespace where the
machine allows one)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from grok_tui.config import load_preset
from grok_tui.rundirs import launch, ownership, store
from tests.conftest import REPO
from tests.support.processes import grok

pytestmark = pytest.mark.slow  # real trainers


@pytest.fixture
def trainer(
    tiny_preset_path: Path, tmp_path: Path
) -> Iterator[tuple[store.RunDir, subprocess.Popen]]:
    """A real trainer of a long run, once its first records are on disk."""
    preset = load_preset(tiny_preset_path, ["train.steps=500000", "train.eval_every=20"])
    run = store.create_run(preset, tmp_path / "runs")
    proc = subprocess.Popen(
        [sys.executable, "-m", "grok_tui", "--resume", str(run.path)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert store.wait_for(lambda: len(store.read_records(run.path)) >= 2, 120)
        yield run, proc
    finally:
        proc.kill()
        proc.wait()


def test_deleting_the_lock_file_never_lets_a_second_trainer_in(trainer) -> None:
    run, proc = trainer
    (run.path / ownership.LOCK_NAME).unlink()  # "a stale-looking lock file"
    second = grok("--resume", str(run.path), timeout=120)
    assert second.returncode == 2 and "Traceback" not in second.stderr
    assert (
        f"is being trained by pid {proc.pid}" in second.stderr or "being trained" in second.stderr
    )
    assert proc.poll() is None
    # the trainer is still proven (the kernel's lock and the summary's identity) and stops
    assert launch.stop_run(run)
    assert proc.wait(60) == 143  # SIGTERM: 128 + 15
    assert run.summary()["status"] == store.STOPPED


def test_a_run_directory_swapped_while_it_trains_keeps_its_own_files(
    trainer, tmp_path: Path
) -> None:
    run, proc = trainer
    moved = tmp_path / "moved"
    run.path.rename(moved)
    run.path.mkdir()  # another run now sits at the path the trainer started from
    (run.path / "preset.toml").write_text("# someone else's\n")
    time.sleep(1.5)
    proc.terminate()
    assert proc.wait(60) == 143  # SIGTERM: 128 + 15
    assert sorted(p.name for p in run.path.iterdir()) == ["preset.toml"]
    summary = json.loads((moved / "summary.json").read_text())
    assert summary["status"] == store.STOPPED and summary["step"] > 0
    assert (moved / "checkpoint.pt").exists()


def _train_a_while(run: store.RunDir, records: int) -> None:
    """Resume ``run`` in a real trainer until it has ``records`` records, then stop it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "grok_tui", "--resume", str(run.path)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert store.wait_for(lambda: len(store.read_records(run.path)) >= records, 120)
        proc.terminate()
        assert proc.wait(60) == 143  # SIGTERM: 128 + 15
    finally:
        proc.kill()


def test_a_resume_leaves_a_hard_linked_copy_of_the_run_as_it_was(
    tiny_preset_path: Path, tmp_path: Path
) -> None:
    preset = load_preset(
        tiny_preset_path, ["train.steps=500000", "train.eval_every=20", "train.checkpoint_every=20"]
    )
    run = store.create_run(preset, tmp_path / "runs")
    _train_a_while(run, 3)
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-al", str(run.path), str(copy)], check=True)  # a cheap backup
    before = {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file()}
    _train_a_while(run, len(store.read_records(run.path)) + 3)
    assert len(store.read_records(run.path)) > len(store.read_records(copy))
    after = {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file()}
    assert after == before


def test_a_lock_file_hard_linked_to_another_file_is_never_emptied(
    tiny_preset_path: Path, tmp_path: Path
) -> None:
    run = store.create_run(load_preset(tiny_preset_path, ["train.steps=20"]), tmp_path / "runs")
    precious = tmp_path / "precious.txt"
    precious.write_text("the only copy\n")
    os.link(precious, run.path / ownership.LOCK_NAME)
    assert grok("--resume", str(run.path)).returncode == 0
    assert precious.read_text() == "the only copy\n"


# --- the kernel's word: device and inode --------------------------------------------------

_TWO_FILESYSTEMS = textwrap.dedent(
    """
    import json, os, subprocess, sys, time
    from pathlib import Path
    from grok_tui.rundirs import launch, ownership, store

    a, b = Path(sys.argv[1]), Path(sys.argv[2])
    for top in (a, b):  # the same entries made in the same order: the same inode numbers
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(top)], check=True)
        (top / "run").mkdir()
        (top / "run" / ownership.LOCK_NAME).write_text("")
    same = [os.stat(a / p).st_ino == os.stat(b / p).st_ino for p in ("run", "run/.lock")]
    # a stranger's process holds locks on b's directory and lock file
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\\n"
        "d = os.open(sys.argv[1], os.O_RDONLY)\\n"
        "f = os.open(sys.argv[1] + '/.lock', os.O_RDWR)\\n"
        "fcntl.flock(d, fcntl.LOCK_EX); fcntl.flock(f, fcntl.LOCK_EX)\\n"
        "print('held', flush=True); time.sleep(60)"
    ), str(b / "run")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    me = ownership.identity_of(holder.pid)
    # a crafted run on a: its lock file and summary name the stranger
    (a / "run" / ownership.LOCK_NAME).write_text(json.dumps(me.as_dict()))
    (a / "run" / "preset.toml").write_text("")
    store.write_summary(a / "run", {"status": "running", "pid": me.pid, "host": me.host,
                                     "owner": me.as_dict()})
    run = store.RunDir(a / "run")
    out = {
        "same_inodes": all(same),
        "proven": ownership.live_holder(run.path) is not None,
        "signalled": launch.stop_run(run),
        "b_proven": ownership.live_holder(b / "run", recorded=me) is not None,
    }
    time.sleep(0.3)
    out["stranger_alive"] = holder.poll() is None
    holder.kill()
    print(json.dumps(out))
    """
)


def test_a_lock_of_the_same_inode_on_another_filesystem_proves_nothing(tmp_path: Path) -> None:
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1): cannot make a mount namespace here")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"mount namespaces are not allowed here: {probe.stderr.decode()[:200]}")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    result = subprocess.run(
        ["unshare", "-m", sys.executable, "-c", _TWO_FILESYSTEMS, str(tmp_path / "a"),
         str(tmp_path / "b")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["same_inodes"], "the two tmpfs mounts gave different inode numbers"
    assert out["b_proven"]  # the stranger does own its own directory...
    assert not out["proven"]  # ...and nothing on the other filesystem
    assert not out["signalled"] and out["stranger_alive"]
