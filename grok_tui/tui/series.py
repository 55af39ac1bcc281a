"""Curves as numbers: picking, smoothing, downsampling and tick labels for the plot panes.

Plain Python, no Textual and no plotext, so that it is tested on its own. plotext 5
cannot rebuild a log-scale plot, so losses are plotted as log10 on a linear axis with
the tick labels made here.
"""

from __future__ import annotations

import bisect
import math
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
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
    dashed: bool = False  # the train curve beside a run's test curve (overlays, exports)
    group: str = ""  # the run it belongs to, in a panel of several runs


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
    seconds = max((r["elapsed_s"] for r in records if _finite(r.get("elapsed_s"))), default=0.0)
    unit, divisor = time_unit(seconds)
    return divisor, f"wall time ({unit})"


def x_axis(records: Sequence[dict[str, Any]], options: AxisOptions) -> tuple[float, str]:
    """Divisor (wall time in s, min or h) and label of the x axis shared by these records."""
    return _x_of(records, options)


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


# -- any metric in a pane, zoom, a log x axis and a cursor (Live, Compare, a run) ------------

NOT_METRICS = frozenset({"step", "epoch", "elapsed_s"})  # the x axes, not curves
PAIRS = {"accuracy": ("train_acc", "test_acc"), "loss": ("train_loss", "test_loss")}
DEFAULT_METRICS = ("accuracy", "loss")
WEIGHT_NORM = "param_norm"
FIRST_FIELDS = (WEIGHT_NORM, "grad_norm", "lr")  # listed before the progress measures
# fields that are shares or fractions: drawn on 0..1 like accuracy
UNIT_FIELDS = frozenset({"softmax_collapse", "key_frequency_share", "key_logit_fraction"})
FIELD_COLOUR = (245, 130, 48)
MAX_ZOOM = 12  # 2**12 times in: a few records of a 100k-step run


@dataclass(frozen=True)
class Metric:
    """What a pane plots: a train/test pair or one record field, on its y scale.

    scale: "unit" (0..1, accuracies and shares), "log" (plotted as log10 with plain
    labels: plotext cannot rebuild a log plot) or "linear".
    """

    key: str
    fields: tuple[str, ...]
    scale: str

    @property
    def title(self) -> str:
        return f"{self.key} (log)" if self.scale == "log" else self.key

    @property
    def paired(self) -> bool:
        return len(self.fields) == 2


def metric(key: str) -> Metric:
    """The metric a pane shows for a key: ``accuracy``, ``loss`` or any record field."""
    if key in PAIRS:
        return Metric(key, PAIRS[key], "unit" if key == "accuracy" else "log")
    if key.endswith("loss"):
        return Metric(key, (key,), "log")
    if key.endswith("_acc") or key in UNIT_FIELDS:
        return Metric(key, (key,), "unit")
    return Metric(key, (key,), "linear")


def metric_keys(records: Sequence[dict[str, Any]]) -> list[str]:
    """What a pane can plot for these records: the pairs, then every numeric field.

    Progress measures may be written every few evaluations only, so the first and last
    records are looked at, not just one; weight norm, gradient norm and lr come first.
    """
    seen: set[str] = set()
    for record in (*records[:50], *records[-200:]):
        seen.update(k for k, v in record.items() if k not in NOT_METRICS and _finite(v))
    paired = {field for pair in PAIRS.values() for field in pair}
    first = [k for k in FIRST_FIELDS if k in seen]
    rest = sorted(seen - paired - set(FIRST_FIELDS))
    return [*DEFAULT_METRICS, *first, *rest]


@dataclass
class Panel:
    """One pane's curves, drawn (curve_pane) and exported (plot_export) alike.

    x is in data units (steps, or wall time over the unit's divisor); y in plot units:
    log10 of the value when the scale is "log".
    """

    title: str
    scale: str
    series: list[Series]
    marks: list[Mark]
    x_label: str


def _y_points(pts: list[Point], m: Metric) -> list[Point]:
    return log10_points(pts) if m.scale == "log" else pts


def run_panel(
    records: Sequence[dict[str, Any]], summary: dict[str, Any], key: str, options: AxisOptions
) -> Panel:
    """One run's metric: train and test in their colours for a pair, with fit and grok marks."""
    m = metric(key)
    divisor, label = _x_of(records, options)
    colours = (TRAIN_COLOUR, TEST_COLOUR) if m.paired else (FIELD_COLOUR,)
    series: list[Series] = []
    for field, colour in zip(m.fields, colours, strict=False):
        name = field.partition("_")[0] if m.paired else field
        pts = _y_points(_scaled(points(records, options.x_key, field), divisor), m)
        series += build_series(pts, name, colour, options)
    return Panel(m.title, m.scale, series, event_marks(records, summary, options, divisor), label)


def runs_panel(
    runs: Sequence[tuple[str, str, Sequence[dict[str, Any]]]],
    colours: dict[str, tuple[int, int, int]],
    key: str,
    options: AxisOptions,
) -> Panel:
    """Several runs' metric overlaid, one colour each: (run id, label, records) per run.

    Of a pair, test is drawn solid in the run's colour and train dimmer (dashed in an
    export), so that the gap between them, the grokking, reads at a glance.
    """
    m = metric(key)
    divisor, label = _x_of([r for _, _, records in runs for r in records], options)
    series: list[Series] = []
    for run_id, name, records in runs:
        colour = colours[run_id]
        for field in m.fields:
            pts = _y_points(_scaled(points(records, options.x_key, field), divisor), m)
            if m.paired and field.startswith("train"):
                smooth = ema(pts, options.smoothing)  # raw train would be a third curve a run
                dim = faint(colour, 0.45)
                series.append(Series(f"{name} train", smooth, dim, dashed=True, group=run_id))
            else:
                series += [
                    replace(s, group=run_id) for s in build_series(pts, name, colour, options)
                ]
    return Panel(m.title, m.scale, series, [], label)


def small_multiples(panel: Panel, runs: Sequence[tuple[str, str, list[Mark]]]) -> list[Panel]:
    """A panel of several runs cut into one panel per run: (run id, title, marks) each.

    Cut from one runs_panel, so that every small pane shares its x unit and window.
    """
    return [
        Panel(
            title, panel.scale, [s for s in panel.series if s.group == run_id], marks, panel.x_label
        )
        for run_id, title, marks in runs
    ]


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


def value_at(pts: Sequence[Point], x: float) -> float | None:
    """y of the last point at or before x (a curve holds its value until its next record)."""
    i = bisect.bisect_right([p[0] for p in pts], x)
    return pts[i - 1][1] if i else None


def format_value(value: float) -> str:
    magnitude = abs(value)
    if magnitude != 0 and (magnitude >= 1e5 or magnitude < 1e-3):
        return f"{value:.3g}"
    return f"{value:.4g}"


def values_at(panel: Panel, x: float) -> list[tuple[str, float]]:
    """(name, value in data units) of each drawn curve of a panel at x."""
    out = []
    for s in panel.series:
        if s.faint:
            continue
        y = value_at(s.points, x)
        if y is not None:
            out.append((s.name, 10**y if panel.scale == "log" else y))
    return out


def latest_x(panels: Sequence[Panel]) -> float | None:
    xs = [s.points[-1][0] for p in panels for s in p.series if s.points and not s.faint]
    return max(xs) if xs else None


def cursor_line(panels: Sequence[Panel], cursor: float | None) -> str:
    """The values under the cursor (or the latest ones), pane by pane, on one line."""
    x = cursor if cursor is not None else latest_x(panels)
    if x is None or not panels:
        return ""
    label = panels[0].x_label
    where = f"step {x:.0f}" if label == "step" else f"{label} {format_value(x)}"
    parts = ["cursor " + where if cursor is not None else "latest " + where]
    for panel in panels:
        values = dict(values_at(panel, x))
        shown = []
        for name, value in values.items():
            if name.endswith(" train") and name.removesuffix(" train") in values:
                continue  # told with its run's test value: "1:a 0.41/1"
            train = values.get(f"{name} train")
            text = format_value(value) + ("" if train is None else f"/{format_value(train)}")
            shown.append(f"{name} {text}")
        key = panel.title.removesuffix(" (log)")
        if list(values) == [key]:  # one field, named as its pane: "param_norm 23.5"
            parts.append(shown[0])
        elif shown:
            pair = " (test/train)" if any(n.endswith(" train") for n in values) else ""
            parts.append(f"{key}{pair}: {' '.join(shown)}")
    return " │ ".join(parts)


def linear_labels(ticks: Sequence[float]) -> list[str]:
    """Tick labels with as many decimals as their spacing needs (29.78, 29.79: not 29.8 twice)."""
    if len(ticks) < 2 or max(abs(t) for t in ticks) >= 1e3:
        return [format_number(t) for t in ticks]
    spacing = abs(ticks[1] - ticks[0]) or 1.0
    for decimals in range(7):  # the fewest that write every tick exactly
        if all(abs(round(t, decimals) - t) < spacing * 1e-6 for t in ticks):
            return [f"{t:.{decimals}f}" for t in ticks]
    return [f"{t:.3g}" for t in ticks]


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
    return Plotted(curves, marks, x_ticks, y_ticks, x_lim, y_lim, cursor_px)
