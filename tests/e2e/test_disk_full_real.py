"""A real full disk while a run or a sweep is created: a tiny tmpfs, filled up, in a mount
namespace of its own (`unshare -m`, as root). One line, and no half-made run or sweep
folder left (issue 32; tests/unit/test_disk_full.py fails chosen writes instead)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, TINY_PRESET
from tests.support.sweeps import GRID

pytestmark = pytest.mark.slow

PAGE = 4096  # tmpfs counts pages: a file of a few hundred bytes takes one


def _can_mount_tmpfs(tmp: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "mount", "-t", "tmpfs", "tmpfs", str(tmp)],
        capture_output=True,
    )
    return probe.returncode == 0


def on_a_full_disk(tmp_path: Path, args: list[str], free_pages: int) -> tuple[int, str, list[str]]:
    """Run grok-tui ARGS with --runs-dir on a tmpfs that has ``free_pages`` pages left:
    (exit code, its stderr, what the runs folder holds after)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if not _can_mount_tmpfs(disk):
        pytest.skip("needs `unshare -m` and tmpfs mounts (root)")
    command = shlex.join([sys.executable, "-m", "grok_tui", *args, "--runs-dir", f"{disk}/runs"])
    script = f"""
        set -u
        mount -t tmpfs -o size={64 * PAGE} tmpfs {disk}
        mkdir {disk}/runs {disk}/fill
        i=0
        while head -c {PAGE} /dev/zero > {disk}/fill/$i 2>/dev/null; do i=$((i+1)); done
        rm -f {disk}/fill/$i
        for j in $(seq 0 $(({free_pages} - 1))); do rm -f {disk}/fill/$j; done
        cd {shlex.quote(str(REPO))}
        {command} > {tmp_path}/out 2> {tmp_path}/err
        echo $? > {tmp_path}/code
        ls -A {disk}/runs > {tmp_path}/left
    """
    done = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    left = (tmp_path / "left").read_text().split()
    return int((tmp_path / "code").read_text()), (tmp_path / "err").read_text(), left


@pytest.mark.parametrize("free_pages", [0, 1], ids=["no-preset", "no-summary"])
def test_a_run_on_a_full_disk_is_one_line_and_leaves_no_directory(
    tmp_path: Path, free_pages: int
) -> None:
    preset = tmp_path / "tiny.toml"
    preset.write_text(TINY_PRESET)
    code, err, left = on_a_full_disk(tmp_path, ["--run", str(preset)], free_pages)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot create a run directory in ")
    assert lines[0].endswith("no space left on device (ENOSPC)")
    assert left == []


@pytest.mark.parametrize("free_pages", [0, 5], ids=["no-sweep-toml", "third-point"])
def test_a_sweep_on_a_full_disk_is_one_line_and_leaves_no_folder(
    tmp_path: Path, free_pages: int
) -> None:
    (tmp_path / "tiny.toml").write_text(TINY_PRESET)
    (tmp_path / "grid.toml").write_text(GRID)
    args = ["--run", str(tmp_path / "grid.toml"), "--vectorize", "1"]
    code, err, left = on_a_full_disk(tmp_path, args, free_pages)
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot create the sweep directory in " in lines[0], err
    assert lines[0].endswith("no space left on device (ENOSPC)")
    assert left == []
