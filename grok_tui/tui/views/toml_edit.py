"""Small edits of a TOML file's own text: one key's value set, added or removed.

A preset written by hand keeps its comments, order, blank lines and layout when the
Presets screen saves a change into it: only the line of the key that changed is
rewritten (its trailing comment kept), a key the file did not state is added to its
table, and nothing else moves. Whatever this cannot edit safely (quoted keys, arrays of
tables) gives None, and the caller writes the file another way. Pure text, no Textual.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any

import tomli_w

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_BARE = r"[A-Za-z0-9_-]+"
_KEY = re.compile(rf"^\s*({_BARE}(?:\s*\.\s*{_BARE})*)\s*=\s*")
_HEADER = re.compile(rf"^\s*\[\s*({_BARE}(?:\s*\.\s*{_BARE})*)\s*\]\s*(?:#.*)?$")
_LONGEST_VALUE = 400  # lines one value may span (a long multi-line string)


@dataclass(frozen=True)
class Statement:
    """A ``key = value`` (lines first..last) or a ``[table]`` header (first == last)."""

    first: int
    last: int
    table: tuple[str, ...]  # the table it is in (a header: the table it opens)
    key: tuple[str, ...] = ()  # relative to the table; () for a header
    value_at: int = 0  # where the value starts on the first line

    @property
    def full_key(self) -> tuple[str, ...]:
        return self.table + self.key


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in dotted.split("."))


def _parses(value_text: str) -> Any:
    """The value ``value_text`` holds, or raises when it is not one whole TOML value."""
    return tomllib.loads("x = " + value_text)["x"]


def statements(lines: list[str]) -> list[Statement] | None:
    """The file's keys and headers, with the lines each spans; None when a line is
    beyond what is edited here (a quoted key, an array of tables)."""
    found: list[Statement] = []
    table: tuple[str, ...] = ()
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        if stripped.startswith("["):
            header = _HEADER.match(lines[i])
            if header is None:
                return None
            table = _parts(header.group(1))
            found.append(Statement(i, i, table))
            i += 1
            continue
        key = _KEY.match(lines[i])
        if key is None:
            return None
        start = key.end()
        for last in range(i, min(len(lines), i + _LONGEST_VALUE)):
            try:
                _parses("\n".join([lines[i][start:], *lines[i + 1 : last + 1]]))
            except tomllib.TOMLDecodeError:
                continue
            break
        else:
            return None
        found.append(Statement(i, last, table, _parts(key.group(1)), start))
        i = last + 1
    return found


def value_text(value: Any) -> str | None:
    """``value`` as TOML on the right of ``=`` (None: it needs a table of its own); a
    list on one line, as presets write them (``widths = [256, 256]``)."""
    if isinstance(value, list | tuple):
        items = [value_text(item) for item in value]
        if any(item is None or "\n" in item for item in items):
            return None
        return "[" + ", ".join(str(item) for item in items) + "]"
    try:
        dumped = tomli_w.dumps({"x": value}, multiline_strings=True)
    except (TypeError, ValueError):
        return None
    if not dumped.startswith("x = "):
        return None
    return dumped[len("x = ") :].rstrip("\n")


def _with_comment(line: str, start: int, new_value: str) -> str:
    """``line`` with its value (from ``start``) replaced, its trailing comment kept."""
    rest = line[start:]
    whole = _parses(rest)
    for hash_at in (m.start() for m in re.finditer("#", rest)):
        try:
            if _parses(rest[:hash_at]) == whole:
                value_end = len(rest[:hash_at].rstrip())
                return line[:start] + new_value + rest[value_end:]
        except tomllib.TOMLDecodeError:
            continue
    return line[:start] + new_value + rest[len(rest.rstrip()) :]


def stated(text: str, dotted: str) -> bool:
    """Whether the text itself sets ``dotted`` (not a base it extends, not a default)."""
    found = statements(text.split("\n"))
    return found is not None and any(s.key and s.full_key == _parts(dotted) for s in found)


def _checked(lines: list[str]) -> str | None:
    text = "\n".join(lines)
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    return text


def remove_key(text: str, dotted: str) -> str | None:
    """The text without the line(s) that set ``dotted``; None when it does not set it."""
    lines = text.split("\n")
    found = statements(lines)
    path = _parts(dotted)
    for statement in found or ():
        if statement.key and statement.full_key == path:
            return _checked(lines[: statement.first] + lines[statement.last + 1 :])
    return None


def set_key(text: str, dotted: str, value: Any) -> str | None:
    """The text with ``dotted`` set to ``value``: its own line rewritten when the text
    states it, else a line added to its table (a new table at the end when the text has
    none). None when that cannot be done by text alone."""
    lines = text.split("\n")
    found = statements(lines)
    new_value = value_text(value)
    if found is None or new_value is None:
        return None
    path = _parts(dotted)
    eol = "\r" if any(line.endswith("\r") for line in lines) else ""
    for statement in found:
        if statement.key and statement.full_key == path:
            first, last = lines[statement.first], lines[statement.last]
            if statement.first == statement.last:
                line = _with_comment(first, statement.value_at, new_value)
            else:
                line = first[: statement.value_at] + new_value + last[len(last.rstrip()) :]
            return _checked(lines[: statement.first] + [line] + lines[statement.last + 1 :])
    headers = [s for s in found if not s.key and path[: len(s.table)] == s.table]
    table = max((s.table for s in headers), key=len, default=())
    dotted_tables = {s.key[:1] for s in found if s.key and not s.table}
    if len(path) > 1 and not table and path[:1] not in dotted_tables:
        # no table of its own yet: a new one at the end, after one blank line
        while lines and not lines[-1].strip():
            lines.pop()
        head = ".".join(path[:-1])
        added = ([""] if lines else []) + [f"[{head}]{eol}", f"{path[-1]} = {new_value}{eol}", ""]
        return _checked(lines + added)
    # after the table's last key (the top level: before the first header)
    inside = [s for s in found if s.table == table]
    if not inside:  # the top level has no key yet: before the first header
        at = next((s.first for s in found), len(lines))
        while at > 0 and not lines[at - 1].strip():
            at -= 1
    elif inside[-1].key:
        at = inside[-1].last + 1
    else:
        at = inside[-1].first + 1  # a header with no key yet
    key = ".".join(path[len(table) :])
    return _checked(lines[:at] + [f"{key} = {new_value}{eol}"] + lines[at:])
