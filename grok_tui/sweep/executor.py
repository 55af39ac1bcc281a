"""Training a sweep's points: every point is an ordinary run, trained by its own process.

The executor is an interface (:class:`Executor`, jobs.py): ``run(jobs, on_done)`` trains the
given points and calls ``on_done`` as each one ends; ``stop()`` asks for a clean stop
and may be called from a signal handler. :class:`ProcessExecutor` runs each point as
``python -m grok_tui --resume RUN_DIR`` (the code path of any run), ``jobs`` at a time,
one device per job slot. A vectorised executor (N same-architecture points as one
torch.func batch) or a cluster executor (Ray) only needs to train the run directories
it is given and fill them in as the engine's RunDirSink does.

:func:`execute` trains what is not finished yet: completed and diverged points are
results and are never trained again; stopped, crashed and failed points continue from
their checkpoints; created ones start from step 0. One process at a time holds a sweep
(:func:`sweep_lock`). Processes are started through launch.spawn, the one place that
starts processes; nothing here imports torch.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from grok_tui import files
from grok_tui.config import PresetError
from grok_tui.rundirs import launch, ownership, store
from grok_tui.rundirs.watch import tail
from grok_tui.sweep.jobs import (
    DONE_STATUSES,
    NOT_STARTED,
    Executor,
    PointJob,
    PointResult,
    PollHook,
)
from grok_tui.sweep.labels import format_value
from grok_tui.sweep.sweepdir import LOCK_FILE, SweepDir, SweepPoint
from grok_tui.text import format_duration

if TYPE_CHECKING:
    from grok_tui.sweep.progress import SweepProgress

EXIT_OK, EXIT_FAILED, EXIT_STOPPED = 0, 1, 130

# The job types' home is jobs.py; their names stay importable from here.
__all__ = [
    "DONE_STATUSES",
    "NOT_STARTED",
    "Executor",
    "PointJob",
    "PointResult",
    "PollHook",
    "ProcessExecutor",
    "execute",
    "format_point_line",
    "jobs_to_run",
    "point_error",
    "sweep_lock",
]


@dataclass
class _Child:
    """A process training one point, or a vectorised group of points (jobs[0] leads)."""

    process: subprocess.Popen[bytes]
    jobs: list[PointJob]
    device: str | None
    started: float


class ProcessExecutor:
    """Each point as its own ``python -m grok_tui --resume RUN_DIR`` process, ``jobs`` at once.

    With ``vectorize`` other than 1, points that may share a vectorised group
    (sweep/groups.py) train as one ``--resume RUN_DIR RUN_DIR...`` process each group,
    whose output goes to its first member's log.txt. With ``devices``, job slot i trains on ``devices[i % len(devices)]`` (``--device``
    of the child: the frozen preset stays as it is). Children run in their own session:
    a terminal's Ctrl-C reaches only the sweep, which forwards one SIGTERM per stop()
    to every running point (the first makes it checkpoint and stop, a second kills it).
    Their output goes to each run directory's log.txt.
    """

    def __init__(
        self,
        jobs: int = 1,
        devices: Sequence[str] = (),
        *,
        command: Sequence[str] | None = None,
        poll_interval: float = 0.1,
        threads: int | None = None,
        on_stop: Callable[[int], None] | None = None,
        vectorize: int | str = 1,
        on_note: Callable[[str], None] | None = None,
        on_poll: PollHook | None = None,
    ) -> None:
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {jobs}")
        self.jobs = jobs
        self.devices = list(devices)
        # launch.py's command, so that a sweep point is trained as any run
        self.command = list(command or launch.RUN_COMMAND)
        self.poll_interval = poll_interval
        # CPU threads per point, so that N jobs do not fight over the cores.
        self.threads = (
            threads
            if threads is not None
            else (max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None)
        )
        self.on_stop = on_stop
        self.stops = 0
        self.vectorize = vectorize
        self.on_note = on_note
        # once per poll of run()'s loop (a sweep's progress line): it must return at once
        self.on_poll = on_poll

    def stop(self) -> None:
        self.stops += 1

    @property
    def stopping(self) -> bool:
        return self.stops > 0

    def device_of(self, slot: int) -> str | None:
        return self.devices[slot % len(self.devices)] if self.devices else None

    def plan(self, jobs: Sequence[PointJob]) -> list[list[PointJob]]:
        """The jobs in processes: one each, or vectorised groups (said through on_note)."""
        if self.vectorize == 1:
            return [[job] for job in jobs]
        from grok_tui.sweep.groups import describe_plan, plan  # torch-free

        device = self.devices[0] if self.devices else None
        units, notes = plan(jobs, self.vectorize, device)  # type: ignore[arg-type]
        if self.on_note:
            for note in notes:
                self.on_note(note)
            if any(len(unit) > 1 for unit in units):
                self.on_note(f"vectorised (--vectorize {self.vectorize}): {describe_plan(units)}")
        return units

    def run(
        self, jobs: Sequence[PointJob], on_done: Callable[[PointResult], None]
    ) -> list[PointResult]:
        pending = deque(self.plan(jobs))
        free = list(range(self.jobs))
        running: dict[int, _Child] = {}
        results: list[PointResult] = []
        forwarded = 0
        try:
            while running or (pending and not self.stopping):
                while free and pending and not self.stopping:
                    slot = free.pop(0)
                    unit = pending.popleft()
                    device = self.device_of(slot)
                    try:
                        process = self._start(unit, device)
                    except OSError as exc:  # its log refused (a planted link), not started
                        free.insert(0, slot)
                        result = _not_started(unit[0], exc)
                        results.append(result)
                        on_done(result)
                        if len(unit) > 1:  # the others of its group go on without it
                            pending.appendleft(unit[1:])
                        continue
                    running[slot] = _Child(process, unit, device, time.monotonic())
                while forwarded < self.stops:  # one SIGTERM per stop(): a second one kills
                    forwarded += 1
                    if self.on_stop:
                        self.on_stop(len(running))
                    for child in running.values():
                        with contextlib.suppress(ProcessLookupError):
                            child.process.send_signal(signal.SIGTERM)
                for slot, child in list(running.items()):
                    code = child.process.poll()
                    if code is None:
                        continue
                    del running[slot]
                    free.append(slot)
                    free.sort()
                    for job in child.jobs:
                        result = self._result(child, job, code)
                        results.append(result)
                        on_done(result)
                if self.on_poll:
                    self.on_poll([child.jobs for child in running.values()], pending, results)
                if running or pending:
                    time.sleep(self.poll_interval)
        finally:
            for child in running.values():  # only on an error in here: leave no orphan
                with contextlib.suppress(ProcessLookupError):
                    child.process.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.process.wait(timeout=30)
        for unit in pending:
            for job in unit:
                results.append(PointResult(job, NOT_STARTED, None, job.run.summary()))
        return results

    def _start(self, unit: Sequence[PointJob], device: str | None) -> subprocess.Popen[bytes]:
        paths = [str(job.run.path) for job in unit]
        command = [*self.command, *paths, *(["--device", device] if device else [])]
        env = (
            {}
            if not self.threads or "OMP_NUM_THREADS" in os.environ
            else {"OMP_NUM_THREADS": str(self.threads)}
        )
        lead = unit[0]
        if len(unit) > 1:
            header = (
                f"--- sweep points {', '.join(f'#{job.index}' for job in unit)} as one "
                f"vectorised group: {' '.join(command)}\n"
            )
            for job in unit[1:]:  # each member's log says where its output went
                with (
                    contextlib.suppress(OSError),  # a refused log (a planted link) stays so
                    os.fdopen(files.open_append(job.run.log_path), "a", encoding="utf-8") as log,
                ):
                    log.write(
                        f"--- sweep point {job.index} trains in a vectorised group led by "
                        f"point {lead.index}; the group's output: {lead.run.log_path}\n"
                    )
        else:
            header = f"--- sweep point {lead.index}: {' '.join(command)}\n"
        return launch.spawn(command, lead.run.log_path, header=header, env=env)

    def _result(self, child: _Child, job: PointJob, code: int) -> PointResult:
        run = job.run
        if not run.exists():  # removed while it trained (its group trained on without it)
            error = "its run directory was removed while it trained"
            return PointResult(
                job,
                "missing",
                code,
                {"error": error},
                child.device,
                time.monotonic() - child.started,
            )
        summary = run.summary()
        status = store.effective_status(summary)
        if status in (store.CREATED, "starting"):
            # The process ended before training began.
            if self.stopping:
                status = NOT_STARTED
            else:
                error = point_error(child.jobs[0].run.log_path, code)
                summary = store.update_summary(
                    run.path, status=store.FAILED, error=error, ended_at=store.now_iso()
                )
                status = store.FAILED
        return PointResult(
            job, status, code, summary, child.device, time.monotonic() - child.started
        )


def _not_started(job: PointJob, exc: OSError) -> PointResult:
    """A point whose process could not be started (the first of its group, whose log.txt
    takes the output): failed, with why in its summary, so that the sweep says it in one
    line and goes on; ``--resume`` tries it again once the cause is gone."""
    where = exc.filename if isinstance(exc.filename, str) else job.run.log_path
    how = "refused" if isinstance(exc, files.UnsafeFileError) else "cannot be opened"
    error = f"not started: {where} {how}: {files.describe_os_error(exc)}"
    try:
        summary = store.update_summary(
            job.run.path, status=store.FAILED, error=error, ended_at=store.now_iso()
        )
    except OSError:  # its directory cannot be written either: the line still says why
        summary = {**job.run.summary(), "status": store.FAILED, "error": error}
    return PointResult(job, store.FAILED, None, summary)


def point_error(log_path: Path, code: int) -> str:
    """Why a point's process ended before training: its last 'error:' line, not the
    progress line printed after it."""
    lines = tail(log_path, 20)
    errors = [line for line in lines if line.startswith("error:")]
    if errors:
        return errors[-1].removeprefix("error:").strip()
    return lines[-1] if lines else f"exit code {code}"


def jobs_to_run(sweep_dir: SweepDir) -> tuple[list[PointJob], list[SweepPoint], list[SweepPoint]]:
    """(points to train, points already finished, points live in another process)."""
    todo: list[PointJob] = []
    done: list[SweepPoint] = []
    live: list[SweepPoint] = []
    for point in sweep_dir.points():
        if point.run is None:
            continue
        status = store.effective_status(point.run.summary())
        if status in DONE_STATUSES:
            done.append(point)
        elif status in store.LIVE_STATUSES:
            live.append(point)
        else:
            todo.append(PointJob(point.index, point.label, point.run))
    return todo, done, live


@contextlib.contextmanager
def sweep_lock(sweep_dir: SweepDir) -> Iterator[None]:
    """One process at a time trains a sweep (a second gets a clear error naming the first).

    An OS lock (ownership.DirLock): it dies with its process, so kill -9 never leaves a
    sweep stuck, and it proves which process a TUI may signal to stop the sweep.
    """
    lock = ownership.DirLock(sweep_dir.path, LOCK_FILE)
    try:
        lock.acquire()
    except ownership.LockedError as exc:
        who = exc.holder.describe() if exc.holder else "another process"
        raise PresetError(
            f"sweep {sweep_dir.sweep_id} is being run by another process ({who})"
        ) from None
    except OSError as exc:
        raise PresetError(
            f"cannot lock the sweep directory: {files.describe_os_error(exc)}",
            file=sweep_dir.path,
        ) from None
    try:
        yield
    finally:
        lock.release()


def format_point_line(result: PointResult, labels: dict[str, str]) -> str:
    """'completed  #2 lr=1e-3 wd=0.1 · fit 20 grok 140 · train 1.000 test 0.998 · 0:12'."""
    summary = result.summary
    coords = (summary.get("sweep") or {}).get("coords") or {}
    label = (
        " ".join(f"{labels.get(k, k)}={format_value(v)}" for k, v in coords.items())
        or result.job.label
    )
    parts = [f"{result.status:<9} #{result.job.index} {label}"]
    if result.status in (store.COMPLETED, store.STOPPED, store.DIVERGED, store.CRASHED):
        steps = f"step {summary.get('step', 0)}/{summary.get('steps', '?')}"
        parts.append(
            f"{steps} · fit {_opt(summary.get('fit_step'))} grok {_opt(summary.get('grok_step'))}"
        )
        final = summary.get("final") or {}
        if final:
            parts.append(
                f"train {final.get('train_acc', 0):.3f} test {final.get('test_acc', 0):.3f}"
            )
    parts.append(format_duration(result.wall_s))
    if result.device:
        parts.append(result.device)
    if summary.get("error") and result.status not in (store.COMPLETED, store.STOPPED):
        parts.append(f"error: {summary['error']}")
    if result.status in (store.FAILED, store.CRASHED):
        parts.append(f"log: {result.job.run.log_path}")
    return " · ".join(parts)


def _opt(value: Any) -> str:
    return "-" if value is None else str(value)


def execute(
    sweep_dir: SweepDir,
    executor: Executor,
    *,
    out: TextIO | None = None,
    header: str = "",
    stopped_by: Callable[[], str] = lambda: "",
    progress: SweepProgress | None = None,
) -> int:
    """Train the unfinished points of a sweep directory; print a line per point and a summary.

    With ``progress`` (sweep/progress.py) every line goes through it and the executor
    (when it has an ``on_poll``) feeds its progress line while the points train.

    Exit code: 0 when every point is completed (or diverged: a result), 130 when stopped
    before the end, 1 when a point failed, crashed or is still unfinished.
    """
    stream: TextIO = progress if progress is not None else (out or sys.stdout)

    def say(text: str) -> None:
        stream.write(text + "\n")
        stream.flush()

    started = time.monotonic()
    labels = sweep_dir.labels()
    with sweep_lock(sweep_dir):
        todo, done, live = jobs_to_run(sweep_dir)
        total = len(sweep_dir.points())
        say(
            f"sweep {sweep_dir.sweep_id} · {header or f'{sweep_dir.mode} of {total} points'}\n"
            f"  {sweep_dir.path} · {len(todo)} to train"
            + (f", {len(done)} finished already" if done else "")
            + (f", {len(live)} running elsewhere" if live else "")
            + _jobs_text(executor)
        )
        for point in live:
            say(f"  #{point.index} {point.label}: still running in another process, left alone")
        finished = 0

        def on_done(result: PointResult) -> None:
            nonlocal finished
            finished += 1
            width = len(str(len(todo)))
            say(f"[{finished:>{width}}/{len(todo)}] {format_point_line(result, labels)}")

        hooked = progress is not None and hasattr(executor, "on_poll")
        if hooked:
            executor.on_poll = progress.on_poll  # type: ignore[attr-defined, union-attr]
        try:
            executor.run(todo, on_done)
        finally:
            if progress is not None:
                progress.close()
            if hooked:
                executor.on_poll = None  # type: ignore[attr-defined]
    statuses = sweep_dir.statuses()
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    tally = ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    stopped = getattr(executor, "stopping", False)
    say(
        f"sweep {'stopped' if stopped else 'done'}: {total} points · {tally} · "
        f"{format_duration(time.monotonic() - started)}"
    )
    unfinished = [i for i, s in statuses.items() if s not in DONE_STATUSES]
    if unfinished:
        why = stopped_by()
        say(
            (f"stopped by {why}; " if stopped and why else "")
            + f"continue with: grok-tui --resume {sweep_dir.path}"
        )
    say(f"report: grok-tui sweep-report {sweep_dir.path}")
    if stopped and unfinished:
        return EXIT_STOPPED
    return EXIT_FAILED if unfinished else EXIT_OK


def _jobs_text(executor: Executor) -> str:
    jobs = getattr(executor, "jobs", None)
    devices = getattr(executor, "devices", None)
    if jobs is None:
        return ""
    text = f" · {jobs} job{'s' if jobs != 1 else ''}"
    return text + (f" on {', '.join(devices)}" if devices else "")
