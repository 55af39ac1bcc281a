"""The grok-tui Textual app: presets, live runs, history and compare, keyboard first.

The app never trains and never imports torch (DESIGN.md rules 2 and 3): runs are
processes started by grok_tui.rundirs.launch, and the app follows their run directories
from a thread worker that polls them (views/pacing.py): every second, and every quarter
second while starting up or while a live run has no record yet.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
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
from grok_tui.text import safe_markup, safe_text
from grok_tui.tui import actions, modes, quitting
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
from grok_tui.tui.screens.modals import ConfirmModal, PathModal
from grok_tui.tui.screens.presets import PresetsScreen
from grok_tui.tui.smoothing_keys import SMOOTHING_ACTIONS, SMOOTHING_BINDINGS, SmoothingActions
from grok_tui.tui.typeahead import TypeAhead
from grok_tui.tui.views.curves import AxisOptions
from grok_tui.tui.views.pacing import Pacing
from grok_tui.tui.workbench import CurvesScreen, WorkbenchScreen

if TYPE_CHECKING:
    from grok_tui.rundirs import store, watch
    from grok_tui.tui.workbench import Workbench

# grok_tui.rundirs.launch, .store and .config (pydantic) are imported where they are used,
# after the first frame: they are a third of the app's import time, and the first
# frame should come at once (see bench/startup.py).


def _prefetch_screens(
    runs_dir: Path, ready: Callable[[str], bool], done: Callable[[], None]
) -> None:
    from grok_tui.tui.prefetch import prefetch_screens  # in the worker, off the first frame

    prefetch_screens(runs_dir, ready)
    done()


CURVE_ACTIONS = SMOOTHING_ACTIONS | {"toggle_x_axis", "toggle_log_x"}  # m < >, t, l
KEY_NAMES = {"enter": "Enter", "space": "Space", "escape": "Esc"}
SCAN_EVERY = 4  # polls between scans of the runs directory for runs started elsewhere
STARTUP_S = 5.0  # runs found live this soon after start-up open Live (see _starting_up)
# The first poll waits for the first screen to be whole (its presets listed, its form
# checked), at most this long: its thread reads every run's summary and would hold the
# GIL while the presets are listed.
FIRST_POLL_WAIT_S = 10.0


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


def _ensure_queue_runner(runs_dir: Path) -> int | None:
    """The production queue start: a detached ``grok-tui queue run`` when one is wanted."""
    from grok_tui.rundirs import runqueue

    return runqueue.ensure_runner(runs_dir, runqueue.start_runner)


class GrokApp(TypeAhead, SmoothingActions, App):
    """Presets (F2), Live (F3), History (F4); Compare and a run's page open from History."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "grok-tui"
    MODES = modes.MODES
    DEFAULT_MODE = "presets"
    # A binding with an id is also a command of the palette: its tooltip's first line is
    # the command's title, the rest says what it does (see get_system_commands).
    BINDINGS = [
        # On the screens that draw curves only (check_action): elsewhere m and t are free;
        # first, so that the footer shows them beside the screen's own keys.
        *SMOOTHING_BINDINGS,  # m, < and >
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
            tooltip="Quit\nAsks first about live runs (leave or stop them) and unsaved edits",
        ),
    ]

    def __init__(
        self,
        runs_dir: Path,
        preset_dirs: Iterable[Path] = (),
        *,
        poll_interval: float | None = None,
        watch_terminal: bool = True,
        pacing: Pacing | None = None,
        run_command: Sequence[str] | None = None,
        start_queue: Callable[[Path], object] | None = None,
    ) -> None:
        """``pacing``: the app's clocks (Pacing(); ``poll_interval`` overrides its poll_s);
        ``run_command``: what trains a run directory (launch.RUN_COMMAND when None);
        ``start_queue(runs_dir)``: start a queue runner when runs wait and none serves them
        (runqueue.ensure_runner with runqueue.start_runner when None)."""
        super().__init__()
        self.runs_dir = Path(runs_dir)
        self.preset_dirs = [Path(d) for d in preset_dirs]
        self.pacing = pacing or Pacing()
        self.poll_interval = poll_interval or self.pacing.poll_s
        self.watch_terminal = watch_terminal
        self.run_command = list(run_command) if run_command is not None else None
        self.start_queue = start_queue or _ensure_queue_runner
        self.followers: dict[str, watch.RunFollower] = {}
        self.current_run_id: str | None = None
        self.axis_options = AxisOptions()
        self.scanner: watch.LiveRunScanner | None = None  # made by the poll worker
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
        if not self._screen_whole and time.monotonic() - self._mounted_at < FIRST_POLL_WAIT_S:
            return  # the first screen first: a poll's thread would take the GIL from it
        now = time.monotonic()
        settled = self.pacing.settled_poll_s
        if now - self._last_poll < settled and not self._poll_fast():
            return
        self._last_poll = now
        self._polling = True
        self._polls += 1
        # every SCAN_EVERY polls a full scan; while starting up, quick ones in between
        scan = "full" if self._polls % SCAN_EVERY == 1 else "quick" if self._starting_up() else None
        self.poll_runs(list(self.followers.values()), scan)

    def _poll_fast(self) -> bool:
        """Poll at every tick: before the first poll, while starting up, or while a live
        run has no record yet (its first record is shown at once)."""
        from grok_tui.rundirs import watch

        return (
            not self._polled_once
            or self._starting_up()
            or any(
                f.status in watch.LIVE_STATUSES and not f.records for f in self.followers.values()
            )
        )

    @work(thread=True, exit_on_error=False, group="poll")
    def poll_runs(self, followers: list[watch.RunFollower], scan: str | None) -> None:
        from grok_tui.rundirs import watch
        from grok_tui.tui.prefetch import live_scanner

        changed: list[str] = []
        discovered: list[store.RunDir] = []
        try:
            changed = watch.poll_all(followers)
            if scan:
                if self.scanner is None:
                    self.scanner = live_scanner(self.runs_dir)
                discovered = self.scanner.scan(full=scan == "full")
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
    _prefetched = False
    _screen_whole = False  # the first screen listed its presets and checked its form

    def on_preset_form_validated(self) -> None:
        if not self._prefetched:  # the first screen is whole (its form checked)
            self._prefetched = True
            self.long_lived()
            modes.mark_styled(self, "presets")  # made before the first restyle
            self._screen_whole = True
            self._mounted_at = time.monotonic()  # the start-up's STARTUP_S begin now
            self._tick()  # the first poll, held back until now
            prefetch = partial(
                _prefetch_screens, self.runs_dir, self._prefetched_runs, self._prefetched_all
            )
            self.run_worker(prefetch, thread=True, exit_on_error=False, group="prefetch")

    def _prefetched_runs(self, mode: str) -> bool:
        """In the prefetch's thread, once what a mode's screen needs is read (History's
        rows, the Queue's module): make that screen (modes.make_early); made or not."""
        with contextlib.suppress(RuntimeError):  # the app closed meanwhile
            return bool(self.call_from_thread(modes.make_early, self, mode))
        return False

    def _prefetched_all(self) -> None:
        """In the prefetch's thread, at its end: what the app holds now, it holds for long."""
        with contextlib.suppress(RuntimeError):  # the app closed meanwhile
            self.call_from_thread(self.long_lived)

    # Python's full collections walked every object the app holds (its modules, the DOM
    # of each screen, History's rows): 90-290 ms each, now and then in a screen switch of
    # a 0.3 s budget. run_app sets this to gc.freeze, called once the first screen is
    # whole and again at the prefetch's end (the screens made early): those objects live as long
    # as the app, and later collections walk only what came after. Tests leave it off
    # (one process runs many apps; frozen objects are never collected).
    long_lived: Callable[[], None] = staticmethod(lambda: None)

    def _starting_up(self) -> bool:
        """The first STARTUP_S after the first frame, until Live was opened for its runs:
        every poll also scans (a run whose trainer is still exec-ing may not read as live
        at the very first scan)."""
        return not self._opened_live and time.monotonic() - self._mounted_at < STARTUP_S

    def follow(self, run: store.RunDir) -> watch.RunFollower:
        from grok_tui.rundirs import watch

        follower = self.followers.get(run.run_id)
        if follower is None:
            follower = self.followers[run.run_id] = watch.RunFollower(run)
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

    def live_followers(self) -> list[watch.RunFollower]:
        from grok_tui.rundirs import watch

        return [f for f in self.followers.values() if f.status in watch.LIVE_STATUSES]

    # -- run actions (screens ask for them with the messages of messages.py) --------------

    def on_run_requested(self, message: RunRequested) -> None:
        self.relay(actions.start_run(message.preset, self.runs_dir, self.run_command))

    def on_queue_requested(self, message: QueueRequested) -> None:
        def listed(run_id: str) -> None:
            self._tell_screen([run_id])

        self.relay(actions.enqueue(message.source, self.runs_dir, self._keep_queue_going, listed))

    def _keep_queue_going(self) -> None:
        """Start a queue runner when runs wait and none serves them (it ended, or the
        machine restarted); a damaged queue.json is left to the Queue screen to show."""
        with contextlib.suppress(UserError, OSError):
            self.start_queue(self.runs_dir)

    def on_sweep_requested(self, message: SweepRequested) -> None:
        self.relay(actions.start_sweep(message.sweep_file, self.runs_dir))

    def on_seeds_requested(self, message: SeedsRequested) -> None:
        seeds = actions.start_seeds(
            message.source, message.seeds, message.split_seeds, self.runs_dir
        )
        self.relay(seeds)

    def on_rerun_requested(self, message: RerunRequested) -> None:
        """A re-run trains the whole preset again in a new process: ask first."""
        run = message.run
        question = actions.rerun_question(run)

        def answered(yes: bool | None) -> None:
            if yes:
                self.relay(actions.rerun(run, self.runs_dir, self.run_command))

        self.push_screen(ConfirmModal(question, yes="Re-run", no="Cancel"), answered)

    def on_resume_requested(self, message: ResumeRequested) -> None:
        self.relay(actions.resume(message.run, self.run_command))

    def relay(self, action: actions.Action) -> None:
        """Run a request's work in a thread worker (grok_tui/tui/actions.py)."""
        actions.relay(self, action)

    def on_stop_requested(self, message: StopRequested) -> None:
        from grok_tui.rundirs import launch, watch

        run = message.run
        if launch.stop_run(run):
            self.notify(
                safe_markup(f"Stopping {run.run_id}: it saves a checkpoint, then ends as stopped.")
            )
        else:
            status = watch.run_status(run.summary())
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
        text = f"Write the records of {safe_text(run.run_id)} to CSV:"
        self._ask_path(text, f"{run.run_id}.csv", partial(actions.write_records, run))

    def on_records_export_requested(self, message: RecordsExportRequested) -> None:
        write = partial(actions.write_runs_records, message.runs)
        if message.path is not None:
            self.relay(write(message.path))
            return
        count = len(message.runs)
        text = f"Write the records of {count} runs to one CSV (run id, varying fields):"
        self._ask_path(text, message.default_name, write)

    def _ask_path(self, text: str, name: str, action: Callable[[Path], actions.Action]) -> None:
        """Ask where to write (the current directory, ``name``), then do it."""

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.relay(action(path))

        self.push_screen(PathModal(text, Path.cwd() / name), chosen)

    # -- the curves' options: one place for every screen that draws curves ----------------

    def _set_axis_options(self, options: AxisOptions) -> None:
        """Keep the new options and tell the active screen, which redraws if it has curves."""
        self.axis_options = options
        try:
            screen = self.screen
        except ScreenStackError:
            return
        screen.post_message(ViewOptionsChanged(options))

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
        """Every way out (Ctrl+Q, q, the palette): asks first about live runs and unsaved
        edits (quitting.py)."""
        quitting.ask_to_quit(self, self.runs_dir, self.live_followers())

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
    app.long_lived = gc.freeze
    app.run()
    return app.return_code or 0


if TYPE_CHECKING:

    def _as_workbench(app: GrokApp) -> Workbench:
        """Never called: a type checker proves here that the app is what screens read."""
        return app
