"""The runs History lists, read again only where a run's directory changed.

The listing goes through the runs index (grok_tui/rundirs/index.py): a run whose
directory kept its stamp is taken from this process's last listing, else from the index
file that every process shares, and only the others are read as store.list_runs reads
them (three files through the door, a preset parsed), and written back to the index.
The TUI never writes a line on stderr about it: an index that cannot be used (a
read-only runs folder, a full disk) only makes the listing read the directories, and
``problem`` says why.

One listing per runs directory, shared: the app fills it in the background after the
first frame (``prefetch``), so that the first switch to History finds it warm.
"""

from __future__ import annotations

import threading
from pathlib import Path

from grok_tui.rundirs import store
from grok_tui.rundirs.index import RunIndex


class RunListing:
    """store.list_runs of one runs directory, through its index, with what did not change
    kept from the last listing."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = Path(runs_dir)
        self._index = RunIndex(self.runs_dir, warn=None, remember=True)
        self._lock = threading.Lock()  # the prefetch and History's worker may overlap

    @property
    def reads(self) -> int:
        """Runs read from their directories so far (the others came from the index or
        from the last listing)."""
        return self._index.reads

    @property
    def problem(self) -> str | None:
        """Why the index could not be used last time (the runs were read from disk)."""
        return self._index.problem

    def list_runs(self) -> list[store.RunInfo]:
        """What store.list_runs returns now; each RunInfo is a new object (History sets
        a live run's summary on it), its parsed preset shared with the last listing."""
        with self._lock:
            return self._index.list_runs()


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
