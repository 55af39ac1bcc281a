"""A plotext pane that draws curves: accuracy on 0..1, loss as log10 with plain labels, or
any metric of a record (show_panel), with a zoom window, a log x axis and a cursor line.

textual-plotext rebuilds the whole chart on every render, so the data is set once per
change (show(), show_panel()), downsampled to about two points per column at render
time, and a render only re-adds the series when the data or the size changed.
"""

from __future__ import annotations

from typing import Any, Literal

from textual import events
from textual.content import Content
from textual_plotext import PlotextPlot

from grok_tui.text import safe_markup
from grok_tui.tui.ansi import ansi_content
from grok_tui.tui.views import smoothing
from grok_tui.tui.views.curves import Mark, Series, downsample, split_legend
from grok_tui.tui.views.panels import Panel
from grok_tui.tui.views.plotted import Plotted, plotted
from grok_tui.tui.views.ticks import format_number, log_ticks, nice_ticks

Kind = Literal["accuracy", "loss"]
CURSOR_COLOUR = (160, 160, 160)


def swatch(colour: tuple[int, int, int], text: str) -> str:
    """A legend entry for the border title (Textual markup): the name (a run's) escaped."""
    r, g, b = colour
    return f"[rgb({r},{g},{b})]━[/] {safe_markup(text)}"


class CurvePane(PlotextPlot):
    """One chart; its legend and marks go in the border title, not over the curves."""

    DEFAULT_CSS = """
    CurvePane {
        border: round $panel-lighten-2;
        border-title-align: left;
        padding: 0;
    }
    """

    def __init__(self, kind: Kind, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.kind = kind
        self.series: list[Series] = []
        self.marks: list[Mark] = []
        self.x_label = "step"
        self.empty_text = "waiting for the first evaluation"
        self._version = 0
        self._built: tuple[Any, ...] | None = None  # size, data version, themes
        self._rendered: Any = None
        self.border_title = kind
        self.head = kind if kind == "accuracy" else "loss (log)"
        self.panel: Panel | None = None  # set by show_panel; None: show()'s two kinds
        # how show_panel's panel is framed: log x axis, x window (plot units), cursor (data x)
        self.log_x = False
        self.window: tuple[float, float] | None = None
        self.cursor: float | None = None

    def show(
        self,
        series: list[Series],
        *,
        marks: list[Mark] | None = None,
        x_label: str = "step",
        legend: bool = True,
    ) -> None:
        """Replace what the pane draws; it redraws on its next refresh."""
        self.panel = None
        self.head = self.kind if self.kind == "accuracy" else "loss (log)"
        self.series = series
        self.marks = marks or []
        self.x_label = x_label
        self._legend = legend
        self._changed()

    def show_panel(
        self,
        panel: Panel,
        *,
        log_x: bool = False,
        window: tuple[float, float] | None = None,
        cursor: float | None = None,
        legend: bool = True,
        title: str | None = None,
    ) -> None:
        """Draw a panel (views.panels.run_panel, runs_panel) in the screen's window and cursor.

        title replaces the panel's own head (a small multiple names its run there).
        """
        self.panel = panel
        self.head = title if title is not None else panel.title
        self.series = panel.series
        self.marks = panel.marks
        self.x_label = ("log " if log_x else "") + panel.x_label
        self._legend = legend
        self.log_x, self.window, self.cursor = log_x, window, cursor
        self._changed()

    def _changed(self) -> None:
        self._version += 1
        if self.size.width:
            self._titles(self.size.width)
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        # the content width, as _changed passes: event.size counts the border too, and a
        # legend fitted to it overflowed the title by the two border cells ("━ fit …")
        self._titles(self.size.width)

    def _titles(self, width: int) -> None:
        """The legend in the borders, fitted to the pane's width (views.curves.split_legend)."""
        head = self.head
        key = head.removesuffix(" (log)")  # a one-field metric's curve is named by the head
        shown = [s for s in self.series if not s.faint and s.name != key] if self._legend else []
        ema = smoothing.label(self.panel.smoothing) if self.panel is not None else ""
        band = self.panel.band if self.panel is not None else ""  # "band: min–max of 3 runs"
        labels = [m.label for m in self.marks] + [t for t in (ema, band) if t]  # no swatch
        names, top_marks, bottom_marks = split_legend(head, [s.name for s in shown], labels, width)
        colours = {m.label: m.colour for m in self.marks}

        def entry(label: str) -> str:
            return swatch(colours[label], label) if label in colours else safe_markup(label)

        parts = [head] + [swatch(s.colour, n) for s, n in zip(shown, names, strict=False)]
        parts += [entry(label) for label in top_marks]
        self.border_title = "  ".join(parts)
        self.border_subtitle = "  ".join(entry(label) for label in bottom_marks)

    _legend = True

    def render(self):  # type: ignore[override]
        """The chart, built (plotext, then its ANSI decoded: tens of ms) only when the data,
        the size or the theme changed; a repaint for any other reason reuses it."""
        key = (self.size.width, self.size.height, self._version, self.app.theme, self.theme)
        if key != self._built or self._rendered is None:
            if key[:3] != (self._built or ())[:3]:
                self._rebuild()
            self._built = key
            self._rendered = self._chart()
        return self._rendered

    def _chart(self) -> Content:
        """PlotextPlot.render's chart, decoded to Content in one pass (tui/ansi.py)."""
        plot = self.plt
        plot.plotsize(self.size.width, self.size.height)
        plot._set_size(self.size.width, self.size.height)  # as PlotextPlot.render does
        plot.theme(self._get_plotext_theme_name(self.app.theme))
        return ansi_content(plot.build(), self.app.ansi_theme)

    def _rebuild(self) -> None:
        plt = self.plt
        plt.clear_figure()
        width, height = max(self.size.width, 10), max(self.size.height, 4)
        if self.panel is not None:
            self._draw(
                plotted(
                    self.panel,
                    log_x=self.log_x,
                    window=self.window,
                    cursor=self.cursor,
                    width=width,
                    height=height,
                ),
                height,
            )
            return
        drawn = [(s, downsample(s.points, 2 * width)) for s in self.series if s.points]
        if not drawn:
            plt.title(self.empty_text)
            plt.xticks([], [])
            plt.yticks([], [])
            return
        for series, pts in drawn:
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            if len(pts) == 1:
                plt.scatter(xs, ys, marker="dot", color=series.colour)
            else:
                plt.plot(xs, ys, marker="braille", color=series.colour)
        all_x = [p[0] for _, pts in drawn for p in pts]
        x_lo, x_hi = min(all_x), max(all_x)
        for mark in self.marks:
            plt.vertical_line(mark.x, color=mark.colour)
            x_lo, x_hi = min(x_lo, mark.x), max(x_hi, mark.x)
        ticks = nice_ticks(x_lo, x_hi, max(2, min(6, width // 12)))
        plt.xticks(ticks, [format_number(t) for t in ticks])
        if self.kind == "accuracy":
            plt.ylim(0, 1)
            ticks = [0, 0.5, 1] if height < 12 else [0, 0.25, 0.5, 0.75, 1]
            plt.yticks(ticks, [f"{t:g}" for t in ticks])
        else:
            all_y = [p[1] for _, pts in drawn for p in pts]
            positions, labels = log_ticks(min(all_y), max(all_y))
            plt.yticks(positions, labels)
        if height >= 12:
            plt.xlabel(self.x_label)

    def _draw(self, view: Plotted, height: int) -> None:
        """Draw a panel made ready by views.plotted (clipped, downsampled, ticks chosen)."""
        plt = self.plt
        if not view.curves:
            plt.title(self.empty_text)
            plt.xticks([], [])
            plt.yticks([], [])
            return
        for series, pts in view.curves:
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            if len(pts) == 1:
                plt.scatter(xs, ys, marker="dot", color=series.colour)
            else:
                plt.plot(xs, ys, marker=series.marker or "braille", color=series.colour)
        for mark in view.marks:
            plt.vertical_line(mark.x, color=mark.colour)
        for x, y, text, colour in view.labels:  # an overlay's runs, told apart without colour
            plt.text(text, x, y, color=colour or "default", style="bold", alignment="right")
        if view.cursor is not None:
            plt.vertical_line(view.cursor, color=CURSOR_COLOUR)
        if view.x_lim is not None:
            plt.xlim(*view.x_lim)
        if view.y_lim is not None:
            plt.ylim(*view.y_lim)
        plt.xticks(*view.x_ticks)
        plt.yticks(*view.y_ticks)
        if height >= 12:
            plt.xlabel(self.x_label)
