"""The app driven as a user would, with Textual's Pilot (asyncio.run: no pytest-asyncio).

Most runs here use the fake trainer (tests/support/fake_trainer.py): same run directory,
no torch, fast: a test that starts fake trainers is quick unless it takes 5 s or more
(then `slow`, as those that start a real sweep or the real CLI on a tiny CPU preset).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import pty
import signal
import socket
import subprocess
import sys
from typing import Any

import pytest
from textual import events
from textual.widgets import DataTable, Input, OptionList, Select, Static, TabbedContent

from grok_tui.config import load_preset
from grok_tui.rundirs import launch, store, watch
from grok_tui.tui.app import terminal_lost
from grok_tui.tui.screens.compare import CompareScreen
from grok_tui.tui.screens.help import HelpScreen
from grok_tui.tui.screens.history import HistoryScreen
from grok_tui.tui.screens.live import LiveScreen
from grok_tui.tui.screens.modals import (
    ChoiceModal,
    ConfirmModal,
    ExportModal,
    PathModal,
    TextModal,
)
from grok_tui.tui.screens.presets import PresetsScreen
from grok_tui.tui.screens.run import RunScreen
from grok_tui.tui.widgets.curve_pane import CurvePane
from grok_tui.tui.widgets.preset_form import PresetForm
from grok_tui.tui.widgets.steady_select import SteadySelect
from tests.support.pilot import click, settle, until
from tests.support.tui import (
    FAKE_TRAINER,
    TINY,
    TuiEnv,
    burst,
    drive,
    finished_run,
    history_env,
    open_history,
    option_of,
    pick,
    points,
    tiny_preset,
)

pytestmark = pytest.mark.tui_env(
    presets={"tiny.toml": TINY, "bad.toml": 'name = "bad"\n[data]\np = 98\n'}, delay="0.02"
)


# -- Presets ---------------------------------------------------------------------------------


def test_presets_list_verdicts_and_an_invalid_one_shows_its_error(env: TuiEnv) -> None:
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = app.screen
        assert isinstance(screen, PresetsScreen)
        await until(pilot, lambda: screen.entries)
        names = {e.name: e for e in screen.entries}
        assert names["tiny-mlp"].valid and not names["bad"].valid and "quickstart" in names
        options = screen.query_one("#preset-list", OptionList)
        options.focus()
        options.highlighted = option_of(screen, "bad")
        errors = screen.query_one("#preset-errors", Static)
        await until(
            pilot, lambda: "bad.toml:3: data.p: p must be prime, got 98" in str(errors.render())
        )
        assert not screen.query_one(PresetForm).display

    drive(app, script)


@pytest.mark.slow
def test_a_bad_value_typed_in_the_form_shows_its_error(env: TuiEnv) -> None:
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "tiny-mlp")
        form = screen.query_one(PresetForm)
        p = form.query_one("#f-data-p", Input)
        p.focus()
        p.value = ""
        await pilot.press("8")
        errors = screen.query_one("#preset-errors", Static)
        await until(
            pilot,
            lambda: errors.display and "data.p: p must be prime, got 8" in str(errors.render()),
        )
        assert p.has_class("-bad")
        await pilot.press("ctrl+r")  # refused while invalid
        await settle(pilot)
        assert not env.runs.exists()
        await pilot.press("backspace", "1", "1")
        await until(pilot, lambda: not errors.display and not p.has_class("-bad"))
        assert form.preset is not None and form.preset.data.p == 11
        # a model family switch brings that family's fields, and adamw -> sgd drops betas
        form.query_one("#f-model-type", Select).value = "lstm"
        form.query_one("#f-optim-name", Select).value = "sgd"
        await until(pilot, lambda: form.preset is not None and form.preset.model.type == "lstm")
        assert form.query_one("#f-model-hidden_size-recurrent").display
        assert not form.query_one("#f-model-widths-mlp").display

    drive(app, script)


def test_the_form_takes_the_budget_in_steps_or_in_epochs(env: TuiEnv) -> None:
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "tiny-mlp")
        form = screen.query_one(PresetForm)
        steps = form.query_one("#f-train-steps", Input)
        epochs = form.query_one("#f-train-epochs", Input)
        assert epochs.value == ""  # a steps preset: epochs left empty sets nothing
        epochs.value = "4"
        errors = screen.query_one("#preset-errors", Static)
        await until(pilot, lambda: "not both" in str(errors.render()))
        assert "set train.steps or train.epochs, not both" in str(errors.render())
        assert epochs.has_class("-bad")
        steps.value = ""
        await until(pilot, lambda: not errors.display)
        assert not epochs.has_class("-bad")
        assert form.preset is not None and form.preset.train.epochs == 4
        assert form.preset.train.steps == 4 * form.preset.train.steps_per_epoch(
            form.preset.data.n_train
        )

    drive(app, script)


def test_the_form_sets_the_equals_token_layout(env: TuiEnv) -> None:
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "tiny-mlp")
        form = screen.query_one(PresetForm)
        form.query_one("#f-data-include_op_tokens", Select).value = "true"
        form.query_one("#f-data-equals_token", Select).value = "true"
        errors = screen.query_one("#preset-errors", Static)
        needs = "equals_token = true needs include_op_tokens = false"
        await until(pilot, lambda: needs in str(errors.render()))
        form.query_one("#f-data-include_op_tokens", Select).value = "false"
        await until(pilot, lambda: form.preset is not None and form.preset.data.equals_token)

    drive(app, script)


@pytest.mark.slow
def test_save_as_writes_a_preset_that_loads_and_is_listed(env: TuiEnv) -> None:
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "tiny-mlp")
        name = screen.query_one("#f-name", Input)
        name.value = "my-tiny"
        screen.query_one("#f-optim-lr", Input).value = "0.01"
        form = screen.query_one(PresetForm)
        await until(pilot, lambda: form.preset is not None and form.preset.optim.lr == 0.01)
        assert form.preset.name == "my-tiny"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, PathModal))
        path_input = app.screen.query_one("#path", Input)
        assert path_input.value == str(env.presets / "my-tiny.toml")  # first --presets folder
        await pilot.press("enter")
        await until(pilot, lambda: any(e.name == "my-tiny" for e in screen.entries))
        saved = load_preset(env.presets / "my-tiny.toml")
        assert saved.name == "my-tiny" and saved.optim.lr == 0.01 and saved.data.p == 7
        assert saved.train.batch_size == "full"  # fields outside the form are kept

    drive(app, script)


# -- Live ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_run_from_presets_shows_growing_curves_then_stop_and_resume(env: TuiEnv) -> None:
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "tiny-mlp")
        screen.query_one("#f-train-steps", Input).value = "100000"
        form = screen.query_one(PresetForm)
        await until(pilot, lambda: form.preset is not None and form.preset.train.steps == 100000)
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, LiveScreen))
        live = app.screen
        acc = live.query_one("#live-acc", CurvePane)
        await until(pilot, lambda: points(acc) >= 6)
        first = points(acc)
        await until(pilot, lambda: points(acc) > first + 6)  # the curves grow
        status = str(live.query_one("#live-status", Static).render())
        assert "running" in status and "/100000" in status and "steps/s" in status
        await pilot.press("s")
        follower = app.followers[app.current_run_id]
        await until(pilot, lambda: follower.status == "stopped")
        stopped_at = follower.records[-1]["step"]
        assert "stopped" in str(live.query_one("#live-status", Static).render())
        await pilot.press("r")
        await until(
            pilot,
            lambda: follower.status == "running" and follower.records[-1]["step"] > stopped_at,
        )
        steps = [r["step"] for r in follower.records]
        assert steps == sorted(set(steps))

    drive(app, script)


@pytest.mark.slow  # starts processes
def test_a_run_started_in_another_shell_shows_up_live(env: TuiEnv) -> None:
    run = launch.start_run(
        tiny_preset("elsewhere", **{"train.steps": 100000}), env.runs, command=FAKE_TRAINER
    )
    app = env.app()

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: run.run_id in app.followers)
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, LiveScreen))
        await until(pilot, lambda: points(app.screen.query_one("#live-loss", CurvePane)) > 4)
        assert "elsewhere" in str(app.screen.query_one("#live-runs", Static).render())

    try:
        drive(app, script)
    finally:
        launch.stop_run(run)


def test_live_whose_children_are_gone_when_its_mount_arrives_does_not_crash(
    env: TuiEnv,
) -> None:
    # Under load the app can close (and take a new Live screen's children away) before
    # the screen's Mount is handled; its redraw then looked for the grid and crashed.
    app = env.app()

    async def script(pilot: Any) -> None:
        await app.switch_mode("live")
        await until(pilot, lambda: isinstance(app.screen, LiveScreen))
        live = app.screen
        await live.query_one("#live-body").remove()
        await live._on_message(events.Mount())  # the late Mount, as Textual sends it
        await pilot.pause()
        assert app.return_code is None and app._exception is None

    drive(app, script)


@pytest.mark.slow  # starts processes
def test_quit_with_a_live_run_asks_and_leaves_it_running_by_default(env: TuiEnv) -> None:
    run = launch.start_run(
        tiny_preset("keep", **{"train.steps": 100000}), env.runs, command=FAKE_TRAINER
    )
    app = env.app()

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: run.run_id in app.followers and app.live_followers())
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal))
        await pilot.press("enter")  # the default: leave them running
        await until(pilot, lambda: app.return_code is not None)

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await script(pilot)

    try:
        asyncio.run(main())
        assert app.return_code == 0
        assert watch.is_live(run.summary())  # still training after the app is gone
    finally:
        launch.stop_run(run)
        launch.wait_until_gone(run.summary()["pid"], timeout=5)
    assert watch.run_status(run.summary()) == "stopped"


@pytest.mark.slow
def test_quit_and_stop_stops_a_training_sweep_so_that_it_starts_no_new_point(
    env: TuiEnv,
) -> None:
    """A real sweep process (2 long points, one at a time): 'stop' ends the sweep itself,
    not only its running point; the point is stopped and the second never starts."""
    import grok_tui.sweep as sweep_mod

    sweep_file = env.presets / "long.toml"
    sweep_file.write_text(
        TINY.replace("steps = 200", "steps = 1000000") + '\n[sweep]\n"train.seed" = [0, 1]\n'
    )
    # --vectorize 1: one point at a time (by default the two seeds would train as a group)
    pid, _log = launch.start_sweep(sweep_file, env.runs, ["--vectorize", "1"])
    app = env.app()

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: app.live_followers(), timeout=60)
        assert watch.live_sweeps(env.runs)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal))
        assert "1 sweep(s) still training" in str(
            app.screen.query_one(".dialog-text", Static).render()
        )
        await pilot.press("down", "enter")  # stop

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await script(pilot)

    try:
        asyncio.run(main())
        assert launch.wait_until_gone(pid, timeout=30)
    finally:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    (made,) = sweep_mod.list_sweeps(env.runs)
    statuses = [store.effective_status(p.run.summary()) if p.run else None for p in made.points()]
    assert statuses[0] == "stopped"
    assert statuses[1] in (None, "created")  # never started
    assert sweep_mod.sweep_runner_pid(made.path) is None


@pytest.mark.slow
def test_real_cli_run_launched_from_the_tui_trains_to_completion(env: TuiEnv) -> None:
    """The real trainer (`python -m grok_tui --resume`) on a tiny CPU preset: p=7, 2,000
    steps, a second or two of training: 200 could end between two of the TUI's polls on a
    starved machine, which then saw only the first and the last records."""
    longer = TINY.replace("steps = 200\neval_every = 10", "steps = 2000\neval_every = 100")
    assert longer != TINY
    (env.presets / "tiny.toml").write_text(longer)
    app = env.app(run_command=[sys.executable, "-m", "grok_tui", "--resume"])

    async def script(pilot: Any) -> None:
        await pick(pilot, app, "tiny-mlp")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, LiveScreen))
        acc = app.screen.query_one("#live-acc", CurvePane)
        follower = app.followers[app.current_run_id]
        seen = set()
        await until(
            pilot, lambda: (seen.add(points(acc)), follower.status == "completed")[1], timeout=90
        )
        await until(pilot, lambda: points(acc) == 2 * 21)  # train and test, 0..2,000 every 100
        assert any(0 < n < 2 * 21 for n in seen), seen  # drawn while it grew, not only at the end
        assert follower.summary.get("device") == "cpu" and follower.summary["step"] == 2000
        assert "completed" in str(app.screen.query_one("#live-status", Static).render())

    drive(app, script)


# -- History and Compare -----------------------------------------------------------------------


def test_a_note_written_in_history_is_kept_shown_and_found(env: TuiEnv) -> None:
    runs = history_env(env)
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await open_history(pilot, app)
        table = screen.query_one(DataTable)
        table.move_cursor(row=[r.run_id for r in screen.shown].index(runs[2].run_id))
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TextModal))
        app.screen.query_one(Input).value = "wd sweep baseline"
        await pilot.press("enter")
        await until(pilot, lambda: runs[2].note() == "wd sweep baseline")
        await until(pilot, lambda: any(r.cell("note") == "wd sweep baseline" for r in screen.shown))
        await pilot.press("slash")
        await pilot.press(*"baseline")
        await until(pilot, lambda: [r.run_id for r in screen.shown] == [runs[2].run_id])

    drive(app, script)


@pytest.mark.slow
def test_history_filters_sorts_marks_and_compares(env: TuiEnv) -> None:
    runs = history_env(env)
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await open_history(pilot, app)
        table = screen.query_one(DataTable)
        assert table.row_count == 3
        await pilot.press("slash")
        await pilot.press(*"alpha")
        await until(pilot, lambda: [r.run_id for r in screen.shown] == [runs[0].run_id])
        info = screen.query_one("#history-info", Static)
        screen.query_one("#history-filter", Input).value = "lr>0.005"  # numbers compare
        await until(pilot, lambda: str(info.render()).startswith("1 of 3 runs"))
        assert [r.values["lr"] for r in screen.shown] == [0.01]
        screen.query_one("#history-filter", Input).value = "grok<0"
        await until(pilot, lambda: "no run of 3 matches 'grok<0'" in str(info.render()))
        assert screen.shown == []
        screen.query_one("#history-filter", Input).value = "speed>3"
        await until(pilot, lambda: "not understood: 'speed' is not a column" in str(info.render()))
        screen.query_one("#history-filter", Input).value = ""
        # made early, History can still be mounting when the app exits: prune-safe
        assert isinstance(screen.query_one("#history-status"), SteadySelect)
        screen.query_one("#history-status", Select).value = "failed"
        await until(pilot, lambda: [r.run_id for r in screen.shown] == [runs[1].run_id])
        screen.query_one("#history-status", Select).value = "all"
        await pilot.press("escape")  # back to the table
        await until(pilot, lambda: app.focused is table and len(screen.shown) == 3)
        await pilot.press("o")  # sort by lr
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal))
        options = app.screen.query_one(OptionList)
        options.highlighted = next(
            i for i in range(options.option_count) if options.get_option_at_index(i).id == "lr"
        )
        await pilot.press("enter")
        await until(pilot, lambda: screen.sort_key == "lr")
        assert [r.values["lr"] for r in screen.shown] == [
            0.01,
            0.001,
            0.001,
        ]  # numeric: largest first
        table.move_cursor(row=0)
        await pilot.press("space", "down", "space")  # mark two runs (Space does not move)
        assert len(screen.marked) == 2
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen))
        compare = app.screen
        await until(pilot, lambda: points(compare.query_one("#compare-acc", CurvePane)) > 0)
        acc = compare.query_one("#compare-acc", CurvePane)
        assert len({s.colour for s in acc.series if not s.dashed}) == 2  # train: dimmer, dashed
        diff = compare.query_one("#compare-diff", DataTable)
        keys = {str(diff.get_row_at(i)[0]) for i in range(diff.row_count)}
        assert "optim.lr" in keys and "data.p" not in keys and "name" not in keys
        legend = str(compare.query_one("#compare-legend", Static).render())
        assert "1:alpha" in legend
        await pilot.press("m")  # smoothing: raw stays, smoothed added (test; train smoothed)
        assert len(acc.series) == 6 and sum(s.faint for s in acc.series) == 2
        await pilot.press("escape")
        assert isinstance(app.screen, HistoryScreen)

    drive(app, script)


@pytest.mark.slow
def test_history_opens_a_run_exports_csv_and_deletes_after_confirming(env: TuiEnv) -> None:
    runs = history_env(env)
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await open_history(pilot, app)
        table = screen.query_one(DataTable)
        table.move_cursor(row=table.get_row_index(runs[0].run_id))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunScreen))
        run_screen = app.screen
        await until(pilot, lambda: points(run_screen.query_one("#run-acc", CurvePane)) > 0)
        assert any(m.label == "grok 150" for m in run_screen.query_one("#run-acc", CurvePane).marks)
        await pilot.press("p")
        assert run_screen.query_one("#run-views").current == "run-preset"
        assert "[optim]" in run_screen.preset_text
        await pilot.press("a")  # the run's analysis (computed on demand, in its own process)
        await until(pilot, lambda: type(app.screen).__name__ == "AnalysisScreen")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is run_screen)
        await pilot.press("w")  # this run's records to CSV
        await until(pilot, lambda: isinstance(app.screen, PathModal))
        await pilot.press("enter")
        out = env.tmp / f"{runs[0].run_id}.csv"
        await until(pilot, lambda: out.exists() and len(out.read_text().splitlines()) == 21, 40)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)

        await pilot.press("x")  # the table to CSV
        await until(pilot, lambda: isinstance(app.screen, ExportModal))
        out = env.tmp / "all.csv"
        app.screen.query_one("#path", Input).value = str(out)
        await pilot.press("enter")
        await until(pilot, lambda: out.exists())
        assert {r["name"] for r in csv.DictReader(out.open())} == {"alpha", "beta", "gamma"}

        table.move_cursor(row=table.get_row_index(runs[1].run_id))
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("enter")  # No has the focus
        await until(pilot, lambda: app.screen is screen)
        await settle(pilot)
        assert runs[1].path.exists()
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("tab", "enter")  # Yes
        await until(pilot, lambda: not runs[1].path.exists() and len(screen.all_rows) == 2)

    drive(app, script)


@pytest.mark.slow
def test_rerun_and_copy_into_editor(env: TuiEnv) -> None:
    runs = history_env(env)
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await open_history(pilot, app)
        table = screen.query_one(DataTable)
        table.move_cursor(row=table.get_row_index(runs[2].run_id))
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, PresetsScreen))
        form = app.screen.query_one(PresetForm)
        await until(pilot, lambda: form.preset is not None and form.preset.name == "gamma")
        assert form.query_one("#f-optim-weight_decay", Input).value == "0.1"
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        table.move_cursor(row=table.get_row_index(runs[2].run_id))
        before = len(list(env.runs.iterdir()))
        await pilot.press("n")  # a re-run asks first; the default cancels
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        assert "from step 0 as a new run" in str(app.screen.query_one(".dialog-text").render())
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await settle(pilot)
        assert len(list(env.runs.iterdir())) == before  # nothing started
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await click(pilot, "#yes")
        await until(pilot, lambda: isinstance(app.screen, LiveScreen))
        new = app.followers[app.current_run_id]
        assert new.run_id != runs[2].run_id
        assert store.load_run_preset(new.run) == store.load_run_preset(runs[2])
        await until(pilot, lambda: new.status == "completed")

    drive(app, script)


def test_sweeps_are_grouped_and_a_dead_run_shows_as_crashed(env: TuiEnv) -> None:
    a = finished_run(env.runs, "wd-0.1", sweep={"id": "wd", "coords": {"optim.weight_decay": 0.1}})
    b = finished_run(env.runs, "wd-1", sweep={"id": "wd", "coords": {"optim.weight_decay": 1.0}})
    ghost = finished_run(env.runs, "ghost")
    store.update_summary(ghost.path, status="running", pid=2**22 + 7, host=socket.gethostname())
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await open_history(pilot, app)
        table = screen.query_one(DataTable)
        assert table.row_count == 4  # a header row for the sweep
        table.move_cursor(row=table.get_row_index("sweep:wd"))
        await pilot.press("space")
        assert screen.marked == {a.run_id, b.run_id}
        assert not app.live_followers()
        assert next(r for r in screen.all_rows if r.run_id == ghost.run_id).status == "crashed"
        assert not app.live_followers()

    drive(app, script)


# -- Everywhere --------------------------------------------------------------------------------


@pytest.mark.slow
def test_every_screen_renders_at_80x24_with_help_and_palette(env: TuiEnv) -> None:
    history_env(env)
    app = env.app()

    async def script(pilot: Any) -> None:
        for key, screen_type in (("f3", LiveScreen), ("f4", HistoryScreen), ("f2", PresetsScreen)):
            await pilot.press(key)
            await until(pilot, lambda t=screen_type: isinstance(app.screen, t))
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Presets", "Live runs", "History", "Run this preset", "Save preset as…"} <= titles
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Compare marked runs", "Export run table to CSV", "Delete run"} <= titles

    drive(app, script, size=(80, 24))


def test_terminal_lost_notices_a_hung_up_tty() -> None:
    master, slave = pty.openpty()
    try:
        assert not terminal_lost(slave)
        os.close(master)
        assert terminal_lost(slave)
    finally:
        os.close(slave)


def test_the_tui_never_imports_torch() -> None:
    code = "import sys, grok_tui.tui.app; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_sweep_file_is_listed_and_its_sweep_opens_from_history(
    env: TuiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    import grok_tui.sweep as sweep_mod
    from grok_tui.tui.screens.sweep import SweepScreen

    sweep_file = env.presets / "zip.toml"
    sweep_file.write_text(
        TINY + '\n[sweep]\nmode = "zip"\n"optim.lr" = [1e-3, 3e-3]\n"train.seed" = [0, 1]\n'
    )
    sweep = sweep_mod.load_sweep(sweep_file)
    made = sweep_mod.create_sweep_dir(sweep, sweep.points(), env.runs)
    started: list[list[str]] = []
    monkeypatch.setattr(
        launch, "spawn_detached", lambda command, log: started.append(command) or 4242
    )
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = app.screen
        await until(pilot, lambda: screen.entries)
        entry = next(e for e in screen.entries if e.path == sweep_file)
        assert entry.valid and entry.sweep and "zip of 2 points" in entry.sweep
        options = screen.query_one("#preset-list", OptionList)
        options.focus()
        options.highlighted = option_of(screen, "zip")
        errors = screen.query_one("#preset-errors", Static)
        await until(pilot, lambda: "A sweep file" in str(errors.render()))
        await pilot.press("ctrl+r")  # trains every point: grok-tui --run FILE --runs-dir DIR
        await until(pilot, lambda: started)
        assert started[0][-3:] == [
            str(sweep_file.resolve()),
            "--runs-dir",
            str(env.runs.resolve()),
        ]
        history = await open_history(pilot, app)
        table = history.query_one(DataTable)
        table.move_cursor(row=table.get_row_index(f"sweep:{made.sweep_id}"))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SweepScreen))

    drive(app, script)


def test_keys_typed_in_a_burst_edit_the_field_and_never_reach_the_app(env: TuiEnv) -> None:
    """End, Ctrl+U, then a name, faster than the app handles them (tmux send-keys, a slow
    SSH link): a plain Textual Input inserted the name before Ctrl+U wiped it; and a 'q'
    that arrived before the field had the focus quit the app."""
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "tiny-mlp")  # the name field has the focus
        name = screen.query_one("#f-name", Input)
        assert app.focused is name
        burst(app, ["end", "ctrl+u", *"quick-run"])
        await until(pilot, lambda: name.value == "quick-run")
        burst(app, ["backspace", "backspace", "x", "home", "ctrl+k", *"qq"])
        await until(pilot, lambda: name.value == "qq")
        await until(pilot, lambda: screen.query_one(PresetForm).preset.name == "qq")
        options = screen.query_one("#preset-list")
        options.focus()
        await until(pilot, lambda: app.focused is options)
        burst(app, ["enter", *"quit"])  # typed ahead of the focus moving into the form
        await until(pilot, lambda: app.focused is not options)
        await settle(pilot, cycles=3)  # each key handled
        assert app.is_running and isinstance(app.screen, PresetsScreen)

    drive(app, script)


@pytest.mark.slow
def test_unsaved_edits_are_marked_and_kept_unless_the_user_discards_them(
    env: TuiEnv,
) -> None:
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "tiny-mlp")
        form = screen.query_one(PresetForm)
        tab = screen.query_one("#preset-tabs", TabbedContent).get_tab("tab-edit")
        assert not form.modified and str(tab.label) == "Edit"
        name = screen.query_one("#f-name", Input)
        name.value = "edited"
        await until(pilot, lambda: form.modified and "modified" in str(tab.label))
        # a new preset file shows up by itself, and the edits stay
        (env.presets / "newcomer.toml").write_text('name = "newcomer"\n')
        await until(pilot, lambda: any(e.name == "newcomer" for e in screen.entries), timeout=10)
        assert name.value == "edited"
        await pilot.press("f5")  # reload: asks first
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("enter")  # the default keeps the edits
        await until(pilot, lambda: app.screen is screen)
        assert name.value == "edited" and form.modified
        await pilot.press("f5")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await click(pilot, "#yes")  # discard
        await until(pilot, lambda: name.value == "tiny-mlp" and not form.modified)
        await until(pilot, lambda: str(tab.label) == "Edit")

    drive(app, script)


def test_the_log_view_opens_at_the_tail_of_the_log(env: TuiEnv) -> None:
    runs = history_env(env)
    runs[0].log_path.write_text("".join(f"line {i}\n" for i in range(150)))
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await open_history(pilot, app)
        table = screen.query_one(DataTable)
        table.move_cursor(row=table.get_row_index(runs[0].run_id))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunScreen))
        run_screen = app.screen
        await pilot.press("p", "p")  # curves -> preset -> log
        box = run_screen.query_one("#run-log")
        await until(pilot, lambda: box.max_scroll_y > 0 and box.scroll_y == box.max_scroll_y)
        assert "line 149" in str(run_screen.query_one("#run-log-text", Static).render())

    drive(app, script, size=(80, 24))


def test_a_narrow_pane_keeps_every_legend_entry_on_its_borders() -> None:
    from textual.app import App

    from grok_tui.tui.views.curves import Mark, Series

    class Host(App):
        def compose(self) -> Any:
            yield CurvePane("accuracy", id="pane")

    async def main() -> None:
        app = Host()
        async with app.run_test(size=(40, 12)) as pilot:
            pane = app.query_one(CurvePane)
            name = "20261128-081500-000-quickstart-with-a-long-name"
            pane.show(
                [Series(name, [(0, 0.1), (100, 0.9)], (200, 50, 50))],
                marks=[Mark(40, (0, 200, 0), "fit 40"), Mark(90, (0, 0, 200), "grok 90")],
            )
            await until(pilot, lambda: "grok 90" in str(pane.border_subtitle))
            title, subtitle = str(pane.border_title), str(pane.border_subtitle)
            assert "grok 90" in subtitle and "fit 40" in subtitle
            assert "…" in title and name not in title

    asyncio.run(main())


def test_history_at_80_columns_shows_each_run_s_outcome_and_end_goes_to_the_last_run(
    env: TuiEnv,
) -> None:
    runs = history_env(env)
    runs[0].set_note("a long note " * 12)
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await open_history(pilot, app)
        table = screen.query_one(DataTable)
        titles = ("name", "status", "fit", "grok", "best", "final")
        # on screen, whatever the note says
        await until(pilot, lambda: all(t in table.render_line(0).text for t in titles))
        await pilot.press("end")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("escape")
        table.scroll_x = table.max_scroll_x  # scrolled right, the name stays
        await settle(pilot)
        assert "name" in table.render_line(0).text

    drive(app, script, size=(80, 24))


@pytest.mark.slow  # starts processes
def test_the_app_opens_on_live_when_runs_are_training(env: TuiEnv) -> None:
    run = launch.start_run(
        tiny_preset("early", **{"train.steps": 100000}), env.runs, command=FAKE_TRAINER
    )
    app = env.app()

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, LiveScreen))
        assert app.current_run_id == run.run_id

    try:
        drive(app, script)
    finally:
        launch.stop_run(run)
