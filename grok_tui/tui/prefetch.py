"""What the app reads in the background after its first frame, kept for later screens.

Imported by the poll's and the prefetch's worker threads (never before the first frame):
the runs listing goes through the runs index (run_listing.py), shared by History and by
the live-run scanner's first scan.
"""

from __future__ import annotations

from pathlib import Path

from grok_tui.rundirs import watch
from grok_tui.tui import prefetched, run_listing, runtable


def prefetch_screens(runs_dir: Path) -> None:
    """Once the first screen is whole: History's module and runs, then Live's and the
    Queue's modules (plotext), read before F4, F3 or F6 asks for them."""
    from grok_tui.tui.screens import history  # noqa: F401

    infos = run_listing.listing(runs_dir).list_runs()  # as run_listing.prefetch, kept
    rows = runtable.load_rows(runs_dir, listing=lambda _: infos)  # made once (RowCache)
    prefetched.keep(runs_dir, rows, {i.run_id: i for i in infos})
    from grok_tui.tui.screens import live, queue  # noqa: F401


def live_scanner(runs_dir: Path) -> watch.LiveRunScanner:
    """The app's scanner for runs started elsewhere: its first scan takes the summaries
    from the shared listing (warm after prefetch_screens), not from 10,000 files."""
    return watch.LiveRunScanner(runs_dir, listing=run_listing.listing(runs_dir).list_runs)
