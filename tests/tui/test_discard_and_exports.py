"""Nothing is discarded without asking, and an export writes each run once, as it is now
(issue 35, items 2 and 3).

Quit, by any way out (Ctrl+Q on any screen, q on Live, the palette's Quit), asks while
the Presets form or its TOML tab holds unsaved edits, and the question with live runs
names the edits too. History's table and records CSV, of marked or filtered runs, hold
each run once with its current values, also a running run whose records grew since the
rows were first read.

No process is started: a running run is a run directory written as a trainer on another
host would write it (its status stays "running", and nothing here may signal it).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from textual.app import ScreenStackError
from textual.command import CommandList, CommandPalette
from textual.widgets import DataTable, Input, RadioButton, Static

from grok_tui.rundirs import store
from grok_tui.tui.app import GrokApp
from grok_tui.tui.screens.history import HistoryScreen
from grok_tui.tui.screens.live import LiveScreen
from grok_tui.tui.screens.modals import ChoiceModal, ExportModal, PathModal
from grok_tui.tui.screens.presets import PresetsScreen
from grok_tui.tui.widgets.preset_form import PresetForm
from grok_tui.tui.widgets.toml_editor import TomlEditor
from tests.support.pilot import click, until
from tests.support.tui import (
    TINY,
    TuiEnv,
    drive,
    finished_run,
    grow,
    pick,
    running_elsewhere,
)

pytestmark = pytest.mark.tui_env(presets={"tiny.toml": TINY}, toasts_stay=True)

# A trainer on another host: its run reads as live here, and is never signalled from here.


# -- asking before quitting ----------------------------------------------------------------


def asking(app: GrokApp) -> bool | None:
    """True while a quit question is shown, False while the app runs without one, None
    once the app has quit (the edits are gone)."""
    if app.return_code is not None or not app.is_running:
        return None
    try:
        return isinstance(app.screen, ChoiceModal)
    except ScreenStackError:
        return None


async def quit_question(pilot: Any, app: GrokApp) -> str:
    """Wait for the quit question (failing if the app quit instead); its text."""
    await until(pilot, lambda: asking(app) is not False, what="a quit question, or the exit")
    assert asking(app), "the app quit without asking: the unsaved edits are gone"
    return str(app.screen.query_one(".dialog-text", Static).render())


def choices(app: GrokApp) -> list[str]:
    screen = app.screen
    assert isinstance(screen, ChoiceModal)
    return [key for key, _ in screen.choices]


async def edit_the_form(pilot: Any, app: GrokApp) -> tuple[PresetsScreen, Input]:
    """tiny-mlp in the form, its name edited and not saved."""
    screen = await pick(pilot, app, "tiny-mlp")
    form = screen.query_one(PresetForm)
    name = screen.query_one("#f-name", Input)
    name.value = "edited"
    await until(pilot, lambda: form.modified and screen.unsaved())
    return screen, name


async def cancel(pilot: Any, app: GrokApp, screen: Any) -> None:
    await pilot.press("escape")
    await until(pilot, lambda: app.screen is screen)


def test_ctrl_q_with_unsaved_form_edits_asks_and_keeps_them_on_cancel(env: TuiEnv) -> None:
    app = env.app()

    async def script(pilot: Any) -> None:
        screen, name = await edit_the_form(pilot, app)
        await pilot.press("ctrl+q")
        text = await quit_question(pilot, app)
        assert "tiny-mlp" in text and "the form" in text and "discards" in text
        assert choices(app) == ["keep", "discard", "cancel"]  # keeping first: Enter loses nothing
        await cancel(pilot, app, screen)
        assert app.is_running and name.value == "edited" and screen.unsaved()
        await pilot.press("ctrl+q")
        await quit_question(pilot, app)
        await pilot.press("enter")  # the default: keep them
        await until(pilot, lambda: app.screen is screen)
        assert app.is_running and name.value == "edited"
        await pilot.press("ctrl+q")
        await quit_question(pilot, app)
        await pilot.press("down", "enter")  # discard them and quit: said, and chosen
        await until(pilot, lambda: app.return_code is not None)

    drive(app, script)
    assert app.return_code == 0


def test_ctrl_q_with_unsaved_toml_tab_edits_asks_and_keeps_them(env: TuiEnv) -> None:
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "tiny-mlp")
        editor = screen.query_one("#preset-toml", TomlEditor)
        for attempt in range(3):  # as a user would: click the tab (again if it moved)
            await click(pilot, "#--content-tab-tab-toml")
            try:
                await until(pilot, lambda: screen.sync.tab == "tab-toml", timeout=10)
                break
            except AssertionError:
                if attempt == 2:
                    raise
        await until(pilot, lambda: editor.text == TINY)
        editor.insert("# a note for later\n", (0, 0))
        await until(pilot, lambda: screen.sync.dirty)
        assert not screen.query_one(PresetForm).modified  # the form itself holds no edit
        await pilot.press("ctrl+q")
        text = await quit_question(pilot, app)
        assert "the TOML tab" in text
        await cancel(pilot, app, screen)
        assert app.is_running and editor.text.startswith("# a note for later\n")
        assert screen.sync.dirty

    drive(app, script)


def running_run(env: TuiEnv, name: str = "busy", steps: int = 10) -> store.RunDir:
    """A run that another host trains: status running, recorded up to step ``steps``."""
    return running_elsewhere(env.runs, name, steps)


def test_the_quit_question_with_a_live_run_names_the_unsaved_edits(env: TuiEnv) -> None:
    run = running_run(env)
    app = env.app()

    async def script(pilot: Any) -> None:
        # a run training at start-up opens Live; the Presets form is edited after
        await until(pilot, lambda: app.live_followers() and isinstance(app.screen, LiveScreen))
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, PresetsScreen))
        screen, name = await edit_the_form(pilot, app)
        await pilot.press("ctrl+q")
        text = await quit_question(pilot, app)
        assert run.run_id in text and "1 run(s) still running" in text  # the runs, as before
        assert "Unsaved: edits to tiny-mlp in the form" in text  # and the edits
        assert choices(app) == ["keep", "leave", "stop", "cancel"]
        await pilot.press("enter")  # keep the edits
        await until(pilot, lambda: app.screen is screen)
        assert app.is_running and name.value == "edited"

    drive(app, script)


async def on_history(pilot: Any, app: GrokApp) -> None:
    await pilot.press("f4")
    await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
    await pilot.press("ctrl+q")


async def q_on_live(pilot: Any, app: GrokApp) -> None:
    await pilot.press("f3")
    await until(pilot, lambda: isinstance(app.screen, LiveScreen))
    await pilot.press("q")


async def palette_quit(pilot: Any, app: GrokApp) -> None:
    """The command palette's Quit (the one command of that title), typed and chosen."""
    assert [c.title for c in app.get_system_commands(app.screen)].count("Quit") == 1
    await pilot.press("ctrl+p")
    await until(pilot, lambda: isinstance(app.screen, CommandPalette))
    palette = app.screen
    await pilot.press(*"quit")

    def quit_highlighted() -> bool:
        found = palette.query_one(CommandList)
        index = found.highlighted
        return index is not None and "Quit" in str(found.get_option_at_index(index).prompt)

    await until(pilot, quit_highlighted)
    await pilot.press("enter")


@pytest.mark.parametrize(
    "way_out", [on_history, q_on_live, palette_quit], ids=["ctrl+q-history", "q-live", "palette"]
)
def test_every_way_out_asks_while_edits_are_unsaved(env: TuiEnv, way_out: Any) -> None:
    app = env.app()

    async def script(pilot: Any) -> None:
        screen, name = await edit_the_form(pilot, app)
        await pilot.press("ctrl+c")  # copies in a field, tells how to quit elsewhere: never quits
        assert asking(app) is False
        await way_out(pilot, app)
        text = await quit_question(pilot, app)
        assert "edits to tiny-mlp" in text
        await cancel(pilot, app, app.screen_stack[-2])
        assert app.is_running and name.value == "edited" and screen.unsaved()

    drive(app, script)


# -- one row per run in an export ------------------------------------------------------------


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def wrote(app: GrokApp, path: Path) -> bool:
    return path.exists() and any(
        "Wrote" in str(n.message) and str(path) in str(n.message) for n in app._notifications
    )


async def history_with_a_grown_run(pilot: Any, app: GrokApp, busy: store.RunDir) -> HistoryScreen:
    """History read while ``busy`` had 10 records; then 20 more and a new best: the row
    shown moves with it."""
    await until(pilot, lambda: app.live_followers() and isinstance(app.screen, LiveScreen))
    await pilot.press("f4")
    await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.all_rows)
    screen = app.screen
    assert isinstance(screen, HistoryScreen)

    def best() -> object:
        return next(r.values["best_test_acc"] for r in screen.all_rows if r.run_id == busy.run_id)

    assert best() == 0.25
    grow(busy, 10, 30, best=0.75)
    await until(pilot, lambda: best() == 0.75)  # the poll refreshed the run's row
    return screen


async def mark_all(pilot: Any, screen: HistoryScreen, runs: list[store.RunDir]) -> None:
    table = screen.query_one(DataTable)
    for run in runs:
        table.move_cursor(row=table.get_row_index(run.run_id))
        if run.run_id not in screen.marked:
            await pilot.press("space")
    assert screen.marked == {run.run_id for run in runs}


async def export(pilot: Any, app: GrokApp, scope: str, kind: str, path: Path) -> None:
    await pilot.press("x")
    await until(pilot, lambda: isinstance(app.screen, ExportModal))
    dialog = app.screen
    dialog.query_one(f"#scope-{scope}", RadioButton).value = True
    dialog.query_one(f"#kind-{kind}", RadioButton).value = True
    await until(pilot, lambda: dialog.scope() == scope and dialog.kind() == kind)
    dialog.query_one("#path", Input).value = str(path)
    await pilot.press("enter")
    await until(pilot, lambda: wrote(app, path))


def three_runs(env: TuiEnv) -> list[store.RunDir]:
    return [
        finished_run(env.runs, "done-a", **{"optim.lr": 0.01}),
        finished_run(env.runs, "done-b", **{"optim.lr": 0.003}),
        running_run(env),
    ]


def test_the_csvs_of_marked_runs_hold_a_grown_running_run_once_as_it_is_now(
    env: TuiEnv,
) -> None:
    runs = three_runs(env)
    busy = runs[2]
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await history_with_a_grown_run(pilot, app, busy)
        await mark_all(pilot, screen, runs)
        table_csv = env.tmp / "marked-table.csv"
        await export(pilot, app, "marked", "table", table_csv)
        rows = rows_of(table_csv)
        assert sorted(r["run_id"] for r in rows) == sorted(r.run_id for r in runs)
        (row,) = [r for r in rows if r["run_id"] == busy.run_id]
        assert row["best_test_acc"] == "0.75" and row["status"] == "running"
        records_csv = env.tmp / "marked-records.csv"
        await export(pilot, app, "marked", "records", records_csv)
        records = [r for r in rows_of(records_csv) if r["run_id"] == busy.run_id]
        assert [r["step"] for r in records] == [str(s) for s in range(10, 31, 10)]
        assert len(rows_of(records_csv)) == 2 * 20 + 3  # the finished runs' 20 each, once
        w_csv = env.tmp / "w.csv"
        await pilot.press("w")  # the records of the marked runs, by its own key
        await until(pilot, lambda: isinstance(app.screen, PathModal))
        app.screen.query_one("#path", Input).value = str(w_csv)
        await pilot.press("enter")
        await until(pilot, lambda: wrote(app, w_csv))
        assert len([r for r in rows_of(w_csv) if r["run_id"] == busy.run_id]) == 3

    drive(app, script)


def test_the_csv_of_filtered_runs_holds_a_running_run_as_it_is_now(env: TuiEnv) -> None:
    runs = three_runs(env)
    busy = runs[2]
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await history_with_a_grown_run(pilot, app, busy)
        assert not screen.marked and len(screen.shown) == 3
        table_csv = env.tmp / "filtered-table.csv"
        await export(pilot, app, "filtered", "table", table_csv)
        rows = rows_of(table_csv)
        assert sorted(r["run_id"] for r in rows) == sorted(r.run_id for r in runs)
        (row,) = [r for r in rows if r["run_id"] == busy.run_id]
        assert row["best_test_acc"] == "0.75"  # not the 0.25 of when History was read
        records_csv = env.tmp / "filtered-records.csv"
        await export(pilot, app, "filtered", "records", records_csv)
        records = [r for r in rows_of(records_csv) if r["run_id"] == busy.run_id]
        assert [r["step"] for r in records] == ["10", "20", "30"]

    drive(app, script)


def test_the_quit_question_keeps_first_and_each_choice_fits_80_columns() -> None:
    """Without a run, the queue is not mentioned; keeping the edits is the default."""
    from grok_tui.tui import actions

    what, only_edits = actions.quit_question([], 0, 3, "edits to tiny in the form")
    assert what == "Unsaved: edits to tiny in the form; quitting discards them."
    assert [key for key, _ in only_edits] == ["keep", "discard", "cancel"]
    what, both = actions.quit_question([], 1, 2, "edits to tiny in the form")
    assert what.startswith("1 sweep(s) still training; 2 queued run(s)")
    assert [key for key, _ in both] == ["keep", "leave", "stop", "cancel"]
    assert all(len(label) <= 66 for _, label in [*only_edits, *both])  # the dialog's width
