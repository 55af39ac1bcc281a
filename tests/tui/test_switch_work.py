"""What the first frame and a screen switch do (issue 35, speed): the focus on the presets
list needs no schema (pydantic is imported after the first frame); History's runs are read
once the first screen is whole, before F4 asks; shown again, History reads no run that did
not change and keeps its table as drawn. Behaviour, never timings: `grok-tui bench
--startup` times them."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from grok_tui import files
from grok_tui.rundirs import store
from grok_tui.tui.screens.history import HistoryScreen
from grok_tui.tui.screens.presets import PresetsScreen
from grok_tui.tui.widgets import preset_form
from grok_tui.tui.widgets.preset_form import PresetForm
from grok_tui.tui.widgets.run_table import RunTable
from tests.support.pilot import settle, until
from tests.support.tui import TuiEnv, drive, history_env, open_history


def count_reads(monkeypatch: pytest.MonkeyPatch, name: str) -> list[Path]:
    """Every read of a file called ``name`` through the door (files.read_text), any thread."""
    read: list[Path] = []
    real = files.read_text

    def counted(path: Path, *args: Any, **kwargs: Any) -> str:
        if Path(path).name == name:
            read.append(Path(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(files, "read_text", counted)
    return read


def aged(run: store.RunDir) -> None:
    """Its files dated a minute ago. The index reads a run whose files changed within
    the last second again at the next listing (a racy stamp: index.SETTLE_NS), so a run
    made just before the app starts would be read twice or thrice depending on how fast
    the machine lists it; these tests count reads, not the clock."""
    then = time.time() - 60
    for name in os.listdir(run.path):
        os.utime(run.path / name, (then, then), follow_symlinks=False)


def history_runs(env: TuiEnv) -> list[store.RunDir]:
    runs = history_env(env)
    for run in runs:
        aged(run)
    return runs


def test_history_is_listed_before_f4_once_the_first_screen_is_whole(
    env: TuiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    history_runs(env)
    presets = count_reads(monkeypatch, store.PRESET_FILE)  # only listing a run reads it
    app = env.app()

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: len(presets) == 3, 20, "the runs listed in the background")
        assert isinstance(app.screen, PresetsScreen)  # nobody asked for History yet
        await open_history(pilot, app)
        await settle(pilot)
        assert len(presets) == 3  # F4 read no run again

    drive(app, script)


def test_history_shown_again_reads_only_what_changed_and_keeps_its_table(
    env: TuiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = history_runs(env)
    presets = count_reads(monkeypatch, store.PRESET_FILE)
    app = env.app()

    async def switch_back(pilot: Any, screen: HistoryScreen) -> None:
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, PresetsScreen))
        await pilot.press("f4")
        await until(pilot, lambda: app.screen is screen)
        await settle(pilot)

    async def script(pilot: Any) -> None:
        screen = await open_history(pilot, app)
        await settle(pilot)
        reads, rows = len(presets), dict(screen.query_one(RunTable).rows_by_key)

        await switch_back(pilot, screen)
        assert len(presets) == reads
        shown = screen.query_one(RunTable).rows_by_key
        assert shown.keys() == rows.keys() and all(shown[k] is rows[k] for k in rows)
        assert all(r is shown[r.run_id] for r in screen.all_rows)  # one row object per run

        store.update_summary(runs[0].path, status="stopped")  # a run moved meanwhile
        aged(runs[0])  # changed, and settled: read once, then kept
        await switch_back(pilot, screen)
        table = screen.query_one(RunTable)
        await until(pilot, lambda: table.rows_by_key[runs[0].run_id].status == "stopped")
        assert len(presets) == reads + 1  # its preset again: the run is read whole

    drive(app, script)


def test_focus_outside_the_form_names_no_field_and_reads_no_schema(
    env: TuiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The help line follows focus; the first frame focuses the presets list, and that must
    not import grok_tui.config (a third of the start-up) to say nothing."""
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = app.screen
        assert isinstance(screen, PresetsScreen)
        form = screen.query_one("#preset-form", PresetForm)
        await until(pilot, lambda: form.whole)

        def no_schema() -> None:
            raise AssertionError("the schema was read for a focus outside the form")

        with monkeypatch.context() as patch:
            patch.setattr(preset_form, "form_fields", no_schema)
            form._show_help(screen.query_one("#preset-list"))
        help_line = form.query_one("#form-help")
        assert str(help_line.render()) == ""
        form._show_help(form.query_one("#f-name"))
        assert str(form.query_one("#form-help").render()).startswith("name: ")

    drive(app, script)
