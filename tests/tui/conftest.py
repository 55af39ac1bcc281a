"""Every TUI test: Live's redraw pace is not stretched by the test process's own CPU use
(a pytest process drawing screens is always above the TUI's budget); RedrawPace itself
is tested with its clocks in tests/tui/test_live_overview.py."""

from __future__ import annotations

import pytest

from grok_tui.tui.screens import live


@pytest.fixture(autouse=True)
def _steady_redraw_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "MAX_REDRAW_S", live.DATA_REDRAW_S)


@pytest.fixture(autouse=True)
def _poll_at_every_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests poll every poll_interval, as a run awaiting its first record does (the settled
    rate of once a second would only slow them down; tests/tui/test_live_overview.py
    checks the settled rate)."""
    from grok_tui.tui import app

    monkeypatch.setattr(app, "SETTLED_POLL_S", 0.0)
