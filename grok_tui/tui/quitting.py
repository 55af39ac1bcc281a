"""Quit, by every way out the user has (Ctrl+Q, q on Live, Compare and a run, the
palette's Quit): each is the app's ``quit`` action, which asks here first.

Nothing is lost without asking: runs still training (leave them or stop them) and unsaved
edits on the Presets screen (its form or TOML tab, kept while other screens are shown)
are named in one question. A hung-up terminal cannot be asked (app.terminal_lost): the
runs are other processes and go on; the edits are gone, as with any closed editor.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App
from textual.css.query import NoMatches

from grok_tui.tui import actions
from grok_tui.tui.screens.modals import ChoiceModal
from grok_tui.tui.screens.presets import PresetsScreen

if TYPE_CHECKING:
    from grok_tui.rundirs.watch import RunFollower

PRESETS_MODE = "presets"


def unsaved_edits(app: App) -> str:
    """The Presets screen's unsaved edits in words ('' when none), whichever screen is
    shown: the screen of a mode lives on while another mode is shown."""
    try:
        stack = app.get_screen_stack(PRESETS_MODE)
    except KeyError:
        return ""
    for screen in stack:
        if isinstance(screen, PresetsScreen) and screen.is_mounted:
            try:
                return screen.unsaved_edits()
            except NoMatches:  # not composed yet: nothing typed into it either
                return ""
    return ""


def ask_to_quit(app: App, runs_dir: Path, live: Sequence[RunFollower]) -> None:
    """Quit at once when nothing would be lost; else ask (keep the edits, leave or stop
    the runs, discard, cancel), and do what was chosen. ``live``: the runs the app
    follows that still train."""
    from grok_tui.rundirs import watch

    sweeps = [path for path, _ in watch.live_sweeps(runs_dir)]
    edits = unsaved_edits(app)
    if not live and not sweeps and not edits:
        app.exit()
        return

    def chosen(choice: str | None) -> None:
        if choice == "keep":
            app.switch_mode(PRESETS_MODE)
        if choice == "stop":
            actions.stop_everything(runs_dir, live, sweeps)
        if choice in ("leave", "stop", "discard"):
            app.exit()

    waiting = actions.queued_count(runs_dir) if live or sweeps else 0
    what, choices = actions.quit_question(live, len(sweeps), waiting, edits)
    app.push_screen(ChoiceModal(what, choices), chosen)
