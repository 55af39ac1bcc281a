"""A sweep driver that started its own local Ray instance leaves no Ray process behind:
not when it ends, and not when it is killed with SIGKILL (the raylet's agents, orphaned,
used to run on for good)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from grok_tui.rundirs import ownership, store
from grok_tui.sweep import list_sweeps
from tests.conftest import REPO
from tests.support.sweeps import write_sweep

pytest.importorskip("ray")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600), pytest.mark.xdist_group("ray")]

UNDER_WAY_S = 300  # Ray's start-up and a point's first records, on a loaded 2-core machine
GONE_S = 20  # how long the instance's processes may take to die after the driver

# One point long enough to still train when the driver is killed.
LONG = """\
extends = "tiny.toml"
name = "long"

[train]
steps = 100000
eval_every = 10
checkpoint_every = 1000

[sweep]
"train.seed" = [0]
"""

SHORT = """\
extends = "tiny.toml"
name = "short"

[train]
steps = 20

[sweep]
"train.seed" = [0]
"""


def _stat(pid: int) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command's name (state, ppid, pgrp, session)."""
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def processes(match: Callable[[int], bool]) -> dict[int, str]:
    """The live processes that ``match`` (pid: start time)."""
    found: dict[int, str] = {}
    for pid in (int(entry) for entry in os.listdir("/proc") if entry.isdigit()):
        started = ownership.start_time(pid)
        if started is not None and match(pid):
            found[pid] = started
    return found


def session_members(sid: int) -> dict[int, str]:
    """The live processes of a session, its leader included."""
    return processes(lambda pid: (fields := _stat(pid)) is not None and int(fields[3]) == sid)


def watchdogs_of(driver_pid: int) -> dict[int, str]:
    """The watchdog processes started for a driver (in a session of their own)."""

    def is_watchdog(pid: int) -> bool:
        cmd = ownership.command_line(pid) or []
        return "grok_tui.sweep.ray_watchdog" in cmd and str(driver_pid) in cmd

    return processes(is_watchdog)


def alive(processes: dict[int, str]) -> dict[int, str]:
    """Those still running (a zombie, or a pid now naming another process, is not)."""
    return {pid: s for pid, s in processes.items() if ownership.start_time(pid) == s}


def describe(processes: dict[int, str]) -> list[str]:
    return [f"{pid} {' '.join(ownership.command_line(pid) or [])[:80]}" for pid in processes]


def start_driver(tmp_path: Path, name: str, text: str) -> tuple[subprocess.Popen[bytes], Path]:
    """``grok-tui --run SWEEP --executor ray`` (a local instance) in a session of its own:
    every process of its instance is a member (Ray's workers set a group, not a session)."""
    sweep_file = write_sweep(tmp_path, name, text)
    runs = tmp_path / "runs"
    with open(tmp_path / "driver.log", "wb") as log:  # not a pipe: nobody reads it meanwhile
        driver = subprocess.Popen(
            [sys.executable, "-m", "grok_tui", "--run", str(sweep_file), "--executor", "ray",
             "--jobs", "1", "--runs-dir", str(runs)],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, env={**os.environ, "RAY_worker_niceness": "0"},
        )  # fmt: skip
    return driver, runs


def kill_left(processes: dict[int, str]) -> None:
    for pid in alive(processes):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def test_a_driver_killed_with_sigkill_leaves_no_ray_process(tmp_path):
    driver, runs = start_driver(tmp_path, "long.toml", LONG)
    seen: dict[int, str] = {}

    def training() -> bool:
        """A point trains (Ray's processes are all up): note the instance's processes."""
        seen.update(session_members(driver.pid))
        sweeps = list_sweeps(runs)
        summaries = [p.run.summary() for p in sweeps[0].points() if p.run] if sweeps else []
        return driver.poll() is None and any(
            s.get("status") == "running" and (s.get("step") or 0) >= 20 for s in summaries
        )

    try:
        log = tmp_path / "driver.log"
        assert store.wait_for(training, timeout=UNDER_WAY_S, interval=0.2), log.read_text()
        seen.update(session_members(driver.pid))
        ray_processes = {pid: s for pid, s in alive(seen).items() if pid != driver.pid}
        names = " ".join(" ".join(ownership.command_line(p) or []) for p in ray_processes)
        assert "raylet" in names and "ray::train_point" in names, describe(ray_processes)
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=30)
        left = lambda: alive(ray_processes) | alive(watchdogs_of(driver.pid))  # noqa: E731
        assert store.wait_for(lambda: not left(), timeout=GONE_S, interval=0.2), describe(left())
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait(timeout=30)
        kill_left(seen | session_members(driver.pid) | watchdogs_of(driver.pid))


def test_a_driver_that_ends_leaves_no_ray_process(tmp_path):
    driver, _ = start_driver(tmp_path, "short.toml", SHORT)
    seen: dict[int, str] = {}
    try:

        def ended() -> bool:
            seen.update(session_members(driver.pid))
            return driver.poll() is not None

        assert store.wait_for(ended, timeout=UNDER_WAY_S, interval=0.2)
        out = (tmp_path / "driver.log").read_text()
        assert driver.returncode == 0 and "1 completed" in out, out
        assert len(seen) > 1, "no Ray process was ever seen in the driver's session"
        left = lambda: alive(seen) | alive(watchdogs_of(driver.pid))  # noqa: E731
        assert store.wait_for(lambda: not left(), timeout=GONE_S, interval=0.2), describe(left())
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait(timeout=30)
        kill_left(seen | watchdogs_of(driver.pid))
