"""What the TUI tests share: fake trainers for launched runs, driving the app, History, an
app of one widget."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widget import Widget

from grok_tui.rundirs import launcher
from grok_tui.tui.app import GrokApp
from grok_tui.tui.screens.history import HistoryScreen
from tests.support.pilot import until


def use_fake_trainer(monkeypatch: pytest.MonkeyPatch, delay: str | None = None) -> None:
    """Runs started by the app train with tests/support/fake_trainer.py (no torch);
    ``delay``: seconds between its records (GROK_FAKE_DELAY)."""
    monkeypatch.setattr(
        launcher, "RUN_COMMAND", [sys.executable, "-m", "tests.support.fake_trainer"]
    )
    if delay is not None:
        monkeypatch.setenv("GROK_FAKE_DELAY", delay)


def stop_all(app: GrokApp) -> None:
    """Leave no fake trainer behind a test."""
    for follower in list(app.followers.values()):
        if launcher.stop_run(follower.run):
            launcher.wait_until_gone(follower.summary.get("pid", 0) or 0, timeout=5)


def drive(
    app: GrokApp,
    script: Callable[[Any], Any],
    size: tuple[int, int] = (120, 40),
    hook: Callable[[Any], Any] | None = None,
) -> None:
    """Run ``script(pilot)`` against the app at this size, then stop what it started."""

    async def main() -> None:
        async with app.run_test(size=size, message_hook=hook) as pilot:
            try:
                await script(pilot)
            finally:
                stop_all(app)

    asyncio.run(main())


async def open_history(pilot: Any, app: GrokApp) -> HistoryScreen:
    await pilot.press("f4")
    await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.all_rows)
    return app.screen  # type: ignore[return-value]


def one_widget_app(widget: Widget) -> App[None]:
    """An app that shows only this widget: a widget's own handlers, without the screens."""

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield widget

    return One()
