"""Runs written out for other tools: one CSV of many runs' records, TensorBoard event files.

Torch-free and UI-free: ``grok-tui export`` and the TUI's export keys both call it.
Every CSV file the product writes (this table, the history's, the sweep report's) goes
through csvfile.write_csv: one rule for cells a spreadsheet would run as formulas.
"""

from grok_tui.export.table import RunsTable, runs_table, varying_fields, write_runs_csv
from grok_tui.export.tensorboard import write_tensorboard
from grok_tui.formats.csvfile import csv_cell, write_csv

__all__ = [
    "RunsTable",
    "csv_cell",
    "runs_table",
    "varying_fields",
    "write_csv",
    "write_runs_csv",
    "write_tensorboard",
]
