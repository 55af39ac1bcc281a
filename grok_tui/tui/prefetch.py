"""What the app reads in the background after its first frame, kept for later screens.

Imported by the poll's and the prefetch's worker threads (never before the first frame):
the runs listing goes through the runs index (run_listing.py), shared by History and by
the live-run scanner's first scan.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from grok_tui.rundirs import watch
from grok_tui.tui import prefetched, run_listing, runtable


def prefetch_screens(runs_dir: Path, ready: Callable[[str], bool] = lambda mode: False) -> None:
    """Once the first screen is whole: History's module and runs, then the Queue's and
    Live's modules (plotext), read before F4, F6 or F3 asks for them. ``ready(mode)``
    says when a mode's screen can be made (History's rows kept, the Queue's module), and
    answers whether it was made then."""
    from grok_tui.tui.screens import history  # noqa: F401

    prefetched.begin(runs_dir)
    try:
        infos = run_listing.listing(runs_dir).list_runs()  # as run_listing.prefetch, kept
        rows = runtable.load_rows(runs_dir, listing=lambda _: infos)  # made once (RowCache)
        prefetched.keep(runs_dir, rows, {i.run_id: i for i in infos})
    finally:
        prefetched.end(runs_dir)  # a History waiting for them waits no more
    if ready("history"):  # History made now: it draws these rows
        prefetched.wait_drawn(DRAW_WAIT_S)
    from grok_tui.tui.screens import queue  # noqa: F401

    ready("queue")
    from grok_tui.tui.screens import live  # noqa: F401


# How long the prefetch waits for History to draw the kept rows before it imports on
# (History's screen is made and drawn on the app's thread while the user reads the
# first screen: an import in this thread meanwhile would halve its pace).
DRAW_WAIT_S = 2.0


def live_scanner(runs_dir: Path) -> watch.LiveRunScanner:
    """The app's scanner for runs started elsewhere: its first scan takes the summaries
    from the shared listing (warm after prefetch_screens), not from 10,000 files."""
    return watch.LiveRunScanner(runs_dir, listing=run_listing.listing(runs_dir).list_runs)
