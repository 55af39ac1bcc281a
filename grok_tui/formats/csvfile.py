"""Every CSV file the product writes, cell by cell safe to open in a spreadsheet.

Run ids, names, notes, record keys and sweep fields come from run directories, which may
come from someone else: a cell (a header cell too) that a spreadsheet would evaluate as
a formula (CSV injection: ``=HYPERLINK(...)``, ``-2+3``, ``@SUM(...)``) is written as
text, with a leading ``'``. A number stays a number, even written as text (``-0.5``).
The export table, the history's CSVs and the sweep report all write through here: a
leaf (it needs only files.py), so that sweep, export and the TUI share the one rule
without importing each other.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from grok_tui import files

# What a spreadsheet reads as the start of a formula (OWASP's list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A plain decimal number, as a spreadsheet reads one: '-0.5', '+3', '-1e-3' (not '-2+3').
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def csv_cell(value: Any) -> Any:
    """The value as a CSV cell: '' for missing, lists and tables as their JSON text, a
    text that a spreadsheet would evaluate quoted with a ``'``; numbers as they are."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple | dict):
        value = json.dumps(value)
    text = value if isinstance(value, str) else str(value)
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_text(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """A whole CSV file: the header and the rows, every cell through csv_cell."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow([csv_cell(name) for name in header])
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    return text.getvalue()


def write_csv(path: str | Path, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> int:
    """Write a CSV file (atomically, never through a link; its folder made when missing);
    the number of rows written."""
    rows = list(rows)
    path = Path(path)
    files.make_dirs(path.parent)
    files.write_text_atomic(path, csv_text(header, rows))
    return len(rows)
