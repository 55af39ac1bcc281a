"""The records of many runs (marked runs, or a whole sweep) as one table.

One row per record; the first columns say which run it is (``run_id``) and what set it
apart: every dotted preset field whose value differs between the runs (``optim.lr``,
``train.seed``...), so that a dataframe library can group by them directly. Then the
record's fields (store.RECORD_FIELDS first, then any others, such as progress measures).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grok_tui.config.loading import flatten
from grok_tui.export.records import Warn, read_run_records
from grok_tui.formats.csvfile import csv_cell as csv_cell  # its home before csvfile
from grok_tui.formats.csvfile import write_csv
from grok_tui.rundirs import store

# These differ between runs by construction and say nothing about the experiment.
NOT_SETTINGS = ("name", "description")


@dataclass
class RunsTable:
    """Column names and rows (lists of plain values, None for missing)."""

    columns: list[str]
    rows: list[list[Any]]


def varying_fields(presets: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The dotted preset fields whose value is not the same in every run, in file order."""
    flat = [flatten(preset) for preset in presets.values()]
    keys: list[str] = []
    for values in flat:
        keys.extend(k for k in values if k not in keys and k not in NOT_SETTINGS)
    missing = object()
    return [k for k in keys if len({repr(values.get(k, missing)) for values in flat}) > 1]


def runs_table(runs: Sequence[store.RunDir], warn: Warn | None = None) -> RunsTable:
    """Every record of every run, with the run's id and its varying preset fields first;
    ``warn`` hears of a run whose records are not all read (records.read_run_records)."""
    presets: dict[str, dict[str, Any]] = {}
    records: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        try:
            presets[run.run_id] = store.read_run_preset_raw(run)
        except (store.PresetError, OSError):
            presets[run.run_id] = {}
        records[run.run_id] = read_run_records(run, warn)
    settings = varying_fields(presets)
    fields = list(store.RECORD_FIELDS)
    for rows in records.values():
        for record in rows:
            fields.extend(k for k in record if k not in fields)
    table = RunsTable(["run_id", *settings, *fields], [])
    for run_id, rows in records.items():
        flat = flatten(presets[run_id])
        head = [run_id, *(_plain(flat.get(k)) for k in settings)]
        table.rows.extend([*head, *(_plain(r.get(k)) for k in fields)] for r in rows)
    return table


def _plain(value: Any) -> Any:
    """A CSV cell: lists (betas, widths) as their TOML-like text, everything else as is."""
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return value


def write_runs_csv(
    runs: Sequence[store.RunDir], path: str | Path, *, warn: Warn | None = None
) -> int:
    """Write the table of ``runs`` to ``path`` (atomically, never through a link, every cell
    spreadsheet-safe); rows written. ``warn`` hears of records that were not read."""
    table = runs_table(runs, warn)
    return write_csv(path, table.columns, table.rows)
