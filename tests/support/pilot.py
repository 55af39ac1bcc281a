"""Waiting in Textual Pilot tests: for a condition, never for a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


async def until(pilot: Any, condition: Callable[[], Any], timeout: float = 30.0) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            names = getattr(getattr(condition, "__code__", None), "co_names", ())
            raise AssertionError(f"timed out waiting for {names}")
        await pilot.pause(0.05)
