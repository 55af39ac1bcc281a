"""Waiting in Textual Pilot tests: for a condition or for the app's workers, never for a
fixed time."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

PAUSE = 0.05  # seconds the app runs between two looks at the condition


async def until(
    pilot: Any, condition: Callable[[], Any], timeout: float = 60.0, what: str | None = None
) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds in which
    the app had its turns, naming ``what`` was waited for (by default the condition's
    source line).

    A starved test process (a loaded machine) gets fewer turns per second: its wait counts
    the turns the app had (each a pause of PAUSE), up to three times ``timeout`` of wall
    time, so that a machine that is only slow does not fail a test that a hang would.
    """
    start = time.monotonic()
    turns = 0
    while not condition():
        waited = time.monotonic() - start
        if waited > timeout and (turns * PAUSE >= timeout or waited > 3 * timeout):
            raise AssertionError(
                f"timed out waiting for {what or described(condition)} "
                f"({waited:.0f} s, {turns} turns)"
            )
        await pilot.pause(PAUSE)
        turns += 1


def described(condition: Callable[[], Any]) -> str:
    """The condition as the test wrote it (its source line), for a failure message."""
    try:
        text = " ".join(inspect.getsource(condition).split())
    except (OSError, TypeError):
        names = getattr(getattr(condition, "__code__", None), "co_names", ())
        return repr(names) if names else repr(condition)
    return text if len(text) <= 200 else text[:199] + "…"


async def settle(pilot: Any, timeout: float = 60.0, cycles: int = 2) -> None:
    """Let what the last keys started run to its end (the app's workers: a thread each),
    then handle what they posted (``cycles`` rounds of the messages then queued, each
    maybe posting the next): before checking that something did *not* happen."""
    app = pilot.app
    await pilot.pause()  # what is queued starts its workers
    workers = [w for w in app.workers if not w.is_finished]
    await until(
        pilot,
        lambda: all(w.is_finished for w in workers),
        timeout,
        what=f"the app's workers to finish ({', '.join(w.name for w in workers)})",
    )
    for _ in range(cycles):
        await pilot.pause()


async def click(pilot: Any, selector: str, timeout: float = 60.0) -> None:
    """Click the current screen's ``selector`` once it has a place on screen.

    A modal just pushed may not be laid out yet: a click then lands at (0, 0), on
    nothing, and a loaded machine makes that window wide.
    """
    screen = pilot.app.screen

    def placed() -> bool:
        widgets = screen.query(selector)
        return bool(widgets) and widgets.first().region.area > 0

    await until(pilot, placed, timeout, what=f"{selector} on screen")
    await pilot.click(selector)
