"""A user's mistake, or a state the user must act on: one line, never a traceback.

Every error that the edges (the cli, the TUI) show as ``error: ...`` instead of a
traceback is a ``UserError``: a preset that does not validate (``PresetError``, in
config/errors.py), a run or sweep that is not there, a checkpoint that does not fit, a
run another process trains, a command-line option out of range. Each names the file
(and line and field) where it can, as ``file:line: field: message``. A leaf: it imports
only text.py (another leaf), so every module can raise one.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grok_tui.text import safe_text

# Control characters (and what str.splitlines() breaks at) as escapes: a quoted TOML key
# or a path may hold a newline, and one error must stay one line.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(32), *range(127, 160))}
_ESCAPES.update({9: "\\t", 10: "\\n", 13: "\\r", 0x2028: "\\u2028", 0x2029: "\\u2029"})


def one_line(text: str) -> str:
    """`text` with control characters and line separators escaped."""
    return text.translate(_ESCAPES)


def user_error(message: str) -> int:
    """Say a user's mistake at an edge (a command): one ``error: ...`` line on stderr; exit
    code 2 (EXIT_BAD_INPUT). The message may quote a preset, a run or a sweep directory
    from someone else: never an escape sequence to the terminal."""
    print(f"error: {safe_text(message, multiline=True)}", file=sys.stderr)
    return 2


def cut_text(text: str, limit: int = 80) -> str:
    """At most `limit` characters: a user's long key or path must not flood a message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


class UserError(Exception):
    """Shown as ``file:line: field: message`` (the parts that are known), no traceback."""

    # where a message without a file is said to be (a preset read from a string: "<preset>")
    default_place: str | None = None

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.column = column
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file or self.default_place
        if where is not None and self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        prefix = f"{cut_text(self.field, 100)}: " if self.field else ""
        place = f"{where}: " if where is not None else ""
        return one_line(f"{place}{prefix}{self.message}")


class OptionError(UserError):
    """A command-line option out of range or in conflict with another (--jobs 0)."""


class RunNotFoundError(UserError):
    """No run directory answers to what the user named."""


class RunBusyError(UserError):
    """Another live process trains the run (it holds the run directory's lock)."""


class SweepError(UserError):
    """A sweep directory that is not there, or whose sweep.json cannot be used."""


class RunError(UserError):
    """A preset that is valid on paper but cannot run here (no CUDA, tf32 on CPU, ...)."""
