"""One run from start to end: a run directory, the engine, signals, exit codes.

``grok-tui --run`` and ``grok-tui --resume`` (which the TUI's launcher spawns) both come
through here, so a run started from the TUI is the same code path as a headless one.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import traceback
from collections.abc import Iterable
from typing import Any

from grok_tui import store
from grok_tui.config import Preset, PresetError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_STOPPED = 0, 1, 2, 130


class RunDirSink:
    """Writes records, summaries and checkpoints into a run directory."""

    def __init__(self, run: store.RunDir, *, resumed_step: int | None = None) -> None:
        self.run = run
        self.metrics = store.MetricsWriter(run.path, truncate_after_step=resumed_step)
        self.summary = store.read_summary(run.path)

    def on_start(self, info: dict[str, Any]) -> None:
        self.summary.update(
            info,
            status=store.RUNNING,
            pid=os.getpid(),
            host=socket.gethostname(),
            started_at=self.summary.get("started_at") or store.now_iso(),
            ended_at=None,
            error=None,
        )
        if info.get("resumed_from") is not None:
            self.summary.setdefault("resumes", []).append(
                {"step": info["resumed_from"], "at": store.now_iso()}
            )
        self.summary.pop("resumed_from", None)
        store.write_summary(self.run.path, self.summary)

    def on_record(self, record: dict[str, Any], summary: dict[str, Any]) -> None:
        self.metrics.append(record)
        self.summary.update(summary)
        store.write_summary(self.run.path, self.summary)

    def on_checkpoint(self, state: dict[str, Any]) -> None:
        from grok_tui.checkpoint import save_checkpoint

        save_checkpoint(self.run.path, state)
        self.summary["checkpoint_step"] = state["step"]

    def on_snapshot(self, step: int, weights: dict[str, Any]) -> None:
        from grok_tui.checkpoint import save_snapshot

        save_snapshot(self.run.path, step, weights)

    def on_end(self, summary: dict[str, Any]) -> None:
        self.summary.update(summary, ended_at=store.now_iso())
        store.write_summary(self.run.path, self.summary)
        self.metrics.close()


class StopFlag:
    """Set by SIGINT/SIGTERM; the engine polls it between steps (a plain bool: no sync)."""

    def __init__(self) -> None:
        self.requested = False
        self.signal_name = ""

    def __call__(self) -> bool:
        return self.requested

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:  # a second Ctrl-C: give up on the clean stop
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        self.requested = True
        self.signal_name = signal.Signals(signum).name


def execute(
    preset: Preset,
    run: store.RunDir,
    *,
    sinks: Iterable[Any] = (),
    resume: dict[str, Any] | None = None,
    device: str | None = None,
    stop: StopFlag | None = None,
) -> tuple[int, dict[str, Any]]:
    """Train into an existing run directory; return (exit code, summary)."""
    from grok_tui.engine import RunError, train  # torch is imported here, not by the TUI
    from grok_tui.sweep import SWEEP_JSON
    from grok_tui.threads import ThreadShare

    stop = stop or StopFlag()
    run_sink = RunDirSink(run, resumed_step=resume["step"] if resume else None)
    in_sweep = (run.path.parent / SWEEP_JSON).exists()
    threads = ThreadShare(run.path.parent.parent if in_sweep else run.path.parent)
    try:
        summary = train(
            preset, [run_sink, threads, *sinks], resume=resume, should_stop=stop, device=device
        )
    except RunError as exc:
        store.update_summary(
            run.path, status=store.FAILED, error=str(exc), ended_at=store.now_iso()
        )
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT, store.read_summary(run.path)
    except Exception:
        traceback.print_exc()
        return EXIT_FAILED, store.read_summary(run.path)
    code = {store.COMPLETED: EXIT_OK, store.STOPPED: EXIT_STOPPED}.get(
        summary["status"], EXIT_FAILED
    )
    return code, store.read_summary(run.path)


def check_device(preset: Preset, device: str | None = None) -> None:
    """Fail before creating a run directory when the device cannot be had."""
    from grok_tui.engine import resolve_device

    resolve_device(device or preset.train.device)


def load_resume(run: store.RunDir) -> tuple[Preset, dict[str, Any] | None]:
    """The frozen preset of a run and its checkpoint (None: a fresh run directory)."""
    if not run.exists():
        raise PresetError(f"{run.path} is not a run directory (no {store.PRESET_FILE})")
    preset = store.load_run_preset(run)
    summary = run.summary()
    if summary.get("status") == store.COMPLETED:
        raise PresetError(f"run {run.run_id} is already completed")
    status = store.effective_status(summary)  # reads /proc: once is enough
    # "starting" with our own pid is the launcher's record of this very process
    if status == store.RUNNING or (status == store.STARTING and summary.get("pid") != os.getpid()):
        raise PresetError(f"run {run.run_id} is still running (pid {summary.get('pid')})")
    if not run.checkpoint_path.exists():
        return preset, None
    from grok_tui.checkpoint import load_checkpoint

    return preset, load_checkpoint(run.path)
