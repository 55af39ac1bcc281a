"""``grok-tui export --csv``, streamed: the runs' records written row by row, never all
of them in memory (a 200,000-record run took 377 MB and 9 s when the table was built
first). The file is the same, byte for byte, as table.write_runs_csv writes.

The header names every record field of every run (store.RECORD_FIELDS first, then the
others in the order they first appear), so the records are read twice: once for their
fields, once for their rows, each time a chunk at a time (metric_lines.FileLines). Lines
of a shape already validated become rows without json.loads: an int token is its own
cell, a float token the float's repr (what the csv module writes for the parsed value).
The file is written beside its name and renamed over it, through the door (files.py).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator, Sequence
from itertools import repeat
from pathlib import Path
from typing import Any

from grok_tui import files
from grok_tui.config.loading import flatten
from grok_tui.export.records import Warn, unread_bytes
from grok_tui.export.table import _plain, varying_fields
from grok_tui.formats.csvfile import csv_cell
from grok_tui.rundirs import store
from grok_tui.rundirs.metric_lines import FileLines, Template


def _float_cells(tokens: Sequence[bytes]) -> list[str]:
    if b"null" in tokens:
        return ["" if t == b"null" else repr(float(t)) for t in tokens]
    return list(map(repr, map(float, tokens)))


def _int_cells(tokens: Sequence[bytes]) -> list[str]:
    if b"null" in tokens:
        return ["" if t == b"null" else t.decode("ascii") for t in tokens]
    return [t.decode("ascii") for t in tokens]


class _Run:
    """One run of the export: its settings' cells and how far its records were read."""

    def __init__(self, run: store.RunDir) -> None:
        self.run = run
        try:
            self.preset = store.read_run_preset_raw(run)
        except (store.PresetError, OSError):
            self.preset = {}
        self.consumed = 0  # bytes of metrics.jsonl the first pass read: the second stops there
        self.last_step: int | None = None
        self.count = 0


def _fields(run: _Run, fields: list[str]) -> None:
    """First pass: the run's record fields added to ``fields`` in the order they appear."""
    lines = FileLines(run.run.metrics_path)
    seen = set(fields)
    for template, rows in lines.stretches():
        if template is not None:
            tokens: list[tuple[bytes, ...]] = rows  # type: ignore[assignment]
            run.last_step = int(tokens[-1][template.keys.index("step")])
            new = [k for k in template.keys if k not in seen]
        else:
            records: list[dict[str, Any]] = rows  # type: ignore[assignment]
            run.last_step = records[-1]["step"]
            new = [k for record in records for k in record if k not in seen]
        run.count += len(rows)
        for key in new:
            if key not in seen:
                seen.add(key)
                fields.append(key)
    run.consumed = lines.offset


def _rows(run: _Run, head: list[Any], fields: list[str]) -> Iterator[str]:
    """Second pass: the run's rows as CSV text, a chunk's at a time; ``head`` is the
    cells of the run's id and settings."""
    position = {field: i for i, field in enumerate(fields)}
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    prefix = io.StringIO(newline="")
    csv.writer(prefix, lineterminator="").writerow(head)
    lines = FileLines(run.run.metrics_path)
    for template, rows in lines.stretches(run.consumed):
        if template is None:  # records read the slow way: their cells as the table made them
            writer.writerows([*head, *(csv_cell(_plain(r.get(k))) for k in fields)] for r in rows)
        else:
            _token_rows(out, template, rows, prefix.getvalue() + ",", position, len(fields))
        yield out.getvalue()
        out.seek(0)
        out.truncate()


def _token_rows(
    out: io.StringIO,
    template: Template,
    rows: list[tuple[bytes, ...]],
    prefix: str,
    position: dict[str, int],
    width: int,
) -> None:
    """Rows of one shape's lines: numbers need no quoting, so a row is its cells joined."""
    columns: list[Any] = [repeat("", len(rows)) for _ in range(width)]
    for j, (key, tokens) in enumerate(zip(template.keys, zip(*rows, strict=True), strict=True)):
        if key in position:  # a key the first pass did not see: the file changed between
            cells = _int_cells(tokens) if template.ints[j] else _float_cells(tokens)
            columns[position[key]] = cells
    out.writelines(prefix + ",".join(cells) + "\r\n" for cells in zip(*columns, strict=True))


def write_runs_csv(
    runs: Sequence[store.RunDir], path: str | Path, *, warn: Warn | None = None
) -> int:
    """table.write_runs_csv, streamed: the same file; rows written. ``warn`` hears of
    records past the size cap of a metrics.jsonl, which are not read."""
    path = Path(path)
    items = [_Run(run) for run in runs]
    settings = varying_fields({item.run.run_id: item.preset for item in items})
    fields = list(store.RECORD_FIELDS)
    for item in items:
        _fields(item, fields)
        unread = unread_bytes(item.run, item.consumed) if warn is not None else 0
        if unread and warn is not None:
            last = f" (the last one read: step {item.last_step})" if item.count else ""
            warn(
                f"run {item.run.run_id}: {store.METRICS_FILE} is larger than the "
                f"{files.MAX_METRICS_BYTES:,}-byte limit: {unread:,} bytes of records past "
                f"the first {item.count:,}{last} were not read"
            )
    header = io.StringIO(newline="")
    csv.writer(header).writerow([csv_cell(name) for name in ["run_id", *settings, *fields]])
    files.make_dirs(path.parent)
    with files.Folder.root(path.parent) as folder:
        tmp = f".{path.name}.{os.getpid()}.tmp"
        fd = folder.open_fresh(tmp)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                out.write(header.getvalue())
                for item in items:
                    flat = flatten(item.preset)
                    cells = [item.run.run_id, *(_plain(flat.get(k)) for k in settings)]
                    for text in _rows(item, [csv_cell(c) for c in cells], fields):
                        out.write(text)
            folder.rename(tmp, path.name)
        except BaseException:
            folder.unlink(tmp)
            raise
    return sum(item.count for item in items)
