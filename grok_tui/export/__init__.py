"""Runs written out for other tools: one CSV of many runs' records, TensorBoard event files.

Torch-free and UI-free: ``grok-tui export`` and the TUI's export keys both call it.
"""

from grok_tui.export.table import RunsTable, runs_table, varying_fields, write_runs_csv
from grok_tui.export.tensorboard import write_tensorboard

__all__ = ["RunsTable", "runs_table", "varying_fields", "write_runs_csv", "write_tensorboard"]
