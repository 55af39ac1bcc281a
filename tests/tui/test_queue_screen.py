"""The run queue in the TUI, driven with Pilot: Ctrl+T on Presets and Q in History queue
runs; the Queue screen (F6) shows them in order, moves, removes and starts them, and
changes the slots of a device. No queue runner is started here (the app's
``start_queue`` only records it, in ``env.runners``): the entries stay queued, and "run now" starts the tests' fake trainer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Static

from grok_tui.config import preset_from_toml
from grok_tui.rundirs import runqueue, store
from grok_tui.tui.app import GrokApp
from grok_tui.tui.screens.history import HistoryScreen
from grok_tui.tui.screens.live import LiveScreen
from grok_tui.tui.screens.modals import ConfirmModal
from grok_tui.tui.screens.queue import QueueScreen
from tests.support.pilot import click, until
from tests.support.tui import TINY, TuiEnv, pick, stop_all

pytestmark = pytest.mark.tui_env(presets={"tiny.toml": TINY}, delay="0.02")


def queued(runs: Path) -> list[str]:
    return [entry.run for entry in runqueue.read_queue(runs).entries]


def drive(app: GrokApp, script: Callable[[Any], Any], notes: list[str]) -> None:
    async def main() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            shown = app.notify

            def notify(message: str, **kwargs: Any) -> None:
                notes.append(str(message))
                shown(message, **kwargs)

            app.notify = notify  # type: ignore[method-assign]
            await script(pilot)
            stop_all(app)

    asyncio.run(main())


def test_queue_from_presets_then_reorder_remove_and_change_slots(env: TuiEnv) -> None:
    runs: Path = env.runs
    app = env.app()
    notes: list[str] = []

    async def script(pilot: Any) -> None:
        await pick(pilot, app, "tiny-mlp")
        await pilot.press("ctrl+t", "ctrl+t", "ctrl+t")  # from inside the form too
        await until(pilot, lambda: len(queued(runs)) == 3)
        ids = queued(runs)
        assert all(store.read_summary(runs / i)["status"] == "queued" for i in ids)
        await until(pilot, lambda: any("F6 shows the queue" in n for n in notes))
        assert env.runners == [runs]  # one runner asked for; it counts as serving after

        await pilot.press("f6")
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        await until(pilot, lambda: [r.run_id for r in screen.rows] == ids)
        table = screen.query_one(DataTable)
        head = screen.query_one("#queue-head", Static)
        await until(pilot, lambda: "slots: cpu 0/1 live" in str(head.render()))
        assert [r.state for r in screen.rows] == ["next", "waits for a cpu slot"] + [
            "waits for a cpu slot"
        ]

        table.move_cursor(row=2)
        await pilot.press("K")  # up: the cursor follows the entry
        await until(pilot, lambda: queued(runs) == [ids[0], ids[2], ids[1]])
        await until(
            pilot, lambda: screen.current_run() == ids[2] and screen.rows[1].run_id == ids[2]
        )
        await pilot.press("shift+up")
        await until(pilot, lambda: queued(runs) == [ids[2], ids[0], ids[1]])
        await until(pilot, lambda: screen.current_run() == ids[2])
        await pilot.press("J")
        await until(pilot, lambda: queued(runs) == [ids[0], ids[2], ids[1]])
        assert not any(n.strip().isdigit() for n in notes)  # a move says nothing

        table.move_cursor(row=0)
        await pilot.press("d")  # asks first: the run directory goes too
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await click(pilot, "#yes")
        await until(pilot, lambda: queued(runs) == [ids[2], ids[1]])
        assert not (runs / ids[0]).exists()  # never trained: its directory goes with it
        await until(pilot, lambda: len(table.rows) == 2)

        await pilot.press("plus")
        await until(pilot, lambda: runqueue.read_queue(runs).slots_for("cpu") == 2)
        await until(pilot, lambda: "slots: cpu 0/2 live" in str(head.render()))
        await pilot.press("minus", "minus")
        await until(pilot, lambda: runqueue.read_queue(runs).slots_for("cpu") == 0)
        await until(pilot, lambda: all("paused" in r.state for r in screen.rows))

    drive(app, script, notes)


def test_history_queues_a_re_run_and_lists_queued_runs(env: TuiEnv) -> None:
    runs: Path = env.runs
    (done,) = [runqueue.enqueue(runs, preset_from_toml(TINY)).run]
    app = env.app()
    notes: list[str] = []

    async def script(pilot: Any) -> None:
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.all_rows)
        history = app.screen
        assert [r.status for r in history.all_rows] == ["queued"]
        await pilot.press("Q")
        await until(pilot, lambda: len(queued(runs)) == 2)
        new = queued(runs)[1]
        assert store.load_run_preset(store.RunDir(runs / new)) == store.load_run_preset(done)
        await until(pilot, lambda: len(history.all_rows) == 2)
        assert {r.status for r in history.all_rows} == {"queued"}

    drive(app, script, notes)


@pytest.mark.slow  # starts processes
def test_run_now_takes_an_entry_out_of_the_queue_and_starts_it(env: TuiEnv) -> None:
    runs: Path = env.runs
    runqueue.set_slots(runs, "cpu", 0)
    preset = preset_from_toml(TINY)
    first, second = (runqueue.enqueue(runs, preset).run.run_id for _ in range(2))
    app = env.app()
    notes: list[str] = []

    async def script(pilot: Any) -> None:
        await pilot.press("f6")
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        await until(pilot, lambda: len(screen.rows) == 2)
        screen.query_one(DataTable).move_cursor(row=1)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, LiveScreen))
        assert queued(runs) == [first]
        follower = app.followers[second]
        await until(pilot, lambda: follower.status == "completed")

    drive(app, script, notes)


def test_a_damaged_queue_file_is_shown_and_nothing_is_queued(env: TuiEnv) -> None:
    runs: Path = env.runs
    runs.mkdir()
    (runs / runqueue.QUEUE_FILE).write_text('{"entries": [')
    app = env.app()
    notes: list[str] = []

    async def script(pilot: Any) -> None:
        await pick(pilot, app, "tiny-mlp")
        await pilot.press("ctrl+t")
        await until(pilot, lambda: any("Could not queue the run" in n for n in notes))
        assert "not valid JSON" in notes[-1] and "queue rebuild" in notes[-1]
        assert [p.name for p in runs.iterdir() if p.is_dir()] == []  # no run made
        await pilot.press("f6")
        screen = app.screen
        error = screen.query_one("#queue-error", Static)
        await until(pilot, lambda: error.display and "not valid JSON" in str(error.render()))
        assert env.runners == []

    drive(app, script, notes)
