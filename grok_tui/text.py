"""Text read from disk, made safe to show: in a terminal, and in Textual's markup.

A run directory can come from someone else (copied, unpacked, synced), so its id (the
directory name), the names in summary.json and preset.toml, note.txt, error texts, logs
and sweep labels are untrusted. Printed raw, an ESC or CSI sequence rewrites the user's
terminal (clears it, retitles it, fakes output) and a bidi override reorders what is
read; handed to a widget as a markup string, ``[link=…]`` or ``[b]`` changes what is
shown (a dialog could name another path than the one it acts on). Everything here is
plain Python (no Textual, no torch): the CLI and the TUI both use it. So is the one
way a duration is written, for the same two readers.
"""

from __future__ import annotations

import re
from typing import TextIO

# C0 controls (ESC, BEL, BS, CR, LF, TAB …), DEL and C1 controls (CSI \x9b, OSC \x9d …);
# the Unicode bidi controls (ALM, LRM, RLM, the embeddings and overrides U+202A–U+202E,
# the isolates U+2066–U+2069); the line and paragraph separators, which break lines as
# a newline does; and lone surrogates (undecodable bytes of a file name), which cannot
# even be encoded for output.
_OTHER = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE_LINE = re.compile(f"[\x00-\x1f{_OTHER}]")
_UNSAFE_BLOCK = re.compile(f"[\x00-\x08\x0b-\x1f{_OTHER}]")  # keeps \t and \n


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _shown(match: re.Match[str]) -> str:
    """An unsafe character as its escape: visible, and telling what was there."""
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for an undecodable byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def safe_text(value: object, *, multiline: bool = False) -> str:
    """``value`` as text that cannot drive a terminal: unsafe characters become escapes.

    Every control character, bidi control and line separator is replaced by its Python
    escape (ESC -> ``\\x1b``, a newline -> ``\\n``, U+202E -> ``\\u202e``): the result shows what was there
    instead of acting on the terminal, and a one-line field stays one line. Other text,
    unicode included, is unchanged. ``multiline`` keeps newlines (and a CRLF as one
    newline) and tabs, for notes, logs and error messages.
    """
    text = value if type(value) is str else str(value)
    if text.isprintable():  # the common case, and fast: every unsafe character is not
        return text
    if multiline:
        return _UNSAFE_BLOCK.sub(_shown, text.replace("\r\n", "\n"))
    return _UNSAFE_LINE.sub(_shown, text)


class SafeStream:
    """A text stream that passes every write through :func:`safe_text` (``multiline``).

    For output made of many pieces read from disk (a sweep's point lines, its header,
    the errors of its runs), written by code that does not escape each piece: newlines
    and tabs stay, every other control character is shown as its escape. Not for a
    stream that must carry escapes of its own (a progress line's ``\\r``, colours).
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(safe_text(text, multiline=True))

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()


def safe_markup(value: object, *, multiline: bool = False) -> str:
    """``value`` for a Textual markup string (Static, notify, titles): shown as typed.

    :func:`safe_text`, then every ``[`` escaped as ``\\[``. rich.markup.escape is not
    enough for Textual's own markup parser (Textual >= 2), which also reads ``[B]``,
    ``[$accent]`` or ``[ red]`` as tags; a backslash is literal there unless it comes
    before a ``[``, so nothing else needs escaping. Keep the result away from a directly
    following tag (``f"[b]{x}[/b]"``): a trailing backslash would escape it; build styled
    text with rich Text or Textual Content instead. DataTable's str cells are Rich
    markup, a different parser: give them ``Text(safe_text(x))``.
    """
    return safe_text(value, multiline=multiline).replace("[", "\\[")


def format_duration(seconds: float | None) -> str:
    """3s, 4m05s, 2h07m; '' when unknown (None, nan, inf or negative)."""
    if not isinstance(seconds, (int, float)) or not 0 <= seconds < float("inf"):
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
