"""The driver's side of a Ray sweep: :class:`RayExecutor` submits a task per point.

**Stop and cancel.** stop() only counts (it runs in a signal handler); the driver's loop
then tells the board, so each running point (a thread of its task polls the board)
checkpoints and ends ``stopped``, and every task not begun is cancelled. A second stop
kills the running tasks (``ray.cancel(force=True)``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ray
from ray.exceptions import RayError, TaskCancelledError

from grok_tui import files
from grok_tui.rundirs import ownership, store
from grok_tui.sweep.jobs import DONE_STATUSES, NOT_STARTED, PointJob, PointResult, PollHook
from grok_tui.sweep.ray_executor.board import SweepBoard
from grok_tui.sweep.ray_executor.mirror import MirrorRun
from grok_tui.sweep.ray_executor.session import first_line
from grok_tui.sweep.ray_executor.worker import train_point
from grok_tui.sweep.sweepdir import SweepDir, sweep_runner_pid

# The driver's loop: how long it waits for a task to end before looking at stops again.
WAIT_S = 0.2


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
            error = f"ray: {first_line(exc)}"
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
