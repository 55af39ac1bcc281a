"""A sweep's heatmap: one metric over two of its fields, drawn in text with plotext.

Coloured on a terminal, shaded characters (░▒▓█) with the values written in otherwise.
Points that share the two fields (seeds, say) are averaged. plotext is a text drawing
library, not UI: the one exception to DESIGN.md rule 4, imported only by render_heatmap
(pyproject.toml's import contract names this module).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from grok_tui.colours import viridis
from grok_tui.config import PresetError
from grok_tui.sweep.labels import axis_units, format_value
from grok_tui.sweep.metrics import METRICS, SEED_FIELDS, ReportRow, format_metric
from grok_tui.sweep.spec import value_key
from grok_tui.sweep.sweepdir import SweepDir


@dataclass
class HeatmapGrid:
    """A metric over two fields: cells[j][i] is the value at (x_values[i], y_values[j])."""

    metric: str
    x_field: str
    y_field: str
    x_values: list[Any]
    y_values: list[Any]
    cells: list[list[float | None]]
    over: list[str] = field(default_factory=list)  # fields averaged over

    def values(self) -> list[float]:
        return [v for row in self.cells for v in row if v is not None]


def heatmap_grid(
    sweep_dir: SweepDir,
    rows: Sequence[ReportRow],
    metric: str = "final_test_acc",
    x: str | None = None,
    y: str | None = None,
) -> HeatmapGrid | None:
    """The metric over two fields (default: the first two that vary); None with fewer.

    Points that share (x, y) but differ in other fields (seeds, say) are averaged,
    over those that have the metric (a grok_step never reached counts as absent).
    """
    if metric not in METRICS:
        raise PresetError(f"unknown metric '{metric}'; one of: {', '.join(METRICS)}")
    varying = sweep_dir.varying()
    for name, value in (("--x", x), ("--y", y)):
        if value is not None and value not in sweep_dir.axes:
            raise PresetError(
                f"{name}: '{value}' is not a field of this sweep; one of: "
                f"{', '.join(sweep_dir.axes)}"
            )
    unit_of = {
        f: tuple(unit)
        for unit in axis_units(list(sweep_dir.axes), sweep_dir.zip_groups)
        for f in unit
    }

    def axis(f: str) -> tuple[str, ...]:  # a zip group varies as one axis
        return unit_of[f]

    if x is not None and y is not None and x != y and axis(x) == axis(y):
        raise PresetError(f"--x {x} and --y {y} vary together (a zip group): they are one axis")
    # by default the first two axes that vary, seeds last: they are better summarised
    # (the spread table) than drawn
    free = [f for f in varying if f not in SEED_FIELDS] + [f for f in varying if f in SEED_FIELDS]
    used = {axis(f) for f in (x, y) if f is not None}
    for f in free:
        if x is not None and y is not None:
            break
        if axis(f) in used:
            continue
        used.add(axis(f))
        if x is None:
            x = f
        else:
            y = f
    if x is None or y is None or x == y:
        return None
    axes = sweep_dir.axes
    x_values = _distinct(axes[x])
    y_values = _distinct(axes[y])
    xi = {value_key(v): i for i, v in enumerate(x_values)}
    yi = {value_key(v): j for j, v in enumerate(y_values)}
    sums: list[list[list[float]]] = [[[] for _ in x_values] for _ in y_values]
    for row in rows:
        if x not in row.coords or y not in row.coords:
            continue
        i, j = xi.get(value_key(row.coords[x])), yi.get(value_key(row.coords[y]))
        value = _finite(row.value(metric))
        if i is None or j is None or value is None:  # a point off the axes, a value not drawn
            continue
        sums[j][i].append(value)
    cells = [[_mean(c) for c in line] for line in sums]
    over = [f for f in varying if axis(f) not in (axis(x), axis(y))]
    return HeatmapGrid(metric, x, y, x_values, y_values, cells, over)


def _finite(value: Any) -> float | None:
    """A metric's value as a float to draw, or None (absent, not a number, not finite)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int past the float range
        return None
    return number if math.isfinite(number) else None


def _mean(values: Sequence[float]) -> float | None:
    """The mean of finite values without overflow (two of 1e308 sum to inf); None if none."""
    if not values:
        return None
    mean = sum(v / len(values) for v in values)
    return mean if math.isfinite(mean) else None


def _distinct(values: Sequence[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for value in values:
        seen.setdefault(value_key(value), value)
    return list(seen.values())


SHADES = "░▒▓█"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PLOT_LOCK = threading.Lock()  # plotext keeps one global figure


def value_range(grid: HeatmapGrid) -> tuple[float, float]:
    """The colour scale: 0..1 for accuracies (comparable across sweeps), else the data's
    (its finite values: a grid built by hand may hold any)."""
    values = [v for v in (_finite(v) for v in grid.values()) if v is not None]
    if METRICS[grid.metric].kind == "acc":
        return 0.0, 1.0
    if not values:
        return 0.0, 1.0
    return min(values), max(values)


def scale_position(value: Any, low: float, high: float) -> float | None:
    """Where a value sits on the scale low..high, in [0, 1]; None when it is not a finite
    number. Halves are subtracted, so that a scale of -1e308..1e308 does not overflow."""
    number = _finite(value)
    if number is None:
        return None
    span = high / 2 - low / 2
    if not span > 0:
        return 0.0
    return min(max((number / 2 - low / 2) / span, 0.0), 1.0)


def heatmap_title(grid: HeatmapGrid, width: int = 200) -> str:
    """'final_test_acc by optim.lr and optim.weight_decay', shortened to fit ``width``."""
    for title in (
        f"{grid.metric} by {grid.x_field} and {grid.y_field}",
        f"{grid.metric} by {grid.x_field.rsplit('.', 1)[-1]} and {grid.y_field.rsplit('.', 1)[-1]}",
        grid.metric,
    ):
        if len(title) <= width:
            return title
    return grid.metric[:width]


def _cell_spans(chars: int, cells: int) -> list[list[float]]:
    """For each cell, the data coordinates of the character positions it fills.

    plotext puts data coordinate x (limits 0..cells) on character k = x / cells * (chars - 1);
    a cell takes the characters that fall inside it, less its first one (a gap between cells).
    """
    spans: list[list[float]] = [[] for _ in range(cells)]
    previous = -1
    for k in range(chars):
        x = k / max(chars - 1, 1) * cells
        cell = min(int(x), cells - 1)
        if cell == previous or cell == 0:
            spans[cell].append(x)
        previous = cell
    return spans


def render_heatmap(
    grid: HeatmapGrid, *, width: int = 80, height: int | None = None, color: bool = False
) -> str:
    """The heatmap drawn by plotext: ANSI colours when ``color``, else plain text.

    Plain text shades each cell by its value (░ low ... █ high) and writes the value in
    it; the axes carry the fields' values, so the text reads without colour.
    """
    import plotext as plt

    nx, ny = len(grid.x_values), len(grid.y_values)
    height = max(height or min(max(4 * ny + 6, 12), 40), 8)
    width = max(width, 30)
    low, high = value_range(grid)
    x_labels = [format_value(v) for v in grid.x_values]
    y_labels = [format_value(v) for v in grid.y_values]
    # The canvas inside the frame: the y tick labels and two borders take columns; the
    # title, two borders, the x tick labels and the axis labels take rows.
    columns = width - max(len(label) for label in y_labels) - 2
    rows = height - 5
    x_spans, y_spans = _cell_spans(columns, nx), _cell_spans(rows, ny)
    label_width = max(3, columns // max(nx, 1) - 3)
    with _PLOT_LOCK:
        plt.clf()
        plt.theme("clear")
        # the size asked for, not cut to the terminal plotext saw when it was imported
        # (80x24 without one): the TUI's pane and sweep-report --width decide
        plt.limitsize(False, False)
        plt.plotsize(width, height)
        for j in range(ny):
            for i in range(nx):
                t = scale_position(grid.cells[j][i], low, high)
                if t is None or not x_spans[i] or not y_spans[j]:
                    continue
                xs = [x for x in x_spans[i] for _ in y_spans[j]]
                ys = [y for _ in x_spans[i] for y in y_spans[j]]
                if color:
                    plt.scatter(xs, ys, marker="█", color=viridis(t))
                else:
                    shade = SHADES[min(int(t * len(SHADES)), len(SHADES) - 1)]
                    plt.scatter(xs, ys, marker=shade)
        for j in range(ny):
            for i in range(nx):
                value = grid.cells[j][i]
                text = f" {format_metric(grid.metric, value, width=label_width)} "
                t = scale_position(value, low, high)
                if color and t is not None:
                    r, g, b = viridis(t)
                    dark = 0.299 * r + 0.587 * g + 0.114 * b < 128
                    plt.text(
                        text,
                        i + 0.5,
                        j + 0.5,
                        alignment="center",
                        color="white" if dark else "black",
                        background=(r, g, b),
                    )
                else:
                    plt.text(text, i + 0.5, j + 0.5, alignment="center")
        plt.xticks([i + 0.5 for i in range(nx)], x_labels)
        plt.yticks([j + 0.5 for j in range(ny)], y_labels)
        plt.xlim(0, nx)
        plt.ylim(0, ny)
        plt.xlabel(grid.x_field)
        plt.ylabel(grid.y_field)
        plt.title(heatmap_title(grid, width - 2))
        text = plt.build()
        plt.clf()
    if not color:
        text = _ANSI.sub("", text)
    lines = [line.rstrip() for line in text.splitlines()]
    scale = (
        f"scale: {format_metric(grid.metric, low)} (dark{'/░' if not color else ''}) "
        f"to {format_metric(grid.metric, high)} (bright{'/█' if not color else ''})"
        " · '-': no value"
        + (f" · each cell the mean over {', '.join(grid.over)}" if grid.over else "")
    )
    return "\n".join([*lines, scale])
