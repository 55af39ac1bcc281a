"""Seeds as a mean and a band in the TUI (issue 35, item 6): b groups the runs that differ
only in their seeds, in Compare, Live's overview and a sweep; the sweep's table gives the
grokked fraction of each setting with its Wilson interval."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import ContentSwitcher, DataTable, Static

from grok_tui.rundirs import launch, store
from grok_tui.tui.screens.compare import CompareScreen
from grok_tui.tui.screens.help import HELP
from grok_tui.tui.screens.live import LiveScreen
from grok_tui.tui.screens.sweep import SweepScreen
from grok_tui.tui.widgets.curve_pane import CurvePane
from tests.support.pilot import until
from tests.support.tui import (
    FAKE_TRAINER,
    TuiEnv,
    drive,
    finished_run,
    seeds_sweep,
    tiny_preset,
)


def two_settings_three_seeds(env: TuiEnv) -> list[store.RunDir]:
    """Six finished runs: lr 1e-3 and 3e-3, seeds 0, 1, 2 each."""
    return [
        finished_run(env.runs, f"lr{lr}-s{seed}", **{"optim.lr": lr, "train.seed": seed})
        for lr in (1e-3, 3e-3)
        for seed in range(3)
    ]


def test_compare_groups_seeds_into_each_setting_s_mean_and_band(env: TuiEnv) -> None:
    two_settings_three_seeds(env)
    app = env.app()

    async def script(pilot: Any) -> None:
        app.push_screen(CompareScreen(store.list_runs(env.runs)))
        await until(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.records)
        screen = app.screen
        pane = screen.query_one("#compare-acc", CurvePane)
        legend = screen.query_one("#compare-legend", Static)
        await until(pilot, lambda: len({s.group for s in pane.series}) == 6)
        await pilot.press("b")
        await until(pilot, lambda: "A optim" in str(legend.render()))
        text = str(legend.render())
        assert "A optim.lr=0.001 · 3 runs · grokked 3/3" in text
        assert "B optim.lr=0.003 · 3 runs · grokked 3/3" in text
        assert "(mean ━, band: min–max of 3 runs ···)" in text
        assert len({s.group for s in pane.series}) == 2  # two settings, not six runs
        names = {s.name for s in pane.series}
        assert {"A mean ·band", "A band", "B mean ·band", "B band"} <= names
        await pilot.press("b")  # again: the 95% t interval of the mean
        await until(pilot, lambda: "95% t interval" in str(legend.render()))
        await pilot.press("b")  # again: each run
        await until(pilot, lambda: len({s.group for s in pane.series}) == 6)
        assert "mean" not in str(legend.render())

    drive(app, script)


def test_the_help_names_the_group_seeds_key() -> None:
    assert "| b | group seeds" in HELP and "**b** group seeds" in HELP


def test_the_sweep_groups_seeds_with_the_grokked_fraction_and_its_interval(env: TuiEnv) -> None:
    made = seeds_sweep(env)
    app = env.app()

    async def script(pilot: Any) -> None:
        app.push_screen(SweepScreen(made))
        await until(pilot, lambda: isinstance(app.screen, SweepScreen) and app.screen.rows)
        screen = app.screen
        table = screen.query_one("#sweep-table", DataTable)
        await until(pilot, lambda: table.row_count == 6)
        await pilot.press("b")
        pane = screen.query_one("#sweep-bands", CurvePane)
        await until(pilot, lambda: table.row_count == 2 and pane.display and pane.series)
        cells = [[str(c) for c in table.get_row_at(i)] for i in range(2)]
        assert cells[0][:3] == ["A optim.lr=0.001", "3", "2/3 0.67 [0.21, 0.94]"]
        assert cells[1][:3] == ["B optim.lr=0.003", "3", "3/3 1.00 [0.44, 1.00]"]
        assert {s.name for s in pane.series} == {
            "A mean ·band",
            "A band",
            "B mean ·band",
            "B band",
        }
        assert "A mean ·band" in pane.border_title and "B mean ·band" in pane.border_title
        assert not screen.query_one("#sweep-heatmap", Static).display
        await pilot.press("b")  # the 95% t interval, then again: a row per point, the heatmap
        await pilot.press("b")
        await until(pilot, lambda: table.row_count == 6 and not pane.display)

    drive(app, script)


@pytest.mark.slow
@pytest.mark.tui_env(delay="0.05")
def test_live_s_overview_draws_each_setting_s_mean_and_band(env: TuiEnv) -> None:
    for lr in (1e-3, 3e-3):
        for seed in (0, 1):
            preset = tiny_preset(
                f"lr{lr}-s{seed}", **{"train.steps": 1_000_000, "optim.lr": lr, "train.seed": seed}
            )
            launch.start_run(preset, env.runs, command=FAKE_TRAINER)
    app = env.app(preset_dirs=[])

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, LiveScreen) and len(app.followers) == 4)
        live = app.screen
        await pilot.press("b")  # from one run's view: the overview, grouped
        overlay = live.query_one("#live-ov1", CurvePane)
        await until(pilot, lambda: live.overview and len({s.group for s in overlay.series}) == 2)
        # the legend in its border names each setting's mean and band (dotted "·" lines)
        await until(pilot, lambda: all(f"{t} mean ·band" in overlay.border_title for t in "AB"))
        key = f"{overlay.border_title} {overlay.border_subtitle}"  # which band: in words
        assert "band: min–max of 2 runs" in key
        await pilot.press("b")  # the 95% t interval of the mean
        await until(
            pilot, lambda: "95% t interval" in f"{overlay.border_title} {overlay.border_subtitle}"
        )
        await pilot.press("b")  # again: a pane per run
        switcher = live.query_one("#live-views", ContentSwitcher)
        await until(pilot, lambda: switcher.current == "live-grid")

    drive(app, script)
