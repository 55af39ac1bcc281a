"""One run from start to end: a run directory, the engine, signals, exit codes.

``grok-tui --run`` and ``grok-tui --resume`` (which the TUI spawns, rundirs/launch.py) both come
through here (``run``, ``resume``), and so does a Ray worker's point, so a run started
from the TUI, the command line or a cluster is one code path. ``failure`` and
``end_code`` are the one mapping of how a run (or a group) ended to its exit code.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

from grok_tui import files
from grok_tui.config import Preset, PresetError, with_overrides
from grok_tui.errors import RunBusyError, RunNotFoundError, UserError
from grok_tui.rundirs import layout, ownership, store
from grok_tui.rundirs.stopping import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    StopFlag,
    stop_exit_code,
)
from grok_tui.rundirs.stopping import EXIT_STOPPED as EXIT_STOPPED  # callers' names
from grok_tui.rundirs.stopping import EXIT_TERMINATED as EXIT_TERMINATED
from grok_tui.rundirs.stopping import STOPPED_CODES as STOPPED_CODES
from grok_tui.rundirs.threads import look_ahead
from grok_tui.text import safe_text

# Set to 1 for the traceback of an unexpected error (a bug) besides its one-line message.
DEBUG_ENV = "GROK_TUI_DEBUG"


class RunDirSink:
    """Writes records, summaries and checkpoints into a run directory."""

    def __init__(self, run: store.RunDir, *, resumed_step: int | None = None) -> None:
        """``resumed_step``: None for a new run; for a resumed one, the step it restarts
        after (its checkpoint's, or -1 when it restarts from scratch)."""
        self.run = run
        self.metrics = store.MetricsWriter(run.path, keep_through_step=resumed_step)
        self.summary = store.read_summary(run.path)
        self.closed = False

    def on_start(self, info: dict[str, Any]) -> None:
        me = ownership.my_identity()
        self.summary.update(
            info,
            status=store.RUNNING,
            pid=me.pid,
            host=me.host,
            owner=me.as_dict(),
            started_at=self.summary.get("started_at") or store.now_iso(),
            ended_at=None,
            error=None,
        )
        self.summary.setdefault("run_id", self.run.run_id)
        if info.get("resumed_from") is not None:
            self.summary.setdefault("resumes", []).append(
                {"step": info["resumed_from"], "at": store.now_iso()}
            )
            # the run restarts here: the old session's step and rate are not its state now
            self.summary.update(step=info["resumed_from"], steps_per_s=None)
        self.summary.pop("resumed_from", None)
        store.write_summary(self.run.path, self.summary)

    def on_record(self, record: dict[str, Any], summary: dict[str, Any]) -> None:
        self.metrics.append(record)
        self.summary.update(summary)
        store.write_summary(self.run.path, self.summary)

    def on_checkpoint(self, state: dict[str, Any]) -> None:
        from grok_tui.training.checkpoint import save_checkpoint

        save_checkpoint(self.run.path, state)
        self.summary["checkpoint_step"] = state["step"]

    def on_snapshot(self, step: int, weights: dict[str, Any]) -> None:
        from grok_tui.training.checkpoint import save_snapshot

        save_snapshot(self.run.path, step, weights)

    def on_end(self, summary: dict[str, Any]) -> None:
        if self.closed:
            return
        self.closed = True
        self.metrics.close()
        self.summary.update(summary, ended_at=store.now_iso())
        store.write_summary(self.run.path, self.summary)


def claim(run: store.RunDir) -> ownership.DirLock:
    """Own a run directory for training: its lock, or RunBusyError naming who holds it."""
    try:
        return run.lock.acquire()
    except ownership.LockedError as exc:
        who = exc.holder.describe() if exc.holder else "another process"
        raise RunBusyError(
            f"run {run.run_id} is being trained by {who}; stop it first "
            f"(s in the TUI) or wait for it to end",
            file=run.path,
        ) from None
    except OSError as exc:
        raise PresetError(
            f"cannot lock the run directory: {files.describe_os_error(exc)}", file=run.path
        ) from None


def execute(
    preset: Preset,
    run: store.RunDir,
    *,
    sinks: Iterable[Any] = (),
    resume: dict[str, Any] | None = None,
    restart: bool = False,
    device: str | None = None,
    stop: StopFlag | None = None,
    log_to: Iterable[str] = (),
) -> tuple[int, dict[str, Any]]:
    """Train into a run directory this process owns (see claim); return (exit code, summary).

    ``restart``: a resumed run without a checkpoint, which starts again from step 0.
    ``log_to``: trackers to log to besides the preset's ``[train] log_to`` (trackers.py).
    Every failure ends as one line on stderr and a ``failed`` run, whatever was written
    before stays (exit 1; 2 for a preset that cannot run here).
    """
    from grok_tui.training.loop import train  # torch is imported here, not by the TUI
    from grok_tui.training.torch_threads import thread_share
    from grok_tui.training.trackers import tracker_sinks

    stop = stop or StopFlag()
    resumed_step = resume["step"] if resume else (-1 if restart else None)
    try:
        run_sink = RunDirSink(run, resumed_step=resumed_step)
    except OSError as exc:
        return _fail(run, f"cannot write {run.metrics_path}: {files.describe_os_error(exc)}")
    in_sweep = layout.in_sweep(run.path)
    runs_dir = layout.runs_folder(run.path)
    # before the run's sink: the threads it chooses are in the summary that sink writes
    threads = thread_share(runs_dir)
    # after it: trackers hear of what is on disk already, and can never hold up its files
    group = run.path.parent.name if in_sweep else None
    live = tracker_sinks(preset, run, runs_dir, log_to, group=group)
    try:
        summary = train(
            preset,
            [threads, run_sink, *sinks, *live],
            resume=resume,
            should_stop=stop,
            device=device,
        )
    except Exception as exc:
        run_sink.metrics.close()
        code, error, unexpected = failure(
            exc, lambda oom: out_of_memory_message(oom, preset, device)
        )
        return _fail(run, error, code, debug_hint=unexpected)
    stopped = stop_exit_code(getattr(stop, "signal_name", None))
    return end_code(summary["status"], stopped), store.read_summary(run.path)


def end_code(status: str, stopped: int = EXIT_STOPPED) -> int:
    """The exit code of a run (or a group's member) that ended with this status:
    ``stopped`` (130, or 143 after SIGTERM) for a stopped one, 1 for failed or diverged."""
    return {store.COMPLETED: EXIT_OK, store.STOPPED: stopped}.get(status, EXIT_FAILED)


def failure(
    exc: BaseException, out_of_memory: Callable[[BaseException], str]
) -> tuple[int, str, bool]:
    """The exit code and one line for an exception that ended training (a run's or a
    group's), and whether it is unexpected (a bug: its traceback under GROK_TUI_DEBUG).

    The user's mistake (a device that cannot run the preset) is 2; a full disk, a device
    out of memory (``out_of_memory`` says what to do) or a bug is 1.
    """
    if isinstance(exc, UserError):
        return EXIT_BAD_INPUT, str(exc), False
    if type(exc).__name__ == "OutOfMemoryError":  # torch.OutOfMemoryError (CUDA, MPS)
        return EXIT_FAILED, out_of_memory(exc), False
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return EXIT_FAILED, f"cannot write{where}: {files.describe_os_error(exc)}", False
    if os.environ.get(DEBUG_ENV):
        traceback.print_exc()
    return EXIT_FAILED, f"{type(exc).__name__}: {exc}", True


def out_of_memory_message(exc: BaseException, preset: Preset, device: str | None) -> str:
    """One line for a run that did not fit its device: what torch said, what to do."""
    said = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else "out of memory"
    where = device or preset.train.device
    return (
        f"the run does not fit in the memory of {where} ({said}); its records and last "
        "checkpoint are kept: free memory on the device (other runs?), or use a smaller "
        "batch_size or model, then grok-tui --resume this run"
    )


def _fail(
    run: store.RunDir, error: str, code: int = EXIT_FAILED, *, debug_hint: bool = False
) -> tuple[int, dict[str, Any]]:
    """Mark the run failed where its directory can still be written; say why in one line."""
    print(f"error: {safe_text(error, multiline=True)}", file=sys.stderr)
    if debug_hint and not os.environ.get(DEBUG_ENV):
        print(f"(set {DEBUG_ENV}=1 for the traceback)", file=sys.stderr)
    try:
        store.update_summary(run.path, status=store.FAILED, error=error, ended_at=store.now_iso())
    except OSError as exc:
        print(
            safe_text(f"error: could not mark {run.run_id} failed: {files.describe_os_error(exc)}"),
            file=sys.stderr,
        )
    return code, store.read_summary(run.path)


def check_device(preset: Preset, device: str | None = None) -> None:
    """Fail before creating a run directory when the device cannot be had."""
    from grok_tui.training.trainer import resolve_device

    resolve_device(device or preset.train.device)


def load_resume(run: store.RunDir, *, force: bool = False) -> tuple[Preset, dict[str, Any] | None]:
    """The frozen preset of a run and its checkpoint (None: restart from step 0).

    The caller owns the run (claim), so no other process on this host trains it. A run
    marked live on another host is left alone unless ``force``: this host cannot tell
    whether it still trains there.
    """
    if not run.exists():
        raise RunNotFoundError(f"{run.path} is not a run directory (no {store.PRESET_FILE})")
    preset = store.load_run_preset(run)
    summary, unreadable = store.read_summary_checked(run.path)
    if unreadable and os.path.lexists(run.summary_path):
        raise PresetError(
            f"{unreadable}; the run is not resumed (move {store.SUMMARY_FILE} away to resume it "
            "from its checkpoint)",
            file=run.path,
        )
    if summary.get("status") == store.COMPLETED:
        raise UserError(f"run {run.run_id} is already completed")
    owner = store.owner_of(summary)
    live = summary.get("status") in store.LIVE_STATUSES
    if live and owner is not None and not ownership.is_local(owner):
        if not force:
            raise RunBusyError(
                f"run {run.run_id} is marked {summary.get('status')} on host {owner.host} "
                f"(pid {owner.pid}); if it no longer trains there, resume with --force"
            )
        print(  # the status and the host are read from summary.json
            safe_text(
                f"warning: run {run.run_id} was marked {summary.get('status')} on host "
                f"{owner.host}; resuming here (--force)"
            ),
            file=sys.stderr,
        )
    if not os.path.lexists(run.checkpoint_path):
        return preset, None
    from grok_tui.training.checkpoint import check_checkpoint, load_checkpoint

    return preset, check_checkpoint(load_checkpoint(run.path), preset, run.checkpoint_path)


def run(
    preset: Preset,
    runs_dir: Path,
    *,
    label: str,
    stop: StopFlag | None = None,
    out: TextIO | None = None,
) -> int:
    """``grok-tui run PRESET``: a new run directory in ``runs_dir``, trained with a
    progress line on ``out`` (stdout); the exit code.

    The device is checked before the run directory is made; that and a run directory
    that cannot be made raise UserError, with nothing trained. ``label`` names the preset
    in the first line; ``stop`` is installed for the life of the process.
    """
    from grok_tui.training.progress import ProgressSink, describe_end

    look_ahead(runs_dir)  # the load is measured while torch imports: no wait before step 1
    check_device(preset)
    stop = stop or StopFlag()
    stop.install()
    try:
        made = store.create_run(preset, runs_dir)
        lock = claim(made)
    except OSError as exc:
        raise UserError(
            f"cannot create a run directory in {runs_dir}: {files.describe_os_error(exc)}"
        ) from None
    out = out or sys.stdout
    _say(out, f"run {made.run_id} · preset {label} · {made.path}")
    with lock:
        code, summary = execute(
            preset, made, sinks=[ProgressSink(preset.train.steps, out)], stop=stop
        )
    _say(out, describe_end(str(made.path), summary), multiline=True)
    if code in STOPPED_CODES:
        _say(
            out,
            f"stopped by {stop.signal_name or 'request'}; continue with: "
            f"grok-tui --resume {made.path}",
        )
    return code


def resume(
    run: store.RunDir,
    *,
    device: str | None = None,
    force: bool = False,
    stop: StopFlag | None = None,
    sinks: Iterable[Any] = (),
    log_to: Iterable[str] = (),
    progress: TextIO | None = None,
    on_ready: Callable[[Preset, dict[str, Any] | None], None] | None = None,
) -> tuple[int, dict[str, Any]]:
    """Continue a run this process owns (see claim): load its frozen preset and checkpoint
    (load_resume), move it to ``device`` if given (where it trains, not what: the frozen
    preset stays), check the device, then train (execute); (exit code, summary).

    Raises UserError (RunError, RunBusyError...) before anything is trained: a run that
    cannot be resumed, or a device that cannot be had. ``on_ready(preset, checkpoint)``
    runs once it can be trained, before it is (install a stop flag, say where it resumes
    from, mark it). ``progress``: a progress line on this stream (the command line's);
    ``stop``, ``sinks`` and ``log_to`` as for execute.
    """
    look_ahead(layout.runs_folder(run.path))  # as run() does
    preset, checkpoint = load_resume(run, force=force)
    if device:
        with_overrides(preset, [("train.device", device)])
    check_device(preset, device)
    if on_ready is not None:
        on_ready(preset, checkpoint)
    if progress is not None:
        from grok_tui.training.progress import ProgressSink

        sinks = [*sinks, ProgressSink(preset.train.steps, progress)]
    return execute(
        preset,
        run,
        sinks=sinks,
        resume=checkpoint,
        restart=checkpoint is None,
        device=device,
        stop=stop,
        log_to=log_to,
    )


def _say(out: TextIO, text: str, *, multiline: bool = False) -> None:
    # a preset's path, a run's id and its runs folder may come from someone else
    out.write(safe_text(text, multiline=multiline) + "\n")
    out.flush()
