"""An Input that applies every key in the order it came, however fast the keys come.

Textual's Input inserts a printable key in its own key handler but runs an editing key
(Ctrl+U, Backspace, End...) as a binding action afterwards: in a burst (a paste, keys
typed ahead over a slow SSH link, ``tmux send-keys End C-u name``) the characters typed
after Ctrl+U were inserted first and then wiped by it. Here the editing keys are run in
the key handler too, so a burst edits exactly as slow typing does.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input

# Every key Input binds (several keys per binding are comma separated) -> its action.
EDITING_KEYS = {key.strip(): b.action for b in Input.BINDINGS for key in b.key.split(",")}


class OrderedInput(Input):
    """Input whose editing keys take effect in order with the characters around them."""

    async def _on_key(self, event: events.Key) -> None:
        action = EDITING_KEYS.get(event.key)
        if action is None:
            await super()._on_key(event)
            return
        event.stop()
        event.prevent_default()
        self._restart_blink()
        await self.run_action(action)
