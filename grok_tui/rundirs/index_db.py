"""The file of the runs index (rundirs/index.py): one SQLite database in the runs folder.

It is a cache that several processes share (the TUI, headless runs, the queue runner, a
sweep driver), so it is opened in WAL mode (readers never wait for a writer) and written
in short transactions. It lies in a folder other people may write to, so it is opened
like every file there (DESIGN.md rule 6): checked through the door of grok_tui/files.py
first (a link at its name, or at its ``-wal`` / ``-shm``, is refused, never followed;
the file is created by the door, never by SQLite through a planted link), opened by
SQLite without the right to create, and the name SQLite resolved is checked before the
first read. A damaged file (corrupt, truncated, another schema) is rebuilt; one that
cannot be used (a read-only folder or file, a full disk, a link) is reported in
``IndexDb.problem`` and the calls below do nothing: the caller reads the directories.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import quote

from grok_tui import files
from grok_tui.rundirs.layout import INDEX_FILE

COMPANIONS = (INDEX_FILE + "-wal", INDEX_FILE + "-shm")  # SQLite's own, beside it
SCHEMA_VERSION = 1  # PRAGMA user_version: another value is rebuilt
APPLICATION_ID = 0x67726F6B  # PRAGMA application_id, "grok": the file is ours
BUSY_S = 2.0  # a writer waits this long for another one, then leaves its rows unwritten

# The inode, size, mtime and ctime of a run's preset.toml, summary.json and note.txt,
# packed (index.run_stamp): what the run was read at.
Stamp = bytes
# rel, stamp, summary (JSON), preset (JSON), preset_error, note, unreadable
Row = tuple[str, bytes, str, str, "str | None", str, "str | None"]
_COLUMNS = "rel, stamp, summary, preset, preset_error, note, unreadable"
_WITHOUT_PRESET = "rel, stamp, summary, '' AS preset, preset_error, note, unreadable"
_SCHEMA = f"""
CREATE TABLE runs (
    rel TEXT PRIMARY KEY,  -- the run's folder below the runs folder: 'ID' or 'SWEEP/ID'
    stamp BLOB NOT NULL,
    summary TEXT NOT NULL, preset TEXT NOT NULL, preset_error TEXT, note TEXT NOT NULL,
    unreadable TEXT
);
PRAGMA application_id = {APPLICATION_ID};
PRAGMA user_version = {SCHEMA_VERSION};
"""
_CORRUPT = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB
_BUSY = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED


def _code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return int(code) & 0xFF
    text = str(exc)  # Python 3.10: the message tells them apart
    if "not a database" in text or "malformed" in text:
        return _CORRUPT[0]
    return _BUSY[0] if "locked" in text else None


def is_corrupt(exc: sqlite3.Error) -> bool:
    return _code(exc) in _CORRUPT


def is_busy(exc: sqlite3.Error) -> bool:
    return _code(exc) in _BUSY


def describe(exc: Exception) -> str:
    """Why the index cannot be used, in a few words."""
    if isinstance(exc, OSError):
        where = f"{os.path.basename(exc.filename)} " if exc.filename else ""
        return where + files.describe_os_error(exc)
    return str(exc).rstrip(".") or type(exc).__name__


def _check_entries(folder: files.Folder, *, remove_links: bool) -> None:
    """The index's names must be regular files (or absent): a link is refused (or, for a
    rebuild, removed itself, never what it points to)."""
    for name in (INDEX_FILE, *COMPANIONS):
        try:
            mode = folder.lstat(name).st_mode
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(mode) and remove_links:
            folder.unlink(name)
        elif stat.S_ISLNK(mode):
            raise files.UnsafeFileError(errno.ELOOP, "is a symbolic link, not followed", name)
        elif not stat.S_ISREG(mode):
            raise files.UnsafeFileError(errno.EINVAL, "is not a regular file", name)


def remove_files(runs_dir: Path) -> None:
    """Remove the index and SQLite's files beside it (a link is removed, never followed)."""
    with files.Folder.root(runs_dir) as folder:
        for name in (*COMPANIONS, INDEX_FILE):
            folder.unlink(name)


def _connect(runs_dir: Path, *, remove_links: bool) -> sqlite3.Connection:
    """A connection to the runs folder's index file, made through the door first."""
    with files.Folder.root(runs_dir) as folder:
        _check_entries(folder, remove_links=remove_links)
        os.close(folder.open_regular(INDEX_FILE, os.O_RDWR | os.O_CREAT))  # never a link
    path = os.path.join(os.path.realpath(runs_dir), INDEX_FILE)
    # mode=rw: SQLite never creates a file (a link swapped in since is never made a file)
    db = sqlite3.connect(
        f"file:{quote(path)}?mode=rw",
        uri=True,
        timeout=BUSY_S,
        isolation_level=None,  # transactions are begun and ended below, and kept short
        check_same_thread=False,
    )
    try:
        opened = {name: file for _, name, file in db.execute("PRAGMA database_list")}
        if opened.get("main") != path:  # SQLite resolved a link put there since the check
            raise files.UnsafeFileError(errno.ELOOP, "is a symbolic link, not followed", path)
        if db.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            raise sqlite3.OperationalError("cannot use write-ahead logging")
        db.execute("PRAGMA synchronous = NORMAL")  # a cache: a power cut may lose the last rows
        _ensure_schema(db)
    except BaseException:
        db.close()
        raise
    return db


def _version(db: sqlite3.Connection) -> tuple[int, int]:
    return (
        db.execute("PRAGMA application_id").fetchone()[0],
        db.execute("PRAGMA user_version").fetchone()[0],
    )


def _ensure_schema(db: sqlite3.Connection) -> None:
    """A new file, or one of another schema version, gets this version's empty table."""
    if _version(db) == (APPLICATION_ID, SCHEMA_VERSION):
        return
    with transaction(db):
        if _version(db) != (APPLICATION_ID, SCHEMA_VERSION):  # another process may have
            db.execute("DROP TABLE IF EXISTS runs")
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)


@contextlib.contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """A write transaction, taken at once (BEGIN IMMEDIATE: no deadlock between two
    processes that both read first), committed, or rolled back on any error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class IndexDb:
    """The index of one runs folder, open for one listing. Every call returns what it can:
    after a failure ``problem`` says why and the calls return nothing and write nothing."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir
        self.db: sqlite3.Connection | None = None
        self.problem: str | None = None
        self.rebuilt = False  # the file was damaged (or --reindex) and made again

    @classmethod
    def at(cls, runs_dir: Path, *, fresh: bool = False) -> IndexDb:
        """The index of a runs folder, opened (``fresh``: started anew, a link at its
        names removed); never raises: a failure is kept in ``problem``."""
        index = cls(runs_dir)
        try:
            index.db = _connect(runs_dir, remove_links=fresh)
            if fresh:
                with transaction(index.db):
                    index.db.execute("DELETE FROM runs")
                index.rebuilt = True
        except sqlite3.Error as exc:
            if is_corrupt(exc):
                index._rebuild()
            else:
                index._fail(exc)
        except OSError as exc:
            index._fail(exc)
        return index

    def _rebuild(self) -> None:
        """A damaged file is removed and made again (once; a second failure is a problem)."""
        self.close()
        self.rebuilt = True
        try:
            remove_files(self.runs_dir)
            self.db = _connect(self.runs_dir, remove_links=False)
        except (sqlite3.Error, OSError) as exc:
            self._fail(exc)

    def _fail(self, exc: Exception) -> None:
        self.close()
        self.problem = describe(exc)

    def close(self) -> None:
        if self.db is not None:
            with contextlib.suppress(sqlite3.Error):
                self.db.close()
            self.db = None

    def _read(self, sql: str, params: Iterable[object] = ()) -> list[tuple]:
        """The rows of a query; a damaged file is rebuilt (and nothing returned)."""
        if self.db is None:
            return []
        try:
            return self.db.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            if is_corrupt(exc) and not self.rebuilt:
                self._rebuild()
            elif not is_busy(exc):
                self._fail(exc)
            return []

    def stamps(self) -> dict[str, Stamp]:
        """The stamp each indexed run was read at."""
        return dict(self._read("SELECT rel, stamp FROM runs"))

    def rows(self, rels: list[str] | None, *, presets: bool = True) -> Iterator[Row]:
        """The rows of these runs (None: every row). Without ``presets``, each row's preset
        is '' (not copied out: the rest of a row is a third of its bytes)."""
        columns = _COLUMNS if presets else _WITHOUT_PRESET
        if rels is None:
            yield from self._read(f"SELECT {columns} FROM runs")
            return
        for start in range(0, len(rels), 500):
            chunk = rels[start : start + 500]
            marks = ",".join("?" * len(chunk))
            yield from self._read(f"SELECT {columns} FROM runs WHERE rel IN ({marks})", chunk)

    def _write(self, sql: str, params: list[tuple]) -> None:
        if self.db is None or not params:
            return
        try:
            with transaction(self.db):
                self.db.executemany(sql, params)
        except sqlite3.Error as exc:
            if is_corrupt(exc) and not self.rebuilt:
                self._rebuild()
            elif not is_busy(exc):  # busy: another writer holds it; these rows wait
                self._fail(exc)

    def put(self, rows: list[Row]) -> None:
        """Write rows (one short transaction)."""
        marks = ",".join("?" * 7)
        self._write(f"INSERT OR REPLACE INTO runs ({_COLUMNS}) VALUES ({marks})", rows)

    def drop(self, rels: Iterable[str]) -> None:
        """Forget runs whose folders are gone."""
        self._write("DELETE FROM runs WHERE rel = ?", [(rel,) for rel in rels])
