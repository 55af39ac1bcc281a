"""The TUI's analysis screen: it reads analysis.json, draws every view, starts `analyze` apart.

The view maths alone is tested in test_analysis_view.py."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.geometry import Region
from textual.widgets import Static

from grok_tui.analysis.paths import analysis_path
from grok_tui.config import validate_preset
from grok_tui.rundirs import store
from grok_tui.tui import analysis_view
from grok_tui.tui.screens import analysis as screen
from grok_tui.tui.screens.analysis import AnalysisScreen
from grok_tui.tui.widgets.analysis_plot import AnalysisLegend, AnalysisPlot
from tests.support.analysis import fake_analysis
from tests.support.pilot import until


def test_screen_module_loads_no_torch() -> None:
    code = (
        "import sys, grok_tui.tui.screens.analysis;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'matplotlib', 'sklearn'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


class Host(App):
    def __init__(self, run: store.RunDir) -> None:
        super().__init__()
        self.run = run

    def on_mount(self) -> None:
        self.push_screen(AnalysisScreen(self.run))


@pytest.fixture
def run(tmp_path: Path) -> store.RunDir:
    preset = validate_preset({"model": {"type": "mlp", "widths": [8]}, "data": {"p": 11}})
    return store.create_run(preset, tmp_path / "runs")


def write(run: store.RunDir, analysis: dict[str, Any]) -> None:
    analysis_path(run.path).parent.mkdir(exist_ok=True)
    analysis_path(run.path).write_text(json.dumps(analysis))


def head_text(app: App) -> str:
    return str(app.screen.query_one("#analysis-head", Static).render())


@pytest.mark.slow
def test_every_view_and_option_draws(run: store.RunDir) -> None:
    write(run, fake_analysis())

    async def main() -> None:
        app = Host(run)
        async with app.run_test(size=(110, 36)) as pilot:
            await until(pilot, lambda: "key freqs [3]" in head_text(app))
            plot = app.screen.query_one(AnalysisPlot)
            for i, (view, _, _, options) in enumerate(analysis_view.VIEWS):
                await pilot.press(str(i + 1))
                for option in options:
                    # rendered without raising
                    await until(pilot, lambda v=view, o=option: (plot.view, plot.option) == (v, o))
                    await until(pilot, lambda: drawn(plot))
                    await pilot.press("o")
            await pilot.press("right")  # from the last view round to the first
            assert plot.view == analysis_view.VIEW_IDS[0]
            await pilot.press("left")
            assert plot.view == analysis_view.VIEW_IDS[-1]

    asyncio.run(main())


def test_analyse_key_runs_the_analysis_apart_and_shows_it(run, monkeypatch) -> None:
    # A stand-in for `grok-tui analyze`: writes analysis.json from another process.
    script = (
        "import json, sys, pathlib; p = pathlib.Path(sys.argv[1]) / 'analysis';"
        "p.mkdir(exist_ok=True); (p / 'analysis.json').write_text(sys.argv[2])"
    )
    payload = json.dumps(fake_analysis())
    monkeypatch.setattr(
        screen,
        "analysis_command",
        lambda path, *o: [sys.executable, "-c", script, str(path), payload],
    )

    async def main() -> None:
        app = Host(run)
        async with app.run_test(size=(110, 36)) as pilot:
            await until(pilot, lambda: "no analysis yet" in head_text(app))
            await pilot.press("a")
            await until(pilot, lambda: "key freqs [3]" in head_text(app))
            assert not app.screen.running

    asyncio.run(main())


def test_a_failed_analysis_shows_its_log(run, monkeypatch) -> None:
    monkeypatch.setattr(
        screen,
        "analysis_command",
        lambda path, *o: [
            sys.executable,
            "-c",
            "import sys; print('error: nope', file=sys.stderr); sys.exit(2)",
        ],
    )

    async def main() -> None:
        app = Host(run)
        async with app.run_test(size=(110, 36)) as pilot:
            await pilot.press("a")
            await until(pilot, lambda: "analysis failed: error: nope" in head_text(app))

    asyncio.run(main())


def drawn(plot: AnalysisPlot) -> bool:
    """The plot's current view and option are rendered, at its current size."""
    return plot._built == (plot.size.width, plot.size.height, plot._version)


def plot_rows(plot: AnalysisPlot) -> list[str]:
    """The plot widget as painted on the terminal, one string per row."""
    size = plot.outer_size
    strips = plot.render_lines(Region(0, 0, size.width, size.height))
    return ["".join(segment.text for segment in strip) for strip in strips]


def test_the_header_takes_at_most_three_rows_at_80x24(
    run: store.RunDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    analysis = fake_analysis(step=40)
    analysis["notes"] = [
        "12 of 400 kept steps analysed over time (--max-checkpoints)",
        "t-SNE skipped: scikit-learn is not installed (pip install grok-tui[analysis])",
        "landscape losses on at most 1024 examples per split",
    ]
    write(run, analysis)
    store.write_summary(run.path, {**run.summary(), "checkpoint_step": 400})  # it moved on
    told: list[str] = []
    monkeypatch.setattr(AnalysisScreen, "notify", lambda self, text, **_: told.append(text))

    async def main() -> None:
        app = Host(run)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: "key freqs [3]" in head_text(app))
            plot = app.screen.query_one(AnalysisPlot)
            await until(pilot, lambda: drawn(plot))
            head = app.screen.query_one("#analysis-head", Static)
            assert head.region.height <= 3
            assert "5 Nanda" in head_text(app)  # every view's tab still shows
            assert plot.region.height >= 24 - 3 - 1 - 1  # header, legend, footer
            await pilot.press("n")  # what the header cut is one key away
            await until(
                pilot, lambda: any("landscape losses" in t and "step 400" in t for t in told)
            )

    asyncio.run(main())


@pytest.mark.parametrize(
    ("key", "names"),
    [
        ("1", ["param_norm", "embedding.weight"]),
        ("5", ["train", "restricted", "excluded"]),
    ],
)
def test_legends_sit_under_the_plot_not_over_the_curves(
    run: store.RunDir, key: str, names: list[str]
) -> None:
    write(run, fake_analysis())

    async def main() -> None:
        app = Host(run)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: "key freqs [3]" in head_text(app))
            await pilot.press(key)
            await until(pilot, lambda: drawn(app.screen.query_one(AnalysisPlot)))
            plot_text = "\n".join(plot_rows(app.screen.query_one(AnalysisPlot)))
            for name in names:
                assert name not in plot_text, f"{name} is drawn over the plot"
            legend = app.screen.query_one(AnalysisLegend)
            assert (
                legend.display
                and legend.region.y >= app.screen.query_one(AnalysisPlot).region.bottom
            )
            legend_text = str(legend.render())
            assert all(name in legend_text for name in names)
            assert "fit 10" in legend_text and "grok 30" in legend_text

    asyncio.run(main())


@pytest.mark.parametrize("key", ["7", "3", "6"])
def test_matrix_views_paint_every_column_and_row_of_the_plot_area(
    run: store.RunDir, key: str
) -> None:
    write(run, fake_analysis())

    async def main() -> None:
        app = Host(run)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: "key freqs [3]" in head_text(app))
            await pilot.press(key)
            if key == "6":  # the neurons view's matrix is its third option
                await pilot.press("o", "o")
            plot = app.screen.query_one(AnalysisPlot)
            await until(pilot, lambda: drawn(plot))
            rows = plot_rows(plot)
            painted = [
                (y, [m.span() for m in re.finditer("█+", row)])
                for y, row in enumerate(rows)
                if "█" in row
            ]
            assert all(len(runs) == 1 for _, runs in painted), f"blank seams: {painted[0]}"
            spans = {tuple(runs) for _, runs in painted}
            assert len(spans) == 1, "rows painted over different columns"
            ys = [y for y, _ in painted]
            assert ys == list(range(ys[0], ys[-1] + 1)), "a blank row inside the heatmap"
            assert len(ys) >= plot.size.height - 3
            ((runs,),) = spans
            start, end = runs
            assert end - start >= plot.size.width - 5

    asyncio.run(main())
