"""Start runs as their own processes and follow their run directories as they grow.

Training never runs in the UI process (DESIGN.md rule 2): the TUI creates the run
directory, then spawns ``python -m grok_tui --resume RUN_DIR`` detached, so closing the
TUI or losing the SSH connection leaves the run going. Everything here is torch-free.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from grok_tui import files
from grok_tui.config import Preset
from grok_tui.errors import UserError
from grok_tui.rundirs import ownership, store

# A run directory whose process is being started. Not "running": `--resume` refuses a
# run whose summary says running with a live pid, and the launcher's own pid is alive.
STARTING = store.STARTING
LIVE_STATUSES = store.LIVE_STATUSES

# The command that trains a run directory; tests point it at a fake trainer.
RUN_COMMAND: list[str] = [sys.executable, "-m", "grok_tui", "--resume"]
# The command that trains every point of a sweep file into a runs directory.
SWEEP_COMMAND: list[str] = [sys.executable, "-m", "grok_tui", "--run"]

_children: list[subprocess.Popen[bytes]] = []


def run_status(summary: dict[str, Any], run_path: Path | None = None) -> str:
    """The status to show (store.effective_status: a dead running/starting run has crashed)."""
    return store.effective_status(summary, run_path)


def is_live(summary: dict[str, Any], run_path: Path | None = None) -> bool:
    return run_status(summary, run_path) in LIVE_STATUSES


def _spawn(run: store.RunDir) -> int:
    """Start the trainer of a run directory, detached from this process's session."""
    return _spawn_detached([*RUN_COMMAND, str(run.path)], run.log_path)


# The directory that holds this package: a child must find this very code even when
# started from another directory (PYTHONPATH), whether installed or run from a checkout.
PACKAGE_ROOT_PATH = Path(__file__).resolve().parent.parent
PACKAGE_ROOT = str(PACKAGE_ROOT_PATH)


def spawn(
    command: Sequence[str],
    log_path: Path,
    *,
    header: str = "",
    fresh_log: bool = False,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a process detached from this one's session, its output in ``log_path``.

    The one place that starts processes. The log is appended to (or replaced by a new
    file with ``fresh_log``), never opened through a planted link; ``env`` adds variables.
    Ctrl-C or a hang-up of the TUI does not reach the child (a new session).
    """
    child_env = _child_env(env)
    fd = files.open_fresh(log_path) if fresh_log else files.open_append(log_path)
    with os.fdopen(fd, "ab") as log:
        if header:
            log.write(header.encode("utf-8", "replace"))
            log.flush()
        return subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=child_env,
        )


def run_command(command: Sequence[str], log_path: Path, timeout: float) -> tuple[int, float]:
    """Run a command to its end, its output in ``log_path``: (exit code, wall seconds).

    For checks that run one part after another (gpu-check); a part past ``timeout`` is
    killed, with its whole process group, and ends with exit code 124.
    """
    child = spawn(command, log_path, fresh_log=True)
    started = time.monotonic()
    try:
        code = child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        code = 124
    return code, time.monotonic() - started


def spawn_on_terminal(
    command: Sequence[str], terminal: int, *, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a process in a new session on a terminal's file descriptor (a pty's end).

    For what must see a terminal: the TUI started by its start-up benchmark.
    """
    return subprocess.Popen(
        list(command),
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,
        env=_child_env(env),
    )


def _child_env(extra: dict[str, str] | None) -> dict[str, str]:
    """This environment plus ``extra``, with this package importable from any directory."""
    child_env = {**os.environ, **(extra or {})}
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (PACKAGE_ROOT, child_env.get("PYTHONPATH")) if p
    )
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    return child_env


def _spawn_detached(command: list[str], log_path: Path) -> int:
    child = spawn(command, log_path)
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
    _record_child(run, pid)
    return run


def _record_child(run: store.RunDir, pid: int) -> None:
    """Note the spawned trainer in the summary until it reports itself (pid and start time,
    so that a reused pid never reads as this run's process)."""
    owner = ownership.identity_of(pid).as_dict()
    owner["cmdline"] = [*RUN_COMMAND, str(run.path)]  # what was started (exec may be pending)
    store.update_summary(run.path, status=STARTING, pid=pid, host=owner["host"], owner=owner)


def start_sweep(
    sweep_file: Path, runs_dir: Path, extra_args: Sequence[str] = ()
) -> tuple[int, Path]:
    """Train every point of a sweep file in a detached process; its pid and log file.

    The sweep creates its own directory of runs under runs_dir; they show up in the
    live-run scan as each point starts. ``extra_args`` go at the end of the command
    (``--seeds 5`` makes one preset file a sweep over seeds).
    """
    logs = Path(runs_dir) / "logs"
    files.make_dirs(runs_dir)
    files.mkdir(logs)  # a link planted as logs/ is refused
    log_path = (
        logs / f"sweep-{datetime.now():%Y%m%d-%H%M%S}-{store.slug(Path(sweep_file).stem)}.log"
    )
    pid = _spawn_detached(
        [
            *SWEEP_COMMAND,
            str(Path(sweep_file).resolve()),
            "--runs-dir",
            str(Path(runs_dir).resolve()),
            *extra_args,
        ],
        log_path,
    )
    return pid, log_path


# The queue runner of a runs directory (grok_tui/rundirs/runqueue.py); the directory follows.
QUEUE_COMMAND: list[str] = [sys.executable, "-m", "grok_tui", "queue", "run", "--runs-dir"]


def start_queue_runner(runs_dir: Path) -> int:
    """Start the queue runner of a runs directory, detached, so that the queue goes on
    after the TUI closes; its pid. Its lines go to RUNS/logs/queue.log."""
    logs = Path(runs_dir) / "logs"
    files.make_dirs(runs_dir)
    files.mkdir(logs)
    return _spawn_detached([*QUEUE_COMMAND, str(Path(runs_dir).resolve())], logs / "queue.log")


def stop_queue_runner(runs_dir: Path) -> bool:
    """SIGTERM the queue runner of a runs directory (proven as for stop_run): it starts
    nothing more and ends; the queue waits, its run directories kept, for the next runner."""
    from grok_tui.rundirs import runqueue

    pid = runqueue.runner_pid(runs_dir)
    return pid is not None and _terminate(pid)


def editor_command(path: Path) -> list[str]:
    """The user's editor on ``path``: $VISUAL, else $EDITOR (with its own arguments), else vi."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        words = shlex.split(editor)
    except ValueError:  # an unbalanced quote: taken as one program name
        words = [editor]
    return [*(words or ["vi"]), str(path)]


def edit_file(path: Path) -> int:
    """Run the user's editor on a file in this terminal and wait for it; its exit code.

    Not detached, unlike every other child: the editor must own the terminal, which the
    TUI lends it inside ``App.suspend()`` and takes back when it exits.
    """
    command = editor_command(path)
    try:
        return subprocess.run(command, check=False).returncode
    except OSError as exc:  # not found, not executable
        raise UserError(
            f"cannot start the editor {command[0]!r}: {files.describe_os_error(exc)}; "
            "set $EDITOR (or $VISUAL)",
            field="EDITOR",
        ) from None


def resume_run(run: store.RunDir) -> int:
    """Continue a stopped (or crashed) run from its checkpoint in a new process; its pid."""
    summary = run.summary()
    if is_live(summary, run.path):
        raise RuntimeError(f"run {run.run_id} is still {run_status(summary, run.path)}")
    if summary.get("status") == store.COMPLETED:
        raise RuntimeError(f"run {run.run_id} is already completed")
    pid = _spawn(run)
    _record_child(run, pid)
    store.update_summary(run.path, ended_at=None)
    return pid


def stop_run(run: store.RunDir) -> bool:
    """Ask a live run to stop (SIGTERM: it checkpoints and marks itself stopped).

    Only a process that provably trains this run is signalled: the holder of the run's
    lock, whose recorded identity (host, pid, start time) matches the live process, or a
    trainer this very process started and that has not taken the lock yet. A pid read from
    a summary alone is never signalled (it may be reused, or planted in a copied run).
    False when there is nothing to stop here.
    """
    summary = run.summary()
    if not is_live(summary, run.path):
        return False
    holder = ownership.live_holder(run.path, recorded=store.owner_of(summary))
    if holder is not None:
        return _terminate(holder.pid)
    child = _own_child(store.owner_of(summary))
    if child is not None:
        with contextlib.suppress(OSError):
            child.send_signal(signal.SIGTERM)
            return True
    return False


def _own_child(owner: ownership.Identity | None) -> subprocess.Popen[bytes] | None:
    """The still-running child of this process that the identity names, if any."""
    if owner is None or not ownership.is_local(owner):
        return None
    for child in _children:
        if child.pid == owner.pid and child.poll() is None:
            return child
    return None


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
    """(sweep directory, pid) of every sweep that a live process is provably training."""
    from grok_tui import sweep

    live = []
    for entry in sweep.list_sweeps(runs_dir):
        pid = sweep.sweep_runner_pid(entry.path)
        if pid is not None:
            live.append((entry.path, pid))
    return live


def stop_sweep(path: Path) -> bool:
    """SIGTERM the process that trains a sweep directory (proven as for stop_run): it stops
    its running points (each checkpoints, marked stopped) and starts no new one, so that
    `--resume SWEEP_DIR` continues it later."""
    from grok_tui import sweep

    pid = sweep.sweep_runner_pid(path)
    return pid is not None and _terminate(pid)


def reap_children() -> None:
    """Collect the exit status of finished children, so none lingers as a zombie."""
    for child in list(_children):
        if child.poll() is not None:
            _children.remove(child)


def live_runs(runs_dir: Path) -> list[store.RunDir]:
    """Run directories whose process is alive (running or starting), oldest first."""
    return [run for run in store.iter_run_dirs(runs_dir) if is_live(run.summary(), run.path)]


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
            if is_live(summary, run.path):
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
        status = run_status(self.summary, self.run.path) if self.summary else "unknown"
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
    return store.wait_for(lambda: (reap_children(), not ownership.pid_alive(pid))[1], timeout)


def tail(path: Path, lines: int = 5) -> list[str]:
    """The last lines of a text file (a run's log.txt), for showing why a run failed."""
    with contextlib.suppress(OSError):
        fd = files.open_regular(path, os.O_RDONLY)  # never a link, never a FIFO
        with os.fdopen(fd, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 8192))
            text = f.read().decode("utf-8", "replace").replace("\r", "\n")
            return [line for line in text.splitlines() if line.strip()][-lines:]
    return []
