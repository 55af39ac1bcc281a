"""Type-ahead: keys sent in one burst do what the same keys typed slowly do.

Why keys went astray: Textual's App takes a key from its queue and forwards it at once to
the widget that has the focus *now*. The widget handles it in its own task, the key
bubbles up parent by parent, and only when it is back in the App's queue, behind every
key of the burst, does the App run its (non-priority) bindings: Tab's ``focus_next``,
History's ``/``, F-keys, a dialog's key. By then the whole burst had gone to the old
focus: ``Tab End C-u hello`` edited the field that Tab left, and ``/op=add`` ran ``o``
(Sort) and ``a`` on the table because ``/`` focused the filter only after they went by.

The fix, for every screen at once: the App lets one input event through at a time and
holds the next ones (in order) until the previous one has settled: every message queue of
the App and of the screens on the stack is drained (the key's handlers, its bindings and
whatever they posted: a focus change, a pushed dialog, mounted widgets), the workers the
key started have ended (a preset loaded, a queue edit written: the next key builds on
them, as it would when typed slowly), and, when the key moved the focus, changed the
screen or mounted widgets, one refresh went by. The held event is then posted to the App
again, exactly as it came, and goes where the earlier keys sent the focus. A key typed
slowly finds nothing in flight and passes at once; a burst costs what typing it slowly
costs (the app's own work for each key), and keys into one field flow without waiting for
a refresh. The mouse's events from the terminal go through the same gate, in their place
among the keys: a click after held keys waits for them (it must not focus a field before
the keys typed before it reach theirs), goes where it points on the screen they left, and
the keys after it wait for it, so that they go where the click sent the focus. (The
dialogs' FieldInput and OrderedInput, fixes for one field or one dialog from before, stay
correct under the gate.)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from textual import events

if TYPE_CHECKING:
    from textual.app import App
    from textual.message_pump import MessagePump
    from textual.worker import Worker

    _Base = App
else:
    _Base = object

HOLD_S = 10.0  # the longest a key waits for the one before it (a handler that never ends)
SPINS = 20  # looks between event-loop turns before waiting a little between looks
NAP_S = 0.002


def gated(event: events.Event) -> bool:
    """Keys, pastes and the mouse's presses, releases, moves and wheel from the terminal
    (not yet forwarded to a widget) go one at a time, in the order they came."""
    return (
        isinstance(event, (events.Key, events.Paste, events.MouseEvent)) and not event.is_forwarded
    )


def _queued(pump: MessagePump) -> int:
    """Messages the pump has not finished handling (queued, or being handled)."""
    queue = pump._message_queue
    return int(getattr(queue, "_unfinished_tasks", queue.qsize()))


class KeyGate:
    """Holds the keys (and clicks) that arrive while an earlier one is still taking effect."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.held: deque[events.Event] = deque()
        self.busy = False  # a key went through and has not settled yet
        self.passing: events.Event | None = None  # a held key, posted again: its turn
        self._task: asyncio.Task[None] | None = None
        self._workers: frozenset[Worker[Any]] = frozenset()  # those before the last key

    def hold(self, event: events.Event) -> bool:
        """True when the App must not handle this event now: it is kept, to come again."""
        if not gated(event):
            return False
        if event is self.passing:
            self.passing = None
        elif self.busy or self.held:
            self.held.append(event)
            return True
        self.busy = True
        self._workers = frozenset(self.app.workers)
        return False

    def sent(self, event: events.Event, before: tuple[Any, ...]) -> None:
        """The App handled this event (forwarded it): release the next once it settled."""
        if self._task is None:
            self._task = asyncio.create_task(self._release_when_settled(before))

    def state(self) -> tuple[Any, ...]:
        """What a key can change that the next key must see: the screen, the focus, the
        widgets (their number: a mount)."""
        app = self.app
        try:
            screen = app.screen
        except Exception:  # no screen yet, or the app closing
            return ()
        return (
            app.current_mode,
            len(app._screen_stack),
            screen,
            screen.focused,
            len(self._pumps()),
        )

    def _pumps(self) -> list[MessagePump]:
        app = self.app
        pumps: list[MessagePump] = [app]
        with contextlib.suppress(Exception):
            for screen in app._screen_stack:
                pumps.extend(screen.walk_children(with_self=True))
        return pumps

    def _working(self) -> bool:
        """A message not yet handled, or a worker that the last key started still at work."""
        if any(_queued(pump) for pump in self._pumps()):
            return True
        return any(not w.is_finished for w in self.app.workers if w not in self._workers)

    async def _drained(self, deadline: float) -> bool:
        """Wait until nothing is at work, twice in a row (a worker's last message lands a
        turn after it ends); False when the deadline came first."""
        spins = quiet = 0
        while quiet < 2:
            if self._working():
                if time.monotonic() > deadline or not self.app.is_running:
                    return False
                quiet = 0
                spins += 1
                await asyncio.sleep(0 if spins < SPINS else NAP_S)
            else:
                quiet += 1
                await asyncio.sleep(0)
        return True

    async def _refreshed(self, deadline: float) -> None:
        """Wait for the screen's next refresh (a new widget laid out, its styles set)."""
        done = asyncio.Event()
        if self.app.call_after_refresh(done.set):
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done.wait(), max(0.0, deadline - time.monotonic()))

    async def _release_when_settled(self, before: tuple[Any, ...]) -> None:
        """Release the next key once the last one settled: its messages handled and, if it
        changed the screen, the focus or the widgets, a refresh later with nothing new.

        A key that changed none of them (a character typed into a field) releases the next
        at once: the field's own work after the refresh (a check, a redraw) is then done
        once for the burst, as Textual coalesces it, not once per key."""
        deadline = time.monotonic() + HOLD_S
        try:
            while await self._drained(deadline):
                after = self.state()
                if after == before:
                    break
                await self._refreshed(deadline)
                before = after
        finally:
            self._task = None
            self._release()

    def _release(self) -> None:
        app = self.app
        if not self.held or not app.is_running:
            self.held.clear()
            self.busy = False
            return
        self.passing = self.held.popleft()
        if not app.post_message(self.passing):  # the app is closing
            self.held.clear()
            self.passing = None
            self.busy = False


class TypeAhead(_Base):
    """The App's half of the gate (a mixin before App): every key goes through KeyGate."""

    _key_gate: KeyGate | None = None

    async def on_event(self, event: events.Event) -> None:
        gate = self._key_gate
        if gate is None:
            gate = self._key_gate = KeyGate(self)
        if gate.hold(event):
            return
        if not gated(event):
            await super().on_event(event)
            return
        before = gate.state()
        try:
            await super().on_event(event)  # forwards it: it is marked forwarded from here on
        finally:
            gate.sent(event, before)
