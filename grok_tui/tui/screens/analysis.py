"""A run's analysis in the terminal: plotext views of the analysis.json that ``grok-tui analyze``
wrote (norms, embedding projections, heatmaps, Fourier spectrum, Nanda's losses, landscape).

The analysis is computed in its own process (``grok_tui.analysis.paths.analysis_command``),
like training: this module never imports torch. The functions above the widgets turn
analysis.json into what a view draws; they are plain Python, tested without Textual.
A run directory (and so its analysis.json and analyze.log) may come from someone else:
run ids, layer names, notes and log lines are shown through grok_tui.text.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual_plotext import PlotextPlot

from grok_tui import store
from grok_tui.analysis.paths import (
    ANALYSIS_LOG,
    analysis_command,
    analysis_dir,
    read_analysis,
)
from grok_tui.files import is_real_dir
from grok_tui.launcher import spawn  # the one module that starts processes
from grok_tui.text import safe_text
from grok_tui.tui.series import (
    FIT_COLOUR,
    GROK_COLOUR,
    PALETTE,
    TEST_COLOUR,
    TRAIN_COLOUR,
    format_number,
    log_ticks,
    nice_ticks,
)

RGB = tuple[int, int, int]

# (view id, title, what "o" toggles between)
VIEWS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("norms", "Norms", ("weights", "gradient")),
    ("projection", "Projection", ("pca", "tsne")),
    ("heatmap", "Embedding", ("final", "initial")),
    ("spectrum", "Spectrum", ("bars", "over time")),
    ("nanda", "Nanda losses", ("log10",)),
    ("neurons", "Neurons", ("clusters", "over time", "unit")),
    ("landscape", "Landscape", ("train", "test")),
    ("perturbation", "Perturbation", ("train", "test")),
)
VIEW_IDS = tuple(v[0] for v in VIEWS)
GREY: RGB = (150, 150, 150)
KEY_COLOUR: RGB = (230, 25, 75)
MAX_LABELS = 40  # number labels on a projection; beyond that every k-th


# --- analysis.json -> what a view draws (no Textual here) --------------------------------


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
    """A matrix brought to rows x cols: block means when shrinking, repeats when growing."""
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


VIRIDIS: tuple[RGB, ...] = (
    (68, 1, 84),
    (59, 82, 139),
    (33, 145, 140),
    (94, 201, 98),
    (253, 231, 37),
)


def sequential(value: float, lo: float, hi: float) -> RGB:
    """A viridis-like colour for value in [lo, hi]; nan is black."""
    if not math.isfinite(value):
        return (0, 0, 0)
    t = 0.0 if hi <= lo else max(0.0, min(1.0, (value - lo) / (hi - lo)))
    position = t * (len(VIRIDIS) - 1)
    i = min(int(position), len(VIRIDIS) - 2)
    f = position - i
    a, b = VIRIDIS[i], VIRIDIS[i + 1]
    return (
        round(a[0] + f * (b[0] - a[0])),
        round(a[1] + f * (b[1] - a[1])),
        round(a[2] + f * (b[2] - a[2])),
    )


def finite_range(matrix: Sequence[Sequence[float]]) -> tuple[float, float]:
    values = [v for row in matrix for v in row if math.isfinite(v)]
    return (min(values), max(values)) if values else (0.0, 1.0)


def norm_series(
    analysis: dict[str, Any], option: str
) -> list[tuple[str, list[float], list[float]]]:
    """(name, steps, values): param_norm and per-tensor norms, or log10 grad_norm."""
    norms = analysis["norms"]
    records, kept = norms["records"], norms["checkpoints"]
    if option == "gradient":
        xs, ys = finite_pairs(records["step"], log10(records["grad_norm"]))
        return [("log10 grad_norm", xs, ys)]
    out = [("param_norm", *finite_pairs(records["step"], records["param_norm"]))]
    for name, values in kept["layers"].items():
        if name.endswith("bias") or ".ln" in name:  # flat near zero: they crowd the legend
            continue
        out.append((name, *finite_pairs(kept["step"], values)))
    return out


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


def headline(analysis: dict[str, Any] | None, summary: dict[str, Any]) -> str:
    """One or two lines on what the analysis found, and whether the run moved on since."""
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


# --- the widget and the screen -----------------------------------------------------------


class AnalysisPlot(PlotextPlot):
    """One view of an analysis; rebuilt only when the view, the data or the size changed."""

    DEFAULT_CSS = """
    AnalysisPlot { border: round $panel-lighten-2; border-title-align: left; height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.analysis: dict[str, Any] | None = None
        self.view, self.option = VIEW_IDS[0], VIEWS[0][2][0]
        self._version = 0
        self._built: tuple[int, int, int] | None = None

    def show(self, analysis: dict[str, Any] | None, view: str, option: str) -> None:
        self.analysis, self.view, self.option = analysis, view, option
        title = dict((v[0], v[1]) for v in VIEWS)[view]
        self.border_title = f"{title} · {option}" if len(option_list(view)) > 1 else title
        self._version += 1
        self.refresh()

    def render(self):  # type: ignore[override]
        key = (self.size.width, self.size.height, self._version)
        if key != self._built:
            self._built = key
            self.plt.clear_figure()
            reason = unavailable(self.analysis, self.view, self.option)
            if reason is not None:
                self.plt.title(reason)
                self.plt.xticks([], [])
                self.plt.yticks([], [])
            else:
                assert self.analysis is not None
                getattr(self, f"_draw_{self.view}")(self.analysis, self.option)
        return super().render()

    # Each _draw_* draws one view into self.plt from the analysis dict.

    def _marks(self, analysis: dict[str, Any]) -> None:
        events = analysis.get("events") or {}
        for key, colour in (("fit_step", FIT_COLOUR), ("grok_step", GROK_COLOUR)):
            if events.get(key) is not None:
                self.plt.vertical_line(events[key], color=colour)

    def _step_ticks(self, xs: Sequence[float]) -> None:
        if xs:
            ticks = nice_ticks(min(xs), max(xs), max(2, min(6, self.size.width // 12)))
            self.plt.xticks(ticks, [format_number(t) for t in ticks])

    def _draw_norms(self, analysis: dict[str, Any], option: str) -> None:
        plt = self.plt
        all_x: list[float] = []
        for i, (name, xs, ys) in enumerate(norm_series(analysis, option)):
            if xs:
                marker = "braille" if len(xs) > 1 else "dot"
                colour = PALETTE[i % len(PALETTE)]
                plt.plot(xs, ys, marker=marker, color=colour, label=safe_text(name))
                all_x += xs
        self._marks(analysis)
        self._step_ticks(all_x)
        plt.xlabel("step  (fit: green, grok: purple)")

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

    def _matrix(
        self,
        matrix: list[list[float]],
        colour: Any,
        x: tuple[float, float, str],
        y: tuple[float, float, str],
    ) -> None:
        """A colour-mapped matrix, first row on top; x = (first col, last col, label),
        y = (top row, bottom row, label) in the data's units for the tick labels."""
        plt = self.plt
        width, height = max(self.size.width - 10, 4), max(self.size.height - 5, 4)
        cells = resample(matrix, height, width)  # about one character per cell
        plt.matrix_plot([[colour(v) for v in row] for row in cells])
        rows, cols = len(cells), len(cells[0])
        # matrix_plot puts cell (row r, col c) at x = c, y = rows - 1 - r
        plt.xticks(
            [0, (cols - 1) / 2, cols - 1], [f"{v:g}" for v in (x[0], (x[0] + x[1]) / 2, x[1])]
        )
        plt.yticks(
            [rows - 1, (rows - 1) / 2, 0], [f"{v:g}" for v in (y[0], (y[0] + y[1]) / 2, y[1])]
        )
        plt.xlabel(x[2])
        plt.ylabel(y[2])

    def _draw_heatmap(self, analysis: dict[str, Any], option: str) -> None:
        heatmap = analysis["embedding"]["heatmap"]
        matrix = heatmap[option]
        vmax = max((abs(v) for row in matrix for v in row if v is not None), default=1.0)
        p, columns = len(matrix), heatmap["columns"]
        self._matrix(
            matrix,
            lambda v: diverging(v, vmax),
            (0, columns - 1, "embedding dim"),
            (0, p - 1, "number"),
        )
        step = heatmap["initial_step"] if option == "initial" else heatmap["step"]
        self.plt.title(
            f"number embeddings at step {safe_text(step)} · blue -{vmax:.3g} .. red +{vmax:.3g}"
        )

    def _draw_spectrum(self, analysis: dict[str, Any], option: str) -> None:
        plt = self.plt
        fourier = analysis["fourier"]
        if option == "over time":
            history = fourier["over_time"]
            plt.plot(
                history["step"],
                history["concentration"],
                marker="braille",
                color=TRAIN_COLOUR,
                label="top-k concentration",
            )
            plt.plot(
                history["step"],
                history["key_fraction"],
                marker="braille",
                color=TEST_COLOUR,
                label="share of key freqs",
            )
            plt.ylim(0, 1)
            self._marks(analysis)
            self._step_ticks(history["step"])
            return
        freqs, key, rest = spectrum_bars(analysis)
        plt.bar(freqs, rest, color=TRAIN_COLOUR, width=0.6)
        plt.bar(freqs, key, color=KEY_COLOUR, width=0.6, label=f"key {fourier['key_frequencies']}")
        plt.xlabel("frequency k")
        plt.title(
            f"energy fraction per frequency · top-{fourier['top_k']} {fourier['concentration']:.2f}"
        )

    def _draw_nanda(self, analysis: dict[str, Any], option: str) -> None:
        plt = self.plt
        nanda = analysis["nanda"]
        all_y: list[float] = []
        for key, colour in (
            ("train_loss", TRAIN_COLOUR),
            ("test_loss", TEST_COLOUR),
            ("restricted_loss", (60, 180, 75)),
            ("excluded_loss", (145, 30, 180)),
        ):
            xs, ys = finite_pairs(nanda["step"], log10(nanda[key]))
            if xs:
                plt.plot(xs, ys, marker="braille", color=colour, label=key)
                all_y += ys
        self._marks(analysis)
        self._step_ticks(nanda["step"])
        if all_y:
            positions, labels = log_ticks(min(all_y), max(all_y))
            plt.yticks(positions, labels)
        plt.title(f"key frequencies {nanda['key_frequencies']}")

    def _draw_neurons(self, analysis: dict[str, Any], option: str) -> None:
        plt = self.plt
        section = analysis["neurons"]
        layers = section["layers"]
        if option == "over time":
            history = section["over_time"]
            for i, name in enumerate(layers):
                plt.plot(
                    history["step"],
                    history[name],
                    marker="braille",
                    color=PALETTE[i % len(PALETTE)],
                    label=safe_text(name),
                )
            plt.ylim(0, 1)
            self._marks(analysis)
            self._step_ticks(history["step"])
            plt.title(
                f"fraction of live units in a frequency cluster (share >= {section['threshold']:.0%})"
            )
            return
        if option == "unit":
            example = section["example"]
            grid = example["grid"]
            lo, hi = finite_range(grid)
            p = len(grid)
            self._matrix(grid, lambda v: sequential(v, lo, hi), (0, p - 1, "y"), (0, p - 1, "x"))
            plt.title(
                safe_text(
                    f"{example['layer']} unit {example['unit']} over (x, y): frequency "
                    f"{example['frequency']}, share {example['share']:.2f}"
                )
            )
            return
        freqs = sorted({int(k) for layer in layers.values() for k in layer["clusters"]})
        if not freqs:
            plt.title("no unit holds 85% of its variance at one frequency yet")
            return
        counts = [
            [int(layer["clusters"].get(str(k), 0)) for k in freqs] for layer in layers.values()
        ]
        plt.multiple_bar([str(k) for k in freqs], counts, labels=[safe_text(n) for n in layers])
        plt.xlabel("frequency k")
        plt.title(
            "units per frequency cluster · "
            + ", ".join(
                f"{safe_text(name)} {layer['clustered_fraction']:.0%}"
                for name, layer in layers.items()
            )
        )

    def _draw_landscape(self, analysis: dict[str, Any], option: str) -> None:
        grid = analysis["landscape"]["grid"]
        # loss[i][j] is at (a_i, b_j): the screen's rows are b, from the top down
        z = [log10(row) for row in grid["loss"][option]]
        matrix = [[z[i][j] for i in range(len(z))] for j in reversed(range(len(z)))]
        lo, hi = finite_range(matrix)
        span = grid["span"]
        self._matrix(
            matrix,
            lambda v: sequential(v, lo, hi),
            (-span, span, "direction 1 (filter-normalised)"),
            (span, -span, "direction 2"),
        )
        self.plt.title(
            f"{option} log10 loss {lo:.2f} (dark) .. {hi:.2f} (yellow) · centre: trained"
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


def option_list(view: str) -> tuple[str, ...]:
    return dict((v[0], v[2]) for v in VIEWS)[view]


class AnalysisLoaded(Message):
    def __init__(self, analysis: dict[str, Any] | None, summary: dict[str, Any]) -> None:
        super().__init__()
        self.analysis, self.summary = analysis, summary


class AnalysisFinished(Message):
    def __init__(self, code: int, log: list[str]) -> None:
        super().__init__()
        self.code, self.log = code, log


def start_analysis(run_path: Path, *options: str) -> subprocess.Popen[bytes]:
    """Start ``grok-tui analyze RUN_DIR`` in its own process, its output in analysis/analyze.log."""
    folder = analysis_dir(run_path)
    folder.mkdir(parents=True, exist_ok=True)
    if not is_real_dir(folder):  # a planted link: never write through it
        raise OSError(f"{folder} is a link, not a directory of the run")
    return spawn(analysis_command(run_path, *options), folder / ANALYSIS_LOG, fresh_log=True)


def log_tail(run_path: Path, lines: int = 3) -> list[str]:
    try:
        text = (analysis_dir(run_path) / ANALYSIS_LOG).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()][-lines:]


class AnalysisScreen(Screen):
    """The analysis of one run: a view at a time, switched with the number keys or ←/→."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="analysis.back"),
        Binding("right,l", "next_view(1)", "Next view", id="analysis.next"),
        Binding("left,h", "next_view(-1)", "Prev view", show=False, id="analysis.prev"),
        Binding("o", "toggle_option", "Option", id="analysis.option"),
        Binding("a", "analyse", "Analyse", id="analysis.run"),
        *(
            Binding(str(i + 1), f"view('{view}')", title, show=False, id=f"analysis.{view}")
            for i, (view, title, _) in enumerate(VIEWS)
        ),
    ]

    def __init__(self, run: store.RunDir) -> None:
        super().__init__()
        self.run = run
        self.analysis: dict[str, Any] | None = None
        self.summary: dict[str, Any] = {}
        self.view = VIEW_IDS[0]
        self.options = {view: choices[0] for view, _, choices in VIEWS}
        self.running = False
        self.status = ""

    def compose(self) -> ComposeResult:
        yield Static(
            Text.assemble((safe_text(self.run.run_id), "bold"), " · analysis · loading…"),
            id="analysis-head",
        )
        yield AnalysisPlot(id="analysis-plot")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="analysis-load")
    def load(self) -> None:
        self.post_message(AnalysisLoaded(read_analysis(self.run.path), self.run.summary()))

    def on_analysis_loaded(self, message: AnalysisLoaded) -> None:
        self.analysis, self.summary = message.analysis, message.summary
        self.draw()

    def draw(self) -> None:
        tabs = "  ".join(
            f"[reverse]{i + 1} {title}[/]" if view == self.view else f"{i + 1} {title}"
            for i, (view, title, _) in enumerate(VIEWS)
        )
        head = Text.from_markup(tabs)  # markup of constants only; the rest is plain text
        head.append("\n")
        head.append(safe_text(self.run.run_id), style="bold")
        head.append(" · ")
        head.append(headline(self.analysis, self.summary))
        if self.status:
            status = safe_text(self.status, multiline=True)
            head.append("\n" + status, style="yellow" if self.running else "red")
        self.query_one("#analysis-head", Static).update(head)
        self.query_one(AnalysisPlot).show(self.analysis, self.view, self.options[self.view])

    def action_view(self, view: str) -> None:
        self.view = view
        self.draw()

    def action_next_view(self, delta: int) -> None:
        self.view = VIEW_IDS[(VIEW_IDS.index(self.view) + delta) % len(VIEW_IDS)]
        self.draw()

    def action_toggle_option(self) -> None:
        choices = option_list(self.view)
        self.options[self.view] = choices[
            (choices.index(self.options[self.view]) + 1) % len(choices)
        ]
        self.draw()

    def action_analyse(self) -> None:
        if self.running:
            self.notify("an analysis of this run is already running")
            return
        self.running = True
        self.status = (
            f"analysing in its own process… (log: {analysis_dir(self.run.path) / ANALYSIS_LOG})"
        )
        self.draw()
        self.analyse()

    @work(thread=True, exclusive=True, exit_on_error=False, group="analysis-run")
    def analyse(self) -> None:
        try:
            code = start_analysis(self.run.path).wait()
        except OSError as exc:
            self.post_message(AnalysisFinished(-1, [str(exc)]))
            return
        self.post_message(AnalysisFinished(code, log_tail(self.run.path)))

    def on_analysis_finished(self, message: AnalysisFinished) -> None:
        self.running = False
        if message.code == 0:
            self.status = ""
            self.notify("analysis written")
        else:
            self.status = "analysis failed: " + " · ".join(message.log or ["no output"])
        self.load()
