"""Start processes and signal them: the one module that does (DESIGN.md).

Training never runs in the UI process (DESIGN.md rule 2): the TUI creates the run
directory, then spawns ``python -m grok_tui --resume RUN_DIR`` detached, so closing the
TUI or losing the SSH connection leaves the run going. One place sets a child's
environment, its session and its log; a process is signalled only when it provably
trains what is to be stopped. Following run directories is watch.py's job.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from grok_tui import files
from grok_tui.config import Preset
from grok_tui.errors import UserError
from grok_tui.rundirs import layout, ownership, store

# A run directory whose process is being started. Not "running": `--resume` refuses a
# run whose summary says running with a live pid, and the launcher's own pid is alive.
STARTING = store.STARTING

# The command that trains a run directory; tests point it at a fake trainer.
RUN_COMMAND: list[str] = [sys.executable, "-m", "grok_tui", "--resume"]
# The command that trains every point of a sweep file into a runs directory.
SWEEP_COMMAND: list[str] = [sys.executable, "-m", "grok_tui", "--run"]

# The directory that holds this package: a child must find this very code even when
# started from another directory (PYTHONPATH), whether installed or run from a checkout.
PACKAGE_ROOT_PATH = Path(__file__).resolve().parent.parent.parent
PACKAGE_ROOT = str(PACKAGE_ROOT_PATH)

_children: list[subprocess.Popen[bytes]] = []


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


def spawn_detached(command: Sequence[str], log_path: Path) -> int:
    """spawn(), the child kept to be reaped (and stopped by stop_run before it reports); its pid."""
    child = spawn(command, log_path)
    _children.append(child)
    return child.pid


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


def logs_dir(runs_dir: Path) -> Path:
    """RUNS/logs/, made when missing (a link planted there is refused)."""
    logs = Path(runs_dir) / layout.LOGS_DIR
    files.make_dirs(runs_dir)
    files.mkdir(logs)
    return logs


# -- runs ------------------------------------------------------------------------------


def _live_status(summary: dict[str, Any], run: store.RunDir) -> str | None:
    """The run's status when its process is alive (running or starting), else None."""
    status = store.effective_status(summary, run.path)
    return status if status in store.LIVE_STATUSES else None


def _spawn_trainer(run: store.RunDir, command: Sequence[str] | None) -> int:
    """Start the trainer of a run directory, detached, and note it in the summary."""
    argv = [*(command or RUN_COMMAND), str(run.path)]
    pid = spawn_detached(argv, run.log_path)
    # pid and start time until it reports itself, so a reused pid never reads as this run's
    owner = ownership.identity_of(pid).as_dict()
    owner["cmdline"] = argv  # what was started (exec may be pending)
    store.update_summary(run.path, status=STARTING, pid=pid, host=owner["host"], owner=owner)
    return pid


def start_run(
    preset: Preset,
    runs_dir: Path,
    *,
    extra_summary: dict[str, Any] | None = None,
    command: Sequence[str] | None = None,
) -> store.RunDir:
    """Create the run directory (its id is known at once), then train it in a new process.

    ``command``: what trains a run directory (RUN_COMMAND, read now, when None or empty)."""
    run = store.create_run(
        preset, runs_dir, extra={**(extra_summary or {}), "status": STARTING, "step": 0}
    )
    _spawn_trainer(run, command)
    return run


def resume_run(run: store.RunDir, *, command: Sequence[str] | None = None) -> int:
    """Continue a stopped (or crashed) run from its checkpoint in a new process; its pid."""
    summary = run.summary()
    if live := _live_status(summary, run):
        raise RuntimeError(f"run {run.run_id} is still {live}")
    if summary.get("status") == store.COMPLETED:
        raise RuntimeError(f"run {run.run_id} is already completed")
    pid = _spawn_trainer(run, command)
    store.update_summary(run.path, ended_at=None)
    return pid


GPU_QUERY = "utilization.gpu,memory.used,memory.total"


def query_gpu(gpu: str, timeout: float = 3.0) -> str | None:
    """nvidia-smi's figures of one device (procstat.parse_gpu reads them); None when
    nvidia-smi is absent, fails or hangs. For the TUI's status line: call it off the UI
    thread, every few seconds at most."""
    command = ["nvidia-smi", f"--query-gpu={GPU_QUERY}", "--format=csv,noheader,nounits", "-i", gpu]
    try:  # absent: FileNotFoundError
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def stop_run(run: store.RunDir) -> bool:
    """Ask a live run to stop (SIGTERM: it checkpoints and marks itself stopped).

    Only a process that provably trains this run is signalled: the holder of the run's
    lock, whose recorded identity (host, pid, start time) matches the live process, or a
    trainer this very process started and that has not taken the lock yet. A pid read from
    a summary alone is never signalled (it may be reused, or planted in a copied run).
    False when there is nothing to stop here.
    """
    summary = run.summary()
    if _live_status(summary, run) is None:
        return False
    holder = ownership.live_holder(run.path, recorded=store.owner_of(summary))
    if holder is not None:
        return terminate(holder.pid)
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


def terminate(pid: int) -> bool:
    """SIGTERM another process; False for ourselves or a process we cannot signal.

    The caller has proven that ``pid`` is what it means to stop (a lock's live holder)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return False
    return True


# -- sweeps ----------------------------------------------------------------------------


def start_sweep(
    sweep_file: Path, runs_dir: Path, extra_args: Sequence[str] = ()
) -> tuple[int, Path]:
    """Train every point of a sweep file in a detached process; its pid and log file.

    The sweep creates its own directory of runs under runs_dir; they show up in the
    live-run scan as each point starts. ``extra_args`` go at the end of the command
    (``--seeds 5`` makes one preset file a sweep over seeds).
    """
    logs = logs_dir(runs_dir)
    log_path = (
        logs / f"sweep-{datetime.now():%Y%m%d-%H%M%S}-{store.slug(Path(sweep_file).stem)}.log"
    )
    pid = spawn_detached(
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


def sweep_runner_pid(path: Path) -> int | None:
    """The pid of the live process that provably trains a sweep directory (the live
    holder of its lock), else None."""
    holder = ownership.live_holder(path, layout.SWEEP_LOCK)
    return holder.pid if holder else None


def stop_sweep(path: Path) -> bool:
    """SIGTERM the process that trains a sweep directory (proven as for stop_run): it stops
    its running points (each checkpoints, marked stopped) and starts no new one, so that
    `--resume SWEEP_DIR` continues it later."""
    pid = sweep_runner_pid(path)
    return pid is not None and terminate(pid)


# -- the user's editor -----------------------------------------------------------------


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


# -- children ending -------------------------------------------------------------------


def reap_children() -> None:
    """Collect the exit status of finished children, so none lingers as a zombie."""
    for child in list(_children):
        if child.poll() is not None:
            _children.remove(child)


def wait_until_gone(pid: int, timeout: float = 10.0) -> bool:
    """Wait for a process to end (tests, and stopping runs before quitting)."""
    reap_children()
    return store.wait_for(lambda: (reap_children(), not ownership.pid_alive(pid))[1], timeout)
