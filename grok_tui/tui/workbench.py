"""What screens may know of the app: the shared state they read, and their two base classes.

Screens never import grok_tui.tui.app (an import-linter contract forbids it): the app
imports the screens, so a screen that imported the app back would close a cycle in which
every screen depends on every other and none runs without the whole app. A screen reads the state it shares with the others through the
``Workbench`` protocol, which the app satisfies, and asks the app to act by posting
a message of grok_tui.tui.messages; the app tells it of runs that moved through
``WorkbenchScreen.runs_changed``. Light on purpose: the first screen imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

from textual.screen import Screen

from grok_tui.tui.messages import ViewOptionsChanged

if TYPE_CHECKING:
    from grok_tui.launcher import RunFollower
    from grok_tui.tui.series import AxisOptions


class Workbench(Protocol):
    """The app's state that screens share (GrokApp satisfies it)."""

    runs_dir: Path
    """Where runs are created and listed."""
    preset_dirs: list[Path]
    """The preset folders; Save as adds the folder it saved into."""
    current_run_id: str | None
    """The run Live shows; Live's [ and ] change it."""

    @property
    def followers(self) -> Mapping[str, RunFollower]:
        """The runs the app follows, by run id, as of the last poll."""
        ...

    @property
    def axis_options(self) -> AxisOptions:
        """Smoothing and x axis of every curve (the app's m and t change them)."""
        ...


class WorkbenchScreen(Screen):
    """A screen of the app: it reads the shared state and hears of runs that moved."""

    @property
    def workbench(self) -> Workbench:
        return cast("Workbench", self.app)

    def runs_changed(self, changed: list[str]) -> None:
        """Followed runs moved: refresh what shows them (nothing by default).

        The app calls it when it takes in a poll, in the same step, rather than posting a
        message: the poll thread has already moved the followers, and the screen should
        never show a frame behind the state it reads.
        """


class CurvesScreen(WorkbenchScreen):
    """A screen that draws curves: the app's smoothing (m) and x-axis (t) keys apply to it."""

    def on_view_options_changed(self, message: ViewOptionsChanged) -> None:
        self.redraw_curves()

    def redraw_curves(self) -> None:
        """Draw the curves again with the workbench's current axis options."""
        raise NotImplementedError
