"""How the command line lays out what it lists: one table printer for every listing
(``runs``, ``queue``, ``presets``), and the small words of its messages.

A cell may come from a run directory someone else wrote: every cell goes through
safe_text before its width is measured, so an escape sequence never reaches the
terminal and the columns still line up.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TextIO

from grok_tui.text import safe_text


@dataclass(frozen=True)
class Column:
    """A column: its title, its width (0: as wide as its cells, the last column's way),
    right-aligned or not, and the spaces before it."""

    title: str = ""
    width: int = 0
    right: bool = False
    gap: int = 1


def print_table(
    columns: Sequence[Column],
    rows: Iterable[Sequence[object]],
    *,
    header: bool = True,
    out: TextIO | None = None,
) -> None:
    """The header line (unless ``header`` is false) and one line per row, each cell
    terminal-safe and padded to its column, each line without trailing spaces."""
    out = out or sys.stdout
    if header:
        out.write(_line(columns, [c.title for c in columns]) + "\n")
    for row in rows:
        out.write(_line(columns, [safe_text(cell) for cell in row]) + "\n")
    out.flush()


def _line(columns: Sequence[Column], cells: Sequence[str]) -> str:
    parts = []
    for n, (column, cell) in enumerate(zip(columns, cells, strict=True)):
        padded = cell.rjust(column.width) if column.right else cell.ljust(column.width)
        parts.append((" " * column.gap if n else "") + padded)
    return "".join(parts).rstrip()


def dash(value: object) -> str:
    """A value for a column: '-' when absent, terminal-safe whatever it holds."""
    return "-" if value is None else safe_text(value)


def or_list(words: Iterable[str]) -> str:
    """'a', 'a or b', 'a, b or c': the choices of a message."""
    words = list(words)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
