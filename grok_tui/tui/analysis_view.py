"""What the analysis screen draws, as plain numbers and strings: no Textual, no torch.

The analysis screen (screens/analysis.py) shows the analysis.json that ``grok-tui
analyze`` wrote. This module turns it into what each view draws: which lines, in which
colours, which colour scale, the one-line legend under the plot, the heatmap's cells
(exactly one per character of the plot area, so no column or row is left blank) and
the header (at most three lines). It is tested on its own (tests/unit/test_analysis_view.py).
A run directory may come from someone else: names reach the screen through safe_text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from grok_tui.colours import viridis
from grok_tui.text import safe_text
from grok_tui.tui.views.curves import FIT_COLOUR, GROK_COLOUR, PALETTE, TEST_COLOUR, TRAIN_COLOUR

RGB = tuple[int, int, int]

# (view id, title, short title, what "o" toggles between)
VIEWS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("norms", "Norms", "Norms", ("weights", "gradient")),
    ("projection", "Projection", "Proj", ("pca", "tsne")),
    ("heatmap", "Embedding", "Embed", ("final", "initial")),
    ("spectrum", "Spectrum", "Spectr", ("bars", "over time")),
    ("nanda", "Nanda losses", "Nanda", ("log10",)),
    ("neurons", "Neurons", "Neurons", ("clusters", "over time", "unit")),
    ("landscape", "Landscape", "Landsc", ("train", "test")),
    ("perturbation", "Perturbation", "Perturb", ("train", "test")),
)
VIEW_IDS = tuple(v[0] for v in VIEWS)
GREY: RGB = (150, 150, 150)
KEY_COLOUR: RGB = (230, 25, 75)
RESTRICTED_COLOUR: RGB = (60, 180, 75)
EXCLUDED_COLOUR: RGB = (145, 30, 180)
MAX_LABELS = 40  # number labels on a projection; beyond that every k-th
HEADER_LINES = 3  # the header's budget: at 80x24 the plot keeps the rest
MATRIX_VIEWS = {("heatmap", "final"), ("heatmap", "initial"), ("neurons", "unit")} | {
    ("landscape", split) for split in ("train", "test")
}


def view_title(view: str) -> str:
    return next(title for v, title, _, _ in VIEWS if v == view)


def option_list(view: str) -> tuple[str, ...]:
    return next(options for v, _, _, options in VIEWS if v == view)


def is_matrix(view: str, option: str) -> bool:
    """Whether the view is a colour-mapped matrix (drawn cell by cell, not by plotext)."""
    return (view, option) in MATRIX_VIEWS


# --- analysis.json -> what a view draws ---------------------------------------------------


def unavailable(analysis: dict[str, Any] | None, view: str, option: str = "") -> str | None:
    """Why a view cannot be drawn from this analysis (None: it can)."""
    if analysis is None:
        return "no analysis yet: press a to analyse this run"
    if view in ("projection", "heatmap") and not analysis.get("embedding"):
        return "this model has no token embedding (see the notes)"
    if view == "projection" and option == "tsne" and not analysis["embedding"].get("tsne"):
        return "no t-SNE in this analysis (skipped: see the notes)"
    if view == "spectrum" and not analysis.get("fourier"):
        return "no Fourier spectrum in this analysis (see the notes)"
    if view == "nanda" and not analysis.get("nanda"):
        return "restricted/excluded losses apply to add and sub only"
    if view == "neurons" and not analysis.get("neurons"):
        return "no neuron frequencies in this analysis (see the notes; older analyses: press a)"
    if view == "neurons" and option == "unit" and not analysis["neurons"].get("example"):
        return "no unit belongs to a frequency cluster yet"
    if view in ("landscape", "perturbation") and not analysis.get("landscape"):
        return "no landscape in this analysis"
    return None


def log10(values: Sequence[float | None]) -> list[float]:
    """log10 of each value; None (a non-finite loss) and values <= 0 become nan."""
    return [math.log10(v) if isinstance(v, int | float) and v > 0 else math.nan for v in values]


def finite_pairs(xs: Sequence[Any], ys: Sequence[Any]) -> tuple[list[float], list[float]]:
    """The (x, y) pairs with both finite: plotext would draw a nan as a wild point."""
    kept = [
        (float(x), float(y))
        for x, y in zip(xs, ys, strict=False)
        if isinstance(x, int | float)
        and isinstance(y, int | float)
        and math.isfinite(x)
        and math.isfinite(y)
    ]
    return [x for x, _ in kept], [y for _, y in kept]


def resample(matrix: Sequence[Sequence[float]], rows: int, cols: int) -> list[list[float]]:
    """A matrix brought to exactly rows x cols: block means when shrinking, repeats when
    growing, so that every character of the plot area gets a value."""
    n_rows, n_cols = len(matrix), len(matrix[0]) if matrix else 0
    if not n_rows or not n_cols:
        return []
    rows, cols = max(1, rows), max(1, cols)

    def spans(n: int, t: int) -> list[tuple[int, int]]:
        return [(i * n // t, max(i * n // t + 1, (i + 1) * n // t)) for i in range(t)]

    out = []
    for r0, r1 in spans(n_rows, rows):
        row = []
        for c0, c1 in spans(n_cols, cols):
            block = [
                v
                for line in matrix[r0:r1]
                for v in line[c0:c1]
                if isinstance(v, int | float) and math.isfinite(v)
            ]
            row.append(sum(block) / len(block) if block else math.nan)
        out.append(row)
    return out


def diverging(value: float, vmax: float) -> RGB:
    """Blue (negative) - white - red (positive), as matplotlib's RdBu_r."""
    if not math.isfinite(value) or vmax <= 0:
        return (0, 0, 0)
    t = max(-1.0, min(1.0, value / vmax))
    if t >= 0:
        return (255, round(255 * (1 - t)), round(255 * (1 - t)))
    return (round(255 * (1 + t)), round(255 * (1 + t)), 255)


def sequential(value: float, lo: float, hi: float) -> RGB:
    """The viridis colour of value in [lo, hi] (grok_tui.colours); nan is black."""
    if not math.isfinite(value):
        return (0, 0, 0)
    return viridis(0.0 if hi <= lo else (value - lo) / (hi - lo))


def finite_range(matrix: Sequence[Sequence[float]]) -> tuple[float, float]:
    values = [v for row in matrix for v in row if math.isfinite(v)]
    return (min(values), max(values)) if values else (0.0, 1.0)


@dataclass(frozen=True)
class Line:
    """One curve of a view: its legend name (escaped), points and colour."""

    name: str
    xs: list[float]
    ys: list[float]
    colour: RGB


def norm_lines(analysis: dict[str, Any], option: str) -> list[Line]:
    """param_norm and the per-tensor norms, or log10 grad_norm; curves with no point dropped."""
    norms = analysis["norms"]
    records, kept = norms["records"], norms["checkpoints"]
    if option == "gradient":
        xs, ys = finite_pairs(records["step"], log10(records["grad_norm"]))
        lines = [Line("log10 grad_norm", xs, ys, PALETTE[0])]
    else:
        lines = [
            Line("param_norm", *finite_pairs(records["step"], records["param_norm"]), PALETTE[0])
        ]
        for name, values in kept["layers"].items():
            if name.endswith("bias") or ".ln" in name:  # flat near zero: they crowd the legend
                continue
            colour = PALETTE[len(lines) % len(PALETTE)]
            lines.append(Line(safe_text(name), *finite_pairs(kept["step"], values), colour))
    return [line for line in lines if line.xs]


def nanda_lines(analysis: dict[str, Any]) -> list[Line]:
    """log10 of the train, test, restricted and excluded losses over the kept steps, named
    without "_loss" so that the four and the two event marks fit an 80-column legend."""
    nanda = analysis["nanda"]
    lines = [
        Line(key.removesuffix("_loss"), *finite_pairs(nanda["step"], log10(nanda[key])), colour)
        for key, colour in (
            ("train_loss", TRAIN_COLOUR),
            ("test_loss", TEST_COLOUR),
            ("restricted_loss", RESTRICTED_COLOUR),
            ("excluded_loss", EXCLUDED_COLOUR),
        )
    ]
    return [line for line in lines if line.xs]


def spectrum_lines(analysis: dict[str, Any]) -> list[Line]:
    """The top-k concentration and the key frequencies' share over the kept steps."""
    history = analysis["fourier"]["over_time"]
    lines = [
        Line(
            "top-k concentration",
            *finite_pairs(history["step"], history["concentration"]),
            TRAIN_COLOUR,
        ),
        Line(
            "share of key freqs",
            *finite_pairs(history["step"], history["key_fraction"]),
            TEST_COLOUR,
        ),
    ]
    return [line for line in lines if line.xs]


def neuron_lines(analysis: dict[str, Any]) -> list[Line]:
    """Each layer's fraction of live units in a frequency cluster over the kept steps."""
    section = analysis["neurons"]
    history = section["over_time"]
    lines = [
        Line(
            safe_text(name),
            *finite_pairs(history["step"], history.get(name, [])),
            PALETTE[i % len(PALETTE)],
        )
        for i, name in enumerate(section["layers"])
    ]
    return [line for line in lines if line.xs]


def event_marks(analysis: dict[str, Any]) -> list[tuple[str, float, RGB]]:
    """The fit and grok steps, drawn as vertical lines and named in the legend."""
    events = analysis.get("events") or {}
    return [
        (f"{key.removesuffix('_step')} {events[key]}", float(events[key]), colour)
        for key, colour in (("fit_step", FIT_COLOUR), ("grok_step", GROK_COLOUR))
        if isinstance(events.get(key), int | float)
    ]


def legend_entries(
    analysis: dict[str, Any] | None, view: str, option: str
) -> list[tuple[str, RGB]]:
    """What the line under the plot names: the curves (or bars) and the event marks.

    plotext draws its legend inside the plot, over the curves; the screen shows this
    line instead.
    """
    if analysis is None or unavailable(analysis, view, option) is not None:
        return []
    curves: list[Line] = []
    bars: list[tuple[str, RGB]] = []
    if view == "norms":
        curves = norm_lines(analysis, option)
    elif view == "nanda":
        curves = nanda_lines(analysis)
    elif view == "spectrum" and option == "over time":
        curves = spectrum_lines(analysis)
    elif view == "spectrum":
        keys = analysis["fourier"]["key_frequencies"]
        bars = [(f"key {keys}", KEY_COLOUR), ("other frequencies", TRAIN_COLOUR)]
    elif view == "neurons" and option == "over time":
        curves = neuron_lines(analysis)
    elif view == "neurons" and option == "clusters":
        names = analysis["neurons"]["layers"]
        bars = [(safe_text(name), PALETTE[i % len(PALETTE)]) for i, name in enumerate(names)]
    else:
        return []
    marks = [] if bars else [(name, colour) for name, _, colour in event_marks(analysis)]
    return [(line.name, line.colour) for line in curves] + bars + marks


SWATCH = "■ "
GAP = "  "


def fit_legend(entries: Sequence[tuple[str, RGB]], width: int) -> list[tuple[str, RGB]]:
    """The entries cut to one line of `width` columns: long names shortened with an
    ellipsis first, then the last entries dropped with a "+N" count (the marks, last in
    `entries`, are short and survive the cut of long names)."""

    def cost(items: Sequence[tuple[str, RGB]]) -> int:
        return sum(len(SWATCH) + len(name) for name, _ in items) + len(GAP) * max(0, len(items) - 1)

    items = list(entries)
    if cost(items) <= width:
        return items
    longest = max(len(name) for name, _ in items)
    for limit in range(longest - 1, 3, -1):
        cut = [(name if len(name) <= limit else name[: limit - 1] + "…", c) for name, c in items]
        if cost(cut) <= width:
            return cut
    cut = [(name if len(name) <= 4 else name[:3] + "…", c) for name, c in items]
    dropped = 0
    while cut and cost(cut) + len(f"{GAP}+{dropped}") > width:
        cut.pop()
        dropped += 1
    return cut + ([(f"+{dropped}", GREY)] if dropped and cut else [])


def projection(analysis: dict[str, Any], kind: str) -> dict[str, Any]:
    """Points, which numbers to label, and the links n -> n + link_step."""
    embedding = analysis["embedding"]
    coords = embedding[kind]["coords"]
    p, step = embedding["p"], embedding["link_step"]
    every = max(1, math.ceil(p / MAX_LABELS))
    return {
        "x": [c[0] for c in coords],
        "y": [c[1] for c in coords],
        "labels": [n for n in range(p) if n % every == 0],
        # n -> n + step for every n is one cycle through all numbers (step is invertible
        # mod p), so the links are drawn as a single closed line: 0, s, 2s, ..., 0.
        "cycle": [(i * step) % p for i in range(p + 1)] if step % p else [],
        "link_step": step,
    }


def spectrum_bars(analysis: dict[str, Any]) -> tuple[list[int], list[float], list[float]]:
    """Frequencies, the energy of the key ones, and the energy of the others (two bar series)."""
    fourier = analysis["fourier"]
    keys = set(fourier["key_frequencies"])
    freqs, energy = fourier["frequencies"], fourier["energy_fraction"]
    key = [e if k in keys else 0.0 for k, e in zip(freqs, energy, strict=True)]
    rest = [0.0 if k in keys else e for k, e in zip(freqs, energy, strict=True)]
    return freqs, key, rest


def perturbation_buckets(
    analysis: dict[str, Any], split: str, buckets: int = 6
) -> tuple[list[tuple[RGB, list[float], list[float]]], tuple[float, float]]:
    """Samples grouped by log10 loss into colour buckets (plotext colours per series)."""
    section = analysis["landscape"]["perturbation"]
    sv1, sv2 = section["sv"]
    losses = log10(section["loss"][split])
    finite = [v for v in losses if math.isfinite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    groups: list[tuple[RGB, list[float], list[float]]] = [
        (sequential(lo + (i + 0.5) * (hi - lo) / buckets, lo, hi), [], []) for i in range(buckets)
    ]
    for x, y, v in zip(sv1, sv2, losses, strict=False):
        if not (math.isfinite(v) and isinstance(x, int | float) and isinstance(y, int | float)):
            continue
        i = min(buckets - 1, int((v - lo) / (hi - lo) * buckets)) if hi > lo else 0
        groups[i][1].append(x)
        groups[i][2].append(y)
    return groups, (lo, hi)


# --- the heatmaps: one value per character ---------------------------------------------


@dataclass(frozen=True)
class Axis:
    """A matrix axis in the data's units: the first and last cell's values and its name."""

    first: float
    last: float
    name: str


@dataclass(frozen=True)
class MatrixPicture:
    """A colour-mapped matrix laid out for `width` x `height` characters: the title line,
    one line per row (y tick label, then one colour per character of the plot area), the
    x tick line and the axes' names."""

    title: str
    y_labels: list[str]
    cells: list[list[RGB]]
    x_ticks: str
    axes: str


def _tick(value: float) -> str:
    return f"{value:g}"


def matrix_picture(
    matrix: Sequence[Sequence[float]],
    colour: Callable[[float], RGB],
    width: int,
    height: int,
    x: Axis,
    y: Axis,
    title: str,
) -> MatrixPicture:
    """The matrix (first row on top) brought to exactly the plot area's characters.

    plotext's matrix_plot maps cells to columns with rounding gaps (blank seams); here the
    area is width minus the y labels by height minus three lines, and resample gives
    every character of it a value.
    """
    y_values = [_tick(y.first), _tick((y.first + y.last) / 2), _tick(y.last)]
    label_width = max(len(v) for v in y_values)
    cols = max(1, width - label_width - 1)
    rows = max(1, height - 3)
    values = resample(matrix, rows, cols)
    cells = [[colour(v) for v in row] for row in values]
    y_labels = [""] * rows
    y_labels[-1] = y_values[2]
    y_labels[(rows - 1) // 2] = y_labels[(rows - 1) // 2] or y_values[1]
    y_labels[0] = y_values[0]
    y_labels = [label.rjust(label_width) + " " for label in y_labels]
    first, middle, last = _tick(x.first), _tick((x.first + x.last) / 2), _tick(x.last)
    ticks = [" "] * cols
    ticks[: len(first)] = first
    start = max(0, cols - len(last))
    ticks[start:] = last[: cols - start]
    centre = cols // 2 - len(middle) // 2
    if len(first) < centre and centre + len(middle) < start:  # room for the middle one
        ticks[centre : centre + len(middle)] = middle
    return MatrixPicture(
        title=title[:width],
        y_labels=y_labels,
        cells=cells,
        x_ticks=(" " * (label_width + 1) + "".join(ticks))[:width],
        axes=f"x: {x.name} · y: {y.name}"[:width],
    )


def matrix_of(
    analysis: dict[str, Any], view: str, option: str
) -> tuple[list[list[float]], Callable[[float], RGB], Axis, Axis, str]:
    """What a matrix view draws: the matrix, its colour scale, its axes and its title."""
    if view == "heatmap":
        heatmap = analysis["embedding"]["heatmap"]
        matrix = [
            [v if isinstance(v, int | float) else math.nan for v in row] for row in heatmap[option]
        ]
        vmax = max((abs(v) for row in matrix for v in row if math.isfinite(v)), default=1.0)
        step = heatmap["initial_step"] if option == "initial" else heatmap["step"]
        title = f"number embeddings at step {safe_text(step)} · blue -{vmax:.3g} .. red +{vmax:.3g}"
        p, columns = len(matrix), heatmap["columns"]
        return (
            matrix,
            lambda v: diverging(v, vmax),
            Axis(0, columns - 1, "embedding dim"),
            Axis(0, p - 1, "number"),
            title,
        )
    if view == "neurons":
        example = analysis["neurons"]["example"]
        grid = [
            [v if isinstance(v, int | float) else math.nan for v in row] for row in example["grid"]
        ]
        lo, hi = finite_range(grid)
        p = len(grid)
        title = safe_text(
            f"{example['layer']} unit {example['unit']} over (x, y): frequency "
            f"{example['frequency']}, share {example['share']:.2f}"
        )
        return (
            grid,
            lambda v: sequential(v, lo, hi),
            Axis(0, p - 1, "y"),
            Axis(0, p - 1, "x"),
            title,
        )
    grid = analysis["landscape"]["grid"]
    # loss[i][j] is at (a_i, b_j): the screen's rows are b, from the top down
    z = [log10(row) for row in grid["loss"][option]]
    matrix = [[z[i][j] for i in range(len(z))] for j in reversed(range(len(z)))]
    lo, hi = finite_range(matrix)
    span = grid["span"]
    return (
        matrix,
        lambda v: sequential(v, lo, hi),
        Axis(-span, span, "direction 1 (filter-normalised)"),
        Axis(span, -span, "direction 2"),
        f"{option} log10 loss {lo:.2f} (dark) .. {hi:.2f} (yellow) · centre: trained",
    )


# --- the header ---------------------------------------------------------------------------


def tabs(view: str, width: int) -> list[tuple[str, bool]]:
    """The view tabs as (text, current), fitted to width: full titles, then short ones,
    then numbers only beside the current view's title."""
    for style in ("full", "short", "numbers"):
        out = []
        for i, (v, title, short, _) in enumerate(VIEWS):
            name = title if style == "full" or v == view else short if style == "short" else ""
            out.append((f"{i + 1} {name}".rstrip(), v == view))
        if sum(len(t) for t, _ in out) + 2 * (len(out) - 1) <= width or style == "numbers":
            return out
    raise AssertionError("unreachable")


def headline(analysis: dict[str, Any] | None, summary: dict[str, Any]) -> str:
    """What the analysis found, and whether the run moved on since (one line per topic)."""
    if analysis is None:
        return "no analysis yet · a: analyse (grok-tui analyze, in its own process)"
    parts = [f"step {analysis['step']}"]
    fourier = analysis.get("fourier")
    if fourier:
        parts.append(
            f"key freqs {fourier['key_frequencies']} · top-{fourier['top_k']} concentration "
            f"{fourier['concentration']:.2f} (uniform {fourier['concentration_uniform']:.2f})"
        )
    if analysis.get("embedding"):
        parts.append(f"links n→n+{analysis['embedding']['link_step']}")
    nanda = analysis.get("nanda")
    if nanda and nanda["restricted_loss"]:
        parts.append(
            f"restricted {format_loss(nanda['restricted_loss'][-1])} · excluded "
            f"{format_loss(nanda['excluded_loss'][-1])}"
        )
    text = " · ".join(parts)
    now = summary.get("checkpoint_step") or summary.get("step")
    if isinstance(now, int) and now > analysis["step"]:
        text += f"\nthe run is at step {now} now: a to analyse again"
    if analysis.get("notes"):
        text += "\nnotes: " + "; ".join(str(note) for note in analysis["notes"])
    return safe_text(text, multiline=True)


def format_loss(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def fit_line(text: str, width: int) -> str:
    """One line of at most width columns, cut with an ellipsis."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def header_lines(
    run_id: str, analysis: dict[str, Any] | None, summary: dict[str, Any], status: str, width: int
) -> tuple[str, str]:
    """The two lines under the tabs: the run and what was found; then the status (a
    running or failed analysis) or else the rest of the headline (the run moved on,
    notes). Each is cut to `width`: the header never takes more than three lines, and
    the whole headline is one key away (the screen's n)."""
    first, *rest = headline(analysis, summary).split("\n")
    top = fit_line(f"{safe_text(run_id)} · {first}", width)
    second = safe_text(status.replace("\n", " · ")) if status else " · ".join(rest)
    return top, fit_line(second, width)
