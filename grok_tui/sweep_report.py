"""A sweep's results: a table, a CSV file and a heatmap, read from its run directories.

``grok-tui sweep-report SWEEP_DIR [--metric M] [--x FIELD] [--y FIELD] [--csv PATH]``
prints one row per point (coordinates, status, fit_step, grok_step, final train and test
accuracy) and, when two fields vary, a heatmap of the chosen metric drawn with plotext:
coloured on a terminal, shaded characters (░▒▓█) with the values written in otherwise.
With more than two varying fields, each heatmap cell is the mean over the others.

Everything is read from summary.json files (the run directory is the single source of
truth); nothing here imports torch, so the TUI's sweep screen uses the same functions.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import statistics
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grok_tui import store
from grok_tui.config import PresetError
from grok_tui.sweep import (
    SweepDir,
    axis_units,
    describe_axes,
    error_text,
    find_sweep,
    format_value,
    list_sweeps,
    short_names,
)

EXIT_OK, EXIT_BAD_INPUT = 0, 2


@dataclass(frozen=True)
class Metric:
    """A figure of a finished point, read from its summary."""

    name: str
    kind: str  # acc, step, loss, time
    read: Callable[[dict[str, Any]], Any]
    higher_is_better: bool = True


def _final(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda s: (s.get("final") or {}).get(key)


def _top(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda s: s.get(key)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("final_test_acc", "acc", _final("test_acc")),
        Metric("final_train_acc", "acc", _final("train_acc")),
        Metric("best_test_acc", "acc", _top("best_test_acc")),
        Metric("fit_step", "step", _top("fit_step"), higher_is_better=False),
        Metric("grok_step", "step", _top("grok_step"), higher_is_better=False),
        Metric("grok_gap", "step", _top("grok_gap"), higher_is_better=False),
        Metric("final_test_loss", "loss", _final("test_loss"), higher_is_better=False),
        Metric("final_train_loss", "loss", _final("train_loss"), higher_is_better=False),
        Metric("step", "step", _top("step")),
        Metric("elapsed_s", "time", _top("elapsed_s"), higher_is_better=False),
    )
}
SEED_FIELDS = ("train.seed", "data.split_seed")  # repeats of one setting, not settings
TABLE_METRICS = ("fit_step", "grok_step", "final_train_acc", "final_test_acc")
TABLE_TITLES = {"final_train_acc": "train_acc", "final_test_acc": "test_acc"}
CSV_METRICS = (
    "step",
    "fit_step",
    "grok_step",
    "grok_gap",
    "final_train_acc",
    "final_test_acc",
    "best_test_acc",
    "final_train_loss",
    "final_test_loss",
    "elapsed_s",
)


@dataclass
class ReportRow:
    """One point of a sweep with its run's summary."""

    index: int
    coords: dict[str, Any]
    label: str
    run_id: str | None
    path: Path | None
    status: str
    summary: dict[str, Any] = field(default_factory=dict)

    def value(self, metric: str) -> Any:
        return METRICS[metric].read(self.summary)


def report_rows(sweep_dir: SweepDir) -> list[ReportRow]:
    """One row per point, in the sweep's order; 'missing' where a run directory is gone."""
    rows = []
    for point in sweep_dir.points():
        summary = point.run.summary() if point.run else {}
        rows.append(
            ReportRow(
                index=point.index,
                coords=point.coords,
                label=point.label,
                run_id=point.run_id,
                path=point.run.path if point.run else None,
                status=store.effective_status(summary) if point.run else "missing",
                summary=summary,
            )
        )
    return rows


def format_metric(metric: str, value: Any, *, width: int | None = None) -> str:
    """A metric's value as text: accuracies to 3 decimals, steps whole, '-' when absent."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    kind = METRICS[metric].kind if metric in METRICS else "loss"
    if kind == "acc":
        text = f"{value:.3f}"
        if width is not None and len(text) > width:
            text = f"{value:.2f}"
    elif kind == "step":
        number = round(value)
        text = str(number)
        if width is not None and len(text) > width:
            text = f"{number / 1000:.0f}k" if number >= 10_000 else f"{number / 1000:.1f}k"
    elif kind == "time":
        text = f"{value:.0f}s" if value >= 10 else f"{value:.1f}s"
    else:
        text = f"{value:.3g}"
    return text


# ---------------------------------------------------------------------------
# Table and CSV


def table_columns(metric: str | None = None) -> list[str]:
    metrics = list(TABLE_METRICS)
    if metric and metric not in metrics:
        metrics.append(metric)
    return metrics


def format_table(sweep_dir: SweepDir, rows: Sequence[ReportRow], metric: str | None = None) -> str:
    """The report table as text: one line per point."""
    names = short_names(list(sweep_dir.axes))
    metrics = table_columns(metric)
    header = ["#", *names.values(), "status", "step", *(TABLE_TITLES.get(m, m) for m in metrics)]
    header.append("run")
    lines = [header]
    for row in rows:
        step = row.summary.get("step")
        steps = row.summary.get("steps")
        lines.append(
            [
                str(row.index),
                *(format_value(row.coords.get(f)) if f in row.coords else "-" for f in names),
                row.status,
                "-" if step is None else f"{step}/{steps}" if steps else str(step),
                *(format_metric(m, row.value(m)) for m in metrics),
                row.run_id or "-",
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text_columns = {1 + len(names), len(header) - 1}  # status and run: left aligned
    text_columns |= set(range(1, 1 + len(names)))
    out = []
    for line in lines:
        cells = [
            cell.ljust(widths[i]) if i in text_columns else cell.rjust(widths[i])
            for i, cell in enumerate(line)
        ]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def describe_sweep(sweep_dir: SweepDir, rows: Sequence[ReportRow]) -> str:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    tally = ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    axes = describe_axes(sweep_dir.mode, sweep_dir.axes, sweep_dir.zip_groups)
    return (
        f"sweep {sweep_dir.sweep_id} · {sweep_dir.mode} of {len(rows)} points over {axes}"
        f" · {tally or 'no points'}"
    )


def write_csv(sweep_dir: SweepDir, rows: Sequence[ReportRow], path: str | Path) -> int:
    """The table as CSV (full field names, every metric); the number of rows written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = list(sweep_dir.axes)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["index", *fields, "status", *CSV_METRICS, "run_id", "path"])
        for row in rows:
            writer.writerow(
                [
                    row.index,
                    *(_csv_value(row.coords.get(name)) for name in fields),
                    row.status,
                    *("" if row.value(m) is None else row.value(m) for m in CSV_METRICS),
                    row.run_id or "",
                    str(row.path or ""),
                ]
            )
    return len(rows)


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value)
    return value


# ---------------------------------------------------------------------------
# Heatmap


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


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


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
    xi = {_key(v): i for i, v in enumerate(x_values)}
    yi = {_key(v): j for j, v in enumerate(y_values)}
    sums: list[list[list[float]]] = [[[] for _ in x_values] for _ in y_values]
    for row in rows:
        if x not in row.coords or y not in row.coords:
            continue
        value = row.value(metric)
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            continue
        sums[yi[_key(row.coords[y])]][xi[_key(row.coords[x])]].append(float(value))
    cells = [[(sum(c) / len(c) if c else None) for c in line] for line in sums]
    over = [f for f in varying if axis(f) not in (axis(x), axis(y))]
    return HeatmapGrid(metric, x, y, x_values, y_values, cells, over)


def _distinct(values: Sequence[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for value in values:
        seen.setdefault(_key(value), value)
    return list(seen.values())


# viridis at five stops: dark purple (low) to yellow (high)
_VIRIDIS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
SHADES = "░▒▓█"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PLOT_LOCK = threading.Lock()  # plotext keeps one global figure


def colour_at(t: float) -> tuple[int, int, int]:
    t = min(max(t, 0.0), 1.0) * (len(_VIRIDIS) - 1)
    i = min(int(t), len(_VIRIDIS) - 2)
    f = t - i
    a, b = _VIRIDIS[i], _VIRIDIS[i + 1]
    return (
        round(a[0] + (b[0] - a[0]) * f),
        round(a[1] + (b[1] - a[1]) * f),
        round(a[2] + (b[2] - a[2]) * f),
    )


def value_range(grid: HeatmapGrid) -> tuple[float, float]:
    """The colour scale: 0..1 for accuracies (comparable across sweeps), else the data's."""
    values = grid.values()
    if METRICS[grid.metric].kind == "acc":
        return 0.0, 1.0
    if not values:
        return 0.0, 1.0
    return min(values), max(values)


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
    span = (high - low) or 1.0
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
        plt.plotsize(width, height)
        for j in range(ny):
            for i in range(nx):
                value = grid.cells[j][i]
                if value is None or not x_spans[i] or not y_spans[j]:
                    continue
                t = (value - low) / span
                xs = [x for x in x_spans[i] for _ in y_spans[j]]
                ys = [y for _ in x_spans[i] for y in y_spans[j]]
                if color:
                    plt.scatter(xs, ys, marker="█", color=colour_at(t))
                else:
                    shade = SHADES[min(int(t * len(SHADES)), len(SHADES) - 1)]
                    plt.scatter(xs, ys, marker=shade)
        for j in range(ny):
            for i in range(nx):
                value = grid.cells[j][i]
                text = f" {format_metric(grid.metric, value, width=label_width)} "
                if color and value is not None:
                    r, g, b = colour_at((value - low) / span)
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


# ---------------------------------------------------------------------------
# Over seeds: the spread of each setting's figures across the points that repeat it

SPREAD_METRICS = ("fit_step", "grok_step")


def default_over(sweep_dir: SweepDir) -> list[str]:
    """The seed fields that vary: a sweep over seeds asks for their spread."""
    return [f for f in SEED_FIELDS if f in sweep_dir.varying()]


def _spread(values: Sequence[float]) -> str:
    """'3,133 ± 375 (2,700–3,350)': mean ± sample standard deviation (range); '-' if none."""
    if not values:
        return "-"
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:,.0f}"
    sd = statistics.stdev(values)
    return f"{mean:,.0f} ± {sd:,.0f} ({min(values):,.0f}–{max(values):,.0f})"


def spread_table(sweep_dir: SweepDir, rows: Sequence[ReportRow], over: Sequence[str]) -> str:
    """One line per setting of the other fields: how many points grokked, and the spread of
    fit_step and grok_step (over the points that reached them) and of final test accuracy."""
    unknown = [f for f in over if f not in sweep_dir.axes]
    if unknown:
        raise PresetError(
            f"--over {', '.join(unknown)}: not an axis of this sweep; axes: {', '.join(sweep_dir.axes)}"
        )
    rest = [f for f in sweep_dir.axes if f not in over]
    names = short_names(list(sweep_dir.axes))
    groups: dict[str, list[ReportRow]] = {}
    for row in rows:
        key = json.dumps([row.coords.get(f) for f in rest], default=str)
        groups.setdefault(key, []).append(row)
    header = [*(names[f] for f in rest), "n", "grokked", *SPREAD_METRICS, "test_acc"]
    lines = [header]
    for members in groups.values():
        accs = [r.value("final_test_acc") for r in members if r.value("final_test_acc") is not None]
        lines.append(
            [
                *(format_value(members[0].coords.get(f)) for f in rest),
                str(len(members)),
                f"{sum(r.value('grok_step') is not None for r in members)}/{len(members)}",
                *(
                    _spread([r.value(m) for r in members if r.value(m) is not None])
                    for m in SPREAD_METRICS
                ),
                f"{statistics.fmean(accs):.3f}" if accs else "-",
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = [
        "  ".join(
            cell.ljust(widths[i]) if i < len(rest) else cell.rjust(widths[i])
            for i, cell in enumerate(line)
        ).rstrip()
        for line in lines
    ]
    title = f"over {', '.join(over)}: mean ± sd (min–max) of the points that got there"
    return "\n".join([title, *out])


# ---------------------------------------------------------------------------
# grok-tui sweep-report


def report_text(
    sweep_dir: SweepDir,
    *,
    metric: str = "final_test_acc",
    x: str | None = None,
    y: str | None = None,
    color: bool = False,
    width: int = 80,
    over: Sequence[str] | None = None,
) -> str:
    """The whole report: a heading, the table, the spread over seeds (when a seed field
    varies, or `over` names fields) and (two varying fields) the heatmap."""
    rows = report_rows(sweep_dir)
    parts = [describe_sweep(sweep_dir, rows), "", format_table(sweep_dir, rows, metric)]
    over = default_over(sweep_dir) if over is None else list(over)
    if over:
        parts += ["", spread_table(sweep_dir, rows, over)]
    grid = heatmap_grid(sweep_dir, rows, metric, x, y)
    if grid is not None:
        parts += ["", render_heatmap(grid, width=width, color=color)]
    elif len(sweep_dir.varying()) < 2:
        parts += ["", "(a heatmap needs two fields that vary)"]
    return "\n".join(parts)


def main(argv: Sequence[str]) -> int:
    from grok_tui.store import resolve_runs_dir

    parser = argparse.ArgumentParser(
        prog="grok-tui sweep-report",
        description="a sweep's table (and heatmap for two varying fields); "
        "without SWEEP, list the sweeps of the runs directory",
    )
    parser.add_argument("sweep", nargs="?", metavar="SWEEP_DIR", help="path or id of a sweep")
    parser.add_argument(
        "--metric",
        default="final_test_acc",
        choices=list(METRICS),
        help="the heatmap's figure (default: final_test_acc)",
    )
    parser.add_argument("--x", metavar="FIELD", help="heatmap x axis (default: first varying)")
    parser.add_argument("--y", metavar="FIELD", help="heatmap y axis (default: second varying)")
    parser.add_argument(
        "--over",
        metavar="FIELD[,FIELD]",
        help="summarise across these axes: the spread of fit_step and grok_step per setting"
        " of the others (default: train.seed / data.split_seed when they vary; 'none': off)",
    )
    parser.add_argument("--csv", metavar="PATH", help="also write the table as CSV")
    parser.add_argument("--plain", action="store_true", help="no colours even on a terminal")
    parser.add_argument("--width", type=int, help="heatmap width in columns")
    parser.add_argument(
        "--runs-dir", help="where runs live (default: ./runs or $GROK_TUI_RUNS_DIR)"
    )
    args = parser.parse_args(list(argv))
    runs_dir = resolve_runs_dir(args.runs_dir)
    if args.sweep is None:
        return _list(runs_dir)
    try:
        sweep_dir = find_sweep(args.sweep, runs_dir)
        color = sys.stdout.isatty() and not args.plain and not os.environ.get("NO_COLOR")
        try:
            columns = os.get_terminal_size().columns
        except OSError:
            columns = 80
        text = report_text(
            sweep_dir,
            metric=args.metric,
            x=args.x,
            y=args.y,
            color=color,
            width=args.width or min(columns, 120),
            over=None
            if args.over is None
            else [f.strip() for f in args.over.split(",") if f.strip() not in ("", "none")],
        )
    except PresetError as exc:
        print(f"error: {error_text(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        print(text, flush=True)
    except BrokenPipeError:  # `| head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    if args.csv:
        try:
            count = write_csv(sweep_dir, report_rows(sweep_dir), args.csv)
        except OSError as exc:
            print(f"error: cannot write {args.csv}: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"wrote {count} rows to {args.csv}")
    return EXIT_OK


def _list(runs_dir: Path) -> int:
    sweeps = list_sweeps(runs_dir)
    if not sweeps:
        print(f"no sweeps in {runs_dir}")
        return EXIT_OK
    for sweep_dir in sweeps:
        print(describe_sweep(sweep_dir, report_rows(sweep_dir)))
    return EXIT_OK
