"""The runs of a runs folder, listed through an index: a cache, never the truth.

store.list_runs reads three files of every run and parses its frozen preset (TOML): with
10,000 runs that is seconds. The index (a SQLite file in the runs folder, index_db.py)
keeps what store.run_info read of each run (its summary, raw preset, preset error, note,
why it is unreadable) with the stamp of the three files it read (inode, size, mtime and
ctime of preset.toml, summary.json and note.txt); a listing reads again only the runs
whose stamp moved, drops the runs that are gone and writes back what it read. The run
directory stays the single source of truth (DESIGN.md rule 1): a run the index and the
directory disagree on is read from the directory.

Three lstat calls a run, not one of the directory: grok-tui replaces those files whole
(which moves the directory's mtime too), but a file written in place (someone's tool, a
hand-edited note.txt, tests/unit/test_fuzz_files.py) moves only its own times. The
stat of preset.toml is also the one that tells a run directory from a sweep's folder.

Racy stamps (git's "racily clean" entries): file times move in clock ticks, so a change
in the tick of a read could leave a stamp as it was. A run whose files changed less than
SETTLE_NS before the listing began, or changed while they were read, is listed as read
but not indexed: it is read again next time (a live run is read every time).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import struct
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from grok_tui.rundirs import store
from grok_tui.rundirs.index_db import IndexDb, Row, Stamp
from grok_tui.rundirs.layout import INDEX_FILE, NOTE_FILE, PRESET_FILE, SUMMARY_FILE
from grok_tui.text import safe_text

__all__ = ["INDEX_FILE", "RunIndex", "collector_paused", "list_runs", "warn_once"]

SETTLE_NS = 1_000_000_000  # a folder changed this recently is read again next time
BATCH = 500  # rows written per transaction while a listing reads directories

Warn = Callable[[Path, str], None]
_warned: set[str] = set()


def warn_once(runs_dir: Path, problem: str) -> None:
    """One line on stderr, once per process and runs folder, when its index cannot be used."""
    if str(runs_dir) in _warned:
        return
    _warned.add(str(runs_dir))
    print(
        f"note: the runs index of {safe_text(runs_dir)} is not used: {safe_text(problem)}; "
        "runs are read from their folders",
        file=sys.stderr,
    )


class _Preset:
    """A run's preset as the index keeps it: JSON until first asked for, then decoded,
    once for the listing's RunInfo and every copy made of it (_copy): History lists the
    runs each time it is shown, and decoding 10,000 presets again each time took most of
    a second (RowCache compares them)."""

    __slots__ = ("json", "value", "error")

    def __init__(self, text: str | None, value: dict[str, Any] | None = None) -> None:
        self.json = text
        self.value: dict[str, Any] = {} if value is None else value
        self.error: tuple[str | None] | None = None  # read from the directory instead


class _Indexed(store.RunInfo):
    """A RunInfo from the index. Its preset is decoded when first asked for: `grok-tui
    runs` never asks, History and notebooks do. One that does not decode (or was not
    read from the index: '') is read from the run directory instead. Its RunDir (a
    Path) is made when first asked for too: a listing names a run by its id, a string."""

    def __init__(self, runs_dir: Path, rel: str, summary: dict[str, Any], preset_json: str,
                 preset_error: str | None, note: str, unreadable: str | None) -> None:  # fmt: skip
        self._runs_dir, self._rel, self._run = runs_dir, rel, None
        self.summary, self.note = summary, note
        self.preset_error, self.unreadable = preset_error, unreadable
        self._cell = _Preset(preset_json)  # shared by the copies (_copy)

    @property  # type: ignore[override]
    def run(self) -> store.RunDir:
        if self._run is None:
            self._run = store.RunDir(self._runs_dir / self._rel)
        return self._run

    @run.setter
    def run(self, value: store.RunDir) -> None:
        self._run = value

    @property
    def run_id(self) -> str:
        if self._run is not None:
            return self._run.run_id
        return self._rel.rpartition("/")[2]  # its folder's name, as RunDir.run_id

    @property
    def folder(self) -> str:
        if self._run is not None:
            return str(self._run.path)
        base = str(self._runs_dir)  # str(runs_dir / rel), without making the Path
        return self._rel if base == "." else base.rstrip("/") + "/" + self._rel

    @property  # type: ignore[override]
    def preset(self) -> dict[str, Any]:
        cell = self._cell
        if cell.json is not None:  # two threads may both decode: the same value
            try:
                preset = json.loads(cell.json)
            except (ValueError, RecursionError):
                preset = None
            if isinstance(preset, dict):
                cell.value = preset
            else:
                fresh = store.run_info(self.run)
                cell.value, cell.error = fresh.preset, (fresh.preset_error,)
            cell.json = None
        if cell.error is not None:
            self.preset_error = cell.error[0]
        return cell.value

    @preset.setter
    def preset(self, value: dict[str, Any]) -> None:
        self._cell = _Preset(None, value)  # this copy's own


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for a while (as it was before, after).

    A listing makes tens of thousands of objects (a summary's dict, a RunInfo per run)
    and no reference cycle: the collector's passes over the growing heap are wasted
    work, about a sixth of a listing of 10,000 runs."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _copy(info: store.RunInfo) -> store.RunInfo:
    """A new RunInfo object with the same fields (History sets a live run's summary on it)."""
    new = info.__class__.__new__(info.__class__)
    new.__dict__.update(info.__dict__)
    return new


def _dirs(folder: Path) -> list[str] | None:
    """The names of the folders in a folder (never a link), sorted; None when it cannot
    be listed."""
    try:
        with os.scandir(folder) as entries:
            found = [entry.name for entry in entries if entry.is_dir(follow_symlinks=False)]
    except OSError:
        return None
    found.sort()
    return found


# A row's JSON as this module wrote it (compact, nothing around it): json.loads is this
# and two passes of a whitespace pattern, a fifth of its time on a summary.
_decode = json.JSONDecoder().raw_decode

_PACK = struct.Struct("<QQqqQQqqQQqq").pack
_ABSENT = (0, 0, 0, 0)


def run_stamp(folder: str) -> tuple[Stamp, int] | None:
    """(the stamp of a run folder's three files, the newest mtime among them); None for
    a folder without a preset.toml: not a run (store.iter_run_dirs' test, one lstat)."""
    lstat = os.lstat
    try:
        p = lstat(f"{folder}/{PRESET_FILE}")
    except (OSError, ValueError):
        return None
    try:
        s = lstat(f"{folder}/{SUMMARY_FILE}")
        summary = (s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns)
    except (OSError, ValueError):
        summary = _ABSENT
    try:
        n = lstat(f"{folder}/{NOTE_FILE}")
        note = (n.st_ino, n.st_size, n.st_mtime_ns, n.st_ctime_ns)
    except (OSError, ValueError):
        note = _ABSENT
    stamp = _PACK(p.st_ino, p.st_size, p.st_mtime_ns, p.st_ctime_ns, *summary, *note)
    return stamp, max(p.st_mtime_ns, summary[2], note[2])


def _row(rel: str, stamp: Stamp, info: store.RunInfo) -> Row | None:
    """What the index keeps of a run read from its directory; None for what it cannot
    keep as it is (a TOML date in a preset, a name that is not UTF-8)."""
    try:
        row: Row = (rel, stamp, json.dumps(info.summary, separators=(",", ":")),
                    json.dumps(info.preset, separators=(",", ":")), info.preset_error,
                    info.note, info.unreadable)  # fmt: skip
        for text in (rel, info.preset_error or "", info.note, info.unreadable or ""):
            text.encode("utf-8")
    except (TypeError, ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        return None
    return row


class RunIndex:
    """The runs of one runs folder through its index. ``remember``: keep this process's
    last listing too (the TUI lists again and again), so that an unchanged run is not
    even decoded again; each listing's RunInfo objects are new ones."""

    def __init__(self, runs_dir: str | Path, *, warn: Warn | None = warn_once,
                 remember: bool = False, presets: bool = True) -> None:  # fmt: skip
        self.runs_dir = Path(runs_dir)  # as given: the listed runs' paths are spelt from it
        self.warn = warn
        self.remember = remember
        self.presets = presets  # False: presets are not read from the index (see _Indexed)
        self.reads = 0  # run directories read so far (the others came from the index)
        self.problem: str | None = None  # why the index was not used last time, or None
        self._seen: dict[str, tuple[Stamp, store.RunInfo]] = {}

    def list_runs(self, *, reindex: bool = False) -> list[store.RunInfo]:
        """What store.list_runs returns now, in its order. ``reindex``: start the index
        anew and read every run directory."""
        if not self.runs_dir.is_dir():
            self._seen = {}
            return []
        begun = time.time_ns()
        if reindex:
            self._seen = {}
        db = IndexDb.at(self.runs_dir, fresh=reindex)
        try:
            with collector_paused():
                return self._list(db, begun)
        finally:
            db.close()
            self.problem = db.problem
            if db.problem and self.warn is not None:
                self.warn(self.runs_dir, db.problem)

    def _list(self, db: IndexDb, begun: int) -> list[store.RunInfo]:
        seen = self._seen
        found, complete = self._scan()
        if seen:  # listed before: most runs come from this process's own memory
            indexed = db.stamps()
            wanted = []
            for rel, stamp, _ in found:
                known = seen.get(rel)
                if indexed.get(rel) == stamp and (known is None or known[0] != stamp):
                    wanted.append(rel)
            rows = {row[0]: row for row in db.rows(wanted, presets=self.presets)}
        else:  # every row at once (one query)
            rows = {row[0]: row for row in db.rows(None, presets=self.presets)}
            indexed = rows
        infos, pending, kept = [], [], {}
        settled = begun - SETTLE_NS
        remember = self.remember
        for rel, stamp, newest in found:
            info = None
            known = seen.get(rel) if seen else None
            if known is not None and known[0] == stamp:
                info = known[1]
            else:
                row = rows.get(rel)
                if row is not None and row[1] == stamp:  # read at the files' own stamp
                    info = self._from_row(row)
            if info is None:
                info, written = self._read(rel, stamp, newest > settled)
                if written is not None:
                    pending.append(written)
                    if remember:
                        kept[rel] = (stamp, info)
                if len(pending) >= BATCH:  # a long first build keeps what it has read
                    db.put(pending)
                    pending = []
            elif remember:
                kept[rel] = (stamp, info)
            infos.append(_copy(info) if remember else info)
        db.put(pending)
        if complete:
            db.drop(indexed.keys() - {rel for rel, _, _ in found})
        self._seen = kept
        return infos

    def _scan(self) -> tuple[list[tuple[str, Stamp, int]], bool]:
        """(run folder below the runs folder, its stamp, its newest mtime) in
        store.iter_run_dirs' order (a sweep's runs one level down), and whether every
        folder could be listed."""
        top = _dirs(self.runs_dir)
        if top is None:
            return [], False
        found, complete = [], True
        base = str(self.runs_dir)
        for name in top:
            stamped = run_stamp(f"{base}/{name}")
            if stamped is not None:
                found.append((name, *stamped))
                continue
            below = _dirs(self.runs_dir / name)
            if below is None:
                complete = False
                continue
            for sub in below:
                rel = f"{name}/{sub}"
                stamped = run_stamp(f"{base}/{rel}")
                if stamped is not None:
                    found.append((rel, *stamped))
        return found, complete

    def _read(self, rel: str, stamp: Stamp, racy: bool) -> tuple[store.RunInfo, Row | None]:
        """A run read from its directory, and its row for the index when its files kept
        their stamp while read and had settled before the listing began (not ``racy``)."""
        run = store.RunDir(self.runs_dir / rel)
        info = store.run_info(run)
        self.reads += 1
        after = run_stamp(str(run.path))
        if racy or after is None or after[0] != stamp:
            return info, None
        return info, _row(rel, stamp, info)

    def _from_row(self, row: tuple) -> store.RunInfo | None:
        """A RunInfo from an index row; None for a row that is not what this module writes."""
        rel, _, text, preset, preset_error, note, unreadable = row
        if not (type(text) is str and type(preset) is str and type(note) is str):
            return None
        if not (preset_error is None or type(preset_error) is str) or not (
            unreadable is None or type(unreadable) is str
        ):
            return None
        try:
            summary, end = _decode(text)  # json.loads less its wrapping: what we wrote
        except (ValueError, RecursionError):
            return None
        if type(summary) is not dict or end != len(text):
            return None
        return _Indexed(self.runs_dir, rel, summary, preset, preset_error, note, unreadable)


def list_runs(
    runs_dir: str | Path,
    *,
    reindex: bool = False,
    warn: Warn | None = warn_once,
    presets: bool = True,
) -> list[store.RunInfo]:
    """store.list_runs of a runs folder, through its index (see the module's docstring).
    ``presets`` False: for a caller that seldom asks for a run's preset (each one asked
    for is read from its run directory)."""
    return RunIndex(runs_dir, warn=warn, presets=presets).list_runs(reindex=reindex)
