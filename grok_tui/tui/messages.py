"""Messages that workers post to the app (post_message is the one thread-safe call)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from grok_tui.store import RunDir


class RunsPolled(Message):
    """A poll of the followed runs finished: which changed, which live runs are new."""

    def __init__(self, changed: list[str], discovered: list[RunDir]) -> None:
        super().__init__()
        self.changed = changed
        self.discovered = discovered


class RunStarted(Message):
    """A run was launched, re-run or resumed from the UI: follow it and show it."""

    def __init__(self, run: RunDir, verb: str) -> None:
        super().__init__()
        self.run = run
        self.verb = verb


class ActionFailed(Message):
    """A worker's job failed with a message for the user."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
