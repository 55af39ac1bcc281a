"""A panel made ready for a pane of so many cells: clipped to the window, downsampled to
the width, with its ticks and limits (pure: tested without plotext)."""

from __future__ import annotations

from dataclasses import dataclass, field

from grok_tui.tui.views.cursor import to_plot_x
from grok_tui.tui.views.curves import Mark, Point, Series, downsample
from grok_tui.tui.views.panels import Panel
from grok_tui.tui.views.ticks import format_number, linear_labels, log_ticks, nice_ticks

Label = tuple[float, float, str, tuple[int, int, int] | None]


@dataclass
class Plotted:
    """What a pane draws, in plot units: clipped, downsampled curves, ticks and limits."""

    curves: list[tuple[Series, list[Point]]]
    marks: list[Mark]
    x_ticks: tuple[list[float], list[str]]
    y_ticks: tuple[list[float], list[str]]
    x_lim: tuple[float, float] | None
    y_lim: tuple[float, float] | None
    cursor: float | None
    # (x, y, text, colour or None): the tag a line ends with, right-aligned at its last point
    labels: list[Label] = field(default_factory=list)


def end_labels(
    panel: Panel,
    curves: list[tuple[Series, list[Point]]],
    x_lim: tuple[float, float],
    y_lim: tuple[float, float],
    width: int,
    height: int,
) -> list[Label]:
    """Each tagged run's label at the end of its solid line in the window (panel.tags), so
    that an overlay reads without colour; labels that would overlap in a pane of width x
    height cells are written once, as "1,2", at the later point."""
    ends: dict[str, tuple[Point, tuple[int, int, int]]] = {}
    for series, pts in curves:
        if series.group in panel.tags and not series.faint and not series.dashed:
            ends[series.group] = (pts[-1], series.colour)
    cols, rows = max(1, width - 8), max(1, height - 4)  # the plot area, about

    def cell(x: float, y: float) -> tuple[int, int]:
        dx, dy = x_lim[1] - x_lim[0], y_lim[1] - y_lim[0]
        return (
            round((x - x_lim[0]) / dx * cols) if dx > 0 else 0,
            round((y - y_lim[0]) / dy * rows) if dy > 0 else 0,
        )

    placed: list[tuple[int, int, Label]] = []
    for group, tag in panel.tags.items():
        if group not in ends:
            continue
        (x, y), colour = ends[group]
        col, row = cell(x, y)
        for n, (other_col, other_row, other) in enumerate(placed):
            # right-aligned: a label covers the cells up to its column, one cell apart
            if row == other_row and abs(col - other_col) <= max(len(tag), len(other[2])):
                text = f"{other[2]},{tag}"
                later = (x, y) if x > other[0] else (other[0], other[1])
                mixed = colour if colour == other[3] else None
                placed[n] = (max(col, other_col), row, (*later, text, mixed))
                break
        else:
            placed.append((col, row, (x, y, tag, colour)))
    return [label for _, _, label in placed]


def plotted(
    panel: Panel,
    *,
    log_x: bool,
    window: tuple[float, float] | None,
    cursor: float | None,
    width: int,
    height: int,
) -> Plotted:
    """A panel made ready for a pane of width x height cells (pure: tested without plotext)."""
    curves = []
    for s in panel.series:
        pts = []
        for x, y in s.points:
            px = to_plot_x(x, log_x)
            if px is not None and (window is None or window[0] <= px <= window[1]):
                pts.append((px, y))
        if pts:
            curves.append((s, downsample(pts, 2 * width)))
    marks = []
    for mark in panel.marks:
        px = to_plot_x(mark.x, log_x)
        if px is not None and (window is None or window[0] <= px <= window[1]):
            marks.append(Mark(px, mark.colour, mark.label))
    cursor_px = None if cursor is None else to_plot_x(cursor, log_x)
    if cursor_px is not None and window is not None and not window[0] <= cursor_px <= window[1]:
        cursor_px = None
    xs = [p[0] for _, pts in curves for p in pts] + [m.x for m in marks]
    if window is not None:
        x_lo, x_hi = window
    elif xs:
        x_lo, x_hi = min(xs), max(xs)
    else:
        return Plotted([], [], ([], []), ([], []), None, None, None)
    if log_x:
        x_ticks = log_ticks(x_lo, x_hi)
    else:
        ticks = nice_ticks(x_lo, x_hi, max(2, min(6, width // 12)))
        x_ticks = (ticks, [format_number(t) for t in ticks])
    ys = [p[1] for _, pts in curves for p in pts]
    y_lim = None
    if panel.scale == "unit":
        y_lim = (0.0, 1.0)
        ticks = [0, 0.5, 1] if height < 12 else [0, 0.25, 0.5, 0.75, 1]
        y_ticks = (ticks, [f"{t:g}" for t in ticks])
    elif not ys:
        y_ticks = ([], [])
    elif panel.scale == "log":
        y_ticks = log_ticks(min(ys), max(ys))
    else:
        lo, hi = min(ys), max(ys)
        if hi - lo < 1e-12:  # a flat curve (a constant lr): a band around it
            pad = abs(lo) * 0.1 or 0.5
            lo, hi = lo - pad, hi + pad
        y_lim = (lo, hi)
        ticks = nice_ticks(lo, hi, 3 if height < 12 else 4)
        y_ticks = (ticks, linear_labels(ticks))
    x_lim = (x_lo, x_hi) if x_hi > x_lo else None
    labels = []
    if panel.tags and ys:
        span = y_lim or (min(ys), max(ys))
        labels = end_labels(panel, curves, (x_lo, x_hi), span, width, height)
    return Plotted(curves, marks, x_ticks, y_ticks, x_lim, y_lim, cursor_px, labels)
