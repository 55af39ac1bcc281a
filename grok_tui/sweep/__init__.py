"""Sweeps: grids of presets described in one TOML file, trained point by point, reported.

One job per module, each importing only those before it:

- labels: how coordinates and axes read as text (run names, table headers, messages)
- spec: a sweep file to validated points (the ``[sweep]`` table, zip groups, expansion)
- sweepdir: the sweep directory on disk (sweep.json, sweep.toml, a run directory per point)
- jobs: a point to train, how it ended, the executor protocol (what executors share)
- groups: which points train together as vectorised groups (``--vectorize``)
- progress: a sweep's progress line while its points train
- executor: trains the unfinished points of a sweep directory, one process per point
- ray_executor (a package; the only one importing ray): each point as a Ray task
- ray_watchdog: a process that takes down a local Ray instance whose driver died
- commands: ``grok-tui --run SWEEP.toml`` and ``--resume SWEEP_DIR``, as the cli calls them
- estimate: a figure with its interval, a fraction's Wilson interval (no numpy: the TUI's)
- metrics, stats, heatmap, report: a point's figures; the spread over seeds; the
  heatmap; the table, CSV and spread

Nothing here imports torch at import time (DESIGN.md rule 3: the TUI uses the sweep
directory and the report); only commands.check_devices does, on demand. This package
re-exports the names of spec, labels and sweepdir that the rest of grok_tui uses; the
executor, the commands and the report are imported from their modules.
"""

from __future__ import annotations

from grok_tui.config import PresetError
from grok_tui.sweep.labels import (
    axis_units,
    coords_text,
    describe,
    describe_axes,
    format_value,
    point_label,
    short_names,
)
from grok_tui.sweep.spec import (
    MAX_POINTS,
    Point,
    Sweep,
    SweepErrors,
    SweepPointError,
    count_points,
    error_text,
    expand,
    is_sweep_file,
    load_sweep,
    validation_verdict,
)
from grok_tui.sweep.sweepdir import (
    LOCK_FILE,
    SWEEP_JSON,
    SWEEP_TOML,
    SweepDir,
    SweepPoint,
    create_sweep_dir,
    find_sweep,
    is_sweep_dir,
    list_sweeps,
    read_sweep_dir,
    recreate_missing,
    sweep_of_run,
    sweep_runner_pid,
)

__all__ = [
    "LOCK_FILE",
    "MAX_POINTS",
    "SWEEP_JSON",
    "SWEEP_TOML",
    "Point",
    "PresetError",
    "Sweep",
    "SweepDir",
    "SweepErrors",
    "SweepPoint",
    "SweepPointError",
    "axis_units",
    "coords_text",
    "count_points",
    "create_sweep_dir",
    "describe",
    "describe_axes",
    "error_text",
    "expand",
    "find_sweep",
    "format_value",
    "is_sweep_dir",
    "is_sweep_file",
    "list_sweeps",
    "load_sweep",
    "point_label",
    "read_sweep_dir",
    "recreate_missing",
    "short_names",
    "sweep_of_run",
    "sweep_runner_pid",
    "validation_verdict",
]
