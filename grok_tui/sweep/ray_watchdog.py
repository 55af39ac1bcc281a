"""Ends the local Ray instance of a sweep driver that died without shutting it down.

A driver killed with SIGKILL cannot run ``ray.shutdown``. The kernel then ends Ray's
gcs_server and raylet (started with a parent-death signal), but not the raylet's own
children: ``ray::DashboardAgent`` and ``ray::RuntimeEnvAgent`` ran on for good, orphaned.
This process, started by the driver right after ``ray.init`` started the instance (and
in a session of its own, so the driver's Ctrl-C or hang-up does not end it first), keeps
a list of the instance's processes (those ``ray.init`` started and all their
descendants, each with its start time) while the driver lives. Once the driver is gone,
it kills every one of them still running, then exits. The driver, after its own
``ray.shutdown``, ends it with SIGTERM. Ray-free and torch-free: it starts in a moment.

    python -m grok_tui.sweep.ray_watchdog DRIVER_PID DRIVER_STARTED ROOT_PID...
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time

from grok_tui.rundirs import ownership

# How often the driver's life is checked and the list of Ray's processes renewed.
POLL_S = 0.5
# Rounds of kills at the end: a process may start a child while its parent is killed.
KILL_ROUNDS = 3


def _parents() -> dict[int, int]:
    """Every process's parent pid (a process gone meanwhile is skipped)."""
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (parent := ownership.parent_pid(int(name))) is not None:
            parents[int(name)] = parent
    return parents


def renew(known: dict[int, str]) -> None:
    """Add the descendants of the known processes still running to ``known`` (pid: start
    time); one that ended, or whose pid now names another process, is dropped."""
    for pid, started in list(known.items()):
        if ownership.start_time(pid) != started:
            del known[pid]
    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    todo = list(known)
    while todo:
        for child in children.get(todo.pop(), ()):
            started = ownership.start_time(child)
            if child not in known and child != os.getpid() and started is not None:
                known[child] = started
                todo.append(child)


def kill_all(known: dict[int, str]) -> list[int]:
    """SIGKILL every known process that still runs (checked by its start time); the pids."""
    killed: list[int] = []
    for _ in range(KILL_ROUNDS):
        renew(known)
        if not known:
            break
        for pid, started in known.items():
            if ownership.start_time(pid) == started:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except OSError:
                    pass
        time.sleep(0.1)
    return killed


def watch(driver: ownership.Identity, roots: list[int]) -> list[int]:
    """Wait for the driver's death, then kill the Ray processes; the pids killed."""
    known = {pid: s for pid in roots if (s := ownership.start_time(pid)) is not None}
    while ownership.is_alive(driver):
        renew(known)
        time.sleep(POLL_S)
    return kill_all(known)


def main(argv: list[str]) -> int:
    driver_pid, driver_started, *roots = argv
    driver = ownership.Identity(socket.gethostname(), int(driver_pid), driver_started or None)
    killed = watch(driver, [int(pid) for pid in roots])
    if killed:
        print(f"ray watchdog: driver pid {driver_pid} died, killed {sorted(set(killed))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
