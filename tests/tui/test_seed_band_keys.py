"""Seeds as a mean and a band, the rest of issue 35's item 6: History's header row of a
sweep of seeds gives the grokked fraction with its Wilson interval, and every band drawn
says which band it is (min–max, or the 95% t interval of the mean) in words, readable
without colour; b steps through both bands and back to each run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.widgets import DataTable, Static

from grok_tui.rundirs import store
from grok_tui.tui.screens.compare import CompareScreen
from grok_tui.tui.screens.sweep import SweepScreen
from grok_tui.tui.widgets.curve_pane import CurvePane
from grok_tui.tui.widgets.run_table import SWEEP_PREFIX, RunTable
from tests.support.pilot import until
from tests.support.tui import TuiEnv, drive, finished_run, open_history, seeds_sweep

SEEDS, GRID, PLAIN = (
    "20250101-000000-sweep-seeds",
    "20250101-000001-sweep-grid",
    "20250101-000002-sweep-lr",
)


def border(pane: CurvePane) -> str:
    """What the pane's borders say, as plain text (what a NO_COLOR terminal shows)."""
    return " ".join(
        Text.from_markup(str(t or "")).plain for t in (pane.border_title, pane.border_subtitle)
    )


def history_sweeps(runs: Path) -> None:
    """A sweep of 5 seeds of one setting (4 grokked); an lr x seed grid (2 settings of 2
    seeds); an lr sweep without repeats."""
    for seed in range(5):
        coords = {"train.seed": seed}
        grok = None if seed == 4 else 150
        finished_run(runs, f"s{seed}", grok=grok, sweep={"id": SEEDS, "coords": coords}, **coords)
    for lr in (1e-3, 3e-3):
        for seed in (0, 1):
            coords = {"optim.lr": lr, "train.seed": seed}
            finished_run(runs, f"g{lr}-{seed}", sweep={"id": GRID, "coords": coords}, **coords)
        finished_run(
            runs, f"lr{lr}", sweep={"id": PLAIN, "coords": {"optim.lr": lr}}, **{"optim.lr": lr}
        )


def test_history_s_header_row_of_a_seeds_sweep_gives_its_grokked_fraction(env: TuiEnv) -> None:
    history_sweeps(env.runs)
    app = env.app()

    async def script(pilot: Any) -> None:
        history = await open_history(pilot, app)
        table = history.query_one(RunTable)
        await until(
            pilot, lambda: all(SWEEP_PREFIX + s in table.rows for s in (SEEDS, GRID, PLAIN))
        )

        def grok(sweep_id: str) -> str:
            return str(table.get_cell(SWEEP_PREFIX + sweep_id, "grok_step"))

        assert grok(SEEDS) == "4/5 0.80 [0.38, 0.96]"  # as sweep-report --ci gives it
        assert grok(GRID) == "2 settings"  # the sweep's screen (v, then b) has each one's
        assert grok(PLAIN) == ""  # no setting repeated: nothing to count over
        # a run of the sweep that moves (here: found not grokked after all) moves the header
        row = next(r for r in table.sweeps[SEEDS] if r.values.get("grok_step") is not None)
        table.update_run(type(row)(row.run_id, row.path, {**row.values, "grok_step": None},
                                   row.sweep_id, row.sweep_coords))  # fmt: skip
        assert grok(SEEDS) == "3/5 0.60 [0.23, 0.88]"

    drive(app, script, size=(120, 40))


def two_settings(runs: Path) -> None:
    """lr 1e-3 and 3e-3, seeds 0, 1, 2 each; of 1e-3, seed 2 did not grok."""
    for lr in (1e-3, 3e-3):
        for seed in range(3):
            grok = None if (lr, seed) == (1e-3, 2) else 150
            finished_run(runs, f"lr{lr}-s{seed}", grok=grok, **{"optim.lr": lr, "train.seed": seed})


def test_compare_s_band_says_which_band_it_is_and_b_steps_through_both(env: TuiEnv) -> None:
    two_settings(env.runs)
    app = env.app()

    async def script(pilot: Any) -> None:
        app.push_screen(CompareScreen(store.list_runs(env.runs)))
        await until(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.records)
        screen = app.screen
        pane = screen.query_one("#compare-acc", CurvePane)
        legend = screen.query_one("#compare-legend", Static)
        await until(pilot, lambda: len({s.group for s in pane.series}) == 6)
        await pilot.press("b")
        await until(pilot, lambda: "band: min–max of 3 runs" in border(pane))
        text = str(legend.render())
        assert "A optim.lr=0.001 · 3 runs · grokked 2/3 0.67 [0.21, 0.94]" in text
        assert "B optim.lr=0.003 · 3 runs · grokked 3/3 1.00 [0.44, 1.00]" in text
        assert "band: min–max of 3 runs" in text
        widest = [s.points for s in pane.series if s.name == "A band"]
        await pilot.press("b")  # the 95% t interval of the mean
        await until(pilot, lambda: "band: 95% t interval of 3 runs" in border(pane))
        assert "band: 95% t interval of 3 runs" in str(legend.render())
        assert [s.points for s in pane.series if s.name == "A band"] != widest
        await pilot.press("b")  # each run again: no band, no key
        await until(pilot, lambda: len({s.group for s in pane.series}) == 6)
        assert "band:" not in border(pane) and "band:" not in str(legend.render())

    drive(app, script, size=(120, 40))


def test_the_sweep_s_band_says_which_band_it_is(env: TuiEnv) -> None:
    made = seeds_sweep(env)
    app = env.app()

    async def script(pilot: Any) -> None:
        app.push_screen(SweepScreen(made))
        await until(pilot, lambda: isinstance(app.screen, SweepScreen) and app.screen.rows)
        screen = app.screen
        table = screen.query_one("#sweep-table", DataTable)
        pane = screen.query_one("#sweep-bands", CurvePane)
        await until(pilot, lambda: table.row_count == 6)
        await pilot.press("b")
        await until(pilot, lambda: "band: min–max of 3 runs" in border(pane))
        assert str(table.get_row_at(0)[2]) == "2/3 0.67 [0.21, 0.94]"
        await pilot.press("b")
        await until(pilot, lambda: "band: 95% t interval of 3 runs" in border(pane))
        await pilot.press("b")
        await until(pilot, lambda: table.row_count == 6 and not pane.display)

    drive(app, script, size=(120, 40))
