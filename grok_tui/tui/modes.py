"""The app's modes (F2 Presets, F3 Live, F4 History, F6 Queue): their screens' factories.

Textual makes a mode's screen the first time the mode is shown. Live's, History's and
the Queue's modules are imported then: plotext and the history table are not needed for
the first frame, and the first frame must come fast (bench/startup.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.screen import Screen

from grok_tui.tui.screens.presets import PresetsScreen


def styled(screen: Screen) -> Screen:
    """A mode's screen, made now, counted as styled by the stylesheet as it is.

    Textual counts a new screen as stale and, at its first show, re-parses every CSS
    source in a fresh stylesheet and restyles every node of the app: 0.1-0.2 s of each
    first F3/F4/F6 on a 2-core machine, for nothing, since each node is styled when it
    is registered. A theme changed later still restyles the screen at its next show
    (Textual compares the two counts then). The factory runs inside the app's context."""
    count = getattr(screen.app, "_css_update_count", None)
    if isinstance(count, int) and hasattr(screen, "_css_update_count"):
        screen._css_update_count = count
    return screen


def _presets_screen() -> Screen:
    # Made as the app starts, before Textual's first full restyle sets the theme's
    # variables (which leaves it counted as stale: the app marks it styled once whole).
    return PresetsScreen()


def _live_screen() -> Screen:
    from grok_tui.tui.screens.live import LiveScreen

    return styled(LiveScreen())


def _history_screen() -> Screen:
    from grok_tui.tui.screens.history import HistoryScreen

    return styled(HistoryScreen())


def _queue_screen() -> Screen:
    from grok_tui.tui.screens.queue import QueueScreen

    return styled(QueueScreen())


MODES: dict[str, Callable[[], Screen]] = {
    "presets": _presets_screen,
    "live": _live_screen,
    "history": _history_screen,
    "queue": _queue_screen,
}


def make_early(app: Any, mode: str) -> bool:
    """Make, style and lay out a mode's screen while the user reads the first one, so
    that its first F-key only shows it: History's first F4 took 0.45 s with 200 runs on
    disk (composing and styling its widgets, then its table drawn twice). Textual makes
    a mode's screen when the mode starts (App._init_mode, which switch_mode calls); the
    switch then finds it made. Skipped where Textual's modes work otherwise (a later
    version), where the mode is shown or made already, and once the app is closing.
    True when the screen was made here."""
    stacks = getattr(app, "_screen_stacks", None)
    start = getattr(app, "_init_mode", None)
    if app._exit or not app.is_running or not isinstance(stacks, dict) or not callable(start):
        return False
    if mode == app.current_mode or mode in stacks or mode not in MODES:
        return False
    start(mode)
    return True


def mark_styled(app: Any, mode: str) -> None:
    """Count a mode's screen, made before the app's first full restyle, as styled now
    (else its next show restyles the whole app again). Nothing when it is not made, or
    where Textual's modes work otherwise."""
    stack = getattr(app, "_screen_stacks", {}).get(mode)
    if stack:
        styled(stack[0])
