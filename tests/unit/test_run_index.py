"""The runs index (grok_tui/rundirs/index.py, index_db.py) is a cache that never outranks
the run directories: whatever happens to a run behind its back, to the index file (corrupt,
truncated, empty, another version, a link planted at its name), to the disk (read-only,
full) or between two processes writing it at once, a listing is what store.list_runs
reads from the directories."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from grok_tui import files
from grok_tui.cli import main
from grok_tui.rundirs import index, index_db, store
from tests.support.tui import finished_run

INDEX = index.INDEX_FILE


def listed(infos: list[store.RunInfo]) -> list[tuple]:
    """What a listing says of each run (its status too: a live run's is worked out)."""
    return [
        (i.run.path, i.summary, i.preset, i.preset_error, i.note, i.unreadable, i.status)
        for i in infos
    ]


def settle(runs: Path) -> None:
    """Every run's files last changed 10 s ago: not racy, so the index keeps them."""
    for run in store.iter_run_dirs(runs):
        for path in (run.preset_path, run.summary_path, run.note_path):
            if path.exists():
                then = path.stat().st_mtime_ns - 10**10
                os.utime(path, ns=(then, then))


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A runs folder of four settled runs: one in a sweep folder, one with a note, one
    whose summary is damaged; and a fresh stderr warning per test."""
    monkeypatch.setattr(index, "_warned", set())
    folder = tmp_path / "runs"
    finished_run(folder, "alpha")
    finished_run(folder, "beta").set_note("first line\nsecond line")
    damaged = finished_run(folder, "gamma")
    damaged.summary_path.write_text("[1, 2]")  # a list: listed as unreadable
    finished_run(folder / "sweep-1", "point", sweep={"id": "sweep-1", "coords": {"lr": 1}})
    settle(folder)
    return folder


def rows_of(runs: Path) -> dict[str, tuple]:
    with sqlite3.connect(runs / INDEX) as db:
        return {row[0]: row for row in db.execute("SELECT * FROM runs")}


def test_a_listing_through_the_index_is_the_directories_and_reads_none_again(runs, capsys):
    first = index.RunIndex(runs)
    assert listed(first.list_runs()) == listed(store.list_runs(runs))
    assert first.reads == 4 and first.problem is None
    assert files.is_regular(runs / INDEX) and len(rows_of(runs)) == 4
    again = index.RunIndex(runs)  # another process: everything from the index file
    infos = again.list_runs()
    assert again.reads == 0
    assert listed(infos) == listed(store.list_runs(runs))
    assert [i.run_id for i in infos] == [r.run_id for r in store.iter_run_dirs(runs)]
    assert capsys.readouterr().err == ""


def test_a_run_changed_behind_the_index_back_is_read_from_its_directory(runs):
    index.list_runs(runs)
    alpha, beta, gamma, point = store.iter_run_dirs(runs)
    store.update_summary(alpha.path, status="failed", error="rewritten")
    summary = {**alpha.summary(), "run_id": gamma.run_id}
    gamma.summary_path.write_text(json.dumps(summary))  # in place: its folder keeps its mtime
    point.set_note("added later")
    store.delete_run(beta)
    new = finished_run(runs, "delta")
    later = index.RunIndex(runs)
    infos = later.list_runs()
    assert listed(infos) == listed(store.list_runs(runs))
    assert later.reads == 4  # alpha, gamma, the sweep's point and the new run: no other
    by_id = {i.run_id: i for i in infos}
    assert by_id[alpha.run_id].summary["error"] == "rewritten"
    assert by_id[point.run_id].note == "added later"
    assert by_id[gamma.run_id].unreadable is None
    assert beta.run_id not in by_id and new.run_id in by_id
    settle(runs)
    index.list_runs(runs)
    assert beta.path.relative_to(runs).as_posix() not in rows_of(runs)  # dropped


def test_a_run_that_changed_within_the_last_second_is_read_every_time(tmp_path):
    finished_run(tmp_path, "fresh")  # a live run's directory changes all the time
    reader = index.RunIndex(tmp_path)
    reader.list_runs()
    store.update_summary(next(store.iter_run_dirs(tmp_path)).path, step=7)
    (info,) = reader.list_runs()
    assert reader.reads == 2 and info.summary["step"] == 7
    assert rows_of(tmp_path) == {}  # never indexed while its stamp could still lie


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not an SQLite database\n" * 300)


def _truncated(path: Path) -> None:
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _other_version(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE runs")
        db.execute("CREATE TABLE runs (rel TEXT, what TEXT)")
        db.execute("INSERT INTO runs VALUES ('x', 'y')")
        db.execute(f"PRAGMA user_version = {index_db.SCHEMA_VERSION + 1}")


def _wrong_rows(path: Path) -> None:
    with sqlite3.connect(path) as db:  # stamps right, but what is kept is not JSON
        db.execute("UPDATE runs SET summary = '{not json', preset = 'nor this'")


@pytest.mark.parametrize("damage", [_garbage, _truncated, _empty, _other_version, _wrong_rows])
def test_a_damaged_index_file_is_rebuilt_from_the_directories(runs, capsys, damage):
    for _ in range(30):  # enough runs that half the file loses rows
        finished_run(runs, "filler")
    settle(runs)
    index.list_runs(runs)
    damage(runs / INDEX)
    reader = index.RunIndex(runs)
    infos = reader.list_runs()
    assert listed(infos) == listed(store.list_runs(runs))
    assert reader.problem is None and capsys.readouterr().err == ""
    after = index.RunIndex(runs)
    after.list_runs()
    assert after.reads == 0  # rebuilt whole


def test_a_preset_that_does_not_decode_is_read_from_the_run_directory(runs):
    index.list_runs(runs)
    with sqlite3.connect(runs / INDEX) as db:
        db.execute("UPDATE runs SET preset = '[1]'")
    reader = index.RunIndex(runs)
    infos = reader.list_runs()
    assert reader.reads == 0
    assert [i.preset for i in infos] == [i.preset for i in store.list_runs(runs)]


def _hammer(runs: Path, errors: list[BaseException], rounds: int = 15) -> None:
    try:
        for _ in range(rounds):
            index.list_runs(runs)
    except BaseException as exc:  # noqa: BLE001 - the test reports it
        errors.append(exc)


def _consistent(runs: Path) -> None:
    """Every row whose stamp is its run's files' holds what the files hold."""
    for rel, stamp, summary, *_ in rows_of(runs).values():
        if index.run_stamp(str(runs / rel))[0] == stamp:
            assert json.loads(summary) == store.read_summary(runs / rel), rel


def test_two_writers_at_once_lose_no_update(runs, capsys):
    errors: list[BaseException] = []
    writers = [threading.Thread(target=_hammer, args=(runs, errors)) for _ in range(2)]
    for writer in writers:
        writer.start()
    changed = list(store.iter_run_dirs(runs))
    for step in range(15):
        for run in changed[:2]:
            store.update_summary(run.path, step=step)
        settle(runs)
    for writer in writers:
        writer.join()
    assert errors == []
    _consistent(runs)
    assert listed(index.list_runs(runs)) == listed(store.list_runs(runs))
    assert capsys.readouterr().err == ""  # a writer that waits is not a problem


HAMMER = "import sys; from grok_tui.rundirs import index\nfor _ in range(40): index.list_runs(sys.argv[1])"


@pytest.mark.slow
def test_two_processes_writing_the_index_at_once_lose_no_update(runs):
    for n in range(60):
        finished_run(runs, f"more-{n}")
    settle(runs)
    cmd = [sys.executable, "-c", HAMMER, str(runs)]
    procs = [subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    changed = list(store.iter_run_dirs(runs))[:5]
    for step in range(20):
        for run in changed:
            store.update_summary(run.path, step=step)
        settle(runs)
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0] and errs == ["", ""]
    _consistent(runs)
    assert listed(index.list_runs(runs)) == listed(store.list_runs(runs))


@pytest.mark.parametrize("code", [errno.EACCES, errno.EROFS])
def test_a_read_only_index_or_folder_lists_from_the_directories(runs, capsys, monkeypatch, code):
    real = files.Folder.open_regular

    def refused(self, relative, flags, **kw):  # chmod binds no root: the door says no
        if relative == INDEX and flags & os.O_RDWR:
            raise PermissionError(code, os.strerror(code), str(self.path / relative))
        return real(self, relative, flags, **kw)

    monkeypatch.setattr(files.Folder, "open_regular", refused)
    for _ in range(2):
        assert listed(index.list_runs(runs)) == listed(store.list_runs(runs))
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and os.strerror(code).lower() in err[0] and "Traceback" not in err[0]


def _connect_then(monkeypatch: pytest.MonkeyPatch, change) -> None:
    """SQLite's own connections to the index, changed (read-only, a full disk)."""
    real = sqlite3.connect

    def connect(database, **kw):
        return change(real, database, **kw)

    monkeypatch.setattr(index_db.sqlite3, "connect", connect)


def test_an_index_sqlite_cannot_write_lists_from_the_directories(runs, capsys, monkeypatch):
    index.list_runs(runs)
    store.update_summary(next(store.iter_run_dirs(runs)).path, status="failed")
    settle(runs)
    _connect_then(
        monkeypatch, lambda real, name, **kw: real(name.replace("mode=rw", "mode=ro"), **kw)
    )
    for _ in range(2):
        assert listed(index.list_runs(runs)) == listed(store.list_runs(runs))
    (line,) = capsys.readouterr().err.splitlines()
    assert "readonly" in line


def test_a_full_disk_lists_from_the_directories(runs, capsys, monkeypatch):
    def full(real, name, **kw):
        db = real(name, **kw)
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {max(pages, 1)}")  # SQLITE_FULL past it
        return db

    _connect_then(monkeypatch, full)
    for _ in range(2):
        assert listed(index.list_runs(runs)) == listed(store.list_runs(runs))
    (line,) = capsys.readouterr().err.splitlines()
    assert "full" in line


@pytest.mark.parametrize("name", [INDEX, INDEX + "-wal", INDEX + "-shm"])
def test_a_link_planted_at_the_index_is_never_followed(runs, tmp_path, capsys, name):
    victim = tmp_path / "victim"
    victim.write_bytes(b"")  # an empty file is a database to SQLite: the worst case
    (runs / name).symlink_to(victim)
    assert listed(index.list_runs(runs)) == listed(store.list_runs(runs))
    assert victim.read_bytes() == b""
    (line,) = capsys.readouterr().err.splitlines()
    assert "symbolic link" in line
    assert listed(index.list_runs(runs, reindex=True)) == listed(store.list_runs(runs))
    assert victim.read_bytes() == b"" and not (runs / name).is_symlink()  # the link removed
    assert files.is_regular(runs / INDEX) and len(rows_of(runs)) == 4


def test_a_link_swapped_in_after_the_door_checked_is_never_written_through(
    runs, tmp_path, capsys, monkeypatch
):
    victim = tmp_path / "victim"
    victim.write_bytes(b"")
    real = files.Folder.open_regular

    def then_swapped(self, relative, flags, **kw):
        fd = real(self, relative, flags, **kw)
        if relative == INDEX:  # someone replaces the file by a link at this moment
            os.unlink(runs / INDEX)
            (runs / INDEX).symlink_to(victim)
        return fd

    monkeypatch.setattr(files.Folder, "open_regular", then_swapped)
    assert listed(index.list_runs(runs)) == listed(store.list_runs(runs))
    assert victim.read_bytes() == b""
    assert "symbolic link" in capsys.readouterr().err


def test_runs_reindex_reads_every_run_again(runs, capsys):
    assert main(["runs", "--runs-dir", str(runs), "--json"]) == 0
    truth = capsys.readouterr().out
    with sqlite3.connect(runs / INDEX) as db:  # a row that lies with the right stamp
        db.execute("UPDATE runs SET summary = json_set(summary, '$.status', 'failed')")
    assert main(["runs", "--runs-dir", str(runs), "--json"]) == 0
    assert capsys.readouterr().out != truth  # the index is trusted while stamps agree
    assert main(["runs", "--runs-dir", str(runs), "--json", "--reindex"]) == 0
    assert capsys.readouterr().out == truth
    assert main(["runs", "--runs-dir", str(runs), "--json"]) == 0
    assert capsys.readouterr().out == truth
