"""Speed by structure (issue 35 item 10, issue 34 item 5), never by timings (`grok-tui
bench --startup` times them): History makes only the rows it draws, whatever the number
of runs; rows, search text and widths are made once per run; the first poll waits for
the first screen; the preset list parses a shared base preset once; the footer's keys
are born compact (no restyle of each key as it mounts)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from textual.widgets._footer import FooterKey

from grok_tui.bench.startup import make_runs
from grok_tui.config import reading
from grok_tui.tui import run_listing, runtable
from grok_tui.tui.app import GrokApp
from grok_tui.tui.catalog import discover_presets, preset_sources
from grok_tui.tui.widgets.footer import KeysFooter
from grok_tui.tui.widgets.run_table import RunTable
from tests.support.pilot import settle, until
from tests.support.tui import TuiEnv, drive, one_widget_app, open_history

RUNS = 150  # several screenfuls at 120x40


@pytest.mark.slow  # 150 runs made and listed: 7 s on an idle 2-core machine
def test_history_makes_the_cells_of_a_screenful_of_rows_only(env: TuiEnv) -> None:
    make_runs(env.runs, RUNS, records=1)
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await open_history(pilot, app)
        table = screen.query_one(RunTable)
        await settle(pilot)
        assert table.row_count == RUNS
        assert 0 < len(table.made) <= table.size.height  # what is on screen, not 150 rows
        await pilot.press("slash", *"bench-1")  # a filter: bench-1, bench-10..19, 100..149
        await until(pilot, lambda: table.row_count == 61)
        made = len(table.made)
        await settle(pilot)
        assert len(table.made) - made <= table.size.height
        await pilot.press("escape", "end")  # the last run: its row is made when shown
        await settle(pilot)
        assert table.get_row_at(table.cursor_row)[1].plain.startswith("bench-")

    drive(app, script)


def test_rows_are_made_again_only_for_runs_that_changed(tmp_path: Path) -> None:
    make_runs(tmp_path, 4, records=1)
    infos = run_listing.RunListing(tmp_path).list_runs()
    cache = runtable.RowCache()
    first = cache.rows(infos)
    assert cache.made == 4 and all(r._haystack is not None for r in first)  # made off the UI
    again = cache.rows(run_listing.RunListing(tmp_path).list_runs())  # equal, new objects
    assert cache.made == 4 and all(a is b for a, b in zip(first, again, strict=True))
    infos[0].note = "a note"
    changed = cache.rows(infos)
    assert cache.made == 5 and changed[0].values["note"] == "a note"
    assert changed[1] is first[1]


def test_the_first_poll_waits_for_the_first_screen(
    env: TuiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_runs(env.runs, 3, records=1)
    polls_before: list[int] = []
    validated = GrokApp.on_preset_form_validated

    def on_validated(app: GrokApp) -> None:
        polls_before.append(app._polls)
        validated(app)

    monkeypatch.setattr(GrokApp, "on_preset_form_validated", on_validated)
    app = env.app()

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: polls_before and app._polled_once, 20, "the first poll")

    drive(app, script)
    assert polls_before[0] == 0  # no poll's thread beside the presets being listed


def test_a_base_preset_shared_by_many_files_is_parsed_once(
    tmp_path: Path,
) -> None:
    base = tmp_path / "base.toml"
    base.write_text('name = "base"\n[optim]\nlr = 0.002\n', encoding="utf-8")
    for i in range(3):
        (tmp_path / f"child{i}.toml").write_text(
            f'extends = "base.toml"\nname = "child{i}"\n', encoding="utf-8"
        )
    old = time.time() - 60  # written a while ago: not racily new (ParsedFiles.RACY_S)
    for path in tmp_path.iterdir():
        os.utime(path, (old, old))
    sources = [s for s in preset_sources([tmp_path]) if s.path == tmp_path.resolve()]
    before = reading.PARSED.parses
    entries = discover_presets(sources)
    assert all(e.preset is not None for e in entries) and len(entries) == 4
    assert reading.PARSED.parses - before == 4  # each file once, the base not per child
    base.write_text('name = "base"\n[optim]\nlr = 0.003\n', encoding="utf-8")  # changed
    assert {e.preset.optim.lr for e in discover_presets(sources) if e.preset} == {0.003}


def test_a_file_rewritten_at_once_is_read_again(tmp_path: Path) -> None:
    """Same size, same second: the stamp could match, so a new file is never kept."""
    path = tmp_path / "p.toml"
    path.write_text("a = 1\n", encoding="utf-8")
    assert reading.read_toml(path) == {"a": 1}
    path.write_text("a = 2\n", encoding="utf-8")
    assert reading.read_toml(path) == {"a": 2}


def test_footer_keys_are_born_compact() -> None:
    footer = KeysFooter()
    app = one_widget_app(footer)

    async def main() -> None:
        async with app.run_test(size=(80, 10)) as pilot:
            await settle(pilot)
            keys = [k for k in footer.compose() if isinstance(k, FooterKey)]
            assert keys and all("-compact" in k.classes for k in keys)

    asyncio.run(main())
