"""History and the live-run scan with many runs, by structure (issue 34 item 5, issue 35
item 10; `grok-tui bench --scale` times them): a burst of filter keys rebuilds the table
once, and the scanner's first scan takes its summaries from the listing, not the files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grok_tui.bench.startup import make_runs
from grok_tui.rundirs import store, watch
from grok_tui.tui.runtable import filter_rows
from grok_tui.tui.screens import history
from grok_tui.tui.widgets.run_table import RunTable
from tests.support.pilot import settle, until
from tests.support.tui import TuiEnv, drive, open_history


@pytest.mark.slow  # an app, a burst and a pause: 8 s on a loaded 2-core machine
def test_a_burst_of_filter_keys_rebuilds_the_table_once(
    env: TuiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_runs(env.runs, 20, records=1)
    # as with 10,000 runs (FILTER_PAUSE_FROM), and a pause no key of the burst waits for
    monkeypatch.setattr(history, "FILTER_PAUSE_FROM", 1, raising=False)
    monkeypatch.setattr(history, "FILTER_PAUSE_S", 1.0, raising=False)
    shown: list[int] = []
    show_rows = RunTable.show_rows

    def counted(self: RunTable, rows: Any, *args: Any, **kwargs: Any) -> None:
        shown.append(len(rows))
        show_rows(self, rows, *args, **kwargs)

    monkeypatch.setattr(RunTable, "show_rows", counted)
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await open_history(pilot, app)
        table = screen.query_one(RunTable)
        await settle(pilot)
        before = len(shown)
        await pilot.press("slash", *"bench-1")  # bench-1, bench-10..19
        wanted = filter_rows(screen.all_rows, "bench-1", None)
        await until(pilot, lambda: table.row_count == len(wanted))
        await settle(pilot)
        assert shown[before:] == [len(wanted)]  # one rebuild, with the burst's last filter
        assert sorted(r.run_id for r in screen.shown) == sorted(r.run_id for r in wanted)

    drive(app, script)


def test_the_first_scan_takes_summaries_from_the_listing(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    make_runs(runs, watch.LISTING_FROM + 5, records=1)
    listed: list[int] = []

    def listing() -> list[store.RunInfo]:
        infos = store.list_runs(runs)
        listed.append(len(infos))
        return infos

    scanner = watch.LiveRunScanner(runs, listing=listing)
    assert scanner.scan() == [] and scanner.reads == 0 and listed == [watch.LISTING_FROM + 5]
    assert scanner.scan() == [] and scanner.reads == 0 and len(listed) == 1  # stats only
    run = next(store.iter_run_dirs(runs))
    store.update_summary(run.path, status="running")  # no owner recorded: shown as running
    assert [r.run_id for r in scanner.scan()] == [run.run_id]
    assert scanner.reads == 1 and len(listed) == 1  # the changed summary, from its file


def test_a_quick_scan_stats_only_new_runs_and_those_last_seen_live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The start-up's scans (every poll for 5 s) stat only what can have started: with
    10,000 finished runs each full scan was 10,000 stats beside History's listing."""
    runs = tmp_path / "runs"
    make_runs(runs, 6, records=1)
    live, *finished = list(store.iter_run_dirs(runs))
    store.update_summary(live.path, status="running")  # no owner recorded: shown as running
    scanner = watch.LiveRunScanner(runs)
    assert [r.run_id for r in scanner.scan()] == [live.run_id]  # the first scan: full
    stats: list[str] = []
    stamp = watch._stamp

    def counted(path: str) -> tuple[int, int] | None:
        stats.append(path)
        return stamp(path)

    monkeypatch.setattr(watch, "_stamp", counted)
    assert [r.run_id for r in scanner.scan(full=False)] == [live.run_id]
    assert [Path(p).parent.name for p in stats] == [live.run_id]  # the finished: not statted
    new = store.create_run(store.load_run_preset(live), runs)
    store.update_summary(new.path, status="running")
    stats.clear()
    assert {r.run_id for r in scanner.scan(full=False)} == {live.run_id, new.run_id}
    assert {Path(p).parent.name for p in stats} == {live.run_id, new.run_id}
    store.update_summary(finished[0].path, status="running")  # a finished run resumed
    assert finished[0].run_id not in {r.run_id for r in scanner.scan(full=False)}
    assert finished[0].run_id in {r.run_id for r in scanner.scan()}  # the next full scan
