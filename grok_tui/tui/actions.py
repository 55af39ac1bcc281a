"""The app's run actions as data: each request of a screen becomes an ``Action``, whose
work runs in a thread worker, and one relay (``relay``) reports how it went.

Starting a process, reading a preset from a run or writing a CSV may block on the disk
for a while: never on the UI thread. Every action shares one template: do the work,
tell of a failure it expects as one error line (``ActionFailed``), else hand back what
the app shows: messages to post (``RunStarted``), notes to notify, or steps to take on
the UI thread. An unexpected error ends the worker, which the app reports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.worker import Worker

from grok_tui.errors import UserError
from grok_tui.text import format_duration, safe_markup, safe_text
from grok_tui.tui.messages import ActionFailed, RunStarted

if TYPE_CHECKING:
    from grok_tui.config import Preset
    from grok_tui.rundirs import store
    from grok_tui.rundirs.watch import RunFollower

# grok_tui.rundirs, .config and .export are imported inside the actions: the first frame
# comes before any of them is needed (see bench/startup.py).


@dataclass(frozen=True)
class Note:
    """A notification, its text plain (it names runs and quotes errors)."""

    text: str
    severity: SeverityLevel = "information"
    timeout: float | None = None


Outcome = Iterable["Message | Note | Callable[[], object]"]
"""What a done action hands back: messages to post, notes, calls for the UI thread."""


@dataclass(frozen=True)
class Action:
    """One request's work, run off the UI thread; ``errors`` are told as ``failure: error``."""

    failure: str
    work: Callable[[], Outcome]
    errors: tuple[type[Exception], ...] = (UserError, OSError)
    group: str = "launch"


def relay(app: App, action: Action) -> Worker[None]:
    """Run the action in a thread worker of the app and show how it went."""

    def run() -> None:
        try:
            outcome = list(action.work())
        except action.errors as exc:
            app.post_message(ActionFailed(f"{action.failure}: {exc}"))
            return
        for item in outcome:
            if isinstance(item, Message):
                app.post_message(item)
            elif isinstance(item, Note):
                text = safe_markup(item.text, multiline=item.severity != "information")
                kwargs = {} if item.timeout is None else {"timeout": item.timeout}
                app.call_from_thread(app.notify, text, severity=item.severity, **kwargs)
            else:
                app.call_from_thread(item)

    return app.run_worker(run, thread=True, exit_on_error=False, group=action.group)


# -- the actions --------------------------------------------------------------------


def start_run(preset: Preset, runs_dir: Path, command: Sequence[str] | None) -> Action:
    def work() -> Outcome:
        from grok_tui.rundirs import launch

        return [RunStarted(launch.start_run(preset, runs_dir, command=command), "started")]

    return Action("Could not start the run", work, errors=(OSError,))


def rerun(run: store.RunDir, runs_dir: Path, command: Sequence[str] | None) -> Action:
    def work() -> Outcome:
        from grok_tui.rundirs import launch, store

        preset = store.load_run_preset(run)
        new = launch.start_run(preset, runs_dir, command=command)
        return [RunStarted(new, f"re-run of {run.run_id} as")]

    return Action(f"Could not re-run {run.run_id}", work)


def resume(run: store.RunDir, command: Sequence[str] | None) -> Action:
    def work() -> Outcome:
        from grok_tui.rundirs import launch

        launch.resume_run(run, command=command)
        return [RunStarted(run, "resumed")]

    return Action("Cannot resume", work, errors=(RuntimeError, OSError))


def enqueue(
    source: Preset | store.RunDir,
    runs_dir: Path,
    keep_queue_going: Callable[[], object],
    listed: Callable[[str], object],
) -> Action:
    """Queue a preset (or a run's preset); ``listed(run_id)`` on the UI thread after."""

    def work() -> Outcome:
        from grok_tui.rundirs import runqueue, store

        preset = store.load_run_preset(source) if isinstance(source, store.RunDir) else source
        queued = runqueue.enqueue(runs_dir, preset)
        keep_queue_going()
        ahead = queued.position - 1
        place = f"{ahead} ahead of it" if ahead else "next in line"
        return [
            lambda: listed(queued.run.run_id),  # History lists it
            Note(
                f"Queued {queued.run.run_id}, {place}: it starts when a {queued.device} slot "
                "is free. F6 shows the queue."
            ),
        ]

    return Action("Could not queue the run", work)


def start_sweep(sweep_file: Path, runs_dir: Path) -> Action:
    def work() -> Outcome:
        from grok_tui.rundirs import launch

        pid, log_path = launch.start_sweep(sweep_file, runs_dir)
        return [
            Note(
                f"Sweep {sweep_file.name} started (pid {pid}); its runs appear in Live as they "
                f"start. Log: {log_path}",
                timeout=8,
            )
        ]

    return Action("Could not start the sweep", work, errors=(OSError,))


def start_seeds(source: Preset | Path, seeds: int, split_seeds: int, runs_dir: Path) -> Action:
    """``grok-tui --run FILE --seeds N [--split-seeds M]`` as one sweep; a preset from the
    form is frozen into a file beside the sweep logs first."""

    def work() -> Outcome:
        from grok_tui.config import save_preset
        from grok_tui.rundirs import launch, store

        extra = ["--seeds", str(seeds)]
        if split_seeds > 1:
            extra += ["--split-seeds", str(split_seeds)]
        if isinstance(source, Path):
            path, name = source, source.stem
        else:
            folder = runs_dir / "logs" / f"seeds-{datetime.now():%Y%m%d-%H%M%S-%f}"
            path = save_preset(source, folder / f"{store.slug(source.name)}.toml")
            name = source.name
        pid, log_path = launch.start_sweep(path, runs_dir, extra_args=extra)
        return [
            Note(
                f"{name}: {seeds} seeds × {split_seeds} split seeds started as one sweep "
                f"(pid {pid}); the runs appear in Live as they start. Log: {log_path}",
                timeout=8,
            )
        ]

    return Action("Could not start the seeds", work, errors=(OSError,))


def _warnings(lines: list[str]) -> list[Note]:
    return [Note(line, severity="warning") for line in lines]


def write_records(run: store.RunDir, path: Path) -> Action:
    """A run's records to one CSV; records past the size cap are never dropped silently."""

    def work() -> Outcome:
        from grok_tui.export.records import read_run_records
        from grok_tui.tui.runtable import write_records_csv

        warnings: list[str] = []
        count = write_records_csv(read_run_records(run, warnings.append), path)
        return [Note(f"Wrote {count} records to {path}"), *_warnings(warnings)]

    return Action(f"Could not write {path}", work, errors=(OSError,), group="export")


def write_runs_records(runs: list[store.RunDir], path: Path) -> Action:
    """Several runs' records to one CSV (run id, varying fields)."""

    def work() -> Outcome:
        from grok_tui.export import write_runs_csv

        warnings: list[str] = []
        count = write_runs_csv(runs, path, warn=warnings.append)
        return [Note(f"Wrote {count} records of {len(runs)} runs to {path}"), *_warnings(warnings)]

    return Action(f"Could not write {path}", work, errors=(OSError,), group="export")


# -- what the app asks first --------------------------------------------------------


def rerun_question(run: store.RunDir) -> str:
    """A re-run trains the whole preset again in a new process: the question says how much."""
    summary = run.summary()
    steps, took = summary.get("steps"), summary.get("elapsed_s")
    size = f"{steps:,} steps" if isinstance(steps, int) else "its whole budget"
    if isinstance(took, int | float) and summary.get("step") == steps and took > 0:
        size += f", about {format_duration(took)} last time"
    return f"Re-run {safe_text(run.run_id)} from step 0 as a new run ({size})?"


def queued_count(runs_dir: Path) -> int:
    """Runs waiting in the queue (0 when queue.json does not read: nothing to say)."""
    from grok_tui.rundirs import runqueue

    try:
        return len(runqueue.read_queue(runs_dir).entries)
    except UserError:
        return 0


def quit_question(
    live: Sequence[RunFollower], sweeps: int, waiting: int, edits: str = ""
) -> tuple[str, list[tuple[str, str]]]:
    """What Quit asks while runs train or ``edits`` (in words) are unsaved: the text and
    the choices (keep the edits, leave, stop or discard, cancel); keeping comes first, so
    that Enter alone loses nothing."""
    names = ", ".join(safe_text(f.run_id) for f in live[:3]) + (" …" if len(live) > 3 else "")
    what = f"{len(live)} run(s) still running: {names}" if live else ""
    if sweeps:
        what += ("; " if what else "") + f"{sweeps} sweep(s) still training"
    if waiting and what:
        what += f"; {waiting} queued run(s) start as slots free up (F6)"
    if edits:
        what += ("\n" if what else "") + f"Unsaved: {edits}; quitting discards them."
    choices = [("keep", "Keep the edits: back to the Presets form")] if edits else []
    if (live or sweeps) and edits:  # one line each at 80 columns
        stop = (
            "Stop them (checkpoints saved; queue waits), discard edits and quit"
            if waiting
            else "Stop them (checkpoints saved), discard the edits and quit"
        )
        choices += [("leave", "Leave them running, discard the edits and quit"), ("stop", stop)]
    elif live or sweeps:
        stop = "Stop them (each saves a checkpoint; sweeps resume) and quit"
        choices += [
            ("leave", "Leave them running and quit (a new grok-tui finds them)"),
            ("stop", stop + ("; the queue waits" if waiting else "")),
        ]
    else:
        choices.append(("discard", "Discard the edits and quit"))
    return what, [*choices, ("cancel", "Cancel")]


def stop_everything(runs_dir: Path, live: Sequence[RunFollower], sweeps: Sequence[Path]) -> None:
    """Quit's "stop": the queue's runner first, which would start a queued run in each slot
    that the stops free (the queue waits for the next grok-tui); then each sweep, which
    forwards the stop to its running points and starts no new one (signalling those points
    as well would be a second, harsher signal); then the other live runs."""
    from grok_tui.rundirs import launch, runqueue

    runqueue.stop_runner(runs_dir)
    for path in sweeps:
        launch.stop_sweep(path)
    sweep_dirs = {path.resolve() for path in sweeps}
    for follower in live:
        if follower.run.path.resolve().parent not in sweep_dirs:
            launch.stop_run(follower.run)
