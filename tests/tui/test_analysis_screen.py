"""The TUI's analysis screen: it reads analysis.json, draws every view, starts `analyze` apart.

The view maths alone is tested in test_analysis_view.py."""

from __future__ import annotations

import asyncio
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.geometry import Region
from textual.widgets import Static

from grok_tui.analysis.paths import SCHEMA, analysis_path
from grok_tui.config import validate_preset
from grok_tui.rundirs import store
from grok_tui.tui import analysis_view
from grok_tui.tui.screens import analysis as screen
from grok_tui.tui.screens.analysis import AnalysisScreen
from grok_tui.tui.widgets.analysis_plot import AnalysisLegend, AnalysisPlot
from tests.support.pilot import until


def fake_analysis(p: int = 11, step: int = 40) -> dict[str, Any]:
    """An analysis.json with every section, shaped as grok_tui.analysis.report writes it."""
    n_freqs = (p - 1) // 2
    steps = [0, 20, step]
    energy = [0.6 if k == 3 else 0.4 / (n_freqs - 1) for k in range(1, n_freqs + 1)]
    circle = [
        [math.cos(2 * math.pi * 3 * n / p), math.sin(2 * math.pi * 3 * n / p)] for n in range(p)
    ]
    grid = [[abs(a) + abs(b) + 1e-3 for b in range(-2, 3)] for a in range(-2, 3)]
    return {
        "schema": SCHEMA,
        "run_id": "fake",
        "step": step,
        "steps": steps,
        "events": {"fit_step": 10, "grok_step": 30},
        "notes": ["a note"],
        "norms": {
            "records": {
                "step": [0, 10, 20, 30, 40],
                "param_norm": [9.0, 8.0, 7.0, 6.5, 6.0],
                "grad_norm": [None, 1.0, 0.1, 0.01, 0.001],
            },
            "checkpoints": {
                "step": steps,
                "param_norm": [9.0, 7.0, 6.0],
                "layers": {"embedding.weight": [5.0, 4.0, 3.0], "net.0.bias": [0.1, 0.1, 0.1]},
            },
        },
        "embedding": {
            "p": p,
            "link_step": 4,
            "link_step_reason": "inverse of the dominant frequency 3 mod 11",
            "pca": {"coords": circle, "explained_variance_ratio": [0.5, 0.5]},
            "tsne": None,
            "heatmap": {
                "columns": 4,
                "initial_step": 0,
                "initial": [[(n * c) % 3 - 1.0 for c in range(4)] for n in range(p)],
                "step": step,
                "final": [[math.cos(n + c) for c in range(4)] for n in range(p)],
            },
        },
        "fourier": {
            "frequencies": list(range(1, n_freqs + 1)),
            "energy_fraction": energy,
            "key_frequencies": [3],
            "dominant_frequency": 3,
            "top_k": 1,
            "concentration": 0.6,
            "concentration_uniform": 0.2,
            "over_time": {
                "step": steps,
                "energy_fraction": [energy, energy, energy],
                "concentration": [0.2, 0.4, 0.6],
                "key_fraction": [0.2, 0.4, 0.6],
            },
        },
        "nanda": {
            "key_frequencies": [3],
            "step": steps,
            "train_loss": [2.4, 0.1, 0.01],
            "test_loss": [2.4, 3.0, 0.02],
            "restricted_loss": [2.4, 1.0, 0.05],
            "excluded_loss": [2.4, 0.5, None],
        },
        "neurons": {
            "threshold": 0.85,
            "layers": {
                "net.1": {
                    "units": 4,
                    "dead": 1,
                    "dominant": [3, 3, 2, None],
                    "share": [0.9, 0.95, 0.3, None],
                    "clusters": {"3": 2},
                    "clustered_fraction": 0.667,
                    "mean_share": 0.72,
                },
                "net.4": {
                    "units": 2,
                    "dead": 0,
                    "dominant": [3, 4],
                    "share": [0.5, 0.9],
                    "clusters": {"4": 1},
                    "clustered_fraction": 0.5,
                    "mean_share": 0.7,
                },
            },
            "example": {
                "layer": "net.1",
                "unit": 1,
                "frequency": 3,
                "share": 0.95,
                "grid": [
                    [math.cos(2 * math.pi * 3 * (x + y) / p) for y in range(p)] for x in range(p)
                ],
            },
            "over_time": {"step": steps, "net.1": [0.0, 0.3, 0.667], "net.4": [0.0, 0.0, 0.5]},
        },
        "landscape": {
            "grid": {
                "span": 1.0,
                "coords": [-1, -0.5, 0, 0.5, 1],
                "loss": {"train": grid, "test": grid},
            },
            "perturbation": {
                "layers": ["net.0.weight", "net.3.weight"],
                "unperturbed_sv": [3.0, 4.0],
                "sv": [[3.0, 3.1, 3.2, 3.3], [4.0, 4.1, 4.05, 4.3]],
                "loss": {"train": [0.01, 0.1, None, 1.0], "test": [0.02, 0.2, 0.3, 2.0]},
            },
        },
    }


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
                    await pilot.pause(0.05)
                    assert (plot.view, plot.option) == (view, option)
                    assert plot._built is not None  # rendered without raising
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
            await pilot.pause(0.1)
            head = app.screen.query_one("#analysis-head", Static)
            assert head.region.height <= 3
            assert "5 Nanda" in head_text(app)  # every view's tab still shows
            plot = app.screen.query_one(AnalysisPlot)
            assert plot.region.height >= 24 - 3 - 1 - 1  # header, legend, footer
            await pilot.press("n")  # what the header cut is one key away
            await pilot.pause(0.1)
            assert any("landscape losses" in t and "step 400" in t for t in told)

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
            await pilot.pause(0.1)
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
            await pilot.pause(0.1)
            plot = app.screen.query_one(AnalysisPlot)
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
