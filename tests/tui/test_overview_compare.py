"""Live's overview and Compare with runs of different lengths: values as of each run's own
latest step (named), small multiples on their own x range, zoom on every run in view,
and overlaid runs told apart without colour (issue 35, item 4). Finished runs written
with tests/support helpers: no process."""

from __future__ import annotations

import re
from typing import Any

import pytest
from textual.widgets import OptionList, Static

from grok_tui.rundirs import store
from grok_tui.rundirs.watch import RunFollower
from grok_tui.tui.screens.compare import CompareScreen
from grok_tui.tui.screens.live import LiveScreen, status_text
from grok_tui.tui.widgets.curve_pane import CurvePane
from tests.support.pilot import until
from tests.support.tui import TuiEnv, drive, finished_run, points

SHORT, LONG = 2_000, 10_000


def two_runs(env: TuiEnv) -> tuple[store.RunDir, store.RunDir]:
    """Two finished runs, one five times longer than the other (a record every 10 steps)."""
    short = finished_run(env.runs, "short", steps=SHORT, grok=1200, **{"train.steps": SHORT})
    long = finished_run(env.runs, "long", steps=LONG, grok=6000, **{"train.steps": LONG})
    return short, long


def text(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def canvas(pane: CurvePane) -> str:
    """The plot area of a pane's chart as text: inside the frame, without the ticks."""
    rows = []
    for line in pane.render().plain.splitlines():
        inside = re.match(r"^[^│┤]*[│┤](.*)│\s*$", line)
        if inside:
            rows.append(inside.group(1))
    return "\n".join(rows)


def grid_panes(screen: LiveScreen) -> dict[str, CurvePane]:
    """The shown small multiples, by the run each draws."""
    panes = screen.query("#live-grid CurvePane").results(CurvePane)
    return {p.series[0].group: p for p in panes if p.display and p.series}


async def overview_of_both(pilot: Any, app: Any, runs: tuple[store.RunDir, ...]) -> LiveScreen:
    """Live's overview with both finished runs pinned (a finished run is drawn when pinned)."""
    for run in runs:
        app.follow(store.RunDir(run.path))
    await pilot.press("f3")
    await until(pilot, lambda: isinstance(app.screen, LiveScreen))
    live = app.screen
    await pilot.press("v")
    await until(pilot, lambda: live.overview and len(live._side) == 2)
    await pilot.press("p", "down", "p")
    await until(pilot, lambda: len(grid_panes(live)) == 2)
    await until(pilot, lambda: all(points(p) > 0 for p in grid_panes(live).values()))
    return live


def test_the_overview_reads_each_run_at_its_own_latest_step_and_scales_each_pane(
    env: TuiEnv,
) -> None:
    short, long = two_runs(env)
    app = env.app(preset_dirs=[])

    async def script(pilot: Any) -> None:
        live = await overview_of_both(pilot, app, (short, long))
        panes = grid_panes(live)
        # each small multiple spans its own run, not the longest one's
        assert panes[short.run_id].window == (10, SHORT)
        assert panes[long.run_id].window == (10, LONG)
        # the values are each run's latest, and the short run's says its step
        line = text(live, "#live-cursor")
        assert re.search(rf"1:short \S+ @{SHORT}\b", line), line
        assert re.search(r"2:long \S+( |$)", line), line  # at the line's own step: no @
        assert f"step {LONG}/{LONG}" in text(live, "#live-status")  # the highlighted run

        await pilot.press("right")  # a cursor past the short run's end: its latest, named
        cursor = text(live, "#live-cursor")
        assert cursor.startswith("cursor step ") and f"@{SHORT}" in cursor, cursor

    drive(app, script, size=(120, 40))


def test_zoom_applies_to_every_run_of_the_overview(env: TuiEnv) -> None:
    short, long = two_runs(env)
    app = env.app(preset_dirs=[])

    async def script(pilot: Any) -> None:
        live = await overview_of_both(pilot, app, (short, long))
        await pilot.press("plus", "plus")  # zoom: every pane shows its own latest quarter
        panes = grid_panes(live)
        for run_id, end in ((short.run_id, SHORT), (long.run_id, LONG)):
            window = panes[run_id].window
            assert window is not None, run_id
            assert window[1] == end and window[1] - window[0] == pytest.approx((end - 10) / 4)
        assert "zoom ×4" in text(live, "#live-cursor")

        await pilot.press("g")  # the overlay shares one x range, zoomed alike in both panes
        overlay = [live.query_one(f"#live-ov{n}", CurvePane) for n in (1, 2)]
        await until(pilot, lambda: all(points(p) > 0 for p in overlay))
        assert overlay[0].window == overlay[1].window
        window = overlay[0].window
        assert window is not None and window[1] - window[0] == pytest.approx((LONG - 10) / 4)

    drive(app, script, size=(120, 40))


def test_the_overlay_labels_each_run_s_line_without_colour(
    env: TuiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    short, long = two_runs(env)
    app = env.app(preset_dirs=[])

    async def script(pilot: Any) -> None:
        live = await overview_of_both(pilot, app, (short, long))
        await pilot.press("g")
        overlay = [live.query_one(f"#live-ov{n}", CurvePane) for n in (1, 2)]
        await until(pilot, lambda: all(points(p) > 0 for p in overlay))
        for pane in overlay:  # each run's line ends in its number, that the list names
            plot = canvas(pane)
            assert "1" in plot and "2" in plot, plot
        side = live.query_one("#live-side", OptionList)
        listed = " ".join(str(side.get_option_at_index(i).prompt) for i in range(2))
        assert "1:short" in listed and "2:long" in listed  # the legend of the numbers

    drive(app, script, size=(80, 24))


def test_compare_reads_each_run_at_its_own_latest_step_and_labels_its_lines(
    env: TuiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    two_runs(env)
    app = env.app(preset_dirs=[])

    async def script(pilot: Any) -> None:
        app.push_screen(CompareScreen(store.list_runs(env.runs)))
        await until(pilot, lambda: isinstance(app.screen, CompareScreen))
        compare = app.screen
        await until(pilot, lambda: compare.query("#compare-loss"))
        panes = [compare.query_one(f"#compare-{n}", CurvePane) for n in ("acc", "loss")]
        await until(pilot, lambda: all(points(p) > 0 for p in panes))
        labels = {label.partition(":")[2]: label for label in compare.labels.values()}
        short, long = labels["short"], labels["long"]

        line = text(compare, "#compare-cursor")
        assert re.search(rf"{short} \S+ @{SHORT}\b", line), line
        assert f"@{LONG}" not in line, line  # the header's own step is not repeated

        legend = text(compare, "#compare-legend")
        for pane in panes:  # each line ends in its run's number, that the legend names
            plot = canvas(pane)
            for label in (short, long):
                number = label.partition(":")[0]
                assert number in plot and label in legend, (label, plot)

        await pilot.press("plus", "plus")  # zoom: both panes, every run's curve alike
        windows = [p.window for p in panes]
        assert windows[0] == windows[1] and windows[0] is not None
        assert windows[0][1] - windows[0][0] == pytest.approx((LONG - 10) / 4)

    drive(app, script, size=(80, 24))


def test_the_status_line_names_the_step_of_the_accuracies_it_shows(env: TuiEnv) -> None:
    run = finished_run(env.runs, "between", steps=SHORT, **{"train.steps": LONG})
    store.update_summary(run.path, status="stopped", step=SHORT + 5)  # stopped between evals
    follower = RunFollower(store.RunDir(run.path))
    follower.poll()
    line = status_text(follower).plain
    assert f"step {SHORT + 5}/{LONG}" in line and re.search(rf"test \S+ @{SHORT}\b", line), line
