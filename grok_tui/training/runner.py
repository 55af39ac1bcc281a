"""One run from start to end: a run directory, the engine, signals, exit codes.

``grok-tui --run`` and ``grok-tui --resume`` (which the TUI's launcher spawns) both come
through here, so a run started from the TUI is the same code path as a headless one.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from grok_tui import files
from grok_tui.config import Preset, PresetError
from grok_tui.errors import RunBusyError, RunNotFoundError, UserError
from grok_tui.rundirs import ownership, store
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
from grok_tui.text import safe_text

# Set to 1 for the traceback of an unexpected error (a bug) besides its one-line message.
DEBUG_ENV = "GROK_TUI_DEBUG"
CHECKPOINT_KEYS = ("step", "model", "optimizer", "scheduler", "batcher", "events")


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
    from grok_tui.rundirs.threads import ThreadShare
    from grok_tui.sweep import SWEEP_JSON
    from grok_tui.training.engine import RunError, train  # torch is imported here, not by the TUI
    from grok_tui.training.trackers import tracker_sinks

    stop = stop or StopFlag()
    resumed_step = resume["step"] if resume else (-1 if restart else None)
    try:
        run_sink = RunDirSink(run, resumed_step=resumed_step)
    except OSError as exc:
        return _fail(run, f"cannot write {run.metrics_path}: {files.describe_os_error(exc)}")
    in_sweep = (run.path.parent / SWEEP_JSON).exists()
    runs_dir = run.path.parent.parent if in_sweep else run.path.parent
    # before the run's sink: the threads it chooses are in the summary that sink writes
    threads = ThreadShare(runs_dir)
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
    except RunError as exc:
        run_sink.metrics.close()
        return _fail(run, str(exc), EXIT_BAD_INPUT)
    except OSError as exc:
        run_sink.metrics.close()
        where = f" {exc.filename}" if exc.filename else ""
        return _fail(run, f"cannot write{where}: {files.describe_os_error(exc)}")
    except Exception as exc:
        run_sink.metrics.close()
        if type(exc).__name__ == "OutOfMemoryError":  # torch.OutOfMemoryError (CUDA, MPS)
            return _fail(run, out_of_memory_message(exc, preset, device))
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        return _fail(run, f"{type(exc).__name__}: {exc}", debug_hint=True)
    stopped = stop_exit_code(getattr(stop, "signal_name", None))
    code = {store.COMPLETED: EXIT_OK, store.STOPPED: stopped}.get(summary["status"], EXIT_FAILED)
    return code, store.read_summary(run.path)


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
    from grok_tui.training.engine import resolve_device

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
    from grok_tui.training.checkpoint import load_checkpoint

    return preset, check_checkpoint(load_checkpoint(run.path), preset, run.checkpoint_path)


def check_checkpoint(state: Any, preset: Preset, path: Path) -> dict[str, Any]:
    """A checkpoint that fits its run's preset, or a PresetError saying how it does not."""
    hint = "; move it away to restart the run from step 0"
    if not isinstance(state, dict) or any(key not in state for key in CHECKPOINT_KEYS):
        missing = [k for k in CHECKPOINT_KEYS if not isinstance(state, dict) or k not in state]
        raise PresetError(
            f"not a grok-tui checkpoint (missing {', '.join(missing)}){hint}", file=path
        )
    step = state["step"]
    if not isinstance(step, int) or isinstance(step, bool):
        raise PresetError(f"step is {type(step).__name__}, not a number{hint}", file=path)
    if not 0 <= step <= preset.train.steps:
        raise PresetError(f"claims step {step} of a {preset.train.steps}-step run{hint}", file=path)
    if not isinstance(state["model"], dict) or not isinstance(state["events"], dict):
        raise PresetError(f"model or events are not tables{hint}", file=path)
    return state
