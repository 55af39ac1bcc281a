"""The analysis screen's plot and the legend line under it.

``AnalysisPlot`` draws one view of an analysis.json: curves, bars and scatters with
plotext, colour-mapped matrices character by character (plotext's matrix_plot leaves
blank seams). What to draw comes from grok_tui.tui.analysis_view; this module only
paints it. ``AnalysisLegend`` names the curves on a line of its own, because plotext's
legend box sits on top of the curves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.widgets import Static
from textual_plotext import PlotextPlot

from grok_tui.text import safe_text
from grok_tui.tui.analysis_view import (
    GREY,
    KEY_COLOUR,
    RGB,
    VIEW_IDS,
    VIEWS,
    event_marks,
    fit_legend,
    is_matrix,
    legend_entries,
    matrix_of,
    matrix_picture,
    nanda_lines,
    neuron_lines,
    norm_lines,
    option_list,
    perturbation_buckets,
    projection,
    spectrum_bars,
    spectrum_lines,
    unavailable,
    view_title,
)
from grok_tui.tui.views.curves import PALETTE, TRAIN_COLOUR
from grok_tui.tui.views.ticks import format_number, log_ticks, nice_ticks

CELL = "█"  # a full block in the cell's colour: as the sweep heatmap paints


def rgb_style(colour: RGB) -> Style:
    return Style(color=Color.from_rgb(*colour))


class AnalysisPlot(PlotextPlot):
    """One view of an analysis; rebuilt only when the view, the data or the size changed."""

    DEFAULT_CSS = """
    AnalysisPlot { border: round $panel-lighten-2; border-title-align: left; height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.analysis: dict[str, Any] | None = None
        self.view, self.option = VIEW_IDS[0], VIEWS[0][3][0]
        self._version = 0
        self._built: tuple[int, int, int] | None = None
        self._picture: Text | None = None

    def show(self, analysis: dict[str, Any] | None, view: str, option: str) -> None:
        self.analysis, self.view, self.option = analysis, view, option
        title = view_title(view)
        self.border_title = f"{title} · {option}" if len(option_list(view)) > 1 else title
        self._version += 1
        self.refresh()

    def render(self) -> RenderResult:
        key = (self.size.width, self.size.height, self._version)
        if key != self._built:
            self._built = key
            self._picture = None
            self.plt.clear_figure()
            reason = unavailable(self.analysis, self.view, self.option)
            if reason is not None:
                self.plt.title(reason)
                self.plt.xticks([], [])
                self.plt.yticks([], [])
            elif is_matrix(self.view, self.option):
                assert self.analysis is not None
                self._picture = self._matrix(self.analysis)
            else:
                assert self.analysis is not None
                getattr(self, f"_draw_{self.view}")(self.analysis, self.option)
        return self._picture if self._picture is not None else super().render()

    def _matrix(self, analysis: dict[str, Any]) -> Text:
        """A matrix view as text: every character of the plot area painted."""
        matrix, colour, x, y, title = matrix_of(analysis, self.view, self.option)
        picture = matrix_picture(matrix, colour, self.size.width, self.size.height, x, y, title)
        text = Text(picture.title.center(self.size.width), no_wrap=True)
        for label, row in zip(picture.y_labels, picture.cells, strict=True):
            text.append("\n" + label)
            for cell in row:
                text.append(CELL, rgb_style(cell))
        text.append("\n" + picture.x_ticks)
        text.append("\n" + picture.axes.center(self.size.width))
        return text

    # Each _draw_* draws one view into self.plt from the analysis dict, without labels:
    # the legend is AnalysisLegend's line.

    def _marks(self, analysis: dict[str, Any]) -> None:
        for _, step, colour in event_marks(analysis):
            self.plt.vertical_line(step, color=colour)

    def _step_ticks(self, xs: Sequence[float]) -> None:
        if xs:
            ticks = nice_ticks(min(xs), max(xs), max(2, min(6, self.size.width // 12)))
            self.plt.xticks(ticks, [format_number(t) for t in ticks])

    def _curves(self, analysis: dict[str, Any], lines: Sequence[Any]) -> list[float]:
        """Draws the lines and the fit/grok marks; returns every y drawn."""
        all_x: list[float] = []
        all_y: list[float] = []
        for line in lines:
            marker = "braille" if len(line.xs) > 1 else "dot"
            self.plt.plot(line.xs, line.ys, marker=marker, color=line.colour)
            all_x += line.xs
            all_y += line.ys
        self._marks(analysis)
        self._step_ticks(all_x)
        return all_y

    def _draw_norms(self, analysis: dict[str, Any], option: str) -> None:
        self._curves(analysis, norm_lines(analysis, option))
        self.plt.xlabel("step")

    def _draw_projection(self, analysis: dict[str, Any], option: str) -> None:
        plt = self.plt
        data = projection(analysis, option)
        x, y = data["x"], data["y"]
        if data["cycle"]:
            cycle = data["cycle"]
            plt.plot([x[n] for n in cycle], [y[n] for n in cycle], marker="braille", color=GREY)
        p = len(x)
        for i, colour in enumerate(PALETTE):  # numbers coloured by value, like a hue wheel
            members = [n for n in range(p) if n * len(PALETTE) // p == i]
            if members:
                plt.scatter(
                    [x[n] for n in members], [y[n] for n in members], marker="●", color=colour
                )
        for n in data["labels"]:
            plt.text(str(n), x[n], y[n], color="white")
        link = safe_text(data["link_step"])
        plt.title(f"{option.upper()} of the number embeddings · lines n→n+{link}")

    def _draw_spectrum(self, analysis: dict[str, Any], option: str) -> None:
        plt = self.plt
        fourier = analysis["fourier"]
        if option == "over time":
            self._curves(analysis, spectrum_lines(analysis))
            plt.ylim(0, 1)
            return
        freqs, key, rest = spectrum_bars(analysis)
        plt.bar(freqs, rest, color=TRAIN_COLOUR, width=0.6)
        plt.bar(freqs, key, color=KEY_COLOUR, width=0.6)
        plt.xlabel("frequency k")
        plt.title(
            f"energy fraction per frequency · top-{fourier['top_k']} {fourier['concentration']:.2f}"
        )

    def _draw_nanda(self, analysis: dict[str, Any], option: str) -> None:
        all_y = self._curves(analysis, nanda_lines(analysis))
        if all_y:
            positions, labels = log_ticks(min(all_y), max(all_y))
            self.plt.yticks(positions, labels)
        self.plt.title(f"loss · key frequencies {analysis['nanda']['key_frequencies']}")

    def _draw_neurons(self, analysis: dict[str, Any], option: str) -> None:
        plt = self.plt
        section = analysis["neurons"]
        layers = section["layers"]
        if option == "over time":
            self._curves(analysis, neuron_lines(analysis))
            plt.ylim(0, 1)
            plt.title(
                f"fraction of live units in a frequency cluster (share >= {section['threshold']:.0%})"
            )
            return
        freqs = sorted({int(k) for layer in layers.values() for k in layer["clusters"]})
        if not freqs:
            plt.title("no unit holds 85% of its variance at one frequency yet")
            return
        counts = [
            [int(layer["clusters"].get(str(k), 0)) for k in freqs] for layer in layers.values()
        ]
        colours = [PALETTE[i % len(PALETTE)] for i in range(len(layers))]
        plt.multiple_bar([str(k) for k in freqs], counts, color=colours)
        plt.xlabel("frequency k")
        plt.title(
            "units per frequency cluster · "
            + ", ".join(
                f"{safe_text(name)} {layer['clustered_fraction']:.0%}"
                for name, layer in layers.items()
            )
        )

    def _draw_perturbation(self, analysis: dict[str, Any], option: str) -> None:
        plt = self.plt
        section = analysis["landscape"]["perturbation"]
        groups, (lo, hi) = perturbation_buckets(analysis, option)
        for colour, xs, ys in groups:
            if xs:
                plt.scatter(xs, ys, marker="dot", color=colour)
        plt.scatter(
            [section["unperturbed_sv"][0]], [section["unperturbed_sv"][1]], marker="x", color="red"
        )
        plt.xlabel(f"σ1 {safe_text(section['layers'][0])}")
        plt.ylabel(f"σ1 {safe_text(section['layers'][1])}")
        plt.title(f"{option} log10 loss {lo:.2f} (dark) .. {hi:.2f} (yellow) · x = trained")


class AnalysisLegend(Static):
    """The names of a view's curves on one line under the plot, never over the data."""

    DEFAULT_CSS = """
    AnalysisLegend { height: 1; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entries: list[tuple[str, RGB]] = []

    def show(self, analysis: dict[str, Any] | None, view: str, option: str) -> None:
        self.entries = legend_entries(analysis, view, option)
        self.display = bool(self.entries)
        self.refresh()

    def render(self) -> RenderResult:
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, (name, colour) in enumerate(fit_legend(self.entries, self.size.width)):
            text.append("  " if i else "")
            text.append("■ ", rgb_style(colour))
            text.append(name)
        return text
