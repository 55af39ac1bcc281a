"""The TUI's exit status (issue 36): a crash ends the command non-zero, a quit with 0.

Textual ends an app on an unhandled exception with its traceback and return code 1; the
command used to drop that code and exit 0. The app runs here as the command starts it
(cli.main), on Textual's headless driver: no terminal is needed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import constants

from grok_tui import cli
from grok_tui.tui.screens.presets import PresetsScreen

# Both tests end on the first screen's mount; the limit only stops a hang from waiting
# for the suite's.
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(autouse=True)
def _headless_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    """What TEXTUAL_DRIVER would choose (read when textual is imported, so set here)."""
    monkeypatch.setattr(constants, "DRIVER", "textual.drivers.headless_driver:HeadlessDriver")


def test_a_screen_that_raises_on_mount_makes_the_command_exit_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    def crash(self: PresetsScreen) -> None:
        raise RuntimeError("crashed on mount")

    monkeypatch.setattr(PresetsScreen, "on_mount", crash)
    assert cli.main(["--runs-dir", str(tmp_path / "runs")]) == 1
    assert "crashed on mount" in "".join(capfd.readouterr())  # Textual's traceback


def test_a_quit_exits_zero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mount = PresetsScreen.on_mount

    def mount_then_quit(self: PresetsScreen) -> None:
        mount(self)
        self.call_after_refresh(self.app.exit)

    monkeypatch.setattr(PresetsScreen, "on_mount", mount_then_quit)
    assert cli.main(["--runs-dir", str(tmp_path / "runs")]) == 0
