"""A Select that survives being mounted, or given a value, while the app tears it down."""

from __future__ import annotations

import contextlib
from typing import Any

from textual.css.query import NoMatches
from textual.widgets import Select


class SteadySelect(Select):
    """Select, minus a traceback when its screen is pruned around it.

    Screens made after the first frame (the Presets form's fields, History made while the
    user reads the first screen) can still be mounting when the app exits, or when a busy
    machine delays the mount. Textual then prunes the Select's children before its Mount
    handler runs, and Select._on_mount raised NoMatches for its overlay or, pruning going
    leaves first, for the label inside its current-value line: a traceback on quit. A
    Select being pruned, or with a part gone, is on its way out: nothing to set up.
    """

    def _on_mount(self, event: Any) -> None:
        # Textual calls the _on_mount of every class in the MRO in turn (Select's after this
        # one), so returning early would not skip Select's: prevent_default stops the rest.
        if self._pruning or len(self.children) < 2 or not self.query("SelectCurrent #label"):
            event.prevent_default()

    def _watch_value(self, value: Any) -> None:
        # A value set while the app prunes the Select (the label inside the current-value
        # line goes first) raised NoMatches from Select's watcher. The value is kept either
        # way, and a Select not mounted yet shows it from its own Mount handler.
        with contextlib.suppress(NoMatches):
            super()._watch_value(value)
