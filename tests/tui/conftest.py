"""Every TUI test's world: ``env`` (tests/support/tui.TuiEnv), its options set by
``@pytest.mark.tui_env(...)`` on the test or its module; ``env.app()`` makes the app with
the tests' pacing, the fake trainer and no queue runner."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.tui import TuiEnv, make_env


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "tui_env(presets=, delay=, editor=, toasts_stay=): options of the TUI tests' env "
        "fixture (tests/support/tui.make_env)",
    )


@pytest.fixture
def env(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TuiEnv:
    """The test's folders, and what its ``tui_env`` marks ask for (the test's own mark
    over its module's)."""
    options: dict = {}
    for mark in reversed(list(request.node.iter_markers("tui_env"))):
        options.update(mark.kwargs)
    return make_env(tmp_path, monkeypatch, **options)
