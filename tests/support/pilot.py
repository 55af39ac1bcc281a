"""Waiting in Textual Pilot tests: for a condition, never for a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

PAUSE = 0.05  # seconds the app runs between two looks at the condition


async def until(pilot: Any, condition: Callable[[], Any], timeout: float = 60.0) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds in which
    the app had its turns.

    A starved test process (a loaded machine) gets fewer turns per second: its wait counts
    the turns the app had (each a pause of PAUSE), up to three times ``timeout`` of wall
    time, so that a machine that is only slow does not fail a test that a hang would.
    """
    start = time.monotonic()
    turns = 0
    while not condition():
        waited = time.monotonic() - start
        if waited > timeout and (turns * PAUSE >= timeout or waited > 3 * timeout):
            names = getattr(getattr(condition, "__code__", None), "co_names", ())
            raise AssertionError(f"timed out waiting for {names} ({waited:.0f} s, {turns} turns)")
        await pilot.pause(PAUSE)
        turns += 1


async def click(pilot: Any, selector: str, timeout: float = 60.0) -> None:
    """Click the current screen's ``selector`` once it has a place on screen.

    A modal just pushed may not be laid out yet: a click then lands at (0, 0), on
    nothing, and a loaded machine makes that window wide.
    """
    screen = pilot.app.screen

    def placed() -> bool:
        widgets = screen.query(selector)
        return bool(widgets) and widgets.first().region.area > 0

    await until(pilot, placed, timeout)
    await pilot.click(selector)
