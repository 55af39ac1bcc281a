"""An Input that applies every key in the order it came, however fast the keys come.

Textual's Input inserts a printable key in its own key handler but runs an editing key
(Ctrl+U, Backspace, End...) as a binding action afterwards: in a burst (a paste, keys
typed ahead over a slow SSH link, ``tmux send-keys End C-u name``) the characters typed
after Ctrl+U were inserted first and then wiped by it. Here the editing keys are run in
the key handler too, so a burst edits exactly as slow typing does.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.widget import Widget
from textual.widgets import Input


def editing_keys(widget: type[Widget], leave: frozenset[str] = frozenset()) -> dict[str, str]:
    """Every key the widget binds (a binding's keys are comma separated) -> its action;
    the keys in ``leave`` stay the app's."""
    return {
        key.strip(): b.action  # type: ignore[union-attr]
        for b in widget.BINDINGS
        for key in b.key.split(",")  # type: ignore[union-attr]
        if key.strip() not in leave
    }


class OrderedKeys:
    """Mixin for a text widget: its editing keys run in its key handler, in order with the
    characters around them (EDITING_KEYS: key -> the widget's own binding action)."""

    EDITING_KEYS: ClassVar[dict[str, str]] = {}

    async def _on_key(self, event: events.Key) -> None:
        action = self.EDITING_KEYS.get(event.key)
        if action is None:
            await super()._on_key(event)  # type: ignore[misc]
            return
        event.stop()
        event.prevent_default()
        self._restart_blink()  # type: ignore[attr-defined]
        await self.run_action(action)  # type: ignore[attr-defined]


class OrderedInput(OrderedKeys, Input):
    """Input whose editing keys take effect in order with the characters around them."""

    EDITING_KEYS = editing_keys(Input)
