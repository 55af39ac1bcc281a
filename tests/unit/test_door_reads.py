"""Each read of a run's or a preset folder's file, met with what a shared folder can hold
at its name: a link (never followed: what it points to is neither shown nor read), a FIFO
(never blocks: the TUI's worker or event loop would hang for ever) and a file over the
door's cap for that read (refused by its size with a message saying so, never read whole).

The reads: the run page's preset.toml, analysis.json (the Analysis screen, analyze's
views), and the Presets screen's two reads of a listed preset file (its TOML tab, and the
source shown for a file that does not load)."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.syntax import Syntax
from textual.widgets import Static

from grok_tui import files
from grok_tui.analysis.paths import (
    ANALYSIS_FILE,
    MAX_ANALYSIS_BYTES,
    analysis_dir,
    analysis_path,
    read_analysis,
    read_analysis_checked,
)
from grok_tui.config import load_preset
from grok_tui.rundirs import store
from tests.conftest import REPO
from tests.support.crafted import valid_analysis
from tests.support.pilot import until

SECRET = "secret-of-someone-else"
HAZARDS = ["link", "fifo", "oversized"]


@pytest.fixture
def run(tmp_path: Path) -> store.RunDir:
    return store.create_run(load_preset(REPO / "presets/quickstart.toml"), tmp_path / "runs")


def plant(path: Path, hazard: str, victim: Path, cap: int) -> None:
    """Put ``hazard`` at ``path`` (whatever was there is removed): a link to ``victim``, a
    FIFO no one writes to, or a sparse file one byte over ``cap`` (no disk used)."""
    path.unlink(missing_ok=True)
    if hazard == "link":
        path.symlink_to(victim)
    elif hazard == "fifo":
        os.mkfifo(path)
    else:
        with path.open("wb") as f:
            f.truncate(cap + 1)


def refusal(hazard: str, cap: int) -> str:
    """What the door's message says for each hazard."""
    return {
        "link": "symbolic link, not followed",
        "fifo": "is not a regular file",
        "oversized": f"is {cap + 1:,} bytes, more than {cap:,}",
    }[hazard]


def drive(app: Any, script: Callable[[Any], Any]) -> None:
    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await script(pilot)

    asyncio.run(main())


# -- the run page: a run's preset.toml ----------------------------------------------------
@pytest.mark.timeout(60)  # a FIFO read blocked the page's worker for ever; one app, 3 pages
def test_the_run_page_shows_why_it_cannot_read_a_planted_preset(tmp_path: Path) -> None:
    from grok_tui.tui.app import GrokApp
    from grok_tui.tui.screens.run import RunScreen

    victim = tmp_path / "victim.toml"
    victim.write_text(f'name = "{SECRET}"\n')
    preset = load_preset(REPO / "presets/quickstart.toml")
    runs = {hazard: store.create_run(preset, tmp_path / "runs") for hazard in HAZARDS}
    for hazard, run in runs.items():
        plant(run.preset_path, hazard, victim, files.MAX_TOML_BYTES)
    app = GrokApp(tmp_path / "runs", [], poll_interval=0.25)

    async def script(pilot: Any) -> None:
        for hazard, run in runs.items():
            screen = RunScreen(store.RunInfo(run, run.summary()))
            await app.push_screen(screen)
            await until(pilot, lambda s=screen: s.preset_text, timeout=15)
            shown = screen.preset_text
            assert shown.startswith(f"# cannot read {run.preset_path}"), (hazard, shown[:200])
            assert re.search(refusal(hazard, files.MAX_TOML_BYTES), shown), (hazard, shown)
            assert SECRET not in shown
            app.pop_screen()

    drive(app, script)
    assert victim.read_text() == f'name = "{SECRET}"\n'


# -- analysis.json --------------------------------------------------------------------------
@pytest.mark.timeout(10)
@pytest.mark.parametrize("hazard", HAZARDS)
def test_analysis_json_is_refused_when_planted(
    run: store.RunDir, tmp_path: Path, hazard: str
) -> None:
    victim = tmp_path / "victim.json"
    victim.write_text(json.dumps({**valid_analysis(), "notes": [SECRET]}))
    analysis_dir(run.path).mkdir()
    plant(analysis_path(run.path), hazard, victim, MAX_ANALYSIS_BYTES)
    data, why = read_analysis_checked(run.path)
    assert data is None and read_analysis(run.path) is None
    assert why is not None and why.startswith(ANALYSIS_FILE)
    assert re.search(refusal(hazard, MAX_ANALYSIS_BYTES), why), why


def test_a_linked_analysis_folder_is_not_followed(run: store.RunDir, tmp_path: Path) -> None:
    """The folder a run keeps its analysis in, planted as a link to someone else's."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / ANALYSIS_FILE).write_text(json.dumps({**valid_analysis(), "notes": [SECRET]}))
    analysis_dir(run.path).symlink_to(victim)
    data, why = read_analysis_checked(run.path)
    assert data is None and why is not None and "link" in why, why


# -- the Presets screen: a listed preset file, swapped after the listing ----------------------
def _source_code(screen: Any) -> str:
    content = screen.query_one("#preset-source", Static).content
    return content.code if isinstance(content, Syntax) else str(content)


@pytest.mark.timeout(60)  # a FIFO read blocked the event loop for ever; one app, 6 files
def test_the_presets_screen_never_reads_a_planted_preset_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A valid entry is read once (its TOML tab), one that does not load twice (its TOML
    tab and the source shown above the form). Each file is swapped between the listing
    and the showing (a shared folder), as the listing itself skips what is not a file."""
    from grok_tui.tui.app import GrokApp
    from grok_tui.tui.screens.presets import PresetsScreen
    from grok_tui.tui.widgets.toml_editor import TomlEditor

    presets = tmp_path / "presets"
    presets.mkdir()
    cases = {
        (listed, hazard): presets / f"{listed}-{hazard}.toml"
        for listed in ("valid", "invalid")
        for hazard in HAZARDS
    }
    for (listed, _), path in cases.items():
        path.write_text(f'name = "{path.stem}"\n' if listed == "valid" else "[model\n")
    victim = tmp_path / "victim.toml"
    victim.write_text(f'name = "{SECRET}"\n')
    monkeypatch.chdir(tmp_path)
    app = GrokApp(tmp_path / "runs", [presets], poll_interval=0.25)

    async def script(pilot: Any) -> None:
        await pilot.press("f2")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, PresetsScreen)
                and {e.path for e in app.screen.entries} >= set(cases.values())
            ),
            timeout=15,
        )
        screen = app.screen
        entries = {e.path: e for e in screen.entries}
        for (listed, hazard), path in cases.items():
            assert entries[path].valid == (listed == "valid")
            plant(path, hazard, victim, files.MAX_TOML_BYTES)
        for (listed, hazard), path in cases.items():
            screen.show_entry(entries[path])
            assert screen.query_one("#preset-toml", TomlEditor).text == "", (listed, hazard)
            if listed == "invalid":
                source = _source_code(screen)
                assert source.startswith(f"# cannot read {path}"), (hazard, source[:200])
                assert re.search(refusal(hazard, files.MAX_TOML_BYTES), source), (hazard, source)

    drive(app, script)
    assert victim.read_text() == f'name = "{SECRET}"\n'
