"""How the TUI's parts are tied: screens post messages and read a Workbench, never the app.

The app imports the screens; a screen that imported or called the app back would tie
every screen to every other. These tests hold the shape: no screen or widget imports
grok_tui.tui.app, each asks for actions with the messages of grok_tui.tui.messages (and
runs inside any app that offers the Workbench state), the palette is built from the
bindings, and the smoothing and x-axis keys live once, in the app.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable

import grok_tui.tui
from grok_tui.rundirs import store, watch
from grok_tui.tui.app import GrokApp
from grok_tui.tui.messages import (
    EditRunPresetRequested,
    ExportRequested,
    RerunRequested,
    RunForgotten,
    RunRequest,
    StopRequested,
    ViewOptionsChanged,
)
from grok_tui.tui.screens.compare import CompareScreen
from grok_tui.tui.screens.history import HistoryScreen
from grok_tui.tui.screens.live import LiveScreen
from grok_tui.tui.screens.modals import ChoiceModal, ConfirmModal
from grok_tui.tui.screens.presets import PresetsScreen
from grok_tui.tui.screens.run import RunScreen
from grok_tui.tui.screens.sweep import SweepScreen
from grok_tui.tui.views.curves import AxisOptions
from grok_tui.tui.views.pacing import Pacing
from grok_tui.tui.widgets.curve_pane import CurvePane
from grok_tui.tui.workbench import CurvesScreen, Workbench
from tests.conftest import REPO
from tests.support.pilot import until
from tests.support.tui import TuiEnv, drive, finished_run, history_env, open_history, points

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TUI = Path(grok_tui.tui.__file__).parent
SCREENS_AND_WIDGETS = sorted([*(TUI / "screens").rglob("*.py"), *(TUI / "widgets").rglob("*.py")])


# -- the source: no way back to the app --------------------------------------------------------


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, TYPE_CHECKING blocks and function bodies included."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def app_attributes_used(path: Path) -> set[str]:
    """The X of every ``self.app.X`` (and ``screen.app.X``) in a file."""
    return {
        node.attr
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "app"
    }


def test_the_sources_are_found() -> None:
    names = {p.stem for p in SCREENS_AND_WIDGETS} | {p.parent.name for p in SCREENS_AND_WIDGETS}
    assert {"presets", "live", "history", "compare", "run", "sweep", "curve_pane"} <= names


@pytest.mark.parametrize("path", SCREENS_AND_WIDGETS, ids=lambda p: p.stem)
def test_no_screen_or_widget_imports_the_app(path: Path) -> None:
    assert "grok_tui.tui.app" not in imported_modules(path)


@pytest.mark.parametrize("path", SCREENS_AND_WIDGETS, ids=lambda p: p.stem)
def test_screens_use_only_textual_s_app_and_ask_for_actions_with_messages(path: Path) -> None:
    """``self.app`` is Textual's App to a screen (push_screen, call_from_thread…): the
    app's own state is read through the Workbench, its actions are asked for by message."""
    assert {name for name in app_attributes_used(path) if not hasattr(App, name)} == set()


def test_an_import_contract_forbids_screens_and_widgets_to_import_the_app() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    assert any(
        c["type"] == "forbidden"
        and {"grok_tui.tui.screens", "grok_tui.tui.widgets"} <= set(c["source_modules"])
        and "grok_tui.tui.app" in c["forbidden_modules"]
        and not c.get("allow_indirect_imports", False)
        for c in contracts
    )


def test_the_app_offers_what_a_workbench_promises(tmp_path: Path) -> None:
    promised = set(Workbench.__annotations__) | {
        name for name, value in vars(Workbench).items() if isinstance(value, property)
    }
    assert {"runs_dir", "preset_dirs", "current_run_id", "followers", "axis_options"} <= promised
    app = GrokApp(tmp_path / "runs", [tmp_path])
    assert all(hasattr(app, name) for name in promised)


def test_the_per_screen_palette_lists_are_gone() -> None:
    for screen in (PresetsScreen, LiveScreen, HistoryScreen, CompareScreen, RunScreen):
        assert "PALETTE" not in vars(screen)


# -- screens in a host that is not GrokApp -------------------------------------------------------


class Host(App):
    """The least a screen needs: a Workbench's state. Requests bubble up unanswered."""

    def __init__(self, runs_dir: Path, make_screen: Callable[[], Screen]) -> None:
        super().__init__()
        self.runs_dir = runs_dir
        self.preset_dirs: list[Path] = []
        self.followers: dict[str, watch.RunFollower] = {}
        self.current_run_id: str | None = None
        self.axis_options = AxisOptions()
        self.pacing = Pacing()
        self.make_screen = make_screen

    def compose(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.push_screen(self.make_screen())


def host(app: App, script: Callable[[Any], Any], seen: list[Message]) -> None:
    """Run a script with every message that reaches a pump recorded (once) in seen."""

    def hook(message: Message) -> None:
        if not any(message is m for m in seen):
            seen.append(message)

    async def main() -> None:
        async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
            await script(pilot)

    asyncio.run(main())


def requests(seen: list[Message]) -> list[tuple[type, str]]:
    return [
        (type(m), m.run.run_id if isinstance(m, RunRequest) else getattr(m, "run_id", ""))
        for m in seen
        if isinstance(m, RunRequest | RunForgotten)
    ]


def test_history_asks_for_actions_with_messages_in_any_workbench(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    alpha = finished_run(runs, "alpha")
    app = Host(runs, HistoryScreen)
    seen: list[Message] = []

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.all_rows)
        app.screen.query_one(DataTable).move_cursor(row=0)
        await pilot.press("n", "s", "w", "e")
        await until(pilot, lambda: len(requests(seen)) == 4)
        assert requests(seen) == [
            (RerunRequested, alpha.run_id),
            (StopRequested, alpha.run_id),
            (ExportRequested, alpha.run_id),
            (EditRunPresetRequested, alpha.run_id),
        ]
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("tab", "enter")  # Yes
        await until(pilot, lambda: (RunForgotten, alpha.run_id) in requests(seen))
        assert not alpha.path.exists()

    host(app, script, seen)


def test_live_reads_the_workbench_and_asks_to_stop_the_run_it_shows(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    alpha, beta = finished_run(runs, "alpha"), finished_run(runs, "beta")
    app = Host(runs, LiveScreen)
    for run in (alpha, beta):
        follower = app.followers[run.run_id] = watch.RunFollower(run)
        follower.poll()
    app.current_run_id = alpha.run_id
    seen: list[Message] = []

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, LiveScreen))
        await until(pilot, lambda: points(app.screen.query_one("#live-acc", CurvePane)) > 0)
        await pilot.press("right_square_bracket")  # the next run: the workbench's current one
        assert app.current_run_id == beta.run_id
        await pilot.press("s")
        await until(pilot, lambda: requests(seen))
        assert requests(seen) == [(StopRequested, beta.run_id)]

    host(app, script, seen)


# -- the palette: one command per binding ------------------------------------------------------

OLD_PALETTES = {  # the titles the hand-written PALETTE lists (and the app) offered
    PresetsScreen: {"Run this preset", "Save preset as…", "Reload presets"},
    LiveScreen: {"Stop the current run", "Resume the current run"},
    HistoryScreen: {
        "Open run",
        "Compare marked runs",
        "Export run table to CSV",
        "Export run records to CSV",
        "Re-run",
        "Copy preset into editor",
        "Delete run",
        "Sort runs",
        "Group by sweep",
        "Open sweep",
        "Stop run",
        "Resume run",
        "Reload history",
    },
    RunScreen: {"Export run records to CSV", "Analysis", "Re-run", "Copy preset into editor"},
    CompareScreen: set(),
    SweepScreen: set(),
}
EVERYWHERE = {"Presets", "Live runs", "History", "Help", "Quit"}
ON_CURVES = {"Toggle smoothing", "Toggle x axis"}


def palette_title(binding: Binding) -> str:
    return (binding.tooltip or binding.description).partition("\n")[0]


def check_palette(app: GrokApp, screen: Screen) -> None:
    """Every key the footer shows (the screen's and the app's) is a command of the palette."""
    commands = {c.title: c for c in app.get_system_commands(screen)}
    shown = [
        active.binding
        for active in screen.active_bindings.values()
        if active.node in (screen, app) and active.binding.show and active.enabled
    ]
    assert shown
    for binding in shown:
        assert binding.id and binding.tooltip, f"{binding.key} needs an id and a tooltip"
        assert palette_title(binding) in commands, f"no command for {binding.key}"
    assert OLD_PALETTES[type(screen)] | EVERYWHERE <= set(commands)
    assert ON_CURVES.issubset(commands) == isinstance(screen, CurvesScreen)


async def compare_two(pilot: Any, history: HistoryScreen) -> CompareScreen:
    history.query_one(DataTable).move_cursor(row=0)
    await pilot.press("space", "down", "space", "c")
    await until(pilot, lambda: isinstance(history.app.screen, CompareScreen))
    compare = history.app.screen
    await until(pilot, lambda: points(compare.query_one("#compare-acc", CurvePane)) > 0)
    return compare  # type: ignore[return-value]


@pytest.mark.slow
def test_each_screen_s_palette_has_a_command_for_each_key_it_shows(env: TuiEnv) -> None:
    history_env(env)
    app = env.app()

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, PresetsScreen))
        check_palette(app, app.screen)
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, LiveScreen))
        check_palette(app, app.screen)
        history = await open_history(pilot, app)
        check_palette(app, history)
        check_palette(app, await compare_two(pilot, history))
        await pilot.press("escape", "enter")
        await until(pilot, lambda: isinstance(app.screen, RunScreen))
        check_palette(app, app.screen)
        await pilot.press("escape")
        app.push_screen(SweepScreen(env.runs / "no-such-sweep"))
        await until(pilot, lambda: isinstance(app.screen, SweepScreen))
        check_palette(app, app.screen)

    drive(app, script)


def test_a_palette_command_runs_its_binding_s_action(env: TuiEnv) -> None:
    history_env(env)
    app = env.app()

    async def script(pilot: Any) -> None:
        history = await open_history(pilot, app)
        sort = next(c for c in app.get_system_commands(history) if c.title == "Sort runs")
        assert sort.help == "By any column (o)"
        result = sort.callback()
        if inspect.isawaitable(result):
            await result
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal))

    drive(app, script)


# -- smoothing and x axis: one option, kept by the app -----------------------------------------


@pytest.mark.slow
def test_m_and_t_change_the_one_shared_option_and_every_curve_screen_redraws(
    env: TuiEnv,
) -> None:
    runs = history_env(env)
    app = env.app()
    seen: list[Message] = []

    def notices() -> list[ViewOptionsChanged]:
        return [m for m in seen if isinstance(m, ViewOptionsChanged)]

    async def script(pilot: Any) -> None:
        app.follow(store.RunDir(runs[0].path))
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, LiveScreen))
        acc = app.screen.query_one("#live-acc", CurvePane)
        await until(pilot, lambda: points(acc) > 0)
        assert len(acc.series) == 2 and app.axis_options.smoothing == 0
        await pilot.press("m")  # Live: smoothed curves over faint raw ones
        assert app.axis_options.smoothing > 0
        assert len(acc.series) == 4 and sum(s.faint for s in acc.series) == 2
        assert [n.options for n in notices()] == [app.axis_options]

        history = await open_history(pilot, app)
        await pilot.press("m")  # no curves here: m does nothing, and shows no key
        assert app.axis_options.smoothing > 0 and len(notices()) == 1
        assert "m" not in {k for k, a in history.active_bindings.items() if a.enabled}

        compare = await compare_two(pilot, history)
        compare_acc = compare.query_one("#compare-acc", CurvePane)
        # the option set on Live holds here too: per run, raw and smoothed test, and train
        assert len(compare_acc.series) == 6
        await pilot.press("m")
        assert app.axis_options.smoothing == 0 and len(compare_acc.series) == 4
        await pilot.press("t")
        assert app.axis_options.x_key == "elapsed_s"
        assert compare_acc.x_label != "step"
        assert len(notices()) == 3

        await pilot.press("escape", "enter")  # a run's page, with the same options
        await until(pilot, lambda: isinstance(app.screen, RunScreen))
        run_acc = app.screen.query_one("#run-acc", CurvePane)
        await until(pilot, lambda: points(run_acc) > 0)
        assert run_acc.x_label != "step"
        await pilot.press("t")
        assert app.axis_options.x_key == "step" and run_acc.x_label == "step"

    drive(app, script, hook=seen.append)
