"""metrics.jsonl lines read in bulk: a line shaped like one already validated is taken
apart by one regular expression instead of json.loads and pydantic.

A 1e6-step run evaluated every 5 steps writes 200,000 lines (49 MB); json.loads and the
MetricsRecord check cost about 20 µs a line, seconds for the run page and for an export.
The engine writes every line with json.dumps, so lines share a few shapes: the same keys
in the same order, each value an int, a float or null. A shape (``Template``) is learnt
from a line that json.loads and the check accepted; a line that matches it token for
token is a record with those keys, and the token patterns hold the check's bounds
(a step is a non-negative int, an accuracy a fraction, lr finite, ...), so that a line
taken here is one the check accepts, with the same values. Any other line goes the
slow way (store.parse_record): what is kept is exactly what store.read_records keeps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grok_tui import files
from grok_tui.rundirs import store

MAX_TEMPLATES = 16  # shapes remembered per reader: progress measures every few evals, ...
CHUNK = 1 * files.MiB  # read at a time: memory stays small whatever the size of the file

# Token patterns, by what the record's check asks of a field and the value's JSON type.
_UINT = rb"(?:0|[1-9]\d{0,17})"  # within int64 by its digits
_INT = rb"(?:0|-?[1-9]\d{0,17})"  # "-0" (int 0) goes the slow way
_EXP = rb"[eE][+-]?\d{1,2}"  # finite whatever the mantissa's 18 digits
_FLOAT_ANY = rb"(?:-?(?:0|[1-9]\d*)(?:\.\d+(?:[eE][+-]?\d+)?|[eE][+-]?\d+)|NaN|-?Infinity)"
_MANTISSA = rb"(?:0|[1-9]\d{0,17})(?:\.\d+(?:" + _EXP + rb")?|" + _EXP + rb")"
_FLOAT_NONNEG = rb"(?:" + _MANTISSA + rb")"
_FLOAT_FINITE = rb"(?:-?" + _MANTISSA + rb")"
_FRACTION = rb"(?:0\.\d+|1\.0+|\d(?:\.\d+)?[eE]-0*[1-9]\d?)"  # in [0, 1]

_CLASSES = {  # field -> (int token, float token); fields not named take any number
    "epoch": (_UINT, _FLOAT_NONNEG),
    "elapsed_s": (_UINT, _FLOAT_NONNEG),
    "train_acc": (rb"[01]", _FRACTION),
    "test_acc": (rb"[01]", _FRACTION),
    "lr": (_INT, _FLOAT_FINITE),
}


@dataclass(frozen=True)
class Template:
    """One shape of line: its keys in order and which of them hold ints."""

    keys: tuple[str, ...]
    ints: tuple[bool, ...]  # the key's value was an int where the shape was learnt
    pattern: re.Pattern[bytes]

    def match(self, line: bytes) -> tuple[bytes, ...] | None:
        """The value tokens of a line of this shape (b"null" for null), or None."""
        found = self.pattern.fullmatch(line)
        return None if found is None else found.groups()


def template_of(record: dict[str, Any]) -> Template | None:
    """The shape of a validated record, or None when a value has no token pattern here
    (a bool, a value it cannot tell the type of)."""
    if type(record.get("step")) is not int:
        return None
    parts, ints = [], []
    for key, value in record.items():
        if key == "step":
            token = _UINT
        elif value is None:
            token = rb"null"
        elif type(value) is int or type(value) is float:
            int_token, float_token = _CLASSES.get(key, (_INT, _FLOAT_ANY))
            token = (int_token if type(value) is int else float_token) + rb"|null"
        else:
            return None
        name = re.escape(json.dumps(key).encode())
        parts.append(name + rb": (" + token + rb")")
        ints.append(type(value) is int)
    pattern = re.compile(rb"\{" + rb", ".join(parts) + rb"\}\r?")
    return Template(tuple(record), tuple(ints), pattern)


# A stretch of lines in file order: of one template (value tokens per line), or records
# read the slow way (dicts).
Stretch = tuple[Template, list[tuple[bytes, ...]]] | tuple[None, list[dict[str, Any]]]


class LineReader:
    """Splits complete lines into stretches; keeps the shapes it learnt for the next call."""

    def __init__(self) -> None:
        self.templates: list[Template] = []

    def stretches(self, block: bytes) -> Iterator[Stretch]:
        """The records of ``block`` (complete lines), in order, as stretches."""
        current: Template | None = None
        fast: list[tuple[bytes, ...]] = []
        slow: list[dict[str, Any]] = []
        for line in block.splitlines():
            tokens = current.match(line) if current is not None else None
            if tokens is None:
                for template in self.templates:
                    if template is not current and (tokens := template.match(line)) is not None:
                        break
                else:
                    template = None
                if template is not None:
                    if fast:
                        yield current, fast  # type: ignore[misc]
                        fast = []
                    current = template
            if tokens is not None:
                if slow:
                    yield None, slow
                    slow = []
                fast.append(tokens)
                continue
            record = store.parse_record(line)
            if record is None:
                continue
            if fast:
                yield current, fast  # type: ignore[misc]
                fast = []
            slow.append(record)
            self._learn(record)
        if fast:
            yield current, fast  # type: ignore[misc]
        if slow:
            yield None, slow

    def _learn(self, record: dict[str, Any]) -> None:
        if len(self.templates) >= MAX_TEMPLATES or (template := template_of(record)) is None:
            return
        if all(t.keys != template.keys or t.ints != template.ints for t in self.templates):
            self.templates.append(template)


def number(token: bytes) -> float:
    """A value token as a float (NaN for null)."""
    return float("nan") if token == b"null" else float(token)


class FileLines:
    """A metrics.jsonl read from a byte offset in chunks, as stretches: complete lines
    only (a half-written last line waits for its end); ``offset`` is where the next read
    starts, and the shapes learnt are kept for it."""

    def __init__(self, path: Path, offset: int = 0) -> None:
        self.path = path
        self.offset = offset
        self.lines = LineReader()

    def stretches(self, limit: int | None = None) -> Iterator[Stretch]:
        """The stretches past the offset, at most ``limit`` bytes of them (the size cap,
        files.MAX_METRICS_BYTES, by default)."""
        limit = files.MAX_METRICS_BYTES if limit is None else limit
        start, size = self.offset, CHUNK
        while self.offset - start < limit:
            want = min(size, limit - (self.offset - start))
            try:
                chunk = files.read_from(self.path, self.offset, want)
            except OSError:
                return
            end = chunk.rfind(b"\n") + 1
            if end == 0:
                if len(chunk) < want or want < size:
                    return  # nothing complete yet, or the rest is past the cap
                size *= 2  # a line longer than a chunk
                continue
            yield from self.lines.stretches(chunk[:end])
            self.offset += end
            size = CHUNK
            if len(chunk) < want:
                return  # the end of the file
