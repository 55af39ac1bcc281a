"""A sweep's results as text: the report's table, its CSV file and the spread over seeds.

``grok-tui sweep-report SWEEP_DIR [--metric M] [--x FIELD] [--y FIELD] [--csv PATH]``
(parsed in cli/sweep.py) prints one row per point (coordinates, status, fit_step, grok_step,
final train and test accuracy), the spread over seeds when a seed field varies and,
when two fields vary, the heatmap of grok_tui.sweep.heatmap.

Everything is read from summary.json files, and metrics.jsonl for the figures of a curve's
shape (the run directory is the single source of truth); nothing here imports torch, so
the TUI's sweep screen uses the same functions.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grok_tui.config import PresetError
from grok_tui.errors import UserError
from grok_tui.formats.csvfile import write_csv as write_table
from grok_tui.sweep.heatmap import HeatmapGrid, heatmap_grid, render_heatmap
from grok_tui.sweep.labels import describe_axes, format_value, short_names
from grok_tui.sweep.metrics import METRICS, SEED_FIELDS, ReportRow, format_metric, report_rows
from grok_tui.sweep.spec import error_text
from grok_tui.sweep.stats import METHOD, ci_metrics, format_estimate, setting_stats
from grok_tui.sweep.sweepdir import SweepDir, find_sweep, scan_sweeps
from grok_tui.text import safe_text

EXIT_OK, EXIT_BAD_INPUT = 0, 2
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
    "best_test_acc_step",
    "test_acc_drop",
    "test_acc_jitter",
    "test_acc_at_fit",
    "test_acc_rise",
    "min_test_loss_step",
    "min_test_loss_epoch",
)


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
    lines = _safe_cells(lines)  # escaped before their widths are measured
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


def _safe_cells(lines: list[list[str]]) -> list[list[str]]:
    """Table cells terminal-safe: values, statuses and run ids come from sweep.json and
    the points' summaries, which may come from someone else."""
    return [[safe_text(cell) for cell in line] for line in lines]


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
    """The table as CSV (full field names, every metric); the number of rows written.
    Every cell, header included, is spreadsheet-safe (grok_tui/formats/csvfile.py)."""
    fields = list(sweep_dir.axes)
    return write_table(
        path,
        ["index", *fields, "status", *CSV_METRICS, "run_id", "path"],
        (
            [
                row.index,
                *(row.coords.get(name) for name in fields),
                row.status,
                *(row.value(m) for m in CSV_METRICS),
                row.run_id,
                row.path,
            ]
            for row in rows
        ),
    )


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
    _check_over(sweep_dir, over)
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
    lines = _safe_cells(lines)  # escaped before their widths are measured
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


def ci_table(
    sweep_dir: SweepDir,
    rows: Sequence[ReportRow],
    over: Sequence[str],
    metric: str | None = None,
) -> str:
    """One line per setting: the fraction of seeds that grokked and the mean fit_step,
    grok_step, grok_gap (and ``metric``), each with its 95% interval (stats.METHOD)."""
    _check_over(sweep_dir, over)
    rest = [f for f in sweep_dir.axes if f not in over]
    names = short_names(list(sweep_dir.axes))
    figures = ci_metrics(metric)
    header = [*(names[f] for f in rest), "n", "grokked", *figures]
    lines = [header]
    for setting in setting_stats(rows, list(sweep_dir.axes), over, metrics=figures):
        lines.append(
            [
                *(format_value(setting.coords.get(f)) for f in rest),
                str(setting.n),
                format_estimate(setting.grokked_fraction, fraction=True),
                *(format_estimate(setting.means[m], kind=METRICS[m].kind) for m in figures),
            ]
        )
    lines = _safe_cells(lines)  # escaped before their widths are measured
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = [
        "  ".join(
            cell.ljust(widths[i]) if i < len(rest) else cell.rjust(widths[i])
            for i, cell in enumerate(line)
        ).rstrip()
        for line in lines
    ]
    title = (
        f"over {', '.join(over)}: mean [95% CI] of the finished points; "
        f"grok_step and grok_gap over those that grokked\nintervals: {METHOD}"
    )
    return "\n".join([title, *out])


def write_ci_csv(
    sweep_dir: SweepDir,
    rows: Sequence[ReportRow],
    over: Sequence[str],
    path: str | Path,
    metric: str | None = None,
) -> int:
    """The settings with their intervals as CSV (mean, ci_lo, ci_hi per figure)."""
    _check_over(sweep_dir, over)
    rest = [f for f in sweep_dir.axes if f not in over]
    figures = ci_metrics(metric)
    columns = [*rest, "n", "grokked"]
    for name in ("grokked_fraction", *figures):
        columns += [f"{name}_mean", f"{name}_ci_lo", f"{name}_ci_hi", f"{name}_n"]
    settings = setting_stats(rows, list(sweep_dir.axes), over, metrics=figures)
    lines: list[list[Any]] = []
    for setting in settings:
        line: list[Any] = [*(setting.coords.get(f) for f in rest)]
        line += [setting.n, setting.grokked]
        for estimate in (setting.grokked_fraction, *(setting.means[m] for m in figures)):
            line += (
                ["", "", "", 0]
                if estimate is None
                else [estimate.mean, estimate.lo, estimate.hi, estimate.n]
            )
        lines.append(line)
    write_table(path, columns, lines)
    return len(settings)


def ci_csv_path(csv_path: str | Path) -> Path:
    """Where --ci writes the settings table beside the points table: NAME-ci.csv."""
    path = Path(csv_path)
    return path.with_name(f"{path.stem}-ci{path.suffix or '.csv'}")


def _check_over(sweep_dir: SweepDir, over: Sequence[str]) -> None:
    unknown = [f for f in over if f not in sweep_dir.axes]
    if unknown:
        raise PresetError(
            f"--over {', '.join(unknown)}: not an axis of this sweep; axes: {', '.join(sweep_dir.axes)}"
        )
    if not over:
        raise PresetError(
            "--ci needs repeated points: a sweep over train.seed or data.split_seed, "
            "or --over FIELD naming the axis to treat as repeats"
        )


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
    ci: bool = False,
) -> str:
    """The whole report: a heading, the table, the spread over seeds (when a seed field
    varies, or `over` names fields), with ``ci`` their confidence intervals, and (two
    varying fields) the heatmap."""
    rows = report_rows(sweep_dir)
    parts = [describe_sweep(sweep_dir, rows), "", format_table(sweep_dir, rows, metric)]
    over = default_over(sweep_dir) if over is None else list(over)
    if ci:
        parts += ["", ci_table(sweep_dir, rows, over, metric)]
    elif over:
        parts += ["", spread_table(sweep_dir, rows, over)]
    # sweep.json and the summaries may come from someone else: their names, values,
    # statuses and run ids reach the terminal escaped (safe_text); the heatmap keeps
    # its own colours, so its labels are escaped before it is drawn.
    parts = [safe_text(part, multiline=True) for part in parts]
    grid = heatmap_grid(sweep_dir, rows, metric, x, y)
    if grid is not None:
        parts += ["", render_heatmap(_safe_grid(grid), width=width, color=color)]
    elif len(sweep_dir.varying()) < 2:
        parts += ["", "(a heatmap needs two fields that vary)"]
    return "\n".join(parts)


def _safe_grid(grid: HeatmapGrid) -> HeatmapGrid:
    """The grid with its field names and text values terminal-safe (numbers unchanged)."""

    def safe(value: Any) -> Any:
        return safe_text(value) if isinstance(value, str) else value

    return dataclasses.replace(
        grid,
        x_field=safe_text(grid.x_field),
        y_field=safe_text(grid.y_field),
        x_values=[safe(v) for v in grid.x_values],
        y_values=[safe(v) for v in grid.y_values],
        over=[safe_text(f) for f in grid.over],
    )


def report_command(
    ref: str | None,
    runs_dir: Path,
    *,
    metric: str = "final_test_acc",
    x: str | None = None,
    y: str | None = None,
    over: Sequence[str] | None = None,
    csv_path: str | None = None,
    plain: bool = False,
    width: int | None = None,
    ci: bool = False,
) -> int:
    """``grok-tui sweep-report``: print a sweep's report (and write its CSV), or without
    ``ref`` list the sweeps of the runs directory. Exit code 0, or 2 for bad input."""
    if ref is None:
        return _list(runs_dir)
    try:
        sweep_dir = find_sweep(ref, runs_dir)
        color = sys.stdout.isatty() and not plain and not os.environ.get("NO_COLOR")
        try:
            columns = os.get_terminal_size().columns
        except OSError:
            columns = 80
        text = report_text(
            sweep_dir,
            metric=metric,
            x=x,
            y=y,
            color=color,
            width=width or min(columns, 120),
            over=over,
            ci=ci,
        )
    except UserError as exc:
        print(f"error: {safe_text(error_text(exc), multiline=True)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        print(text, flush=True)
    except BrokenPipeError:  # `| head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    if csv_path:
        try:
            count = write_csv(sweep_dir, report_rows(sweep_dir), csv_path)
        except OSError as exc:
            print(safe_text(f"error: cannot write {csv_path}: {exc}"), file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"wrote {count} rows to {safe_text(csv_path)}")
        if ci:
            over = default_over(sweep_dir) if over is None else list(over)
            ci_path = ci_csv_path(csv_path)
            try:
                count = write_ci_csv(sweep_dir, report_rows(sweep_dir), over, ci_path, metric)
            except OSError as exc:
                print(safe_text(f"error: cannot write {ci_path}: {exc}"), file=sys.stderr)
                return EXIT_BAD_INPUT
            print(f"wrote {count} settings with their intervals to {safe_text(ci_path)}")
    return EXIT_OK


def _list(runs_dir: Path) -> int:
    """One line per sweep directory; one whose sweep.json cannot be used says why
    (``unreadable: ...``), and never hides the others."""
    sweeps = scan_sweeps(runs_dir)
    if not sweeps:
        print(f"no sweeps in {safe_text(runs_dir)}")
        return EXIT_OK
    for listing in sweeps:
        if listing.sweep is None:
            line = f"sweep {listing.path.name} · unreadable: {listing.unreadable}"
        else:
            line = describe_sweep(listing.sweep, report_rows(listing.sweep))
        print(safe_text(line))
    return EXIT_OK
