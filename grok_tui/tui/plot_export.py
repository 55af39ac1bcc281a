"""The curves a screen shows, written as PNG and SVG with matplotlib (the ``analysis`` extra).

Takes the panels the panes draw (views.panels.Panel), so a file shows what the screen showed:
the same metrics, runs, colours, zoom window and x scale. matplotlib is imported here,
when a plot is written, never when the TUI starts; without it the user is told what to
install. Torch-free (DESIGN.md rule 3).
"""

from __future__ import annotations

import io
import math
import re
import time
from collections.abc import Sequence
from pathlib import Path

from grok_tui import files
from grok_tui.errors import UserError
from grok_tui.tui.views.cursor import from_plot_x
from grok_tui.tui.views.panels import Panel

EXPORT_DIR = "exports"  # under the runs directory; holds no run, so no scan mistakes it for one
FORMATS = ("png", "svg")
MAX_LEGEND = 12  # more curves than this: the legend would hide the plot


class PlotExportUnavailable(UserError):
    """matplotlib is not installed."""


def export_stem(runs_dir: Path, name: str, now: float | None = None) -> Path:
    """runs_dir/exports/<stamp>-<name>: a name made of safe characters, never a path."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")[:60] or "plot"
    return Path(runs_dir) / EXPORT_DIR / f"{stamp}-{safe}"


def export_plot(
    panels: Sequence[Panel],
    runs_dir: Path,
    name: str,
    *,
    log_x: bool = False,
    window: tuple[float, float] | None = None,
    now: float | None = None,
) -> list[Path]:
    """Write the panels side by side as <stem>.png and <stem>.svg; the paths written."""
    stem = export_stem(runs_dir, name, now)
    figure = draw(panels, log_x=log_x, window=window, title=name)
    files.make_dirs(stem.parent)
    paths = []
    for fmt in FORMATS:
        path = stem.with_suffix(f".{fmt}")
        buffer = io.BytesIO()  # rendered to bytes, written through the door
        figure.savefig(buffer, format=fmt, dpi=150, bbox_inches="tight")
        files.write_atomic(path, buffer.getbuffer())
        paths.append(path)
    return paths


def draw(
    panels: Sequence[Panel],
    *,
    log_x: bool = False,
    window: tuple[float, float] | None = None,
    title: str = "",
):  # -> matplotlib.figure.Figure (not imported at module level)
    """A matplotlib Figure of the panels: real log axes where the panes drew log10."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise PlotExportUnavailable(
            "plot export needs matplotlib: pip install 'grok-tui[analysis]'"
        ) from exc
    count = max(1, len(panels))
    cols = min(count, 3)
    rows = math.ceil(count / cols)
    figure = Figure(figsize=(5.2 * cols, 3.6 * rows), layout="constrained")
    if title:
        figure.suptitle(title)
    axes = figure.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    for ax, panel in zip(axes, panels, strict=False):
        _draw_panel(ax, panel, log_x, window)
    return figure


def _draw_panel(ax, panel: Panel, log_x: bool, window: tuple[float, float] | None) -> None:
    log_y = panel.scale == "log"
    labelled = 0
    for series in panel.series:
        pts = [(x, 10**y if log_y else y) for x, y in series.points if x > 0 or not log_x]
        if not pts:
            continue
        show_label = not series.faint and labelled < MAX_LEGEND
        labelled += show_label
        ax.plot(
            [p[0] for p in pts],
            [p[1] for p in pts],
            color=tuple(c / 255 for c in series.colour),
            linestyle="--" if series.dashed else "-",
            linewidth=0.8 if series.faint or series.dashed else 1.4,
            alpha=0.5 if series.faint else 1.0,
            label=series.name if show_label else None,
        )
    for mark in panel.marks:
        if mark.x > 0 or not log_x:
            colour = tuple(c / 255 for c in mark.colour)
            ax.axvline(mark.x, color=colour, linewidth=0.8, linestyle=":", label=mark.label)
    if log_y:
        ax.set_yscale("log")
    if panel.scale == "unit":
        ax.set_ylim(-0.02, 1.02)
    if log_x:
        ax.set_xscale("log")
    if window is not None:
        ax.set_xlim(from_plot_x(window[0], log_x), from_plot_x(window[1], log_x))
    ax.set_title(panel.title.removesuffix(" (log)"))
    ax.set_xlabel(panel.x_label)
    ax.grid(alpha=0.25)
    if labelled or panel.marks:
        ax.legend(fontsize="small")
