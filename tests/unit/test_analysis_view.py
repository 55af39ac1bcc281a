"""The analysis screen's view maths alone: no Textual app, no torch (grok_tui.tui.analysis_view)."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from grok_tui import colours
from grok_tui.sweep import heatmap
from grok_tui.tui import analysis_view as view
from tests.support.analysis import fake_analysis


def test_the_view_module_loads_neither_textual_nor_torch() -> None:
    code = (
        "import sys, grok_tui.tui.analysis_view, grok_tui.colours;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'torch', 'textual', 'plotext', 'textual_plotext', 'matplotlib'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_one_viridis_for_the_sweep_heatmap_and_the_analysis() -> None:
    assert colours.viridis(0.0) == colours.VIRIDIS[0]
    assert colours.viridis(1.0) == colours.VIRIDIS[-1]
    assert colours.viridis(0.5) == colours.VIRIDIS[2]
    assert (
        colours.viridis(-3.0) == colours.VIRIDIS[0] and colours.viridis(9.0) == colours.VIRIDIS[-1]
    )
    assert colours.viridis(0.125) == (64, 42, 112)  # halfway between the first two stops
    assert heatmap.viridis is colours.viridis
    for t in (0.0, 0.3, 0.77, 1.0):
        assert view.sequential(t, 0.0, 1.0) == colours.viridis(t)


def test_colour_maps_reach_their_ends() -> None:
    assert view.diverging(1.0, 1.0) == (255, 0, 0)
    assert view.diverging(-1.0, 1.0) == (0, 0, 255)
    assert view.diverging(0.0, 1.0) == (255, 255, 255)
    assert view.sequential(math.nan, 0.0, 1.0) == (0, 0, 0)
    assert view.sequential(5.0, 5.0, 5.0) == colours.VIRIDIS[0]  # a flat matrix


def test_resample_shrinks_by_block_means_and_grows_by_repeats() -> None:
    matrix = [[float(r * 10 + c) for c in range(4)] for r in range(6)]
    small = view.resample(matrix, 3, 2)
    assert small == [[5.5, 7.5], [25.5, 27.5], [45.5, 47.5]]
    big = view.resample([[1.0, 2.0], [3.0, None]], 4, 4)  # type: ignore[list-item]
    assert len(big) == 4 and all(len(row) == 4 for row in big)
    assert big[0][0] == 1.0 and math.isnan(big[3][3])


@pytest.mark.parametrize(("width", "height"), [(78, 18), (78, 17), (108, 30), (23, 7), (5, 4)])
@pytest.mark.parametrize("size", [5, 11, 97])
def test_a_matrix_fills_every_character_of_the_plot_area(
    width: int, height: int, size: int
) -> None:
    matrix = [[float(r + c) for c in range(size)] for r in range(size)]
    picture = view.matrix_picture(
        matrix,
        lambda v: view.sequential(v, 0.0, 2.0 * size),
        width,
        height,
        view.Axis(-1, 1, "a"),
        view.Axis(1, -1, "b"),
        "title",
    )
    label_width = len(picture.y_labels[0])
    assert len(picture.cells) == height - 3  # title, x ticks and axis names take three
    assert {len(row) for row in picture.cells} == {width - label_width}
    assert all(len(label) == label_width for label in picture.y_labels)
    assert len(picture.x_ticks) <= width and len(picture.axes) <= width
    # the first row on top, every character a block mean (or a repeat) of the matrix
    means = view.resample(matrix, height - 3, width - label_width)
    assert picture.cells == [[view.sequential(v, 0.0, 2.0 * size) for v in row] for row in means]


def test_matrix_ticks_name_both_ends_of_each_axis() -> None:
    picture = view.matrix_picture(
        [[0.0] * 5] * 5,
        lambda v: (0, 0, 0),
        60,
        15,
        view.Axis(-2, 2, "dir 1"),
        view.Axis(2, -2, "dir 2"),
        "t",
    )
    assert picture.y_labels[0].strip() == "2" and picture.y_labels[-1].strip() == "-2"
    assert picture.x_ticks.split() == ["-2", "0", "2"]
    assert picture.x_ticks.endswith("2")
    assert picture.axes == "x: dir 1 · y: dir 2"


def test_every_matrix_view_has_its_matrix() -> None:
    analysis = fake_analysis()
    for view_id, option in sorted(view.MATRIX_VIEWS):
        matrix, colour, x, y, title = view.matrix_of(analysis, view_id, option)
        assert matrix and all(len(row) == len(matrix[0]) for row in matrix)
        assert len(colour(matrix[0][0])) == 3 and title
    matrix, *_ = view.matrix_of(analysis, "landscape", "train")
    # loss[i][j] is at (a_i, b_j); rows are b from the top (+span) down
    assert matrix[0][0] == pytest.approx(math.log10(4 + 1e-3))
    assert matrix[2][2] == pytest.approx(math.log10(1e-3))


def test_legends_name_the_curves_and_the_events() -> None:
    analysis = fake_analysis()
    names = [name for name, _ in view.legend_entries(analysis, "norms", "weights")]
    assert names == ["param_norm", "embedding.weight", "fit 10", "grok 30"]  # biases left out
    names = [name for name, _ in view.legend_entries(analysis, "nanda", "log10")]
    assert names == ["train", "test", "restricted", "excluded", "fit 10", "grok 30"]
    assert view.legend_entries(analysis, "landscape", "train") == []
    assert view.legend_entries(None, "norms", "weights") == []
    colours_used = [c for _, c in view.legend_entries(analysis, "norms", "weights")]
    assert len(set(colours_used)) == len(colours_used)


def test_a_legend_line_fits_its_width() -> None:
    entries = [(f"layer.{i}.a_rather_long_parameter_name", (1, 2, 3)) for i in range(3)]
    entries += [("fit 10", (0, 0, 0)), ("grok 30", (0, 0, 0))]

    def width_of(items: list[tuple[str, tuple[int, int, int]]]) -> int:
        return sum(len(view.SWATCH) + len(n) for n, _ in items) + 2 * (len(items) - 1)

    assert view.fit_legend(entries[:1], 200) == entries[:1]
    cut = view.fit_legend(entries, 80)
    assert width_of(cut) <= 80 and len(cut) == 5
    assert cut[-1][0] == "grok 30" and cut[0][0].endswith("…")
    tiny = view.fit_legend(entries, 30)
    assert width_of(tiny) <= 30 and tiny[-1][0].startswith("+")


def test_tabs_fit_the_width() -> None:
    def length(tabs: list[tuple[str, bool]]) -> int:
        return sum(len(t) for t, _ in tabs) + 2 * (len(tabs) - 1)

    wide = view.tabs("nanda", 200)
    assert [t for t, current in wide if current] == ["5 Nanda losses"]
    assert "2 Projection" in [t for t, _ in wide]
    assert length(view.tabs("nanda", 80)) <= 80
    narrow = view.tabs("landscape", 40)
    assert length(narrow) <= 40 and ("7 Landscape", True) in narrow


def test_the_header_lines_fit_and_prefer_the_status() -> None:
    analysis = fake_analysis(step=40)
    analysis["notes"] = ["x" * 300]
    top, second = view.header_lines("run-id", analysis, {"checkpoint_step": 100}, "", 80)
    assert len(top) <= 80 and len(second) <= 80
    assert top.startswith("run-id · step 40") and "at step 100 now" in second
    _, second = view.header_lines("run-id", analysis, {}, "analysis failed: a\x1b[31m\nb", 80)
    assert second.startswith("analysis failed: a") and "\x1b" not in second and "\n" not in second


def test_norm_lines_drop_biases_and_empty_curves() -> None:
    analysis = fake_analysis()
    lines = view.norm_lines(analysis, "weights")
    assert [line.name for line in lines] == ["param_norm", "embedding.weight"]
    (grad,) = view.norm_lines(analysis, "gradient")
    assert grad.xs == [10.0, 20.0, 30.0, 40.0] and grad.ys == pytest.approx([0, -1, -2, -3])
    nanda = {line.name: line for line in view.nanda_lines(analysis)}
    assert nanda["excluded"].xs == [0.0, 20.0]  # the missing value is left out


def test_projection_links_every_number_in_one_cycle() -> None:
    data = view.projection(fake_analysis(), "pca")
    cycle = data["cycle"]
    assert cycle[0] == cycle[-1] == 0 and sorted(cycle[:-1]) == list(range(11))
    assert all((b - a) % 11 == 4 for a, b in zip(cycle, cycle[1:], strict=False))


def test_views_say_why_they_cannot_be_drawn() -> None:
    analysis = fake_analysis()
    assert "press a" in view.unavailable(None, "norms")
    assert view.unavailable(analysis, "projection", "pca") is None
    assert "t-SNE" in view.unavailable(analysis, "projection", "tsne")
    analysis["nanda"] = None
    assert "add and sub" in view.unavailable(analysis, "nanda")


def test_headline_tells_when_the_run_moved_on() -> None:
    analysis = fake_analysis(step=40)
    text = view.headline(analysis, {"checkpoint_step": 40})
    assert "key freqs [3]" in text and "n→n+4" in text and "moved" not in text
    assert "at step 100 now" in view.headline(analysis, {"checkpoint_step": 100})


def test_the_neurons_view_says_why_it_cannot_draw() -> None:
    analysis = fake_analysis()
    assert view.unavailable(analysis, "neurons", "clusters") is None
    analysis["neurons"]["example"] = None
    assert "no unit belongs" in view.unavailable(analysis, "neurons", "unit")
    del analysis["neurons"]  # an analysis written before the neurons section existed
    assert "press a" in view.unavailable(analysis, "neurons", "clusters")


def test_perturbation_buckets_skip_missing_losses() -> None:
    groups, (lo, hi) = view.perturbation_buckets(fake_analysis(), "train")
    assert sum(len(xs) for _, xs, _ in groups) == 3
    assert lo == pytest.approx(-2.0) and hi == pytest.approx(0.0)
