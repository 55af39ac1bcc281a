"""What runs a sweep point on a Ray worker: one task per point, trained in the worker.

A task trains its point inside the Ray worker process, through ``runner.claim`` and
``runner.resume``: the code path of ``grok-tui --resume RUN_DIR`` without a process of
its own. A worker is reused from point to point with torch already imported, Ray's
placement (``CUDA_VISIBLE_DEVICES``, ``OMP_NUM_THREADS``) applies to the training
itself, and the process Ray watches is the trainer: when Ray sees the worker die it
retries the task, the kernel has dropped the run's lock with the process, and the retry
resumes from the last checkpoint (records past it are dropped first). A child
``grok-tui --resume`` process would add seconds of start-up per point and could outlive
a killed worker, still holding the run when the retry comes.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, RayActorError

from grok_tui import files
from grok_tui.errors import RunBusyError, UserError
from grok_tui.rundirs import ownership, store
from grok_tui.rundirs.stopping import EXIT_BAD_INPUT, StopFlag
from grok_tui.sweep.jobs import DONE_STATUSES, NOT_STARTED
from grok_tui.sweep.ray_executor.board import get_in_task
from grok_tui.sweep.ray_executor.mirror import ForwardSink

# How often a task asks the board whether the sweep stops (seconds).
STOP_POLL_S = 0.5
# A retried task may find the run's lock still held by the dying attempt for a moment.
CLAIM_WAIT_S = 30.0
# Ray retries a task whose worker died this many times (a node lost, a kill -9).
MAX_RETRIES = 3


def _watch_stop(board: Any, stop: StopFlag, done: threading.Event) -> None:
    """Turn the board's stop into the run's StopFlag (a lost board: the driver is gone)."""
    while not done.wait(STOP_POLL_S):
        try:
            stopping = ray.get(board.is_stopping.remote(), timeout=30)
        except GetTimeoutError:
            continue
        except RayActorError:
            stopping = True
        if stopping:
            stop.request("the sweep's stop")
            return


def _claim_waiting(run: store.RunDir) -> ownership.DirLock:
    """The run's lock; a retry waits for the attempt before it to let go."""
    from grok_tui.training import runner

    deadline = time.monotonic() + CLAIM_WAIT_S
    while True:
        try:
            return runner.claim(run)
        except RunBusyError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _train_run(
    run: store.RunDir, device: str | None, sinks: Sequence[Any], board: Any, attempt: int
) -> dict[str, Any]:
    """Train a run directory this worker can write, as ``grok-tui --resume`` would."""
    from grok_tui.training import runner

    me = ownership.my_identity()
    out: dict[str, Any] = {"host": me.host, "pid": me.pid, "attempt": attempt}
    try:
        lock = _claim_waiting(run)
    except RunBusyError as exc:
        return {**out, "status": "busy", "code": None, "error": str(exc)}
    except UserError as exc:
        return {**out, "status": store.FAILED, "code": EXIT_BAD_INPUT, "error": str(exc)}
    with lock:
        status = store.effective_status(run.summary(), run.path)
        if status in DONE_STATUSES:  # an attempt ended it but died before reporting
            return {**out, "status": status, "code": 0 if status == store.COMPLETED else 1}
        stop = StopFlag()
        done = threading.Event()
        watcher = threading.Thread(target=_watch_stop, args=(board, stop, done), daemon=True)
        watcher.start()
        try:
            # SIGTERM (the TUI's stop of this run) and SIGINT (a terminal's Ctrl-C reaching
            # the worker) stop the point cleanly while it trains; Ray's handlers come back.
            # Ray knows the attempt before this one ended: a run marked live elsewhere is ours.
            with stop.installed():
                code, summary = runner.resume(
                    run,
                    device=device,
                    force=True,
                    stop=stop,
                    sinks=sinks,
                    on_ready=lambda preset, checkpoint: store.update_summary(
                        run.path, ray={"attempt": attempt, "host": me.host}
                    ),
                )
        except UserError as exc:  # a run that cannot resume, a device its node lacks
            return {**out, "status": store.FAILED, "code": EXIT_BAD_INPUT, "error": str(exc)}
        finally:
            done.set()
    return {**out, "status": summary.get("status"), "code": code, "error": summary.get("error")}


@contextlib.contextmanager
def _output_to(path: Path, header: str) -> Iterator[None]:
    """The task's prints (runner's error lines) in the run's log.txt, as a local point's."""
    with os.fdopen(files.open_append(path), "a", encoding="utf-8", buffering=1) as log:
        log.write(header)
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            yield


@ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)
def train_point(
    board: Any, index: int, run_path: str | None, run_id: str, preset_text: str, device: str | None
) -> dict[str, Any]:
    """One sweep point, as a Ray task. ``run_path``: the run directory on a shared
    filesystem; None: train a scratch copy and send everything to the driver."""
    attempt, checkpoint, summary = get_in_task(board.begin.remote(index))
    if not attempt:
        return {"status": NOT_STARTED, "code": None}
    header = f"--- sweep point {index} (ray, host {socket.gethostname()}, attempt {attempt})\n"
    if run_path is not None:
        run = store.RunDir(Path(run_path))
        with _output_to(run.log_path, header):
            return _train_run(run, device, (), board, attempt)
    scratch = Path(tempfile.mkdtemp(prefix="grok-tui-point-"))
    try:
        run = store.RunDir(scratch / run_id)
        files.make_new_dir(run.path)
        files.write_text_atomic(run.preset_path, preset_text)
        store.write_summary(run.path, summary or {})
        if checkpoint is not None:
            files.write_atomic(run.checkpoint_path, checkpoint)
        forward = ForwardSink(board, index, attempt, run)
        with _output_to(run.log_path, header):
            result = _train_run(run, device, [forward], board, attempt)
        log = files.read_bytes(run.log_path, 1 << 20).decode("utf-8", "replace")
        forward.put("end", {"summary": run.summary(), "log": log})
        forward.flush()
        return result
    finally:
        with contextlib.suppress(OSError):
            files.rmtree(scratch)
