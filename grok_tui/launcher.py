"""Start runs as their own processes and follow their run directories as they grow.

Training never runs in the UI process (DESIGN.md rule 2): the TUI creates the run
directory, then spawns ``python -m grok_tui --resume RUN_DIR`` detached, so closing the
TUI or losing the SSH connection leaves the run going. Everything here is torch-free.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from grok_tui import store
from grok_tui.config import Preset

# A run directory whose process is being started. Not "running": `--resume` refuses a
# run whose summary says running with a live pid, and the launcher's own pid is alive.
STARTING = store.STARTING
LIVE_STATUSES = store.LIVE_STATUSES

# The command that trains a run directory; tests point it at a fake trainer.
RUN_COMMAND: list[str] = [sys.executable, "-m", "grok_tui", "--resume"]
# The command that trains every point of a sweep file into a runs directory.
SWEEP_COMMAND: list[str] = [sys.executable, "-m", "grok_tui", "--run"]

_children: list[subprocess.Popen[bytes]] = []


def run_status(summary: dict[str, Any]) -> str:
    """The status to show (store.effective_status: a dead running/starting run has crashed)."""
    return store.effective_status(summary)


def is_live(summary: dict[str, Any]) -> bool:
    return run_status(summary) in LIVE_STATUSES


def _spawn(run: store.RunDir) -> int:
    """Start the trainer of a run directory, detached from this process's session."""
    return _spawn_detached([*RUN_COMMAND, str(run.path)], run.log_path)


def _spawn_detached(command: list[str], log_path: Path) -> int:
    env = dict(os.environ)
    # The child must find this very package even when started from another directory.
    package_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    env.setdefault("PYTHONUNBUFFERED", "1")
    with log_path.open("ab") as log:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C or a hang-up of the TUI does not reach the run
            close_fds=True,
            env=env,
        )
    _children.append(child)
    return child.pid


def start_run(
    preset: Preset, runs_dir: Path, *, extra_summary: dict[str, Any] | None = None
) -> store.RunDir:
    """Create the run directory (its id is known at once), then train it in a new process."""
    run = store.create_run(
        preset, runs_dir, extra={**(extra_summary or {}), "status": STARTING, "step": 0}
    )
    pid = _spawn(run)
    store.update_summary(run.path, pid=pid, host=socket.gethostname())
    return run


def start_sweep(sweep_file: Path, runs_dir: Path) -> tuple[int, Path]:
    """Train every point of a sweep file in a detached process; its pid and log file.

    The sweep creates its own directory of runs under runs_dir; they show up in the
    live-run scan as each point starts.
    """
    logs = Path(runs_dir) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = (
        logs / f"sweep-{datetime.now():%Y%m%d-%H%M%S}-{store.slug(Path(sweep_file).stem)}.log"
    )
    pid = _spawn_detached(
        [
            *SWEEP_COMMAND,
            str(Path(sweep_file).resolve()),
            "--runs-dir",
            str(Path(runs_dir).resolve()),
        ],
        log_path,
    )
    return pid, log_path


def resume_run(run: store.RunDir) -> int:
    """Continue a stopped (or crashed) run from its checkpoint in a new process; its pid."""
    summary = run.summary()
    if is_live(summary):
        raise RuntimeError(f"run {run.run_id} is still {run_status(summary)}")
    if summary.get("status") == store.COMPLETED:
        raise RuntimeError(f"run {run.run_id} is already completed")
    pid = _spawn(run)
    store.update_summary(
        run.path, status=STARTING, pid=pid, host=socket.gethostname(), ended_at=None
    )
    return pid


def stop_run(run: store.RunDir) -> bool:
    """Ask a live run to stop (SIGTERM: it checkpoints and marks itself stopped).

    False when there is nothing to stop on this host (finished, or run elsewhere).
    """
    summary = run.summary()
    pid = summary.get("pid")
    if not is_live(summary) or summary.get("host") != socket.gethostname():
        return False
    return isinstance(pid, int) and _terminate(pid)


def _terminate(pid: int) -> bool:
    """SIGTERM another process; False for ourselves or a process we cannot signal."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return False
    return True


def live_sweeps(runs_dir: Path) -> list[tuple[Path, int]]:
    """(sweep directory, pid) of every sweep that a live process is training."""
    from grok_tui import sweep

    live = []
    for entry in sweep.list_sweeps(runs_dir):
        pid = sweep.sweep_runner_pid(entry.path)
        if pid is not None:
            live.append((entry.path, pid))
    return live


def stop_sweep(pid: int) -> bool:
    """SIGTERM a sweep process: it stops its running points (each checkpoints, marked
    stopped) and starts no new one, so that `--resume SWEEP_DIR` continues it later."""
    return _terminate(pid)


def reap_children() -> None:
    """Collect the exit status of finished children, so none lingers as a zombie."""
    for child in list(_children):
        if child.poll() is not None:
            _children.remove(child)


def live_runs(runs_dir: Path) -> list[store.RunDir]:
    """Run directories whose process is alive (running or starting), oldest first."""
    return [run for run in store.iter_run_dirs(runs_dir) if is_live(run.summary())]


class LiveRunScanner:
    """Finds live runs of a runs directory, re-reading only summaries that changed.

    A run started headless in another shell shows up here on the next scan.
    """

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = Path(runs_dir)
        self._seen: dict[Path, tuple[int, int, dict[str, Any]]] = {}

    def scan(self) -> list[store.RunDir]:
        live = []
        for run in store.iter_run_dirs(self.runs_dir):
            try:
                st = run.summary_path.stat()
            except OSError:
                continue
            cached = self._seen.get(run.path)
            if cached and cached[:2] == (st.st_mtime_ns, st.st_size):
                summary = cached[2]
            else:
                summary = run.summary()
                self._seen[run.path] = (st.st_mtime_ns, st.st_size, summary)
            if is_live(summary):
                live.append(run)
        return live


class RunFollower:
    """Follows one run directory: new records by byte offset, summary by mtime.

    poll() is cheap when nothing changed (two stats and a kill(pid, 0)), so many runs
    can be polled every half second. Only one thread may call poll(); readers on other
    threads see ``records`` grow (append only) or replaced whole (after a rewrite).
    """

    def __init__(self, run: store.RunDir) -> None:
        self.run = run
        self.records: list[dict[str, Any]] = []
        self.summary: dict[str, Any] = {}
        self.status = "unknown"
        self.version = 0  # bumped on every change; views redraw when it moved
        self._offset = 0
        self._summary_stamp: tuple[int, int] | None = None

    @property
    def run_id(self) -> str:
        return self.run.run_id

    def poll(self) -> bool:
        """Read what is new; True when records, summary or status changed."""
        changed = self._poll_records()
        changed = self._poll_summary() or changed
        status = run_status(self.summary) if self.summary else "unknown"
        if status != self.status:
            self.status = status
            changed = True
        if changed:
            self.version += 1
        return changed

    def _poll_records(self) -> bool:
        path = self.run.metrics_path
        try:
            size = path.stat().st_size
        except OSError:
            return False
        if size < self._offset:  # rewritten (a resume truncated records past its checkpoint)
            return self._reload()
        if size == self._offset:
            return False
        new, offset = store.read_records_from(path, self._offset)
        if new and self.records and new[0].get("step", 0) <= self.records[-1].get("step", 0):
            return self._reload()
        self._offset = offset
        self.records.extend(new)
        return bool(new)

    def _reload(self) -> bool:
        records, self._offset = store.read_records_from(self.run.metrics_path, 0)
        self.records = records
        return True

    def _poll_summary(self) -> bool:
        try:
            st = self.run.summary_path.stat()
        except OSError:
            return False
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._summary_stamp:
            return False
        summary = self.run.summary()
        if not summary:  # caught between write and rename: try again next time
            return False
        self._summary_stamp = stamp
        self.summary = summary
        return True


def poll_all(followers: Iterable[RunFollower]) -> list[str]:
    """Poll every follower; the ids of those that changed."""
    reap_children()
    return [f.run_id for f in followers if f.poll()]


def wait_until_gone(pid: int, timeout: float = 10.0) -> bool:
    """Wait for a process to end (tests, and stopping runs before quitting)."""
    reap_children()
    return store.wait_for(lambda: (reap_children(), not store.pid_alive(pid))[1], timeout)


def tail(path: Path, lines: int = 5) -> list[str]:
    """The last lines of a text file (a run's log.txt), for showing why a run failed."""
    with contextlib.suppress(OSError), path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 8192))
        text = f.read().decode("utf-8", "replace").replace("\r", "\n")
        return [line for line in text.splitlines() if line.strip()][-lines:]
    return []
