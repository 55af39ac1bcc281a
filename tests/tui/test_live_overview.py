"""Live's overview, the panes' metrics, zoom, cursor and log x axis, and the plot export,
driven as a user would with Textual's Pilot (fake trainers: no torch)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any, TypeVar

import pytest
from textual.widgets import OptionList, Static

from grok_tui.rundirs import launch, store
from grok_tui.tui.screens.compare import CompareScreen
from grok_tui.tui.screens.live import LiveScreen
from grok_tui.tui.screens.modals import ChoiceModal
from grok_tui.tui.views.pacing import Pacing, RedrawPace
from grok_tui.tui.widgets.curve_pane import CurvePane
from tests.support.fake_trainer import curve_record
from tests.support.pilot import until
from tests.support.tui import (
    FAKE_TRAINER,
    TuiEnv,
    drive,
    finished_run,
    one_widget_app,
    points,
    tiny_preset,
)

pytestmark = pytest.mark.tui_env(delay="0.05")


def live_run(runs: Path, name: str) -> store.RunDir:
    preset = tiny_preset(name, **{"train.steps": 1_000_000})
    return launch.start_run(preset, runs, command=FAKE_TRAINER)


def grid_panes(screen: LiveScreen) -> list[CurvePane]:
    return [p for p in screen.query("#live-grid CurvePane").results(CurvePane) if p.display]


def drawn_ids(screen: LiveScreen) -> set[str]:
    return {s.group for panel in screen.panels() for s in panel.series}


def text(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def measured_run(runs: Path, name: str) -> store.RunDir:
    """A finished run whose records carry progress measures from step 100 on."""
    run = finished_run(runs, name)
    writer = store.MetricsWriter(run.path)
    for step in range(210, 401, 10):
        writer.append({**curve_record(step, 400, step / 100), "key_frequency_share": step / 400})
    writer.close()
    store.update_summary(run.path, step=400, steps=400)
    return run


@pytest.mark.slow
def test_overview_follows_new_runs_pins_hides_and_fits_80x24(env: TuiEnv) -> None:
    first, second = live_run(env.runs, "first"), live_run(env.runs, "second")
    app = env.app(preset_dirs=[])

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, LiveScreen) and len(app.followers) == 2)
        live = app.screen
        await pilot.press("v")
        await until(pilot, lambda: len(grid_panes(live)) == 2 and points(grid_panes(live)[1]) > 2)
        assert drawn_ids(live) == {first.run_id, second.run_id}
        assert "2 live" in text(live, "#live-runs")

        third = live_run(env.runs, "third")  # started elsewhere: followed and drawn
        await until(pilot, lambda: third.run_id in drawn_ids(live), timeout=60)
        assert len(grid_panes(live)) == 3

        side = live.query_one("#live-side", OptionList)
        assert side.has_focus and side.highlighted == 0
        await pilot.press("p")  # pin the first run, then stop it: it stays drawn
        await pilot.press("s")
        await until(pilot, lambda: app.followers[first.run_id].status == "stopped")
        await pilot.press("down", "s")  # the second ends unpinned: it leaves the overview
        await until(pilot, lambda: app.followers[second.run_id].status == "stopped")
        await until(pilot, lambda: drawn_ids(live) == {first.run_id, third.run_id})
        assert "1 pinned" in text(live, "#live-runs")

        await pilot.press("down", "space")  # hide the third: listed, not drawn
        await until(pilot, lambda: drawn_ids(live) == {first.run_id})
        await pilot.press("space")
        await until(pilot, lambda: drawn_ids(live) == {first.run_id, third.run_id})

        await pilot.press("o")  # the weight norm in every small pane; again: back
        assert all(p.head.endswith(" param_norm") for p in grid_panes(live))
        await pilot.press("o")
        assert all(p.head.endswith(" accuracy") for p in grid_panes(live))

        await pilot.press("g")  # overlaid: two panes, every drawn run in each
        await until(pilot, lambda: live.query_one("#live-ov1", CurvePane).series)
        overlay = live.query_one("#live-ov1", CurvePane)
        assert {s.group for s in overlay.series} == {first.run_id, third.run_id}
        assert any(s.dashed for s in overlay.series)  # train beside test
        assert "(test/train)" in text(live, "#live-cursor")

        await pilot.press("enter")  # the highlighted run alone
        await until(pilot, lambda: not live.overview)
        assert app.current_run_id == third.run_id

    drive(app, script, size=(80, 24))


@pytest.mark.slow
def test_metric_choice_weight_norm_cursor_zoom_and_log_x(env: TuiEnv) -> None:
    run = measured_run(env.runs, "measured")
    app = env.app(preset_dirs=[])

    async def script(pilot: Any) -> None:
        app.follow(store.RunDir(run.path))
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, LiveScreen))
        live = app.screen
        second = live.query_one("#live-loss", CurvePane)
        await until(pilot, lambda: points(second) > 0)

        await pilot.press("o")  # the weight norm, one key away; again: back to loss
        assert second.panel is not None and second.panel.title == "param_norm"
        assert [s.name for s in second.series] == ["param_norm"]
        await pilot.press("o")
        assert second.panel is not None and second.panel.title == "loss (log)"

        await pilot.press("2")  # any field: the chooser lists the progress measures
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal))
        choices = app.screen.query_one(OptionList)
        ids = [choices.get_option_at_index(i).id for i in range(choices.option_count)]
        assert ids[:3] == ["accuracy", "loss", "param_norm"] and "key_frequency_share" in ids
        choices.highlighted = ids.index("key_frequency_share")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is live)
        assert second.panel is not None and second.panel.title == "key_frequency_share"
        assert second.series[0].points[0][0] == 210  # plotted where it was measured

        assert text(live, "#live-cursor").startswith("latest step 400")
        await pilot.press("left", "left")
        assert text(live, "#live-cursor").startswith("cursor step 380")
        assert "key_frequency_share 0.95" in text(live, "#live-cursor")
        await pilot.press("shift+left")
        assert live.view.cursor == 280
        await pilot.press("plus", "plus")  # a quarter of the steps, around the cursor
        window = live.window()
        assert window is not None and window[1] - window[0] == pytest.approx(390 / 4)
        assert window[0] <= 280 <= window[1]
        assert live.query_one("#live-acc", CurvePane).window == window  # every pane alike
        assert "zoom ×4" in text(live, "#live-cursor")
        await pilot.press("0")
        assert live.window() == (10, 400) and text(live, "#live-cursor").startswith("latest")

        await pilot.press("l")  # the app's log x axis: every curve screen, one option
        assert app.axis_options.log_x
        assert live.query_one("#live-acc", CurvePane).x_label == "log step"

    drive(app, script, size=(120, 40))


@pytest.mark.slow
def test_export_writes_png_and_svg_and_a_missing_matplotlib_is_a_message(
    env: TuiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    told: list[tuple[str, str]] = []
    monkeypatch.setattr(
        LiveScreen,
        "notify",
        lambda self, text, severity="information", **_: (
            None if text.startswith("Exporting") else told.append((text, severity))
        ),
    )
    run = finished_run(env.runs, "shown")
    app = env.app(preset_dirs=[])
    exports = env.runs / "exports"

    async def script(pilot: Any) -> None:
        app.follow(store.RunDir(run.path))
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, LiveScreen))
        await until(pilot, lambda: points(app.screen.query_one("#live-acc", CurvePane)) > 0)
        await pilot.press("x")
        await until(pilot, lambda: len(list(exports.glob("*"))) == 2, timeout=60)
        assert sorted(p.suffix for p in exports.iterdir()) == [".png", ".svg"]
        await until(pilot, lambda: told)
        assert told[0][0].startswith("Plot written: ") and str(exports) in told[0][0]

        monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
        await pilot.press("x")
        await until(pilot, lambda: len(told) == 2)
        assert (
            "needs matplotlib" in told[1][0] and "analysis" in told[1][0] and told[1][1] == "error"
        )
        assert isinstance(app.screen, LiveScreen)  # a message, the app goes on

    drive(app, script, size=(80, 24))


def test_compare_shows_train_dimmer_and_each_run_s_fit_and_grok(env: TuiEnv) -> None:
    finished_run(env.runs, "alpha", grok=150)
    finished_run(env.runs, "beta", grok=None)
    app = env.app(preset_dirs=[])

    async def script(pilot: Any) -> None:
        app.push_screen(CompareScreen(store.list_runs(env.runs)))
        await until(pilot, lambda: isinstance(app.screen, CompareScreen))
        compare = app.screen
        await until(pilot, lambda: compare.query("#compare-acc"))
        acc = compare.query_one("#compare-acc", CurvePane)
        await until(pilot, lambda: points(acc) > 0)
        legend = text(compare, "#compare-legend")
        assert "1:alpha fit 40 grok 150" in legend and "2:beta fit 40" in legend
        solid = [s for s in acc.series if not s.dashed]
        dashed = [s for s in acc.series if s.dashed]
        assert len(solid) == len(dashed) == 2
        assert {s.colour for s in solid}.isdisjoint({s.colour for s in dashed})
        await pilot.press("right")  # the diff table does not take the cursor keys
        assert compare.view.cursor is not None
        assert "cursor step" in text(compare, "#compare-cursor")

    drive(app, script, size=(80, 24))


class Clocks:
    """A wall clock and a CPU clock that a test moves."""

    def __init__(self) -> None:
        self.wall, self.cpu = 0.0, 0.0

    def step(self, wall: float, cpu: float) -> None:
        self.wall += wall
        self.cpu += cpu


def test_the_redraw_pace_keeps_the_cpu_budget_within_its_bounds() -> None:
    pacing = Pacing()  # the app's (the tests' app redraws every 2 s, never later)
    clocks = Clocks()
    pace = RedrawPace(pacing, clock=lambda: clocks.wall, cpu_clock=lambda: clocks.cpu)
    pace.drawing()
    assert pace.interval == pacing.data_redraw_s == 2.0
    clocks.step(wall=2.0, cpu=0.1)  # 5% of a core: twice the 2.5% budget
    pace.drawing()
    assert pace.interval == pytest.approx(4.0)
    clocks.step(wall=4.0, cpu=0.1)  # the same draws, half as often: on budget, kept
    pace.drawing()
    assert pace.interval == pytest.approx(4.0)
    clocks.step(wall=4.0, cpu=0.06)  # cheaper draws (1.5%): a shorter wait
    pace.drawing()
    assert pace.interval == pytest.approx(2.4)
    clocks.step(wall=2.4, cpu=2.0)  # a burst (83%): capped
    pace.drawing()
    assert pace.interval == pacing.max_redraw_s == 10.0
    clocks.step(wall=10.0, cpu=0.01)  # quiet (0.1%): every 2 s, never more often
    pace.drawing()
    assert pace.interval == pacing.data_redraw_s


def test_a_status_line_update_relayouts_only_when_its_height_changes() -> None:
    from rich.text import Text

    from grok_tui.tui.widgets.lines import update_line

    layouts: list[bool] = []

    class Line(Static):
        def update(self, content: Any = "", *, layout: bool = True) -> None:
            layouts.append(layout)
            super().update(content, layout=layout)

    async def main() -> None:
        app = one_widget_app(Line("", id="line"))
        async with app.run_test(size=(40, 10)) as pilot:
            line = app.query_one(Line)
            layouts.clear()
            update_line(line, Text("step 1"))
            await pilot.pause()
            update_line(line, Text("step 2"))  # one row, as before: no relayout
            update_line(line, Text("step 2"))  # unchanged: nothing at all
            update_line(line, Text("x" * 70))  # two rows at 40 columns: relayout
            await pilot.pause()
            assert line.size.height == 2
            assert app.query_one(Line).render().plain == "x" * 70  # type: ignore[union-attr]

    asyncio.run(main())
    assert layouts == [False, False, True]


StaticT = TypeVar("StaticT", bound=Static)


async def shown_at_two_rows(pilot: Any, line: StaticT) -> StaticT:
    """A line of 70 characters shown through update_line at 40 columns: two rows."""
    from rich.text import Text

    from grok_tui.tui.widgets.lines import update_line

    update_line(line, Text("x" * 70))
    await pilot.pause()
    assert line.size.height == 2
    return line


def test_a_status_line_shown_at_a_height_that_was_behind_is_relayouted_after_the_refresh() -> None:
    """A line measured against a height the widget no longer has keeps the wrong height
    until something relayouts it: update_line measures again once the line is drawn."""
    from rich.text import Text
    from textual.geometry import Size

    from grok_tui.tui.widgets.lines import update_line

    class Line(Static):
        behind: Size | None = None  # the size update_line reads, while the widget has another

        @property
        def content_size(self) -> Size:
            return self.behind or super().content_size

    async def main() -> None:
        app = one_widget_app(Line("", id="line"))
        async with app.run_test(size=(40, 10)) as pilot:
            line = await shown_at_two_rows(pilot, app.query_one(Line))
            line.behind = Size(40, 1)
            update_line(line, Text("step 3"))  # one row, read against a height of one
            line.behind = None
            await pilot.pause()
            await pilot.pause()
            assert line.size.height == 1

    asyncio.run(main())


def test_a_status_line_whose_relayout_was_drawn_at_the_old_height_is_relayouted_again() -> None:
    """Under load a relayout asked for can be drawn at the height of the line before (CI:
    Live's status line kept a blank second row for a one-row line, and no later poll
    changed it). update_line measures every line again once drawn, not only those it
    showed without a relayout."""
    from rich.text import Text

    from grok_tui.tui.widgets.lines import update_line

    class Line(Static):
        lose_layout = False  # the next relayout asked for is drawn at the old height

        def update(self, content: Any = "", *, layout: bool = True) -> None:
            lost, self.lose_layout = self.lose_layout and layout, False
            super().update(content, layout=layout and not lost)

    async def main() -> None:
        app = one_widget_app(Line("", id="line"))
        async with app.run_test(size=(40, 10)) as pilot:
            line = await shown_at_two_rows(pilot, app.query_one(Line))
            line.lose_layout = True
            update_line(line, Text("step 3"))  # one row: a relayout, lost
            assert not line.lose_layout  # the relayout was asked for (and lost)
            for _ in range(20):
                await pilot.pause(0.05)
                if line.size.height == 1:
                    break
            assert line.size.height == 1

    asyncio.run(main())


def test_a_chart_decoded_in_one_pass_is_the_content_rich_and_textual_give() -> None:
    """tui/ansi.py against Text.from_ansi then Content.from_rich_text, on a real chart
    (truecolor curves, 256-colour frame and background, marks, labels) and edge cases."""
    import math

    from plotext._figure import _figure_class
    from rich.text import Text
    from textual.content import Content

    from grok_tui.tui.ansi import ansi_content

    chart = _figure_class()
    chart.plotsize(58, 20)
    xs = list(range(0, 10_000, 50))
    chart.plot(xs, [0.5 + 0.5 * math.sin(x / 1000) for x in xs], marker="braille", color=(200, 100, 50))  # fmt: skip
    chart.plot(xs, [0.4 * math.cos(x / 700) for x in xs], marker="braille", color=(50, 100, 200))
    chart.vertical_line(4000, color=(0, 200, 0))
    chart.title("accuracy")
    chart.xlabel("step")
    cases = [chart.build(), "a\nb\n", "\n\nx", "\x1b[1;31mx\x1b[0;32my\x1b[mz\x1b[0m", ""]
    for ansi in cases:
        expected = Content.from_rich_text(Text.from_ansi(ansi))
        got = ansi_content(ansi)
        assert got.plain == expected.plain
        assert got.spans == expected.spans
    assert len(ansi_content(cases[0]).spans) > 50  # the chart is one of many colour runs


def test_runs_are_read_once_a_second_unless_one_awaits_its_first_record(
    env: TuiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from grok_tui.tui import app as app_module

    now = [100.0]
    monkeypatch.setattr(app_module, "time", SimpleNamespace(monotonic=lambda: now[0]))
    app = env.app(preset_dirs=[], pacing=Pacing())  # the tests' pacing polls at every tick
    polls: list[float] = []
    monkeypatch.setattr(app, "poll_runs", lambda followers, scan: polls.append(now[0]))
    app._polled_once, app._mounted_at = True, 0.0  # 100 s after start-up
    app._screen_whole = True  # its first screen drawn long ago (the first poll waits for it)
    run = finished_run(env.runs, "settled")
    follower = app.follow(run)
    follower.status, follower.records = "running", [{"step": 0}]

    def ticks(n: int) -> None:
        for _ in range(n):
            app._polling = False  # each poll has come back
            app._tick()
            now[0] += 0.25

    ticks(8)  # 2 s of 0.25 s ticks, a run with records: a poll a second
    assert polls == [100.0, 101.0]
    follower.records = []  # a run that waits for its first record: every tick
    polls.clear()
    ticks(4)
    assert polls == [102.0, 102.25, 102.5, 102.75]
    follower.records = [{"step": 0}]  # starting up (the first 5 s): every tick as well
    app._mounted_at = now[0] - 1.0
    polls.clear()
    ticks(2)
    assert polls == [103.0, 103.25]
