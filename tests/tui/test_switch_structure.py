"""Screen switches by structure (issue 35 item 10), never by timings (`grok-tui bench
--startup` times them): a mode's first show restyles nothing beyond its own screen;
History and the Queue are made while the first screen is read, History with its rows
and the cells in view already drawn; a table restyled back to styles it had keeps the
cells it drew with them; the preset list counts a sweep's points and checks them after.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input

from grok_tui.bench.startup import make_runs
from grok_tui.tui import catalog
from grok_tui.tui.screens.history import HistoryScreen
from grok_tui.tui.screens.live import LiveScreen
from grok_tui.tui.screens.presets import PresetsScreen
from grok_tui.tui.screens.queue import QueueScreen
from grok_tui.tui.widgets.run_table import RunTable
from tests.support.pilot import settle, until
from tests.support.tui import TuiEnv, drive


def made_early(app: Any) -> bool:
    """History and the Queue made (not shown), History's rows in its table."""
    stacks = app._screen_stacks
    if "history" not in stacks or "queue" not in stacks:
        return False
    history = stacks["history"][0]
    return bool(history.all_rows) and history.query_one(RunTable).row_count > 0


def test_modes_shown_for_the_first_time_restyle_nothing_else(
    env: TuiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Textual re-parsed every CSS source and restyled every node of the app at each
    mode's first show (its screen counted as stale): 0.1-0.2 s of each first F-key."""
    make_runs(env.runs, 3, records=1)
    restyles: list[str] = []
    refresh_css = App.refresh_css

    def counted(app: App[Any], animate: bool = True) -> None:
        restyles.append(type(app.screen).__name__)
        refresh_css(app, animate)

    monkeypatch.setattr(App, "refresh_css", counted)
    app = env.app()

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: app._screen_whole and made_early(app), 20, "History made")
        before = len(restyles)
        for key, screen in (
            ("f4", HistoryScreen),
            ("f3", LiveScreen),
            ("f6", QueueScreen),
            ("f2", PresetsScreen),
            ("f4", HistoryScreen),
        ):
            await pilot.press(key)
            await until(pilot, lambda screen=screen: isinstance(app.screen, screen))
            await settle(pilot)
        assert restyles[before:] == []

    drive(app, script)


def test_history_is_made_with_its_rows_drawn_before_f4(
    env: TuiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_runs(env.runs, 5, records=1)
    composed: list[int] = []
    compose = HistoryScreen.compose

    def counted(screen: HistoryScreen) -> ComposeResult:
        composed.append(1)
        return compose(screen)

    monkeypatch.setattr(HistoryScreen, "compose", counted)
    app = env.app()

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: made_early(app), 20, "History made before F4")
        history = app._screen_stacks["history"][0]
        table = history.query_one(RunTable)
        await until(pilot, lambda: len(table.made) == 5)  # the cells in view, drawn ahead
        assert isinstance(app.screen, PresetsScreen) and not history.is_current
        await pilot.press("f4")
        await until(pilot, lambda: app.screen is history)
        assert composed == [1] and table.row_count == 5  # shown, not made again

    drive(app, script)


def test_history_shows_the_prefetched_rows_before_it_lists_the_runs_again(
    env: TuiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Listing 10,000 runs takes seconds: History, made early, draws what the app's
    prefetch listed and lists again only when F4 shows it (here: never, the listing is
    held). A listing while hidden would only compete with the prefetch and the first
    screen for the GIL (10,000 runs: History after F4 took 4-5 s)."""
    make_runs(env.runs, 4, records=1)
    reloads: list[int] = []
    monkeypatch.setattr(HistoryScreen, "reload", lambda screen: reloads.append(1))
    app = env.app()

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: made_early(app), 20, "History made")
        history = app._screen_stacks["history"][0]
        assert len(history.all_rows) == 4 and history.query_one(RunTable).row_count == 4
        await settle(pilot)
        assert reloads == []  # hidden: not listed again
        await pilot.press("f4")
        await until(pilot, lambda: app.screen is history)
        await until(pilot, lambda: reloads == [1])  # shown: listed again once, behind it
        await settle(pilot)
        assert reloads == [1]

    drive(app, script)


class Focusable(App[None]):
    """A table with rows and an input to move the focus to."""

    def compose(self) -> ComposeResult:
        yield Input(id="other")
        yield RunTable(id="table")


def test_a_table_restyled_back_keeps_the_cells_it_drew(tmp_path: Path) -> None:
    """DataTable dropped every drawn cell at each style pass: blurred and focused again,
    History's table drew its 700 cells anew at each switch back to it."""
    from grok_tui.tui.runtable import load_rows

    make_runs(tmp_path, 6, records=1)
    rows = load_rows(tmp_path)
    app = Focusable()

    async def main() -> None:
        async with app.run_test(size=(120, 20)) as pilot:
            table = app.query_one(RunTable)
            table.show_rows(rows, set(), grouped=False)
            table.focus()
            await settle(pilot)
            cells = table._cell_render_cache
            key = next(iter(cells.keys()))
            drawn = cells.get(key)
            assert drawn is not None
            app.query_one("#other", Input).focus()  # blurred: drawn with other colours
            await settle(pilot)
            assert table._cell_render_cache is not cells
            table.focus()
            await settle(pilot)
            assert table._cell_render_cache.get(key) is drawn  # taken back, not drawn anew

    import asyncio

    asyncio.run(main())


SWEEP = """extends = "base.toml"
name = "{name}"
[sweep]
mode = "grid"
"optim.lr" = [1e-3, {lr}]
"""


def test_the_list_counts_a_sweeps_points_then_checks_them(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text('name = "base"\n', encoding="utf-8")
    (tmp_path / "good.toml").write_text(SWEEP.format(name="good", lr=3e-3), encoding="utf-8")
    sources = [s for s in catalog.preset_sources([tmp_path]) if s.path == tmp_path.resolve()]
    checked = {e.name: e for e in catalog.discover_presets(sources)}
    counted = catalog.discover_presets(sources, check_points=False)
    assert {e.name: e.sweep for e in counted} == {n: e.sweep for n, e in checked.items()}
    assert [e.checked for e in counted if e.sweep] == [False]
    assert catalog.check_sweeps(counted) is None  # every point valid: nothing to redraw

    (tmp_path / "bad.toml").write_text(SWEEP.format(name="bad", lr=-1.0), encoding="utf-8")
    counted = catalog.discover_presets(sources, check_points=False)
    assert next(e for e in counted if e.path.name == "bad.toml").valid  # counted: 2 points
    again = catalog.check_sweeps(counted)
    assert again is not None
    bad = next(e for e in again if e.path.name == "bad.toml")
    assert not bad.valid and "optim.lr" in (bad.error or "")
    assert [e.path for e in again] == [e.path for e in counted]  # the same list, in order


def test_what_the_app_holds_once_its_screens_are_made_is_marked_long_lived(env: TuiEnv) -> None:
    """run_app freezes it (gc.freeze): Python's full collections walked every object of
    the app, 90-290 ms each, now and then inside a screen switch."""
    make_runs(env.runs, 3, records=1)
    app = env.app()
    marks: list[bool] = []
    app.long_lived = lambda: marks.append(made_early(app))

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: len(marks) == 2, 20, "marked twice")
        assert marks == [False, True]  # once the first screen is whole, once all are made

    drive(app, script)
