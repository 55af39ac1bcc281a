"""Watch run directories: which runs live, and what each one writes as it grows.

The run directory is the single source of truth: the TUI, the queue and the sweep
driver learn what a run does by reading it here, never by asking its process. Reading
is cheap when nothing changed (stats and a kill(pid, 0)), so many runs can be watched
every half second. Starting and signalling processes is launch.py's job.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from grok_tui import files
from grok_tui.rundirs import launch, layout, store
from grok_tui.rundirs.columns import Columns, ColumnsReader, RecordsView

STARTING = store.STARTING
LIVE_STATUSES = store.LIVE_STATUSES


def run_status(summary: dict[str, Any], run_path: Path | None = None) -> str:
    """The status to show (store.effective_status: a dead running/starting run has crashed)."""
    return store.effective_status(summary, run_path)


def is_live(summary: dict[str, Any], run_path: Path | None = None) -> bool:
    return run_status(summary, run_path) in LIVE_STATUSES


def live_runs(runs_dir: Path) -> list[store.RunDir]:
    """Run directories whose process is alive (running or starting), oldest first."""
    return [run for run in store.iter_run_dirs(runs_dir) if is_live(run.summary(), run.path)]


def live_sweeps(runs_dir: Path) -> list[tuple[Path, int]]:
    """(sweep directory, pid) of every sweep that a live process is provably training."""
    runs_dir = Path(runs_dir)
    try:
        entries = sorted(runs_dir.iterdir()) if runs_dir.is_dir() else []
    except OSError:
        return []
    live = []
    for entry in entries:
        if layout.is_sweep_dir(entry) and (pid := launch.sweep_runner_pid(entry)) is not None:
            live.append((entry, pid))
    return live


class LiveRunScanner:
    """Finds live runs of a runs directory, re-reading only summaries that changed.

    A run started headless in another shell shows up here on the next scan. A scan costs
    one stat per run (os.scandir, a folder once seen with its preset stays a run): with
    10,000 runs it ran every few seconds and stats through pathlib took 0.6 s. Summaries
    never read before (the first scan) come from ``listing`` when given and many are
    unread (the TUI's runs index: 10,000 summaries read one by one took seconds of the
    GIL while History was drawn); the others are read from their files.
    """

    def __init__(
        self, runs_dir: Path, listing: Callable[[], Iterable[store.RunInfo]] | None = None
    ) -> None:
        self.runs_dir = Path(runs_dir)
        self._listing = listing
        self._seen: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}
        self._runs: set[str] = set()  # folders seen with a preset: a run stays a run
        self.reads = 0  # summaries read from their files (a test counts them)

    def scan(self, *, full: bool = True) -> list[store.RunDir]:
        """The live runs. ``full=False`` (the start-up's quick scans, every poll) stats
        only the runs that are new or were live or starting at the last look: with
        10,000 runs a full scan is 10,000 stats, and the start-up's scans of every run
        kept the GIL from the listing History waits for (its stats waited their turn
        behind the scan's). A finished run that is resumed is found by the next full scan."""
        folders = self._folders()
        if not full and self._seen:
            return self._scan_some(folders)
        stamps = [(folder, _stamp(f"{folder}/{layout.SUMMARY_FILE}")) for folder in folders]
        unseen = [f for f, st in stamps if st is not None and f not in self._seen]
        listed = self._listed() if len(unseen) > LISTING_FROM else {}
        seen: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}
        live = []
        for folder, st in stamps:
            if st is None:
                continue
            summary = self._summary(folder, st, self._seen.get(folder), listed)
            seen[folder] = (st, summary)
            if is_live(summary, Path(folder)):
                live.append(store.RunDir(Path(folder)))
        self._seen = seen
        self._runs &= set(seen)
        return live

    def _scan_some(self, folders: list[str]) -> list[store.RunDir]:
        """A quick scan: the runs last seen finished are taken as they were seen."""
        live = []
        for folder in folders:
            cached = self._seen.get(folder)
            if cached is not None and _finished(cached[1]):
                continue
            st = _stamp(f"{folder}/{layout.SUMMARY_FILE}")
            if st is None:
                continue
            summary = self._summary(folder, st, cached, {})
            self._seen[folder] = (st, summary)
            if is_live(summary, Path(folder)):
                live.append(store.RunDir(Path(folder)))
        return live

    def _summary(
        self,
        folder: str,
        st: tuple[int, int],
        cached: tuple[tuple[int, int], dict[str, Any]] | None,
        listed: dict[str, dict[str, Any]],
    ) -> dict[str, Any]:
        """A run's summary: as last seen while its stamp holds, else from the listing (a
        run never seen: stamped before the listing read it, so a later write moves the
        stamp), else read from its file."""
        if cached is not None and cached[0] == st:
            return cached[1]
        if cached is None and folder in listed:
            return listed[folder]
        self.reads += 1
        return store.read_summary(folder)

    def _listed(self) -> dict[str, dict[str, Any]]:
        if self._listing is None:
            return {}
        try:
            infos = list(self._listing())
        except Exception:  # noqa: BLE001 - the files are read one by one instead
            return {}
        return {i.folder: i.summary for i in infos if not i.unreadable}

    def _folders(self) -> list[str]:
        """Run folders as store.iter_run_dirs finds them (also one level down), oldest first."""
        base = str(self.runs_dir)
        prefix = "" if base == "." else base.rstrip("/") + "/"  # as str(Path(base, name))
        found = []
        for name in _dir_names(base):
            folder = prefix + name
            if self._is_run(folder):
                found.append(folder)
            else:  # a sweep's folder: its runs
                found += [
                    f"{folder}/{s}" for s in _dir_names(folder) if self._is_run(f"{folder}/{s}")
                ]
        return found

    def _is_run(self, folder: str) -> bool:
        if folder in self._runs:
            return True
        if os.path.lexists(f"{folder}/{layout.PRESET_FILE}"):
            self._runs.add(folder)
            return True
        return False


LISTING_FROM = 50  # unread summaries from which the scanner asks the listing for them


def _finished(summary: dict[str, Any]) -> bool:
    """A summary whose own status says the run ended (no process to ask about)."""
    status = summary.get("status")
    return type(status) is str and status not in LIVE_STATUSES


def _dir_names(folder: str) -> list[str]:
    """Names of the folders in a folder (never a link), sorted; [] when unreadable."""
    try:
        with os.scandir(folder) as entries:
            return sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))
    except OSError:
        return []


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


class RunFollower:
    """Follows one run directory: new records by byte offset, summary by mtime.

    poll() is cheap when nothing changed (two stats and a kill(pid, 0)), so many runs
    can be polled every half second; when records were appended, only the new lines are
    read. The records are held as columns (rundirs/columns.py: a 200,000-record run in
    16 MB, not 320); ``records`` shows them as dicts. Only one thread may call poll();
    readers on other threads see ``columns`` grow (append only) or replaced whole (after
    a rewrite: a resume that truncated its records, a file replaced by another).
    """

    def __init__(self, run: store.RunDir) -> None:
        self.run = run
        self.columns = Columns()
        self.summary: dict[str, Any] = {}
        self.status = "unknown"
        self.version = 0  # bumped on every change; views redraw when it moved
        self._reader = ColumnsReader(run.metrics_path)
        self._file: tuple[int, int] | None = None  # (device, inode) of the file read
        self._summary_stamp: tuple[int, int] | None = None

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def records(self) -> RecordsView:
        """The records read so far, as dicts made when read."""
        return self.columns.view()

    @records.setter
    def records(self, records: Sequence[dict[str, Any]]) -> None:
        """Hold these records instead (a test's or a caller's own)."""
        columns = Columns()
        columns.add_records(records)
        self.columns = columns

    def poll(self) -> bool:
        """Read what is new; True when records, summary or status changed."""
        changed = self._poll_records()
        changed = self._poll_summary() or changed
        status = run_status(self.summary, self.run.path) if self.summary else "unknown"
        if status != self.status:
            self.status = status
            changed = True
        if changed:
            self.version += 1
        return changed

    def _poll_records(self) -> bool:
        try:
            st = self.run.metrics_path.stat()
        except OSError:
            return False
        file = (st.st_dev, st.st_ino)
        if self._file is not None and file != self._file:  # replaced (an atomic rewrite)
            return self._reload(file)
        if st.st_size < self._reader.offset:  # truncated in place
            return self._reload(file)
        self._file = file
        if st.st_size == self._reader.offset:
            return False
        columns = self.columns
        before = len(columns)
        if not self._reader.read(columns):
            return False
        steps = columns.values("step")
        if before and steps[before] <= steps[before - 1]:  # rewritten behind the offset
            return self._reload(file)
        return True

    def _reload(self, file: tuple[int, int]) -> bool:
        self._reader = ColumnsReader(self.run.metrics_path)
        columns = Columns()
        self._reader.read(columns)
        self.columns, self._file = columns, file
        return True

    def _poll_summary(self) -> bool:
        try:
            st = self.run.summary_path.stat()
        except OSError:
            return False
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._summary_stamp:
            return False
        summary = self.run.summary()
        if not summary:  # caught between write and rename: try again next time
            return False
        self._summary_stamp = stamp
        self.summary = summary
        return True


def poll_all(followers: Iterable[RunFollower]) -> list[str]:
    """Poll every follower; the ids of those that changed (finished children reaped first)."""
    launch.reap_children()
    return [f.run_id for f in followers if f.poll()]


def tail(path: Path, lines: int = 5) -> list[str]:
    """The last lines of a text file (a run's log.txt), for showing why a run failed."""
    with contextlib.suppress(OSError):
        fd = files.open_regular(path, os.O_RDONLY)  # never a link, never a FIFO
        with os.fdopen(fd, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 8192))
            text = f.read().decode("utf-8", "replace").replace("\r", "\n")
            return [line for line in text.splitlines() if line.strip()][-lines:]
    return []
