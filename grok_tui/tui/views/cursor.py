"""A screen's zoom, log x axis and cursor over its panels: the window every pane shares,
the records the cursor stops at and the values it reads out."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

from grok_tui.tui.views.curves import Point
from grok_tui.tui.views.panels import Panel
from grok_tui.tui.views.ticks import format_value

MAX_ZOOM = 12  # 2**12 times in: a few records of a 100k-step run


@dataclass(frozen=True)
class View:
    """A screen's zoom and cursor (the x axis's scale is the app's, in AxisOptions).

    zoom: the x window is the full span over 2**zoom; cursor: a data x, or None to
    follow the latest records.
    """

    zoom: int = 0
    cursor: float | None = None


def to_plot_x(x: float, log_x: bool) -> float | None:
    """Where a data x sits on the drawn axis; None where a log axis has no place for it."""
    if not log_x:
        return x
    return math.log10(x) if x > 0 else None


def from_plot_x(x: float, log_x: bool) -> float:
    return 10**x if log_x else x


def x_extent(panels: Sequence[Panel], log_x: bool) -> tuple[float, float] | None:
    """The range of x (plot units) over every curve of the panels."""
    xs = [
        px
        for panel in panels
        for s in panel.series
        for x, _ in s.points
        if (px := to_plot_x(x, log_x)) is not None
    ]
    return (min(xs), max(xs)) if xs else None


def x_window(
    extent: tuple[float, float] | None, zoom: int, centre: float | None
) -> tuple[float, float] | None:
    """The part of the x axis shown at this zoom: around the centre, or the latest part."""
    if extent is None or zoom <= 0 or extent[1] <= extent[0]:
        return extent
    lo, hi = extent
    width = (hi - lo) / 2 ** min(zoom, MAX_ZOOM)
    if centre is None:  # no cursor: the last part, where a live run grows
        return hi - width, hi
    start = min(max(centre - width / 2, lo), hi - width)
    return start, start + width


def view_window(panels: Sequence[Panel], log_x: bool, view: View) -> tuple[float, float] | None:
    """The window (plot units) that every pane of a screen shares."""
    centre = None if view.cursor is None else to_plot_x(view.cursor, log_x)
    return x_window(x_extent(panels, log_x), view.zoom, centre)


def pane_windows(
    panels: Sequence[Panel], log_x: bool, view: View
) -> list[tuple[float, float] | None]:
    """Each panel's own window: a small multiple spans (and zooms into) its own run, where
    one window shared with the longest run would leave a short run a sliver, or nothing."""
    return [view_window([panel], log_x, view) for panel in panels]


def cursor_xs(
    panels: Sequence[Panel], log_x: bool, window: tuple[float, float] | None
) -> list[float]:
    """The data x of every record the panes show inside the window: where the cursor stops."""
    xs: set[float] = set()
    for panel in panels:
        for s in panel.series:
            if s.faint:
                continue
            for x, _ in s.points:
                px = to_plot_x(x, log_x)
                if px is not None and (window is None or window[0] <= px <= window[1]):
                    xs.add(x)
    return sorted(xs)


def move_cursor(xs: Sequence[float], cursor: float | None, delta: int) -> float | None:
    """The cursor moved by delta records; from no cursor it starts at the latest one."""
    if not xs:
        return None
    if cursor is None:
        index = len(xs) - 1
    else:
        index = min(range(len(xs)), key=lambda i: abs(xs[i] - cursor))
    return xs[max(0, min(len(xs) - 1, index + delta))]


def reading_at(pts: Sequence[Point], x: float) -> Point | None:
    """The last point at or before x: a curve holds its value until its next record."""
    i = bisect.bisect_right([p[0] for p in pts], x)
    return pts[i - 1] if i else None


def value_at(pts: Sequence[Point], x: float) -> float | None:
    """y of the last point at or before x (a curve holds its value until its next record)."""
    point = reading_at(pts, x)
    return None if point is None else point[1]


def readings_at(panel: Panel, x: float) -> list[tuple[str, float, float]]:
    """(name, value in data units, x it was recorded at) of each drawn curve at x: a run
    that ended before x, or was not evaluated at x, is read at its own last record."""
    out = []
    for s in panel.series:
        if s.faint:
            continue
        point = reading_at(s.points, x)
        if point is not None:
            out.append((s.name, 10 ** point[1] if panel.scale == "log" else point[1], point[0]))
    return out


def values_at(panel: Panel, x: float) -> list[tuple[str, float]]:
    """(name, value in data units) of each drawn curve of a panel at x."""
    return [(name, value) for name, value, _ in readings_at(panel, x)]


def latest_x(panels: Sequence[Panel]) -> float | None:
    xs = [s.points[-1][0] for p in panels for s in p.series if s.points and not s.faint]
    return max(xs) if xs else None


def cursor_line(panels: Sequence[Panel], cursor: float | None) -> str:
    """The values under the cursor (or the latest ones), pane by pane, on one line.

    Each curve is read at its own record at or before the line's x; one recorded at
    another x (a run that ended earlier, or evaluated at other steps) says its step.
    """
    x = cursor if cursor is not None else latest_x(panels)
    if x is None or not panels:
        return ""
    label = panels[0].x_label

    def at(value: float) -> str:
        return f"{value:.0f}" if label == "step" else format_value(value)

    where = f"step {at(x)}" if label == "step" else f"{label} {format_value(x)}"
    every = [readings_at(panel, x) for panel in panels]
    read = {at(x_read) for readings in every for _, _, x_read in readings}
    common = read.pop() if len(read) == 1 else at(x)  # all at one record: said once
    where += "" if common == at(x) else f" @{common}"
    parts = ["cursor " + where if cursor is not None else "latest " + where]
    for panel, listed in zip(panels, every, strict=True):
        readings = {name: (value, x_read) for name, value, x_read in listed}
        shown = []
        for name, (value, x_read) in readings.items():
            if name.endswith(" train") and name.removesuffix(" train") in readings:
                continue  # told with its run's test value: "1:a 0.41/1"
            train = readings.get(f"{name} train")
            text = format_value(value) + ("" if train is None else f"/{format_value(train[0])}")
            step = "" if at(x_read) == common else f" @{at(x_read)}"
            shown.append(f"{name} {text}{step}")
        key = panel.title.removesuffix(" (log)")
        if list(readings) == [key]:  # one field, named as its pane: "param_norm 23.5"
            parts.append(shown[0])
        elif shown:
            pair = " (test/train)" if any(n.endswith(" train") for n in readings) else ""
            parts.append(f"{key}{pair}: {' '.join(shown)}")
    return " │ ".join(parts)
