"""The TUI's analysis screen: it reads analysis.json, draws every view, starts `analyze` apart."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import Static

from grok_tui import store
from grok_tui.analysis.paths import SCHEMA, analysis_path
from grok_tui.config import validate_preset
from grok_tui.tui.screens import analysis as screen
from grok_tui.tui.screens.analysis import AnalysisPlot, AnalysisScreen


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


def test_resample_shrinks_by_block_means_and_grows_by_repeats() -> None:
    matrix = [[float(r * 10 + c) for c in range(4)] for r in range(6)]
    small = screen.resample(matrix, 3, 2)
    assert small == [[5.5, 7.5], [25.5, 27.5], [45.5, 47.5]]
    big = screen.resample([[1.0, 2.0], [3.0, None]], 4, 4)  # type: ignore[list-item]
    assert len(big) == 4 and all(len(row) == 4 for row in big)
    assert big[0][0] == 1.0 and math.isnan(big[3][3])


def test_colour_maps_reach_their_ends() -> None:
    assert screen.diverging(1.0, 1.0) == (255, 0, 0)
    assert screen.diverging(-1.0, 1.0) == (0, 0, 255)
    assert screen.diverging(0.0, 1.0) == (255, 255, 255)
    assert screen.sequential(0.0, 0.0, 1.0) == screen.VIRIDIS[0]
    assert screen.sequential(1.0, 0.0, 1.0) == screen.VIRIDIS[-1]
    assert screen.sequential(math.nan, 0.0, 1.0) == (0, 0, 0)


def test_projection_links_every_number_in_one_cycle() -> None:
    data = screen.projection(fake_analysis(), "pca")
    cycle = data["cycle"]
    assert cycle[0] == cycle[-1] == 0 and sorted(cycle[:-1]) == list(range(11))
    assert all((b - a) % 11 == 4 for a, b in zip(cycle, cycle[1:], strict=False))


def test_views_say_why_they_cannot_be_drawn() -> None:
    analysis = fake_analysis()
    assert "press a" in screen.unavailable(None, "norms")
    assert screen.unavailable(analysis, "projection", "pca") is None
    assert "t-SNE" in screen.unavailable(analysis, "projection", "tsne")
    analysis["nanda"] = None
    assert "add and sub" in screen.unavailable(analysis, "nanda")


def test_headline_tells_when_the_run_moved_on() -> None:
    analysis = fake_analysis(step=40)
    text = screen.headline(analysis, {"checkpoint_step": 40})
    assert "key freqs [3]" in text and "n→n+4" in text and "moved" not in text
    assert "at step 100 now" in screen.headline(analysis, {"checkpoint_step": 100})


def test_the_neurons_view_says_why_it_cannot_draw() -> None:
    analysis = fake_analysis()
    assert screen.unavailable(analysis, "neurons", "clusters") is None
    analysis["neurons"]["example"] = None
    assert "no unit belongs" in screen.unavailable(analysis, "neurons", "unit")
    del analysis["neurons"]  # an analysis written before the neurons section existed
    assert "press a" in screen.unavailable(analysis, "neurons", "clusters")


def test_perturbation_buckets_skip_missing_losses() -> None:
    groups, (lo, hi) = screen.perturbation_buckets(fake_analysis(), "train")
    assert sum(len(xs) for _, xs, _ in groups) == 3
    assert lo == pytest.approx(-2.0) and hi == pytest.approx(0.0)


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


async def settle(pilot: Any, condition: Any, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not met")


def test_every_view_and_option_draws(run: store.RunDir) -> None:
    write(run, fake_analysis())

    async def main() -> None:
        app = Host(run)
        async with app.run_test(size=(110, 36)) as pilot:
            await settle(pilot, lambda: "key freqs [3]" in head_text(app))
            plot = app.screen.query_one(AnalysisPlot)
            for i, (view, _, options) in enumerate(screen.VIEWS):
                await pilot.press(str(i + 1))
                for option in options:
                    await pilot.pause(0.05)
                    assert (plot.view, plot.option) == (view, option)
                    assert plot._built is not None  # rendered without raising
                    await pilot.press("o")
            await pilot.press("right")  # from the last view round to the first
            assert plot.view == screen.VIEW_IDS[0]
            await pilot.press("left")
            assert plot.view == screen.VIEW_IDS[-1]

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
            await settle(pilot, lambda: "no analysis yet" in head_text(app))
            await pilot.press("a")
            await settle(pilot, lambda: "key freqs [3]" in head_text(app))
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
            await settle(pilot, lambda: "analysis failed: error: nope" in head_text(app))

    asyncio.run(main())
