"""The runs History lists, read again only where a run's files changed.

store.list_runs reads three files of every run through the door of grok_tui/files.py
(a walk of the path for each) and parses every frozen preset: with 200 runs that is
most of a switch to History, and History lists again each time it is shown. A run's
files are replaced whole (written atomically: a new inode) or not at all, so a run whose
preset, summary and note have the inode, size and mtime they had last time is taken
from the last listing; the others are read as store.list_runs reads them.

One listing per runs directory, shared: the app fills it in the background after the
first frame (``prefetch``), so that the first switch to History finds it warm.
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from pathlib import Path

from grok_tui.rundirs import store

Stamp = tuple[int, int, int] | None
Stamps = tuple[Stamp, Stamp, Stamp]


def _stamp(path: Path) -> Stamp:
    """(inode, mtime, size) of a file itself (a link is not followed), None when absent."""
    try:
        st = os.lstat(path)
    except (OSError, ValueError):
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _stamps(run: store.RunDir) -> Stamps:
    return (_stamp(run.preset_path), _stamp(run.summary_path), _stamp(run.note_path))


class RunListing:
    """store.list_runs of one runs directory, with what did not change kept."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = Path(runs_dir)
        # stamps None: the files changed while they were read, so never taken as they are
        self._seen: dict[Path, tuple[Stamps | None, store.RunInfo]] = {}
        self._lock = threading.Lock()  # the prefetch and History's worker may overlap
        self.reads = 0  # runs read from disk so far (the others came from the last listing)

    def list_runs(self) -> list[store.RunInfo]:
        """What store.list_runs returns now; each RunInfo is a new object (History sets
        a live run's summary on it), its parsed preset shared with the last listing."""
        with self._lock:
            infos = []
            seen: dict[Path, tuple[Stamps | None, store.RunInfo]] = {}
            for run in store.iter_run_dirs(self.runs_dir):
                stamps: Stamps | None = _stamps(run)
                cached = self._seen.get(run.path)
                if cached is not None and cached[0] == stamps:
                    info = replace(cached[1], run=run)
                else:
                    info = store.run_info(run)
                    self.reads += 1
                    if _stamps(run) != stamps:  # changed while read: read again next time
                        stamps = None
                seen[run.path] = (stamps, info)
                infos.append(info)
            self._seen = seen
            return infos


_listings: dict[Path, RunListing] = {}
_listings_lock = threading.Lock()


def listing(runs_dir: Path) -> RunListing:
    """The shared listing of a runs directory."""
    key = Path(runs_dir)  # as given: the listed runs' paths are spelt from it
    with _listings_lock:
        found = _listings.get(key)
        if found is None:
            found = _listings[key] = RunListing(key)
        return found


def prefetch(runs_dir: Path) -> None:
    """List the runs once, so that History opens on a warm listing (in a thread worker)."""
    listing(runs_dir).list_runs()
