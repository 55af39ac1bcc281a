"""Waiting in Textual Pilot tests: for a condition, never for a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


async def until(pilot: Any, condition: Callable[[], Any], timeout: float = 60.0) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            names = getattr(getattr(condition, "__code__", None), "co_names", ())
            raise AssertionError(f"timed out waiting for {names}")
        await pilot.pause(0.05)


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
