"""Sweeps on a Ray cluster: each point is one Ray task, placed by Ray with its resources.

The only module that imports ray (commands.py imports it on demand, for ``--executor
ray``). The sweep directory, sweep.json and each point's run directory are the same as a
local sweep's, so the report, the TUI's sweep screen and History read a Ray sweep as any.

**Where training happens.** A task trains its point inside the Ray worker process, through
``runner`` (``claim``, ``load_resume``, ``execute``): the code path of ``grok-tui --resume
RUN_DIR`` without a process of its own. A worker is reused from point to point with torch
already imported, Ray's placement (``CUDA_VISIBLE_DEVICES``, ``OMP_NUM_THREADS``) applies
to the training itself, and the process Ray watches is the trainer: when Ray sees the
worker die it retries the task, the kernel has dropped the run's lock with the process,
and the retry resumes from the last checkpoint (records past it are dropped first). A
child ``grok-tui --resume`` process would add seconds of start-up per point and could
outlive a killed worker, still holding the run when the retry comes.

**Stop and cancel.** A :class:`SweepBoard` actor holds the sweep's state: ``begin`` hands
out attempt numbers and refuses once the sweep stops. stop() only counts (it runs in a
signal handler); the driver's loop then tells the board, so each running point (a thread
of its task polls the board) checkpoints and ends ``stopped``, and every task not begun
is cancelled. A second stop kills the running tasks (``ray.cancel(force=True)``).

**Without a shared filesystem** (``shared_fs=False``) the worker trains into a scratch
copy of the run directory and a :class:`ForwardSink` sends its records as they come, and
its checkpoint, kept weights and summary, to the board; the driver drains the board and
writes the run directory on its own disk (:class:`MirrorRun`), holding the run's lock, so
the TUI on the driver's machine follows the run live. Each message carries its attempt:
the board drops those of a superseded attempt, and an attempt's ``start`` makes the
driver drop the records past its checkpoint, so no record is lost or repeated.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayError, TaskCancelledError

from grok_tui import files
from grok_tui.config import PresetError
from grok_tui.errors import UserError
from grok_tui.rundirs import ownership, store
from grok_tui.sweep.executor import DONE_STATUSES, NOT_STARTED, PointJob, PointResult, PollHook
from grok_tui.sweep.sweepdir import SweepDir, sweep_runner_pid

LOCAL = "local"
# How often a task asks the board whether the sweep stops (seconds).
STOP_POLL_S = 0.5
# A retried task may find the run's lock still held by the dying attempt for a moment.
CLAIM_WAIT_S = 30.0
# Ray retries a task whose worker died this many times (a node lost, a kill -9).
MAX_RETRIES = 3
# The driver's loop: how long it waits for a task to end before looking at stops again.
WAIT_S = 0.2


@contextlib.contextmanager
def ray_session(address: str) -> Iterator[dict[str, float]]:
    """Connected to Ray for the sweep; yields the cluster's resources.

    ``local`` starts a Ray instance on this machine and stops it afterwards; ``auto`` or
    an address joins a cluster (and leaves it running). A process already connected (a
    notebook, the tests) keeps its connection. A cluster that cannot be reached is a
    PresetError (one line, exit 2), raised before anything is created.
    """
    owned = not ray.is_initialized()
    if owned and address not in (LOCAL, "auto"):
        _check_reachable(address)
    if owned:
        options: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
        if address == LOCAL:
            options["include_dashboard"] = False
        try:
            ray.init(address=address, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise PresetError(
                f"--address {address}: cannot reach a Ray cluster ({_first_line(exc)})"
            ) from None
    watchdog = _start_watchdog() if owned and address == LOCAL else None
    try:
        yield dict(ray.cluster_resources())
    finally:
        if owned:
            ray.shutdown()
        if watchdog is not None:  # Ray is down: it has nothing left to do
            watchdog.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                watchdog.wait(timeout=5)


def _start_watchdog() -> subprocess.Popen[bytes] | None:
    """A process that kills the local Ray instance this driver just started if the driver
    dies without ray.shutdown (kill -9): the raylet's agents would outlive it for good
    (ray_watchdog). None where the instance's processes are unknown, or it cannot start."""
    from grok_tui.rundirs import launcher

    node = getattr(ray._private.worker, "_global_node", None)
    processes = getattr(node, "all_processes", None) or {}
    roots = [str(info.process.pid) for infos in processes.values() for info in infos
             if getattr(info, "process", None) is not None]  # fmt: skip
    if node is None or not roots:
        return None
    me = ownership.my_identity()
    try:
        return launcher.spawn(
            [sys.executable, "-m", "grok_tui.sweep.ray_watchdog", str(me.pid), me.started or "",
             *roots],
            Path(node.get_logs_dir_path()) / "grok-tui-watchdog.log",
        )  # fmt: skip
    except OSError as exc:
        print(f"ray: no watchdog for the local instance ({exc})", file=sys.stderr)
        return None


def _check_reachable(address: str) -> None:
    """A wrong HOST:PORT makes ray.init retry for minutes: one line at once instead."""
    where = address.removeprefix("ray://")
    host, _, port = where.rpartition(":")
    if not host or not port.isdigit():
        raise PresetError(
            f"--address {address}: expected local, auto, ray://HOST:PORT or HOST:PORT"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise PresetError(f"--address {address}: cannot reach a Ray cluster ({reason})") from None


def describe_cluster(address: str, resources: dict[str, float]) -> str:
    cpus, gpus = resources.get("CPU", 0), resources.get("GPU", 0)
    nodes = sum(1 for key in resources if key.startswith("node:") and "__" not in key)
    return (
        f"ray at {address}: {nodes} node{'s' if nodes != 1 else ''}, {cpus:g} CPUs, {gpus:g} GPUs"
    )


@ray.remote(num_cpus=0)
class SweepBoard:
    """The sweep's state shared by the driver and the tasks (one actor per sweep).

    Its methods run one at a time, so ``begin`` and ``stop`` are atomic: once the sweep
    stops, no point begins, and the driver knows exactly which began.
    """

    def __init__(self) -> None:
        self.stopping = False
        self.attempts: dict[int, int] = {}
        self.checkpoints: dict[int, bytes | None] = {}
        self.summaries: dict[int, dict[str, Any]] = {}
        self.messages: list[tuple[int, int, str, dict[str, Any]]] = []

    def begin(self, index: int) -> tuple[int, bytes | None, dict[str, Any] | None]:
        """An attempt number (0: the sweep stops, do not train), the latest checkpoint and
        summary of the point (kept here only without a shared filesystem)."""
        if self.stopping:
            return 0, None, None
        attempt = self.attempts.get(index, 0) + 1
        self.attempts[index] = attempt
        return attempt, self.checkpoints.get(index), self.summaries.get(index)

    def is_stopping(self) -> bool:
        return self.stopping

    def stop(self) -> list[int]:
        """Stop the sweep; the points that began."""
        self.stopping = True
        return sorted(self.attempts)

    def seed(self, index: int, checkpoint: bytes | None, summary: dict[str, Any]) -> None:
        """The driver's copy of a point's state, where its first attempt starts from."""
        self.checkpoints[index] = checkpoint
        self.summaries[index] = summary

    def put(self, index: int, attempt: int, kind: str, payload: dict[str, Any]) -> bool:
        """A message of a point's attempt for the driver; a superseded attempt's is dropped."""
        if self.attempts.get(index) != attempt:
            return False
        if kind == "checkpoint":
            self.checkpoints[index] = payload["data"]
        if "summary" in payload:
            self.summaries[index] = payload["summary"]
        self.messages.append((index, attempt, kind, payload))
        return True

    def take(self) -> list[tuple[int, int, str, dict[str, Any]]]:
        messages, self.messages = self.messages, []
        return messages


class ForwardSink:
    """Sends what the scratch run directory receives to the driver, through the board.

    Last among the sinks: the scratch RunDirSink has written each file before it is sent.
    """

    def __init__(self, board: Any, index: int, attempt: int, run: store.RunDir) -> None:
        self.board, self.index, self.attempt, self.run = board, index, attempt, run
        self.last: Any = None

    def put(self, kind: str, payload: dict[str, Any]) -> None:
        self.last = self.board.put.remote(self.index, self.attempt, kind, payload)

    def flush(self) -> None:
        """Wait until the board holds every message sent (actor calls arrive in order)."""
        if self.last is not None:
            _get_in_task(self.last)

    def on_start(self, info: dict[str, Any]) -> None:
        self.put("start", {"resumed_from": info.get("resumed_from"), "summary": self.run.summary()})

    def on_record(self, record: dict[str, Any], summary: dict[str, Any]) -> None:
        self.put("record", {"record": record, "summary": self.run.summary()})

    def on_checkpoint(self, state: dict[str, Any]) -> None:
        data = files.read_bytes(self.run.checkpoint_path, files.MAX_CHECKPOINT_BYTES)
        self.put("checkpoint", {"step": state["step"], "data": data})
        self.flush()  # a retry must find this checkpoint on the board

    def on_snapshot(self, step: int, weights: dict[str, Any]) -> None:
        path = store.snapshot_path(self.run.path, step)
        self.put(
            "snapshot", {"step": step, "data": files.read_bytes(path, files.MAX_CHECKPOINT_BYTES)}
        )

    def on_end(self, summary: dict[str, Any]) -> None:
        """The final summary is sent by the task once runner.execute has written it."""


_task_getter: ThreadPoolExecutor | None = None


def _get_in_task(ref: Any) -> Any:
    """ray.get from a task without giving up its CPUs.

    Ray lends a task's resources to others while its main thread blocks in ray.get (so
    that nested tasks cannot deadlock); a point waiting a moment on the board would let
    Ray start one point too many on its CPUs. From another thread, it keeps them.
    """
    global _task_getter
    if _task_getter is None:
        _task_getter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grok-tui-get")
    return _task_getter.submit(ray.get, ref).result()


def _watch_stop(board: Any, stop: Any, done: threading.Event) -> None:
    """Turn the board's stop into the run's StopFlag (a lost board: the driver is gone)."""
    while not done.wait(STOP_POLL_S):
        try:
            stopping = ray.get(board.is_stopping.remote(), timeout=30)
        except GetTimeoutError:
            continue
        except RayActorError:
            stopping = True
        if stopping:
            stop.signal_name = stop.signal_name or "the sweep's stop"
            stop.requested = True
            return


@contextlib.contextmanager
def _signals_stop(stop: Any) -> Iterator[None]:
    """SIGTERM (the TUI's stop of this run) and SIGINT (a terminal's Ctrl-C reaching the
    worker) stop the point cleanly while it trains; Ray's own handlers come back after."""
    saved: dict[int, Any] = {}

    def handle(signum: int, frame: Any) -> None:
        stop.signal_name = signal.Signals(signum).name
        stop.requested = True

    try:
        for sig in (signal.SIGTERM, signal.SIGINT):
            saved[sig] = signal.signal(sig, handle)
    except ValueError:  # not the main thread: Ray's handlers stay
        pass
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)


def _claim_waiting(run: store.RunDir) -> ownership.DirLock:
    """The run's lock; a retry waits for the attempt before it to let go."""
    from grok_tui.training import runner

    deadline = time.monotonic() + CLAIM_WAIT_S
    while True:
        try:
            return runner.claim(run)
        except runner.RunBusyError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _train_run(
    run: store.RunDir, device: str | None, sinks: Sequence[Any], board: Any, attempt: int
) -> dict[str, Any]:
    """Train a run directory this worker can write, as ``grok-tui --resume`` would."""
    from grok_tui.training import runner
    from grok_tui.training.engine import RunError

    me = ownership.my_identity()
    out: dict[str, Any] = {"host": me.host, "pid": me.pid, "attempt": attempt}
    try:
        lock = _claim_waiting(run)
    except runner.RunBusyError as exc:
        return {**out, "status": "busy", "code": None, "error": str(exc)}
    except UserError as exc:
        return {**out, "status": store.FAILED, "code": runner.EXIT_BAD_INPUT, "error": str(exc)}
    with lock:
        status = store.effective_status(run.summary(), run.path)
        if status in DONE_STATUSES:  # an attempt ended it but died before reporting
            return {**out, "status": status, "code": 0 if status == store.COMPLETED else 1}
        stop = runner.StopFlag()
        done = threading.Event()
        watcher = threading.Thread(target=_watch_stop, args=(board, stop, done), daemon=True)
        watcher.start()
        try:
            # Ray knows the attempt before this one ended: a run marked live elsewhere is ours.
            preset, checkpoint = runner.load_resume(run, force=True)
            runner.check_device(preset, device)
            store.update_summary(run.path, ray={"attempt": attempt, "host": me.host})
            with _signals_stop(stop):
                code, summary = runner.execute(
                    preset,
                    run,
                    sinks=sinks,
                    resume=checkpoint,
                    restart=checkpoint is None,
                    device=device,
                    stop=stop,
                )
        except (UserError, RunError) as exc:
            return {**out, "status": store.FAILED, "code": runner.EXIT_BAD_INPUT, "error": str(exc)}
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
    attempt, checkpoint, summary = _get_in_task(board.begin.remote(index))
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


class MirrorRun:
    """The driver's run directory of a point trained without a shared filesystem.

    Written only here, from the board's messages, while the driver holds the run's lock:
    records appended as they come, checkpoint and kept weights written atomically, the
    summary naming the driver as its owner (the process a TUI may stop, and whose death
    makes the run ``crashed``) and the worker that trains it.
    """

    def __init__(self, run: store.RunDir) -> None:
        self.run = run
        self.attempt = 0
        self.writer: store.MetricsWriter | None = None
        self.lock = run.lock.acquire()  # ownership.LockedError: someone trains it here

    def apply(self, attempt: int, kind: str, payload: dict[str, Any]) -> None:
        if attempt < self.attempt:
            return
        if kind == "start":
            self.attempt = attempt
            self._close()
            resumed = payload.get("resumed_from")
            self.writer = store.MetricsWriter(
                self.run.path, keep_through_step=-1 if resumed is None else resumed
            )
        elif kind == "record" and self.writer is not None:
            self.writer.append(payload["record"])
        elif kind == "checkpoint":
            files.write_atomic(self.run.checkpoint_path, payload["data"])
        elif kind == "snapshot":
            path = store.snapshot_path(self.run.path, payload["step"])
            files.mkdir(path.parent)  # through the locked run directory; a link is refused
            files.write_atomic(path, payload["data"])
        elif kind == "end":
            self._close()
            if payload.get("log"):
                with os.fdopen(files.open_append(self.run.log_path), "a", encoding="utf-8") as log:
                    log.write(payload["log"])
        if "summary" in payload:
            self._write_summary(payload["summary"])

    def _write_summary(self, summary: dict[str, Any]) -> None:
        me = ownership.my_identity()
        worker = {"host": summary.get("host"), "pid": summary.get("pid")}
        store.write_summary(
            self.run.path,
            {**summary, "pid": me.pid, "host": me.host, "owner": me.as_dict(), "worker": worker},
        )

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def close(self) -> None:
        self._close()
        self.lock.release()


@dataclass
class _Task:
    job: PointJob
    started: float
    mirror: MirrorRun | None = None


class RayExecutor:
    """Each point as one Ray task with ``cpus_per_run`` CPUs and ``gpus_per_run`` GPUs.

    ``jobs``: points in flight at once (None: all, Ray queues what does not fit).
    Needs a connected Ray (ray_session).
    """

    def __init__(
        self,
        jobs: int | None = None,
        *,
        cpus_per_run: float = 1.0,
        gpus_per_run: float = 0.0,
        shared_fs: bool = True,
        device: str | None = None,
        on_stop: Callable[[int], None] | None = None,
    ) -> None:
        if jobs is not None and jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {jobs}")
        self.jobs = jobs
        self.devices: list[str] = []
        self.cpus_per_run = cpus_per_run
        self.gpus_per_run = gpus_per_run
        self.shared_fs = shared_fs
        self.device = device
        self.on_stop = on_stop
        self.stops = 0
        self._begun: set[int] = set()  # the points that began before the sweep stopped
        # once per pass of run()'s loop (a sweep's progress line, sweep/progress.py)
        self.on_poll: PollHook | None = None

    def stop(self) -> None:
        self.stops += 1

    @property
    def stopping(self) -> bool:
        return self.stops > 0

    def run(
        self, jobs: Sequence[PointJob], on_done: Callable[[PointResult], None]
    ) -> list[PointResult]:
        board = SweepBoard.remote()  # type: ignore[attr-defined]
        pending = deque(jobs)
        running: dict[Any, _Task] = {}
        results: list[PointResult] = []
        handled = 0
        try:
            while running or (pending and not self.stopping):
                while pending and not self.stopping and len(running) < (self.jobs or len(jobs)):
                    job = pending.popleft()
                    task = self._submit(board, job)
                    if isinstance(task, PointResult):
                        results.append(task)
                        on_done(task)
                    else:
                        running[task[0]] = task[1]
                while handled < self.stops:
                    handled += 1
                    if handled == 1:  # the running points stop cleanly, the queued never start
                        self._begun = set(ray.get(board.stop.remote()))
                        queued = [r for r, t in running.items() if t.job.index not in self._begun]
                        for ref in queued:
                            ray.cancel(ref)
                        if self.on_stop:
                            self.on_stop(len(running) - len(queued))
                    else:  # kill them
                        if self.on_stop:
                            self.on_stop(len(running))
                        for ref in running:
                            ray.cancel(ref, force=True)
                if not running:
                    continue
                ready, _ = ray.wait(list(running), num_returns=1, timeout=WAIT_S)
                self._drain(board, running)
                for ref in ready:
                    task = running.pop(ref)
                    result = self._result(ref, task)
                    results.append(result)
                    on_done(result)
                if self.on_poll:  # a task Ray has not placed yet counts as running
                    self.on_poll([[t.job] for t in running.values()], pending, results)
        finally:
            for ref, task in running.items():  # only on an error in here: leave no task
                ray.cancel(ref, force=True)
                if task.mirror is not None:
                    task.mirror.close()
            with contextlib.suppress(RayError):
                ray.kill(board)
        for job in pending:
            results.append(PointResult(job, NOT_STARTED, None, job.run.summary()))
        return results

    def _submit(self, board: Any, job: PointJob) -> tuple[Any, _Task] | PointResult:
        mirror = None
        if not self.shared_fs:
            try:
                mirror = MirrorRun(job.run)
            except ownership.LockedError as exc:
                who = exc.holder.describe() if exc.holder else "another process"
                summary = job.run.summary()
                status = store.effective_status(summary, job.run.path)
                print(f"  #{job.index}: trained by {who}, left alone", file=sys.stderr)
                return PointResult(job, status, None, summary)
            checkpoint = (
                files.read_bytes(job.run.checkpoint_path, files.MAX_CHECKPOINT_BYTES)
                if os.path.lexists(job.run.checkpoint_path)
                else None
            )
            ray.get(board.seed.remote(job.index, checkpoint, job.run.summary()))
        preset_text = files.read_text(job.run.preset_path, files.MAX_TOML_BYTES)
        ref = train_point.options(num_cpus=self.cpus_per_run, num_gpus=self.gpus_per_run).remote(
            board,
            job.index,
            str(job.run.path.resolve()) if self.shared_fs else None,
            job.run.run_id,
            preset_text,
            self.device,
        )
        return ref, _Task(job, time.monotonic(), mirror)

    def _drain(self, board: Any, running: dict[Any, _Task]) -> None:
        """Without a shared filesystem: write what the workers sent into the run directories."""
        if self.shared_fs:
            return
        mirrors = {task.job.index: task.mirror for task in running.values() if task.mirror}
        for index, attempt, kind, payload in ray.get(board.take.remote()):
            mirror = mirrors.get(index)
            if mirror is not None:
                mirror.apply(attempt, kind, payload)

    def _result(self, ref: Any, task: _Task) -> PointResult:
        job = task.job
        error = None
        try:
            outcome: dict[str, Any] = ray.get(ref)
        except TaskCancelledError:
            # cancelled before it began (the first stop), or killed (the second)
            began = job.index in self._begun
            outcome = {"status": "killed" if began else NOT_STARTED, "code": None}
            error = "killed by a second stop"
        except RayError as exc:  # the worker died more often than Ray retries, or a bug
            outcome = {"status": store.CRASHED, "code": None}
            error = f"ray: {_first_line(exc)}"
        finally:
            if task.mirror is not None:
                task.mirror.close()
        summary = job.run.summary()
        status = store.effective_status(summary, job.run.path)
        if outcome["status"] in (NOT_STARTED, "busy"):
            return PointResult(job, NOT_STARTED if outcome["status"] == NOT_STARTED else status,
                               None, summary)  # fmt: skip
        if outcome["status"] == store.FAILED and status != store.FAILED:
            # it failed before training: a preset or device that cannot run on its node
            summary = store.update_summary(
                job.run.path,
                status=store.FAILED,
                error=outcome.get("error"),
                ended_at=store.now_iso(),
            )
            status = store.FAILED
        elif error and status not in DONE_STATUSES + (store.STOPPED, store.FAILED):
            # Ray says the task ended for good: a run still marked live was cut short
            summary = store.update_summary(
                job.run.path, status=store.CRASHED, error=error, ended_at=store.now_iso()
            )
            status = store.CRASHED
        code = outcome.get("code")
        host = outcome.get("host")
        return PointResult(
            job,
            status,
            1 if code is None else code,
            summary,
            f"ray@{host}" if host else None,
            time.monotonic() - task.started,
        )


def _first_line(exc: BaseException) -> str:
    """One line for an error; a task's own exception rather than Ray's wrapper of it."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {_first_line(cause)}"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def release_orphans(sweep_dir: SweepDir, wait_s: float = 10.0) -> list[int]:
    """Points a dead Ray driver left marked live: they are resumable now.

    Called before ``--resume SWEEP_DIR --executor ray`` takes the sweep. With no process
    holding the sweep, no task of it lives: Ray ends a driver's tasks with it. A local
    worker may take a moment to die (waited for, up to ``wait_s``); a point whose worker
    ran on another host cannot be checked from here, so it is marked ``crashed``.
    """
    if sweep_runner_pid(sweep_dir.path) is not None:
        return []  # another driver has the sweep: execute() will say so
    deadline = time.monotonic() + wait_s
    released: list[int] = []
    for point in sweep_dir.points():
        if point.run is None:
            continue
        summary = point.run.summary()
        if not summary.get("ray") or summary.get("status") not in store.LIVE_STATUSES:
            continue
        owner = store.owner_of(summary)
        if owner is not None and ownership.is_local(owner):
            while (
                time.monotonic() < deadline
                and store.effective_status(point.run.summary(), point.run.path)
                in store.LIVE_STATUSES
            ):
                time.sleep(0.1)
            continue
        store.update_summary(
            point.run.path,
            status=store.CRASHED,
            error="its Ray driver ended while it trained",
            ended_at=store.now_iso(),
        )
        released.append(point.index)
    return released
