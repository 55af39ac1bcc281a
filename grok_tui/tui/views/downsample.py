"""What a pane draws of a long run: a downsampled view of its columns, full resolution
only inside a zoomed window.

A pane is a few hundred cells wide; a 200,000-record run has a thousand records a cell.
Each curve is cut into at most MAX_POINTS / 2 buckets of equal width on the drawn x axis
(log10 x where the axis is logarithmic), and each bucket gives its lowest and highest
point, in x order: a spike, a collapse, the grok jump (the bucket where test accuracy
rises holds its lowest and its highest value) and the first and last points survive,
where taking every n-th record lost them. A zoomed window re-derives its view from the
full columns, so that zooming in reaches single records. Smoothing (EMA) runs over the
full columns before the view is cut. The full columns of a curve are cached: the cursor
and the zoom redraw without reading anything again. Pure (no Textual).
"""

from __future__ import annotations

import bisect
import math
import weakref
from array import array
from collections.abc import Sequence
from typing import Any

from grok_tui.rundirs.columns import Columns
from grok_tui.tui.views.cursor import from_plot_x, to_plot_x
from grok_tui.tui.views.curves import (
    FIT_COLOUR,
    GROK_COLOUR,
    TEST_COLOUR,
    TRAIN_COLOUR,
    AxisOptions,
    Mark,
    Point,
    Series,
    faint,
)
from grok_tui.tui.views.panels import FIELD_COLOUR, Panel, metric
from grok_tui.tui.views.ticks import time_unit

MAX_POINTS = 4000  # a view's points per curve: a few per braille dot of the widest pane

Window = tuple[float, float] | None  # plot units (log10 of x on a log axis)


def _ascending(values: array[float]) -> bool:
    return all(a <= b for a, b in zip(values, values[1:], strict=False))


def bucket_view(
    xs: Sequence[float],
    ys: Sequence[float],
    lo: int,
    hi: int,
    max_points: int = MAX_POINTS,
    *,
    log_x: bool = False,
    ascending: bool = True,
) -> list[Point]:
    """The points of ``xs[lo:hi]``, ``ys[lo:hi]`` (finite) in at most about max_points:
    each of max_points / 2 buckets, of equal width on the drawn axis, gives its lowest
    and highest point in x order; the first and last points are always kept."""
    n = hi - lo
    if n <= max_points or max_points < 4:
        return list(zip(xs[lo:hi], ys[lo:hi], strict=True))
    buckets = max_points // 2
    p0, p1 = to_plot_x(xs[lo], log_x), to_plot_x(xs[hi - 1], log_x)
    if ascending and p0 is not None and p1 is not None and p1 > p0:
        step = (p1 - p0) / buckets
        edges = [lo, *(bisect.bisect_left(xs, from_plot_x(p0 + k * step, log_x), lo, hi)
                       for k in range(1, buckets)), hi]  # fmt: skip
    else:  # not sorted by x (a crafted file): buckets of equal counts
        edges = [lo + k * n // buckets for k in range(buckets + 1)]
    out: list[Point] = []
    for a, b in zip(edges, edges[1:], strict=False):
        if a >= b:
            continue
        segment = ys[a:b]
        i, j = segment.index(min(segment)), segment.index(max(segment))
        for k in sorted({i, j}):
            out.append((xs[a + k], segment[k]))
    if out[0] != (xs[lo], ys[lo]):
        out.insert(0, (xs[lo], ys[lo]))
    if out[-1] != (xs[hi - 1], ys[hi - 1]):
        out.append((xs[hi - 1], ys[hi - 1]))
    return out


def ema_values(ys: Sequence[float], weight: float) -> array[float]:
    """curves.ema over values: TensorBoard's debiased exponential moving average."""
    out, last, correction = array("d"), 0.0, 0.0
    for y in ys:
        last = weight * last + (1 - weight) * y
        correction = weight * correction + (1 - weight)
        out.append(last / correction)
    return out


class Curve:
    """One field of one run against x, at full resolution: finite points only (y > 0,
    as log10 y, on a log scale), x over the axis's divisor."""

    def __init__(self, xs: array[float], ys: array[float]) -> None:
        self.xs, self.ys = xs, ys
        self.ascending = _ascending(xs)
        self._smoothed: dict[float, array[float]] = {}
        self._whole: dict[tuple[float, bool], list[Point]] = {}  # the unzoomed views

    def smoothed(self, weight: float) -> array[float]:
        if weight not in self._smoothed:
            self._smoothed = {weight: ema_values(self.ys, weight)}  # one weight at a time
        return self._smoothed[weight]

    def view(self, weight: float, window: Window, log_x: bool) -> list[Point]:
        """The points to draw (smoothed with ``weight``, 0 for the raw curve): the whole
        curve downsampled (kept for the next redraw), or, in a window, the curve's first
        and last points (the x extent stays the whole run's) around the window's own
        view, at full resolution where it holds few enough records."""
        if window is None:
            key = (weight, log_x)
            if key not in self._whole:
                self._whole[key] = self._view(weight, None, log_x)
            return self._whole[key]
        return self._view(weight, window, log_x)

    def _view(self, weight: float, window: Window, log_x: bool) -> list[Point]:
        ys = self.smoothed(weight) if weight > 0 else self.ys
        xs, n = self.xs, len(self.xs)
        if not n:
            return []
        lo, hi = 0, n
        if log_x and self.ascending:
            lo = bisect.bisect_right(xs, 0.0)  # x <= 0 has no place on a log axis: kept as
            if lo >= n:  # the panel's data (the drawing leaves it out), not bucketed
                return list(zip(xs, ys, strict=True))
        head = list(zip(xs[:lo], ys[:lo], strict=True))
        if window is None or not self.ascending:
            return head + bucket_view(xs, ys, lo, hi, log_x=log_x, ascending=self.ascending)
        a = max(lo, bisect.bisect_left(xs, from_plot_x(window[0], log_x)) - 1)
        b = min(n, bisect.bisect_right(xs, from_plot_x(window[1], log_x)) + 1)
        inside = bucket_view(xs, ys, a, b, log_x=log_x) if b > a else []
        first, last = (xs[lo], ys[lo]), (xs[-1], ys[-1])
        return [*head, *([first] if a > lo else []), *inside, *([last] if b < n else [])]


class RunCurves:
    """One run's columns made into panels: the run page and Live draw from it."""

    def __init__(self, columns: Columns) -> None:
        self.columns = columns
        self._curves: dict[tuple[Any, ...], Curve] = {}

    def x_axis(self, options: AxisOptions) -> tuple[float, str]:
        """Divisor and label of the x axis (wall time in s, min or h), as curves.x_axis."""
        if options.x_key == "step":
            return 1.0, "step"
        seconds = self._max(options.x_key)
        unit, divisor = time_unit(seconds)
        return divisor, f"wall time ({unit})"

    def _max(self, field: str) -> float:
        n = len(self.columns)
        key = ("max", field, n)
        if key not in self._curves:
            values = self.columns.values(field)[:n]
            finite = [v for v in values if math.isfinite(v)]
            self._curves[key] = max(finite, default=0.0)  # type: ignore[assignment]
        return self._curves[key]  # type: ignore[return-value]

    def curve(self, x_key: str, field: str, log_y: bool, divisor: float) -> Curve:
        """The field against x at full resolution (cached until the columns grow)."""
        n = len(self.columns)
        key = (x_key, field, log_y, divisor, n)
        curve = self._curves.get(key)
        if curve is None:
            xs_all, ys_all = self.columns.values(x_key)[:n], self.columns.values(field)[:n]
            if (
                math.isfinite(sum(xs_all))
                and math.isfinite(sum(ys_all))
                and (not log_y or min(ys_all, default=1.0) > 0)
            ):
                xs, ys = xs_all, ys_all
            else:
                pairs = [
                    (x, y)
                    for x, y in zip(xs_all, ys_all, strict=True)
                    if math.isfinite(x) and math.isfinite(y) and (y > 0 or not log_y)
                ]
                xs, ys = array("d", (p[0] for p in pairs)), array("d", (p[1] for p in pairs))
            if log_y:
                ys = array("d", map(math.log10, ys))
            if divisor != 1.0:
                xs = array("d", (x / divisor for x in xs))
            self._curves = {k: v for k, v in self._curves.items() if k[-1] == n}  # drop stale
            curve = self._curves[key] = Curve(xs, ys)
        return curve

    def step_to_x(self, step: int, options: AxisOptions) -> float | None:
        """curves.step_to_x on the columns: where an event at a step sits on the x axis."""
        if options.x_key == "step":
            return float(step)
        n = len(self.columns)
        steps, xs = self.columns.values("step")[:n], self.columns.values(options.x_key)[:n]
        for s, x in zip(steps, xs, strict=True):
            if s >= step and math.isfinite(x):
                return x
        return None

    def marks(self, summary: dict[str, Any], options: AxisOptions, divisor: float) -> list[Mark]:
        """The run's fit and grok steps as marks (curves.event_marks on the columns)."""
        marks = []
        for key, colour, name in (
            ("fit_step", FIT_COLOUR, "fit"),
            ("grok_step", GROK_COLOUR, "grok"),
        ):
            step = summary.get(key)
            if isinstance(step, int) and not isinstance(step, bool):
                position = self.step_to_x(step, options)
                if position is not None:
                    marks.append(Mark(position / divisor, colour, f"{name} {step}"))
        return marks

    def panel(
        self, summary: dict[str, Any], key: str, options: AxisOptions, window: Window = None
    ) -> Panel:
        """panels.run_panel from the columns: the downsampled view, or a window's."""
        m = metric(key)
        divisor, label = self.x_axis(options)
        colours = (TRAIN_COLOUR, TEST_COLOUR) if m.paired else (FIELD_COLOUR,)
        series: list[Series] = []
        for field, colour in zip(m.fields, colours, strict=False):
            name = field.partition("_")[0] if m.paired else field
            curve = self.curve(options.x_key, field, m.scale == "log", divisor)
            raw = curve.view(0.0, window, options.log_x)
            if options.smoothing <= 0:
                series.append(Series(name, raw, colour))
                continue
            smooth = curve.view(options.smoothing, window, options.log_x)
            series += [
                Series(name + " (raw)", raw, faint(colour), faint=True),
                Series(name, smooth, colour),
            ]
        marks = self.marks(summary, options, divisor)
        return Panel(m.title, m.scale, series, marks, label, smoothing=options.smoothing)


_RUNS: weakref.WeakKeyDictionary[Columns, RunCurves] = weakref.WeakKeyDictionary()


def run_curves(columns: Columns) -> RunCurves:
    """The RunCurves of these columns (one per columns object, kept while it lives)."""
    curves = _RUNS.get(columns)
    if curves is None:
        curves = _RUNS[columns] = RunCurves(columns)
    return curves


def view_panels(
    columns: Columns,
    summary: dict[str, Any],
    keys: Sequence[str],
    options: AxisOptions,
    zoomed: bool,
    window_of: Any,
) -> list[Panel]:
    """The panels of a run's page: the whole run's views, or, when ``zoomed``, each
    re-derived for the window that ``window_of(panels)`` gives (it reads the whole run's
    extent, which the zoomed panels keep)."""
    curves = run_curves(columns)
    panels = [curves.panel(summary, key, options) for key in keys]
    if not zoomed:
        return panels
    window = window_of(panels)
    return [curves.panel(summary, key, options, window) for key in keys]
