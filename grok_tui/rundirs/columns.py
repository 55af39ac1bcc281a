"""A run's records held as columns, read from metrics.jsonl once and then incrementally.

A list of dicts costs about 1.5 KB a record: 320 MB for a 200,000-record run. Here each
field is one array('d') (8 bytes a value, NaN where a record has none: 16 MB for that
run), filled by metric_lines (a regular expression per line, not json.loads and
pydantic) from a byte offset, so that a live run's poll reads only its new lines.
``RecordsView`` gives the records back as dicts, one at a time, for the code that reads
a few (the latest record, the first and last for the metric chooser).
"""

from __future__ import annotations

import math
import os
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

from grok_tui import files
from grok_tui.rundirs import store
from grok_tui.rundirs.metric_lines import FileLines, LineReader, Template, number

NAN = float("nan")


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Columns:
    """Records as one array('d') per field, in the order fields first appear.

    Only one thread appends; readers elsewhere take ``len`` first and read below it
    (every column is extended before the length moves).
    """

    def __init__(self) -> None:
        self.fields: list[str] = []
        self._data: dict[str, array[float]] = {}
        self._ints: dict[str, bool] = {}  # every value the field held was a JSON int
        # values a column cannot give back (a flag such as "resumed", a text, a NaN),
        # by record: few, and kept as they were read
        self._extras: dict[int, dict[str, Any]] = {}
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def values(self, field: str) -> array[float]:
        """The field's column (NaN where a record has none); read below ``len`` only."""
        column = self._data.get(field)
        return column if column is not None else array("d", [NAN]) * self._n

    def is_int(self, field: str) -> bool:
        return self._ints.get(field, False)

    def _column(self, field: str) -> array[float]:
        column = self._data.get(field)
        if column is None:
            column = self._data[field] = array("d", [NAN]) * self._n
            self._ints[field] = True
            self.fields.append(field)
        return column

    def add(self, template: Template | None, rows: list[Any]) -> None:
        """A stretch of metric_lines: tokens of one template, or records (template None)."""
        if template is None:
            self.add_records(rows)
        else:
            self.add_tokens(template, rows)

    def add_tokens(self, template: Template, rows: list[tuple[bytes, ...]]) -> None:
        """Lines of one template (metric_lines): their value tokens, column by column."""
        count = len(rows)
        for j, (field, tokens) in enumerate(
            zip(template.keys, zip(*rows, strict=True), strict=True)
        ):
            converted = map(number, tokens) if b"null" in tokens else map(float, tokens)
            self._column(field).extend(converted)
            if not template.ints[j]:
                self._ints[field] = False
        self._pad(self._n + count)

    def add_records(self, records: Sequence[dict[str, Any]]) -> None:
        """Records read the slow way (dicts)."""
        for record in records:
            n = self._n
            for field, value in record.items():
                column = self._column(field)
                if len(column) == n:
                    column.append(float(value) if _finite_number(value) else NAN)
                if not _finite_number(value) or value != value:  # not a number, or NaN
                    self._extras.setdefault(n, {})[field] = value
                if type(value) is not int and value is not None:
                    self._ints[field] = False
            self._pad(n + 1)

    def _pad(self, n: int) -> None:
        for column in self._data.values():
            if len(column) < n:
                column.extend(array("d", [NAN]) * (n - len(column)))
        self._n = n

    def record(self, index: int) -> dict[str, Any]:
        """Record ``index`` as a dict, as it was read: ints as ints, flags and texts too."""
        out: dict[str, Any] = {}
        for field in list(self.fields):
            value = self._data[field][index]
            if not math.isnan(value):
                out[field] = int(value) if self._ints[field] else value
        extras = self._extras.get(index)
        if extras:
            out.update(extras)
        return out

    def view(self) -> RecordsView:
        return RecordsView(self, self._n)


class RecordsView(Sequence[dict[str, Any]]):
    """The first ``n`` records of columns as a sequence of dicts, made when read."""

    def __init__(self, columns: Columns, n: int) -> None:
        self.columns, self._n = columns, n

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self.columns.record(i) for i in range(*index.indices(self._n))]
        if index < 0:
            index += self._n
        if not 0 <= index < self._n:
            raise IndexError("record index out of range")
        return self.columns.record(index)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self.columns.record(i) for i in range(self._n))


class ColumnsReader:
    """Reads a metrics.jsonl into Columns from a byte offset (metric_lines.FileLines)."""

    def __init__(self, path: Path) -> None:
        self.file = FileLines(path)

    @property
    def offset(self) -> int:
        return self.file.offset

    def read(self, columns: Columns, limit: int | None = None) -> int:
        """Records past the offset appended to ``columns`` (at most ``limit`` bytes read);
        how many were appended."""
        before = len(columns)
        for template, rows in self.file.stretches(limit):
            columns.add(template, rows)
        return len(columns) - before


def read_columns(run_path: str | Path) -> Columns:
    """Every record of a run directory's metrics.jsonl, as columns."""
    columns = Columns()
    ColumnsReader(Path(run_path) / store.METRICS_FILE).read(columns)
    return columns


# The runs read last, kept while their files have not changed: a run page opened again
# (Escape, Enter) is drawn without reading its records again.
_CACHE: dict[Path, tuple[tuple[int, ...], Columns]] = {}
CACHED_RUNS = 3


def _stamp(path: Path) -> tuple[int, ...] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def read_columns_cached(run_path: str | Path) -> Columns:
    """read_columns, or the columns read last time when metrics.jsonl has not changed."""
    path = Path(run_path) / store.METRICS_FILE
    stamp = _stamp(path)
    cached = _CACHE.get(path)
    if stamp is not None and cached is not None and cached[0] == stamp:
        _CACHE[path] = _CACHE.pop(path)  # the most recent last
        return cached[1]
    columns = read_columns(run_path)
    if stamp is not None and stamp == _stamp(path):
        _CACHE.pop(path, None)
        _CACHE[path] = (stamp, columns)
        while len(_CACHE) > CACHED_RUNS:
            _CACHE.pop(next(iter(_CACHE)))
    return columns


SAMPLE_FROM = 4 * files.MiB  # files smaller than this are read whole at once


def sample_columns(run_path: str | Path, count: int = 2000) -> Columns | None:
    """About ``count`` records spread evenly over a large metrics.jsonl, and its last one:
    a first picture of a long run while the whole file is read. None when the file is
    small enough to read at once (or cannot be read)."""
    path = Path(run_path) / store.METRICS_FILE
    try:
        fd = files.open_regular(path, os.O_RDONLY)
    except OSError:
        return None
    lines: list[bytes] = []
    try:
        size = os.fstat(fd).st_size
        if size < SAMPLE_FROM:
            return None
        for k in range(count + 1):
            at = max(0, size - 65536) if k == count else k * size // count
            data = os.pread(fd, 65536 if k == count else 8192, at)
            parts = data.split(b"\n")
            if k == count:
                last = parts[-2] if len(parts) > 2 else b""  # the last complete line
                if not lines or last != lines[-1]:
                    lines.append(last)
            elif k == 0:
                lines.append(parts[0] if len(parts) > 1 else b"")
            elif len(parts) > 2:
                lines.append(parts[1])  # the first complete line after the offset
    except OSError:
        return None
    finally:
        os.close(fd)
    columns = Columns()
    for template, rows in LineReader().stretches(b"\n".join(lines) + b"\n"):
        columns.add(template, rows)
    return columns
