"""How a user's mistake in a preset is reported: PresetError, and the wording helpers.

Every mistake becomes a PresetError printed as ``file:line: field: message``, one line
per error, that the edges (cli.py, the TUI) show instead of a traceback. A user's values,
keys and paths go into these messages, so they are cut short and escaped here. A leaf:
it imports nothing of the package, so every other module can raise one.
"""

from __future__ import annotations

import reprlib
from pathlib import Path
from typing import Any


class PresetError(Exception):
    """A user's mistake in a preset: printed as ``file:line: field: message``, no traceback."""

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
        where = self.file or "<preset>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        prefix = f"{cut_text(self.field, 100)}: " if self.field else ""
        return one_line(f"{where}: {prefix}{self.message}")


class PresetErrors(PresetError):
    """Several schema errors of one preset, reported together; ``hidden`` more only counted."""

    def __init__(self, errors: list[PresetError], hidden: int = 0) -> None:
        self.errors = errors
        self.hidden = hidden
        first = errors[0]
        super().__init__(
            first.message, file=first.file, line=first.line, column=first.column, field=first.field
        )

    def __str__(self) -> str:
        lines = [str(PresetError.__str__(e)) for e in self.errors]
        if self.hidden:
            lines.append(f"{self.file or '<preset>'}: ... and {self.hidden} more errors")
        return "\n".join(lines)


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 60
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = 6
_REPR.maxlevel = 3


def short_repr(value: Any) -> str:
    """A user's value for a one-line message: cut short, and never raising.

    repr() of a deep value recurses and of an int over 4300 digits raises ValueError.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        sign = "a negative" if value < 0 else "an"
        return f"{sign} integer of about {value.bit_length() * 0.30103:.0f} digits"
    try:
        return _REPR.repr(value)
    except (ValueError, RecursionError):
        return f"a {type(value).__name__}"


def cut_text(text: str, limit: int = 80) -> str:
    """At most `limit` characters: a user's long key or path must not flood a message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Control characters (and what str.splitlines() breaks at) as escapes: a quoted TOML key
# or a path may hold a newline, and one error must stay one line.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(32), *range(127, 160))}
_ESCAPES.update({9: "\\t", 10: "\\n", 13: "\\r", 0x2028: "\\u2028", 0x2029: "\\u2029"})


def one_line(text: str) -> str:
    """`text` with control characters and line separators escaped."""
    return text.translate(_ESCAPES)
