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
    terminal-safe and padded to its column, each line without trailing spaces.

    A row is laid out by one format string; only a line that is not all printable (a
    cell to escape: safe_text's own test) is laid out again from its escaped cells. The
    lines are written at once: 10,000 runs are one write, not 10,000."""
    out = out or sys.stdout
    template = _template(columns)
    lines = [_line(columns, [c.title for c in columns])] if header else []
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"a row of {len(row)} cells in a table of {len(columns)} columns")
        cells = [cell if type(cell) is str else str(cell) for cell in row]
        line = template.format(*cells)
        if not line.isprintable():
            line = template.format(*[safe_text(cell) for cell in cells])
        lines.append(line.rstrip())
    out.write("".join(f"{line}\n" for line in lines))
    out.flush()


def _template(columns: Sequence[Column]) -> str:
    """The format string of a line: each cell padded to its column, after its gap."""
    parts = []
    for n, column in enumerate(columns):
        gap = " " * column.gap if n else ""
        align = ">" if column.right else "<"
        parts.append(f"{gap}{{:{align}{column.width}}}" if column.width else f"{gap}{{}}")
    return "".join(parts)


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
