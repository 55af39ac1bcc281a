"""History's run listing (grok_tui/tui/run_listing.py): what store.list_runs gives, with
the runs whose files did not change taken from the last listing instead of read again."""

from __future__ import annotations

import os
from pathlib import Path

from grok_tui import files
from grok_tui.rundirs import store
from grok_tui.tui import run_listing
from tests.support.tui import finished_run


def _as_listed(infos: list[store.RunInfo]) -> list[tuple]:
    return [(i.run.path, i.summary, i.preset, i.preset_error, i.note, i.unreadable) for i in infos]


def _settled(*runs: store.RunDir) -> None:
    """Runs whose files last changed a while ago: a run whose files changed within the
    last second is read again at each listing (a racy stamp, rundirs/index.py)."""
    for run in runs:
        for path in (run.preset_path, run.summary_path):
            old = path.stat().st_mtime_ns - 10**10
            os.utime(path, ns=(old, old))


def test_a_listing_again_reads_only_the_runs_that_changed(tmp_path: Path) -> None:
    runs = [finished_run(tmp_path, name) for name in ("alpha", "beta", "gamma")]
    _settled(*runs)
    listing = run_listing.RunListing(tmp_path)
    first = listing.list_runs()
    assert _as_listed(first) == _as_listed(store.list_runs(tmp_path))
    assert listing.reads == 3

    again = listing.list_runs()
    assert listing.reads == 3  # nothing changed: nothing read
    assert _as_listed(again) == _as_listed(first)
    assert all(a is not b for a, b in zip(again, first, strict=True))  # new RunInfo objects

    store.update_summary(runs[1].path, status="failed")
    runs[2].set_note("a note")
    moved = listing.list_runs()
    assert listing.reads == 5  # beta's summary and gamma's note, nothing else
    assert _as_listed(moved) == _as_listed(store.list_runs(tmp_path))
    assert moved[1].summary["status"] == "failed" and moved[2].note == "a note"


def test_a_new_run_is_listed_and_a_deleted_one_is_gone(tmp_path: Path) -> None:
    runs = [finished_run(tmp_path, name) for name in ("alpha", "beta")]
    _settled(*runs)
    listing = run_listing.RunListing(tmp_path)
    listing.list_runs()
    files.rmtree(runs[0].path)
    third = finished_run(tmp_path, "gamma")
    listed = [i.run_id for i in listing.list_runs()]
    assert listed == [runs[1].run_id, third.run_id]
    assert listing.reads == 3


def test_the_listing_is_shared_per_runs_directory(tmp_path: Path) -> None:
    finished_run(tmp_path / "a", "alpha")
    shared = run_listing.listing(tmp_path / "a")
    run_listing.prefetch(tmp_path / "a")
    assert run_listing.listing(tmp_path / "a") is shared and shared.reads == 1
    assert run_listing.listing(tmp_path / "b") is not shared


def test_a_preset_from_the_index_is_decoded_once_for_every_listing(tmp_path: Path) -> None:
    """History lists the runs each time it is shown; each listing's RunInfo objects are
    new ones, and decoding each run's preset from the index again took most of a second
    with 10,000 runs. The copies share the decoded preset, and the rows stay as made."""
    from grok_tui.rundirs.index import RunIndex
    from grok_tui.tui.runtable import RowCache

    runs = [finished_run(tmp_path, name) for name in ("alpha", "beta")]
    _settled(*runs)
    RunIndex(tmp_path).list_runs()  # another process wrote the index
    listing = run_listing.RunListing(tmp_path)
    rows = RowCache()
    first = listing.list_runs()
    made = rows.rows(first)
    assert listing.reads == 0 and rows.made == 2  # from the index
    again = listing.list_runs()
    assert all(a is not b for a, b in zip(again, first, strict=True))
    assert all(a.preset is b.preset for a, b in zip(again, first, strict=True))  # decoded once
    assert rows.rows(again) == made and rows.made == 2
    assert [i.preset for i in again] == [i.preset for i in store.list_runs(tmp_path)]
    assert [i.folder for i in again] == [str(r.path) for r in runs]
