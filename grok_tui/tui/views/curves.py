"""Curves as numbers: picking, smoothing and downsampling a run's records, and its colours.

Plain Python, no Textual and no plotext, so that it is tested on its own. plotext 5
cannot rebuild a log-scale plot, so losses are plotted as log10 on a linear axis.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from grok_tui.tui.views.ticks import time_unit

Point = tuple[float, float]

# Distinguishable on dark and light backgrounds; a run keeps its colour (see run_colours).
PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 130, 200),
    (230, 25, 75),
    (60, 180, 75),
    (245, 130, 48),
    (145, 30, 180),
    (70, 200, 220),
    (240, 50, 230),
    (180, 200, 40),
    (170, 110, 40),
    (0, 128, 128),
    (128, 128, 255),
    (200, 160, 0),
)

TRAIN_COLOUR = (0, 130, 200)

TEST_COLOUR = (230, 25, 75)

FIT_COLOUR = (60, 180, 75)

GROK_COLOUR = (200, 80, 220)


@dataclass(frozen=True)
class Series:
    """One curve to draw: points, colour, and whether it is the faint raw one."""

    name: str
    points: list[Point]
    colour: tuple[int, int, int]
    faint: bool = False
    dashed: bool = False  # the train curve beside a run's test curve (overlays, exports)
    group: str = ""  # the run it belongs to, in a panel of several runs
    marker: str = ""  # plotext's marker when not braille: a seed band's dotted "·" lines


def finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def points(records: Iterable[dict[str, Any]], x_key: str, y_key: str) -> list[Point]:
    """(x, y) of the records that have both values finite."""
    out = []
    for record in records:
        x, y = record.get(x_key), record.get(y_key)
        if finite(x) and finite(y):
            out.append((float(x), float(y)))
    return out


def log10_points(pts: Iterable[Point]) -> list[Point]:
    """log10 of y; points with y <= 0 have no place on a log axis and are left out."""
    return [(x, math.log10(y)) for x, y in pts if y > 0]


def ema(pts: Sequence[Point], weight: float) -> list[Point]:
    """Exponential moving average with debiasing (as TensorBoard smooths): weight in [0, 1)."""
    if weight <= 0 or not pts:
        return list(pts)
    out, last, correction = [], 0.0, 0.0
    for x, y in pts:
        last = weight * last + (1 - weight) * y
        correction = weight * correction + (1 - weight)
        out.append((x, last / correction))
    return out


def downsample(pts: Sequence[Point], max_points: int) -> list[Point]:
    """At most about max_points points, keeping each bucket's min and max (spikes survive).

    Plotting a 100k-step run must not cost more than a few points per terminal column.
    """
    n = len(pts)
    if max_points < 4 or n <= max_points:
        return list(pts)
    buckets = max_points // 2
    out: list[Point] = []
    for b in range(buckets):
        lo, hi = b * n // buckets, (b + 1) * n // buckets
        chunk = pts[lo:hi]
        if not chunk:
            continue
        i_min = min(range(len(chunk)), key=lambda i: chunk[i][1])
        i_max = max(range(len(chunk)), key=lambda i: chunk[i][1])
        for i in sorted({i_min, i_max}):
            out.append(chunk[i])
    if out[-1] != pts[-1]:  # the latest value is the one a user watches
        out.append(pts[-1])
    return out


def eta_seconds(summary: dict[str, Any]) -> float | None:
    """Seconds left at the current speed, or None when it cannot be told."""
    steps, step, speed = summary.get("steps"), summary.get("step"), summary.get("steps_per_s")
    if not (finite(steps) and finite(step) and finite(speed)) or speed <= 0:
        return None
    return max(0.0, (steps - step) / speed)


def run_colours(run_ids: Sequence[str]) -> dict[str, tuple[int, int, int]]:
    """A colour per run: the one its id hashes to, unless a run before it took that one.

    The same run gets the same colour from one session to the next, and runs shown
    together never share one while the palette lasts.
    """
    taken: set[int] = set()
    colours = {}
    for run_id in run_ids:
        index = zlib.crc32(run_id.encode()) % len(PALETTE)
        if len(taken) < len(PALETTE):
            while index in taken:
                index = (index + 1) % len(PALETTE)
        taken.add(index)
        colours[run_id] = PALETTE[index]
    return colours


def faint(colour: tuple[int, int, int], amount: float = 0.55) -> tuple[int, int, int]:
    """The colour moved toward grey: the raw curve behind its smoothed one."""
    grey = 110
    return tuple(round(c + (grey - c) * amount) for c in colour)  # type: ignore[return-value]


@dataclass(frozen=True)
class AxisOptions:
    """How curves are drawn: smoothing on/off (raw stays visible), the x axis and its scale."""

    smoothing: float = 0.0  # EMA weight; 0 is off
    x_key: str = "step"  # "step" or "elapsed_s"
    log_x: bool = False  # log10 of x (x <= 0, step 0 among them, has no place on it)


def build_series(
    pts: list[Point], name: str, colour: tuple[int, int, int], options: AxisOptions
) -> list[Series]:
    """The raw curve, and the smoothed one over it when smoothing is on."""
    if options.smoothing <= 0:
        return [Series(name, pts, colour)]
    return [
        Series(name + " (raw)", pts, faint(colour), faint=True),
        Series(name, ema(pts, options.smoothing), colour),
    ]


def x_label(options: AxisOptions, max_seconds: float = 0.0) -> str:
    if options.x_key == "step":
        return "step"
    return f"wall time ({time_unit(max_seconds)[0]})"


@dataclass(frozen=True)
class Mark:
    """A vertical line at an event (fit_step, grok_step)."""

    x: float
    colour: tuple[int, int, int]
    label: str


@dataclass
class Curves:
    """What the two panes draw: accuracy (0..1) and log10 loss, on a common x axis."""

    acc: list[Series]
    loss: list[Series]
    marks: list[Mark]
    x_label: str


def _x_of(records: Sequence[dict[str, Any]], options: AxisOptions) -> tuple[float, str]:
    """Divisor and label of the x axis for these records."""
    if options.x_key == "step":
        return 1.0, "step"
    seconds = max((r["elapsed_s"] for r in records if finite(r.get("elapsed_s"))), default=0.0)
    unit, divisor = time_unit(seconds)
    return divisor, f"wall time ({unit})"


def x_axis(records: Sequence[dict[str, Any]], options: AxisOptions) -> tuple[float, str]:
    """Divisor (wall time in s, min or h) and label of the x axis shared by these records."""
    return _x_of(records, options)


def scaled(pts: list[Point], divisor: float) -> list[Point]:
    """x over the axis's divisor (wall time in min or h)."""
    return pts if divisor == 1.0 else [(x / divisor, y) for x, y in pts]


def step_to_x(records: Sequence[dict[str, Any]], step: int, options: AxisOptions) -> float | None:
    """Where an event at a step sits on the x axis (wall time: that of the first record at or after it)."""
    if options.x_key == "step":
        return float(step)
    for record in records:
        if record.get("step", -1) >= step and finite(record.get(options.x_key)):
            return float(record[options.x_key])
    return None


def run_curves(
    records: Sequence[dict[str, Any]], summary: dict[str, Any], options: AxisOptions
) -> Curves:
    """Train and test curves of one run, with its fit and grok marks."""
    divisor, label = _x_of(records, options)
    x = options.x_key
    acc, loss = [], []
    for split, colour in (("train", TRAIN_COLOUR), ("test", TEST_COLOUR)):
        acc += build_series(
            scaled(points(records, x, f"{split}_acc"), divisor), split, colour, options
        )
        loss_pts = log10_points(points(records, x, f"{split}_loss"))
        loss += build_series(scaled(loss_pts, divisor), split, colour, options)
    return Curves(acc, loss, event_marks(records, summary, options, divisor), label)


def event_marks(
    records: Sequence[dict[str, Any]],
    summary: dict[str, Any],
    options: AxisOptions,
    divisor: float = 1.0,
) -> list[Mark]:
    """The run's fit and grok steps as marks on the x axis (data units over divisor)."""
    marks = []
    for key, colour, name in (("fit_step", FIT_COLOUR, "fit"), ("grok_step", GROK_COLOUR, "grok")):
        step = summary.get(key)
        if isinstance(step, int) and not isinstance(step, bool):
            position = step_to_x(records, step, options)
            if position is not None:
                marks.append(Mark(position / divisor, colour, f"{name} {step}"))
    return marks


def split_legend(
    head: str, names: Sequence[str], marks: Sequence[str], width: int
) -> tuple[list[str], list[str], list[str]]:
    """Fit a pane's legend into its borders: (title names, title marks, subtitle marks).

    The title holds the head (``accuracy``), the series' names and the marks (``grok
    150``); where they do not fit in ``width`` columns the marks go to the bottom border,
    and names too long for the rest are cut with an ellipsis, so that no entry, the grok
    mark least of all, falls off the edge. Each entry costs its text plus 4 columns (a
    swatch, spaces).
    """
    room = max(0, width - 4 - len(head))

    def cost(items: Sequence[str]) -> int:
        return sum(len(i) + 4 for i in items)

    if cost(names) + cost(marks) <= room:
        return list(names), list(marks), []
    if not names:
        return [], [], list(marks)
    each = max(3, room // len(names) - 4)
    cut = [n if len(n) <= each else n[: max(1, each - 1)] + "…" for n in names]
    while cut and cost(cut) > room:  # more runs than room: keep the first ones
        cut.pop()
    return cut, [], list(marks)
