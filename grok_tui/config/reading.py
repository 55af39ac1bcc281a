"""Reading TOML safely: a file or a text becomes a raw dict, or a PresetError naming the file.

A preset path comes from a user and may be anything: a FIFO, /dev/urandom, a directory,
a huge file, a link loop, TOML nested a thousand deep or an integer of 5,000 digits.
Each of these ends here in a one-line message, never a hang or a traceback.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grok_tui import files
from grok_tui.config.errors import PresetError, cut_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

MAX_TOML_DEPTH = 64  # nested tables/arrays; a preset needs about 5, tomllib overflows near 300


def read_error_text(exc: BaseException) -> str:
    """Why a file could not be read, in a few words (no errno numbers, no long paths)."""
    if isinstance(exc, files.UnsafeFileError):
        return str(exc.strerror)  # 'is not a regular file', 'is 2,000,000 bytes, more than ...'
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start})"
    if isinstance(exc, OSError):
        return files.describe_os_error(exc)
    if isinstance(exc, RuntimeError):  # Path.resolve() on Python < 3.13
        return "symbolic link loop"
    return cut_text(str(exc))  # ValueError: 'embedded null byte'


def resolve_path(path: Path) -> Path:
    """The real path of a preset: users symlink presets, so links are followed here (once).

    Raises OSError, RuntimeError (a link loop, Python < 3.13) or ValueError (a NUL byte).
    """
    return path.resolve()


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse one TOML file; a syntax error names the file, line and column.

    A symbolic link is followed, then only a regular file of at most MAX_TOML_BYTES is
    read (files.read_text): a FIFO or /dev/urandom must not hang loading, a directory or a
    huge file must give a message, never a traceback. A file read before and unchanged
    since (ParsedFiles) is not parsed again: the Presets list reads 96 files whose shared
    base presets each ``extends`` chain would otherwise parse once per file.
    """
    path = Path(path)
    try:
        real = resolve_path(path)
        kept = PARSED.get(real)
        if kept is not None:
            return kept
        text = files.read_text(real, files.MAX_TOML_BYTES)
    except FileNotFoundError:
        raise PresetError("file not found", file=path) from None
    except (OSError, RuntimeError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise PresetError(f"cannot read: {read_error_text(exc)}", file=path) from None
    raw = parse_toml(text, file=path)
    PARSED.keep(real, text, raw)
    return raw


Stamp = tuple[int, int, int, int]


def _stamp(path: Path) -> Stamp | None:
    """(device, inode, mtime, size) of a regular file, None for anything else or absent."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def _copy(value: Any) -> Any:
    """A copy of parsed TOML whose tables and arrays are new (the callers change them);
    the leaves (str, numbers, dates) are immutable and shared."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


class ParsedFiles:
    """Parsed TOML files by their real path, each with the stamp it was read under.

    A file is taken from here only while its device, inode, mtime and size are those it
    had when read, and only when its mtime was already RACY_S old then: a file rewritten
    within the file system's timestamp granularity, to the same size, could otherwise
    pass for unchanged (git's "racily clean" index entries). Editors and atomic writes
    give a new inode or mtime; shipped and hand-written presets are old.
    """

    RACY_S = 2.0
    MAX_FILES = 1024  # a bound: every preset folder of a user fits

    def __init__(self) -> None:
        self._files: dict[Path, tuple[Stamp, dict[str, Any]]] = {}
        self._lock = threading.Lock()  # the list's workers and the UI read presets at once
        self.parses = 0  # files parsed so far (the others came from here)

    def get(self, real: Path) -> dict[str, Any] | None:
        """A copy of the file's parsed dict when it is known and unchanged, else None."""
        with self._lock:
            kept = self._files.get(real)
        if kept is None or _stamp(real) != kept[0]:
            return None
        return _copy(kept[1])

    def keep(self, real: Path, text: str, raw: dict[str, Any]) -> None:
        """Keep what ``text`` (just read from ``real``) parsed to, if the file is still as
        read, of that size, and old enough to be told apart from a rewrite."""
        with self._lock:
            self.parses += 1
        stamp = _stamp(real)
        if stamp is None or stamp[3] != len(text.encode("utf-8")):
            return
        if time.time_ns() - stamp[2] < self.RACY_S * 1e9:
            return
        with self._lock:
            if len(self._files) >= self.MAX_FILES:
                self._files.clear()
            self._files[real] = (stamp, _copy(raw))

    def clear(self) -> None:
        with self._lock:
            self._files.clear()


PARSED = ParsedFiles()


def parse_toml(text: str, *, file: str | Path = "<preset>") -> dict[str, Any]:
    """Parse TOML text; every failure is a PresetError naming the file.

    Besides syntax errors, tomllib raises RecursionError on nesting deeper than about 300
    and ValueError on an integer of more than 4300 digits; values nested deeper than
    MAX_TOML_DEPTH are refused too (merging, validating and printing them recurse).
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, column, message = _toml_error_position(exc)
        raise PresetError(
            f"TOML syntax error: {message}", file=file, line=line, column=column
        ) from None
    except RecursionError:
        raise PresetError(too_deep_message(), file=file) from None
    except ValueError as exc:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise PresetError(f"invalid value: {cut_text(str(exc).split(';')[0])}", file=file) from None
    if nesting_depth(raw) > MAX_TOML_DEPTH:
        raise PresetError(too_deep_message(), file=file)
    return raw


def too_deep_message() -> str:
    return f"TOML nested too deeply: at most {MAX_TOML_DEPTH} levels of tables and arrays"


def nesting_depth(value: Any) -> int:
    """How deep tables and arrays nest in a value (0 for a scalar); iterative, never recursing."""
    depth, level = 0, [value]
    while level:
        containers = [v for v in level if isinstance(v, Mapping | list | tuple)]
        if not containers:
            break
        depth += 1
        if depth > MAX_TOML_DEPTH:
            return depth  # deep enough to refuse: stop walking
        level = [item for c in containers for item in (c.values() if isinstance(c, Mapping) else c)]
    return depth


def _toml_error_position(exc: Exception) -> tuple[int | None, int | None, str]:
    # tomli >= 2.1 and Python >= 3.14 expose lineno/colno; older tomllib only has them in the text.
    line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    message = getattr(exc, "msg", None) or str(exc)
    found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
    if found:
        line, column = line or int(found.group(1)), column or int(found.group(2))
        message = message.split(" (at line")[0]
    return line, column, message
