"""Records of many runs as one CSV from the TUI: marked runs in History, a whole sweep.

The CSV is grok_tui.export's (the table of ``grok-tui export RUN... --csv``): one row per
record, the run id and the preset fields that differ between the runs first.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, RadioButton

from grok_tui.rundirs import store
from grok_tui.tui.screens.history import HistoryScreen
from grok_tui.tui.screens.modals import ExportModal, PathModal
from grok_tui.tui.screens.sweep import SweepScreen
from tests.support.fake_trainer import curve_record
from tests.support.pilot import until
from tests.support.tui import TINY, TuiEnv, drive, finished_run

pytestmark = pytest.mark.tui_env(toasts_stay=True)


def three_runs(env: TuiEnv) -> list[store.RunDir]:
    return [
        finished_run(env.runs, "lr-a", **{"optim.lr": 0.01}),
        finished_run(env.runs, "lr-b", **{"optim.lr": 0.003}),
        finished_run(env.runs, "wd", **{"optim.weight_decay": 0.1}),
    ]


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


async def history(pilot: Any, app: Any) -> HistoryScreen:
    await pilot.press("f4")
    await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.all_rows)
    return app.screen  # type: ignore[no-any-return]


async def mark(pilot: Any, screen: HistoryScreen, runs: list[store.RunDir]) -> None:
    table = screen.query_one(DataTable)
    for run in runs:
        table.move_cursor(row=table.get_row_index(run.run_id))
        await pilot.press("space")
    assert screen.marked == {run.run_id for run in runs}


def notified(app: Any, text: str) -> bool:
    return any(text in str(n.message) for n in app._notifications)


def test_w_writes_the_records_of_the_marked_runs_into_one_csv(env: TuiEnv) -> None:
    runs = three_runs(env)
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await history(pilot, app)
        await mark(pilot, screen, runs[:2])
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, PathModal))
        out = env.tmp / "marked.csv"
        app.screen.query_one("#path", Input).value = str(out)
        await pilot.press("enter")
        await until(pilot, lambda: notified(app, f"Wrote 40 records of 2 runs to {out}"))
        rows = rows_of(out)
        columns = list(rows[0])
        assert columns[:2] == ["run_id", "optim.lr"]  # the run, then what sets it apart
        assert "optim.weight_decay" not in columns  # the same in both marked runs
        assert {r["run_id"] for r in rows} == {runs[0].run_id, runs[1].run_id}
        assert {r["optim.lr"] for r in rows} == {"0.01", "0.003"}
        assert len(rows) == 2 * len(runs[0].records())

    drive(app, script)


def test_the_export_dialog_writes_every_record_of_the_marked_runs(env: TuiEnv) -> None:
    runs = three_runs(env)
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await history(pilot, app)
        await mark(pilot, screen, [runs[0], runs[2]])
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ExportModal))
        dialog = app.screen
        assert dialog.scope() == "marked" and dialog.kind() == "table"
        dialog.query_one("#kind-records", RadioButton).value = True
        out = env.tmp / "records.csv"
        dialog.query_one("#path", Input).value = str(out)
        await pilot.press("enter")
        await until(pilot, lambda: notified(app, f"records of 2 runs to {out}"))
        rows = rows_of(out)
        assert list(rows[0])[:3] == ["run_id", "optim.lr", "optim.weight_decay"]
        assert {r["run_id"] for r in rows} == {runs[0].run_id, runs[2].run_id}

    drive(app, script)


def test_the_sweep_screen_writes_the_records_of_every_point(env: TuiEnv) -> None:
    import grok_tui.sweep as sweep_mod

    sweep_file = env.presets / "lrs.toml"
    sweep_file.write_text(TINY + '\n[sweep]\n"optim.lr" = [1e-3, 3e-3, 1e-2]\n')
    sweep = sweep_mod.load_sweep(sweep_file)
    made = sweep_mod.create_sweep_dir(sweep, sweep.points(), env.runs)
    points = sorted(made.path.iterdir())
    runs = [store.RunDir(p) for p in points if (p / "summary.json").exists()]
    assert len(runs) == 3
    for run in runs:
        writer = store.MetricsWriter(run.path)
        for step in range(10, 101, 10):
            writer.append(curve_record(step, 100, step / 100))
        writer.close()
    app = env.app()

    async def script(pilot: Any) -> None:
        app.push_screen(SweepScreen(made.path))
        await until(pilot, lambda: isinstance(app.screen, SweepScreen) and app.screen.rows)
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, PathModal))
        default = Path(app.screen.query_one("#path", Input).value)
        assert default.parent == env.tmp and default.name.startswith(made.sweep_id)
        await pilot.press("enter")
        await until(pilot, lambda: notified(app, f"Wrote 30 records of 3 runs to {default}"))
        rows = rows_of(default)
        assert list(rows[0])[:2] == ["run_id", "optim.lr"]
        assert {r["optim.lr"] for r in rows} == {"0.001", "0.003", "0.01"}

    drive(app, script)
