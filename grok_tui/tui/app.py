"""The grok-tui Textual app: presets, live runs, history and compare, keyboard first.

The app never trains and never imports torch (DESIGN.md rules 2 and 3): runs are
processes started by grok_tui.rundirs.launcher, and the app follows their run directories
from a thread worker that polls every half second.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.actions import parse as parse_action
from textual.app import App, ScreenStackError, SystemCommand
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from grok_tui.errors import UserError
from grok_tui.text import format_duration, safe_markup, safe_text
from grok_tui.tui.messages import (
    ActionFailed,
    EditRunPresetRequested,
    ExportRequested,
    QueueRequested,
    RecordsExportRequested,
    RerunRequested,
    ResumeRequested,
    RunForgotten,
    RunRequested,
    RunsPolled,
    RunStarted,
    SeedsRequested,
    StopRequested,
    SweepRequested,
    ViewOptionsChanged,
)
from grok_tui.tui.screens.modals import ChoiceModal, ConfirmModal, PathModal
from grok_tui.tui.screens.presets import PresetsScreen
from grok_tui.tui.series import AxisOptions
from grok_tui.tui.workbench import CurvesScreen, WorkbenchScreen

if TYPE_CHECKING:
    from grok_tui.config import Preset
    from grok_tui.rundirs import launcher, store
    from grok_tui.tui.workbench import Workbench

# grok_tui.rundirs.launcher, .store and .config (pydantic) are imported where they are used,
# after the first frame: they are a third of the app's import time, and the first
# frame should come at once (see bench/startup.py).


def _live_screen() -> Screen:
    # Imported when first shown: plotext and the history table are not needed for the
    # first frame, and the first frame must come fast (the benchmark in bench/startup.py).
    from grok_tui.tui.screens.live import LiveScreen

    return LiveScreen()


def _history_screen() -> Screen:
    from grok_tui.tui.screens.history import HistoryScreen

    return HistoryScreen()


def _queue_screen() -> Screen:
    from grok_tui.tui.screens.queue import QueueScreen

    return QueueScreen()


SMOOTHING = 0.6  # EMA weight when smoothing is on
CURVE_ACTIONS = frozenset({"toggle_smoothing", "toggle_x_axis", "toggle_log_x"})  # m, t, l
KEY_NAMES = {"enter": "Enter", "space": "Space", "escape": "Esc"}
SCAN_EVERY = 4  # polls between scans of the runs directory for runs started elsewhere
# Polls are every poll_interval while a live run has no record yet (its first record is
# shown at once) and every SETTLED_POLL_S otherwise: reading 4 busy runs twice a second
# was about half of the TUI's CPU while following them.
SETTLED_POLL_S = 1.0
STARTUP_S = 5.0  # runs found live this soon after start-up open Live (see _starting_up)


def terminal_lost(fd: int) -> bool:
    """True when the terminal behind fd hung up (an SSH connection dropped).

    A hung-up tty makes reads return at once, and Textual's input thread would then
    spin a CPU; the app exits instead (runs are separate processes and keep going).
    """
    try:
        os.get_terminal_size(fd)
    except OSError:
        return True
    return not os.isatty(fd)


class GrokApp(App):
    """Presets (F2), Live (F3), History (F4); Compare and a run's page open from History."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "grok-tui"
    MODES = {
        "presets": PresetsScreen,
        "live": _live_screen,
        "history": _history_screen,
        "queue": _queue_screen,
    }
    DEFAULT_MODE = "presets"
    # A binding with an id is also a command of the palette: its tooltip's first line is
    # the command's title, the rest says what it does (see get_system_commands).
    BINDINGS = [
        # On the screens that draw curves only (check_action): elsewhere m and t are free;
        # first, so that the footer shows them beside the screen's own keys.
        Binding(
            "m",
            "toggle_smoothing",
            "Smooth",
            id="app.smooth",
            tooltip="Toggle smoothing\nEMA over the curves; raw stays visible",
        ),
        Binding(
            "t",
            "toggle_x_axis",
            "X axis",
            id="app.xaxis",
            tooltip="Toggle x axis\nSteps or wall time",
        ),
        Binding(
            "l",
            "toggle_log_x",
            "Log x",
            show=False,
            id="app.logx",
            tooltip="Toggle log x axis\nlog10 of steps (or wall time): the early steps spread out",
        ),
        Binding("f1", "help", "Help", id="app.help", tooltip="Help\nKeys and screens"),
        Binding("question_mark", "help", "Help", show=False),
        Binding(
            "f2",
            "switch_mode('presets')",
            "Presets",
            id="app.presets",
            tooltip="Presets\nPick, edit, save and run presets",
        ),
        Binding(
            "f3",
            "switch_mode('live')",
            "Live",
            id="app.live",
            tooltip="Live runs\nCurves of the running runs",
        ),
        Binding(
            "f4",
            "switch_mode('history')",
            "History",
            id="app.history",
            tooltip="History\nEvery run of the runs directory",
        ),
        Binding(
            "f6",
            "switch_mode('queue')",
            "Queue",
            id="app.queue",
            tooltip="Queue\nRuns waiting for a free slot: reorder, remove, slots per device",
        ),
        Binding(
            "ctrl+q",
            "quit",
            "Quit",
            id="app.quit",
            priority=True,
            tooltip="Quit\nAsks first about live runs: leave them running or stop them",
        ),
    ]

    def __init__(
        self,
        runs_dir: Path,
        preset_dirs: Iterable[Path] = (),
        *,
        poll_interval: float = 0.25,
        watch_terminal: bool = True,
    ) -> None:
        super().__init__()
        self.runs_dir = Path(runs_dir)
        self.preset_dirs = [Path(d) for d in preset_dirs]
        self.poll_interval = poll_interval
        self.watch_terminal = watch_terminal
        self.followers: dict[str, launcher.RunFollower] = {}
        self.current_run_id: str | None = None
        self.axis_options = AxisOptions()
        self.scanner: launcher.LiveRunScanner | None = None  # made by the poll worker
        self._polling = False
        self._polls = 0
        self._last_poll = -math.inf
        self._mounted_at = time.monotonic()

    def on_mount(self) -> None:
        self._mounted_at = time.monotonic()
        self.set_interval(self.poll_interval, self._tick, name="poll")
        self.call_after_refresh(self._tick)
        if self.watch_terminal and not self.is_headless:
            fd = sys.__stdin__.fileno() if sys.__stdin__ else -1
            if fd >= 0 and os.isatty(fd):
                self.set_interval(1.0, lambda: self._check_terminal(fd), name="tty-watch")

    def _check_terminal(self, fd: int) -> None:
        if terminal_lost(fd):
            # Textual's shutdown writes to the terminal and joins its threads; with the
            # terminal gone that can hang, so a hard exit follows if it does not finish.
            # Nothing is lost: runs are other processes and write their own directories.
            watchdog = threading.Timer(2.0, os._exit, args=(0,))
            watchdog.daemon = True
            watchdog.start()
            self.exit(return_code=0)

    # -- following runs -------------------------------------------------------------

    def _tick(self) -> None:
        if self._polling:  # the last poll is still reading: never two at once
            return
        now = time.monotonic()
        if now - self._last_poll < SETTLED_POLL_S and not self._poll_fast():
            return
        self._last_poll = now
        self._polling = True
        self._polls += 1
        scan = self._polls % SCAN_EVERY == 1 or self._starting_up()
        self.poll_runs(list(self.followers.values()), scan)

    def _poll_fast(self) -> bool:
        """Poll at every tick: before the first poll, while starting up, or while a live
        run has no record yet (its first record is shown at once)."""
        from grok_tui.rundirs import launcher

        return (
            not self._polled_once
            or self._starting_up()
            or any(
                f.status in launcher.LIVE_STATUSES and not f.records
                for f in self.followers.values()
            )
        )

    @work(thread=True, exit_on_error=False, group="poll")
    def poll_runs(self, followers: list[launcher.RunFollower], scan: bool) -> None:
        from grok_tui.rundirs import launcher

        changed: list[str] = []
        discovered: list[store.RunDir] = []
        try:
            changed = launcher.poll_all(followers)
            if scan:
                if self.scanner is None:
                    self.scanner = launcher.LiveRunScanner(self.runs_dir)
                discovered = self.scanner.scan()
                self._keep_queue_going()
        finally:
            self.post_message(RunsPolled(changed, discovered))

    def on_runs_polled(self, message: RunsPolled) -> None:
        self._polling = False
        changed = list(message.changed)
        for run in message.discovered:
            if run.run_id not in self.followers:
                self.follow(run)
                changed.append(run.run_id)
        self._polled_once = True
        if message.discovered and self._starting_up() and self.current_mode == "presets":
            # runs were training when the TUI opened: that is what its user came to see
            # (Live draws its runs when it is mounted); once, and only while starting up
            self._opened_live = True
            self.call_later(self.switch_mode, "live")
            return
        if changed:
            self._tell_screen(changed)

    _polled_once = False
    _opened_live = False

    def _starting_up(self) -> bool:
        """The first STARTUP_S after the first frame, until Live was opened for its runs:
        every poll also scans (a run whose trainer is still exec-ing may not read as live
        at the very first scan)."""
        return not self._opened_live and time.monotonic() - self._mounted_at < STARTUP_S

    def follow(self, run: store.RunDir) -> launcher.RunFollower:
        from grok_tui.rundirs import launcher

        follower = self.followers.get(run.run_id)
        if follower is None:
            follower = self.followers[run.run_id] = launcher.RunFollower(run)
        if self.current_run_id is None:
            self.current_run_id = run.run_id
        return follower

    def forget(self, run_id: str) -> None:
        self.followers.pop(run_id, None)
        if self.current_run_id == run_id:
            self.current_run_id = next(iter(self.followers), None)

    def on_run_forgotten(self, message: RunForgotten) -> None:
        self.forget(message.run_id)

    def _tell_screen(self, changed: list[str]) -> None:
        try:
            screen = self.screen
        except ScreenStackError:  # a poll that ends while the app closes
            return
        if isinstance(screen, WorkbenchScreen):
            screen.runs_changed(changed)

    def live_followers(self) -> list[launcher.RunFollower]:
        from grok_tui.rundirs import launcher

        return [f for f in self.followers.values() if f.status in launcher.LIVE_STATUSES]

    # -- run actions (screens ask for them with the messages of messages.py) --------------

    def on_run_requested(self, message: RunRequested) -> None:
        self._start(message.preset, "started")

    @work(thread=True, exit_on_error=False, group="launch")
    def _start(self, preset: Preset, verb: str) -> None:
        from grok_tui.rundirs import launcher

        try:
            run = launcher.start_run(preset, self.runs_dir)
        except OSError as exc:
            self.post_message(ActionFailed(f"Could not start the run: {exc}"))
            return
        self.post_message(RunStarted(run, verb))

    def on_queue_requested(self, message: QueueRequested) -> None:
        self._enqueue(message.source)

    @work(thread=True, exit_on_error=False, group="launch")
    def _enqueue(self, source: Preset | store.RunDir) -> None:
        from grok_tui.rundirs import runqueue, store

        try:
            preset = store.load_run_preset(source) if isinstance(source, store.RunDir) else source
            queued = runqueue.enqueue(self.runs_dir, preset)
        except (UserError, OSError) as exc:
            self.post_message(ActionFailed(f"Could not queue the run: {exc}"))
            return
        self._keep_queue_going()
        self.call_from_thread(self._tell_screen, [queued.run.run_id])  # History lists it
        ahead = queued.position - 1
        place = f"{ahead} ahead of it" if ahead else "next in line"
        self.call_from_thread(
            self.notify,
            safe_markup(
                f"Queued {queued.run.run_id}, {place}: it starts when a {queued.device} slot "
                "is free. F6 shows the queue."
            ),
        )

    def _keep_queue_going(self) -> None:
        """Start a queue runner when runs wait and none serves them (it ended, or the
        machine restarted); a damaged queue.json is left to the Queue screen to show."""
        from grok_tui.rundirs import launcher, runqueue

        with contextlib.suppress(UserError, OSError):
            runqueue.ensure_runner(self.runs_dir, launcher.start_queue_runner)

    def on_sweep_requested(self, message: SweepRequested) -> None:
        self._start_sweep(message.sweep_file)

    @work(thread=True, exit_on_error=False, group="launch")
    def _start_sweep(self, sweep_file: Path) -> None:
        from grok_tui.rundirs import launcher

        try:
            pid, log_path = launcher.start_sweep(sweep_file, self.runs_dir)
        except OSError as exc:
            self.post_message(ActionFailed(f"Could not start the sweep: {exc}"))
            return
        self.call_from_thread(
            self.notify,
            safe_markup(
                f"Sweep {sweep_file.name} started (pid {pid}); its runs appear in Live as they "
                f"start. Log: {log_path}"
            ),
            timeout=8,
        )

    def on_seeds_requested(self, message: SeedsRequested) -> None:
        self._start_seeds(message.source, message.seeds, message.split_seeds)

    @work(thread=True, exit_on_error=False, group="launch")
    def _start_seeds(self, source: Preset | Path, seeds: int, split_seeds: int) -> None:
        """``grok-tui --run FILE --seeds N [--split-seeds M]`` as one sweep; a preset from
        the form is frozen into a file beside the sweep logs first."""
        from datetime import datetime

        from grok_tui.config import save_preset
        from grok_tui.rundirs import launcher, store

        extra = ["--seeds", str(seeds)]
        if split_seeds > 1:
            extra += ["--split-seeds", str(split_seeds)]
        try:
            if isinstance(source, Path):
                path, name = source, source.stem
            else:
                folder = self.runs_dir / "logs" / f"seeds-{datetime.now():%Y%m%d-%H%M%S-%f}"
                path = save_preset(source, folder / f"{store.slug(source.name)}.toml")
                name = source.name
            pid, log_path = launcher.start_sweep(path, self.runs_dir, extra_args=extra)
        except OSError as exc:
            self.post_message(ActionFailed(f"Could not start the seeds: {exc}"))
            return
        self.call_from_thread(
            self.notify,
            safe_markup(
                f"{name}: {seeds} seeds × {split_seeds} split seeds started as one sweep "
                f"(pid {pid}); the runs appear in Live as they start. Log: {log_path}"
            ),
            timeout=8,
        )

    def on_rerun_requested(self, message: RerunRequested) -> None:
        """A re-run trains the whole preset again in a new process: ask first."""
        run = message.run
        summary = run.summary()
        steps, took = summary.get("steps"), summary.get("elapsed_s")
        size = f"{steps:,} steps" if isinstance(steps, int) else "its whole budget"
        if isinstance(took, int | float) and summary.get("step") == steps and took > 0:
            size += f", about {format_duration(took)} last time"
        question = f"Re-run {safe_text(run.run_id)} from step 0 as a new run ({size})?"

        def answered(yes: bool | None) -> None:
            if yes:
                self._rerun(run)

        self.push_screen(ConfirmModal(question, yes="Re-run", no="Cancel"), answered)

    @work(thread=True, exit_on_error=False, group="launch")
    def _rerun(self, run: store.RunDir) -> None:
        from grok_tui.rundirs import launcher, store

        try:
            preset = store.load_run_preset(run)
            new = launcher.start_run(preset, self.runs_dir)
        except (UserError, OSError) as exc:
            self.post_message(ActionFailed(f"Could not re-run {run.run_id}: {exc}"))
            return
        self.post_message(RunStarted(new, f"re-run of {run.run_id} as"))

    def on_resume_requested(self, message: ResumeRequested) -> None:
        self._resume(message.run)

    @work(thread=True, exit_on_error=False, group="launch")
    def _resume(self, run: store.RunDir) -> None:
        from grok_tui.rundirs import launcher

        try:
            launcher.resume_run(run)
        except (RuntimeError, OSError) as exc:
            self.post_message(ActionFailed(f"Cannot resume: {exc}"))
            return
        self.post_message(RunStarted(run, "resumed"))

    def on_stop_requested(self, message: StopRequested) -> None:
        from grok_tui.rundirs import launcher

        run = message.run
        if launcher.stop_run(run):
            self.notify(
                safe_markup(f"Stopping {run.run_id}: it saves a checkpoint, then ends as stopped.")
            )
        else:
            status = launcher.run_status(run.summary())
            self.notify(
                safe_markup(f"{run.run_id} is {status}: nothing to stop here."), severity="warning"
            )

    def on_run_started(self, message: RunStarted) -> None:
        follower = self.follow(message.run)
        follower.status = "unknown"  # a resumed run changes status: make the next poll report it
        self.current_run_id = message.run.run_id
        self.notify(safe_markup(f"{message.verb.capitalize()} {message.run.run_id}"))
        self.switch_mode("live")

    def on_action_failed(self, message: ActionFailed) -> None:
        # Plain text: these name runs and quote errors, which quote files from disk.
        self.notify(safe_markup(message.text, multiline=True), severity="error", timeout=8)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            if event.worker.group == "poll":
                self._polling = False
            self.notify(
                safe_markup(f"Error: {event.worker.error}", multiline=True),
                severity="error",
                timeout=8,
            )

    def on_edit_run_preset_requested(self, message: EditRunPresetRequested) -> None:
        from grok_tui.rundirs import store

        run = message.run
        try:
            preset = store.load_run_preset(run)
        except UserError as exc:
            self.notify(
                safe_markup(f"The preset of this run does not load: {exc}", multiline=True),
                severity="error",
            )
            return
        self.run_worker(self._edit(preset.to_dict(), run.run_id), group="edit")

    async def _edit(self, base: dict[str, Any], origin: str) -> None:
        await self.switch_mode("presets")
        screen = self.screen
        if isinstance(screen, PresetsScreen):
            screen.edit(base, f"run {origin}")

    def on_export_requested(self, message: ExportRequested) -> None:
        run = message.run

        def chosen(path: Path | None) -> None:
            if path is not None:
                self._write_records(run, path)

        default = Path.cwd() / f"{run.run_id}.csv"
        text = f"Write the records of {safe_text(run.run_id)} to CSV:"
        self.push_screen(PathModal(text, default), chosen)

    def on_records_export_requested(self, message: RecordsExportRequested) -> None:
        runs = message.runs
        if message.path is not None:
            self._write_runs_records(runs, message.path)
            return

        def chosen(path: Path | None) -> None:
            if path is not None:
                self._write_runs_records(runs, path)

        text = f"Write the records of {len(runs)} runs to one CSV (run id, varying fields):"
        self.push_screen(PathModal(text, Path.cwd() / message.default_name), chosen)

    @work(thread=True, exit_on_error=False, group="export")
    def _write_runs_records(self, runs: list[store.RunDir], path: Path) -> None:
        from grok_tui.export import write_runs_csv

        warnings: list[str] = []  # records past the size cap are never dropped silently
        try:
            count = write_runs_csv(runs, path, warn=warnings.append)
        except OSError as exc:
            self.post_message(ActionFailed(f"Could not write {path}: {exc}"))
            return
        self.call_from_thread(
            self.notify, safe_markup(f"Wrote {count} records of {len(runs)} runs to {path}")
        )
        for line in warnings:
            self.call_from_thread(
                self.notify, safe_markup(line, multiline=True), severity="warning"
            )

    @work(thread=True, exit_on_error=False, group="export")
    def _write_records(self, run: store.RunDir, path: Path) -> None:
        from grok_tui.export.records import read_run_records
        from grok_tui.tui.runtable import write_records_csv

        warnings: list[str] = []  # records past the size cap are never dropped silently
        try:
            count = write_records_csv(read_run_records(run, warnings.append), path)
        except OSError as exc:
            self.post_message(ActionFailed(f"Could not write {path}: {exc}"))
            return
        self.call_from_thread(self.notify, safe_markup(f"Wrote {count} records to {path}"))
        for line in warnings:
            self.call_from_thread(
                self.notify, safe_markup(line, multiline=True), severity="warning"
            )

    # -- the curves' options: one place for every screen that draws curves ----------------

    def _set_axis_options(self, options: AxisOptions) -> None:
        """Keep the new options and tell the active screen, which redraws if it has curves."""
        self.axis_options = options
        try:
            screen = self.screen
        except ScreenStackError:
            return
        screen.post_message(ViewOptionsChanged(options))

    def action_toggle_smoothing(self) -> None:
        on = self.axis_options.smoothing == 0
        self._set_axis_options(replace(self.axis_options, smoothing=SMOOTHING if on else 0.0))
        self.notify(f"Smoothing {'on (raw kept, faint)' if on else 'off'}", timeout=2)

    def action_toggle_x_axis(self) -> None:
        x_key = "elapsed_s" if self.axis_options.x_key == "step" else "step"
        self._set_axis_options(replace(self.axis_options, x_key=x_key))
        self.notify(f"x axis: {'wall time' if x_key == 'elapsed_s' else 'steps'}", timeout=2)

    def action_toggle_log_x(self) -> None:
        log_x = not self.axis_options.log_x
        self._set_axis_options(replace(self.axis_options, log_x=log_x))
        self.notify(f"x axis scale: {'log' if log_x else 'linear'}", timeout=2)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        try:
            screen = self.screen
        except ScreenStackError:
            return True
        return self._action_applies(action, screen)

    @staticmethod
    def _action_applies(action: str, screen: Screen) -> bool:
        """m and t act on curves: off (and out of the footer) on a screen without any."""
        return action not in CURVE_ACTIONS or isinstance(screen, CurvesScreen)

    # -- app actions ------------------------------------------------------------------

    def action_help(self) -> None:
        from grok_tui.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        from grok_tui.rundirs import launcher

        live = self.live_followers()
        sweeps = launcher.live_sweeps(self.runs_dir)
        if not live and not sweeps:
            self.exit()
            return
        sweep_dirs = {path.resolve() for path, _ in sweeps}
        waiting = self._queued_count()

        def chosen(choice: str | None) -> None:
            if choice == "leave":
                self.exit()
            elif choice == "stop":
                # first the queue's runner, which would start a queued run in each slot
                # that the stops free; the queue waits for the next grok-tui
                launcher.stop_queue_runner(self.runs_dir)
                # A sweep forwards the stop to its running points and starts no new one;
                # signalling those points as well would be a second, harsher signal.
                for path, _ in sweeps:
                    launcher.stop_sweep(path)
                for follower in live:
                    if follower.run.path.resolve().parent not in sweep_dirs:
                        launcher.stop_run(follower.run)
                self.exit()

        names = ", ".join(safe_text(f.run_id) for f in live[:3]) + (" …" if len(live) > 3 else "")
        what = f"{len(live)} run(s) still running: {names}" if live else ""
        if sweeps:
            what += ("; " if what else "") + f"{len(sweeps)} sweep(s) still training"
        if waiting:
            what += f"; {waiting} queued run(s) start as slots free up (F6)"
        self.push_screen(
            ChoiceModal(
                what,
                [
                    ("leave", "Leave them running and quit (a new grok-tui finds them)"),
                    (
                        "stop",
                        "Stop them (each saves a checkpoint; sweeps resume) and quit"
                        + ("; the queue waits" if waiting else ""),
                    ),
                    ("cancel", "Cancel"),
                ],
            ),
            chosen,
        )

    def _queued_count(self) -> int:
        """Runs waiting in the queue (0 when queue.json does not read: nothing to say)."""
        from grok_tui.rundirs import runqueue

        try:
            return len(runqueue.read_queue(self.runs_dir).entries)
        except UserError:
            return 0

    # -- the command palette: built from the bindings ----------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """A command for each binding with an id: the screen's, the app's, then Textual's.

        Built from BINDINGS, so that a key and its palette command cannot drift apart; a
        command that does not apply on this screen (m and t off the curves) is left out.
        """
        titles: set[str] = set()
        for node in (screen, self):
            for binding in node.BINDINGS:
                command = self._binding_command(node, binding, screen)
                if command is not None and command.title not in titles:
                    titles.add(command.title)
                    yield command
        for command in super().get_system_commands(screen):
            if command.title not in titles:  # Textual's Quit: ours says what it asks first
                yield command

    def _binding_command(
        self, node: DOMNode, binding: BindingType, screen: Screen
    ) -> SystemCommand | None:
        if not isinstance(binding, Binding) or binding.id is None or not binding.description:
            return None
        namespace, name, parameters = parse_action(binding.action)
        if node is self or namespace == "app":
            if not self._action_applies(name, screen):
                return None
        elif node.check_action(name, parameters) is False:
            return None
        title, _, what = (binding.tooltip or binding.description).partition("\n")
        keys = ", ".join(self.key_label(key) for key in binding.key.split(","))
        return SystemCommand(
            title,
            f"{what} ({keys})" if what else keys,
            partial(self.run_action, binding.action, node),
        )

    def key_label(self, key: str) -> str:
        """A key as the help texts write it: Ctrl+R, Enter, F5, /."""
        *modifiers, base = key.strip().split("+")
        name = KEY_NAMES.get(base) or self.get_key_display(Binding(base, ""))
        if modifiers or re.fullmatch(r"f\d+", base):
            name = name.upper()
        return "+".join([*(m.capitalize() for m in modifiers), name])


def run_app(runs_dir: Path, preset_dirs: list[Path]) -> int:
    """Open the TUI on a runs directory (``grok-tui`` without --run); its exit status.

    A crash (an exception in a handler, a stylesheet that does not parse) ends the app
    with Textual's traceback and return code 1, which is returned for the command to exit
    with; a quit is 0.
    """
    app = GrokApp(runs_dir, preset_dirs)
    app.run()
    return app.return_code or 0


if TYPE_CHECKING:

    def _as_workbench(app: GrokApp) -> Workbench:
        """Never called: a type checker proves here that the app is what screens read."""
        return app
