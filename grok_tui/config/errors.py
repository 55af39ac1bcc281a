"""How a user's mistake in a preset is reported: PresetError, and the wording helpers.

Every mistake becomes a PresetError (a UserError, grok_tui/errors.py) printed as
``file:line: field: message``, one line per error, that the edges (the cli, the TUI)
show instead of a traceback. A user's values,
keys and paths go into these messages, so they are cut short and escaped here. It imports
only grok_tui.errors, so every other module can raise one.
"""

from __future__ import annotations

import reprlib
from typing import Any

from grok_tui.errors import UserError, cut_text, one_line

__all__ = ["PresetError", "PresetErrors", "UserError", "cut_text", "one_line", "short_repr"]


class PresetError(UserError):
    """A user's mistake in a preset: ``file:line: field: message`` ("<preset>" without a file)."""

    default_place = "<preset>"


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
