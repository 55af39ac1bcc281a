"""Curves as numbers: picking, smoothing, downsampling and tick labels for the plot panes.

Plain Python, no Textual and no plotext, so that it is tested on its own. plotext 5
cannot rebuild a log-scale plot, so losses are plotted as log10 on a linear axis with
the tick labels made here.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

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


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def points(records: Iterable[dict[str, Any]], x_key: str, y_key: str) -> list[Point]:
    """(x, y) of the records that have both values finite."""
    out = []
    for record in records:
        x, y = record.get(x_key), record.get(y_key)
        if _finite(x) and _finite(y):
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


def nice_step(span: float, count: int) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about count intervals."""
    if span <= 0 or count < 1:
        return 1.0
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick positions covering [lo, hi]."""
    if hi <= lo:
        return [lo]
    step = nice_step(hi - lo, count)
    first = math.ceil(lo / step - 1e-9) * step
    ticks, value = [], first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def format_number(value: float) -> str:
    """Short tick text: 0, 250, 1.5k, 20k, 1.2M, 0.25."""
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:g}M"
    if magnitude >= 1e3:
        return f"{value / 1e3:g}k"
    if magnitude >= 1 or value == 0:
        return f"{value:g}"
    return f"{value:.3g}"


def log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Tick positions (in log10 units) and labels (in plain units) for a log10 axis."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [], []
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    first, last = math.floor(lo), math.ceil(hi)
    decades = last - first
    mantissas = (1,) if decades > 2 else (1, 2, 5) if decades > 1 else (1, 2, 3, 5)
    positions, labels = [], []
    for exponent in range(first, last + 1):
        for m in mantissas:
            position = exponent + math.log10(m)
            if lo - 1e-9 <= position <= hi + 1e-9:
                positions.append(position)
                labels.append(format_log_label(m * 10.0**exponent))
    if len(positions) > 6:  # keep labels apart on a short pane
        keep = math.ceil(len(positions) / 6)
        positions, labels = positions[::keep], labels[::keep]
    if len(positions) < 2:  # a narrow range (4.3 .. 4.9): round values inside it
        values = [v for v in nice_ticks(10**lo, 10**hi, 4) if v > 0]
        positions = [math.log10(v) for v in values]
        labels = [f"{v:.3g}" for v in values]
    return positions, labels


def format_log_label(value: float) -> str:
    if 1e-2 <= value < 1e4:
        return f"{value:g}"
    return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")


def time_unit(max_seconds: float) -> tuple[str, float]:
    """The unit to show wall time in, and the divisor from seconds."""
    if max_seconds < 300:
        return "s", 1.0
    if max_seconds < 3 * 3600:
        return "min", 60.0
    return "h", 3600.0


def eta_seconds(summary: dict[str, Any]) -> float | None:
    """Seconds left at the current speed, or None when it cannot be told."""
    steps, step, speed = summary.get("steps"), summary.get("step"), summary.get("steps_per_s")
    if not (_finite(steps) and _finite(step) and _finite(speed)) or speed <= 0:
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
    """How curves are drawn: smoothing on/off (raw stays visible) and the x axis."""

    smoothing: float = 0.0  # EMA weight; 0 is off
    x_key: str = "step"  # "step" or "elapsed_s"


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
    seconds = max((r["elapsed_s"] for r in records if _finite(r.get("elapsed_s"))), default=0.0)
    unit, divisor = time_unit(seconds)
    return divisor, f"wall time ({unit})"


def _scaled(pts: list[Point], divisor: float) -> list[Point]:
    return pts if divisor == 1.0 else [(x / divisor, y) for x, y in pts]


def step_to_x(records: Sequence[dict[str, Any]], step: int, options: AxisOptions) -> float | None:
    """Where an event at a step sits on the x axis (wall time: that of the first record at or after it)."""
    if options.x_key == "step":
        return float(step)
    for record in records:
        if record.get("step", -1) >= step and _finite(record.get(options.x_key)):
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
            _scaled(points(records, x, f"{split}_acc"), divisor), split, colour, options
        )
        loss_pts = log10_points(points(records, x, f"{split}_loss"))
        loss += build_series(_scaled(loss_pts, divisor), split, colour, options)
    marks = []
    for key, colour, name in (("fit_step", FIT_COLOUR, "fit"), ("grok_step", GROK_COLOUR, "grok")):
        step = summary.get(key)
        if isinstance(step, int):
            position = step_to_x(records, step, options)
            if position is not None:
                marks.append(Mark(position / divisor, colour, f"{name} {step}"))
    return Curves(acc, loss, marks, label)


def compare_curves(
    runs: Sequence[tuple[str, Sequence[dict[str, Any]]]],
    colours: dict[str, tuple[int, int, int]],
    options: AxisOptions,
) -> Curves:
    """Test accuracy and test loss of several runs, one colour each."""
    all_records = [r for _, records in runs for r in records]
    divisor, label = _x_of(all_records, options)
    x = options.x_key
    acc, loss = [], []
    for run_id, records in runs:
        colour = colours[run_id]
        acc += build_series(
            _scaled(points(records, x, "test_acc"), divisor), run_id, colour, options
        )
        loss_pts = log10_points(points(records, x, "test_loss"))
        loss += build_series(_scaled(loss_pts, divisor), run_id, colour, options)
    return Curves(acc, loss, [], label)


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
