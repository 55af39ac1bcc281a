"""The messages of the TUI: the one way workers, screens and the app talk to each other.

Workers post to the app (post_message is the one thread-safe call). Screens ask the app
to act by posting a request that bubbles up to it, so that no screen imports or calls
the app (an import-linter contract keeps it so). The app tells the active screen that
the curves' options changed with ``ViewOptionsChanged``; that followed runs moved it
says through ``WorkbenchScreen.runs_changed`` (grok_tui.tui.workbench).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from grok_tui.config import Preset
    from grok_tui.rundirs.store import RunDir
    from grok_tui.tui.views.curves import AxisOptions


# -- from the app's workers to the app ---------------------------------------------------


class RunsPolled(Message):
    """A poll of the followed runs finished: which changed, which live runs are new."""

    def __init__(self, changed: list[str], discovered: list[RunDir]) -> None:
        super().__init__()
        self.changed = changed
        self.discovered = discovered


class RunStarted(Message):
    """A run was launched, re-run or resumed from the UI: follow it and show it."""

    def __init__(self, run: RunDir, verb: str) -> None:
        super().__init__()
        self.run = run
        self.verb = verb


class ActionFailed(Message):
    """A worker's job failed with a message for the user."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


# -- from a screen to the app: requests (they bubble up from the screen) -----------------


class RunRequested(Message):
    """Start a run of this preset as its own process."""

    def __init__(self, preset: Preset) -> None:
        super().__init__()
        self.preset = preset


class QueueRequested(Message):
    """Queue a run of this preset, or of this run's frozen preset (a re-run): it starts
    when a slot of its device is free (grok_tui.rundirs.runqueue)."""

    def __init__(self, source: Preset | RunDir) -> None:
        super().__init__()
        self.source = source


class SweepRequested(Message):
    """Train every point of this sweep file (one ``grok-tui --run FILE`` process)."""

    def __init__(self, sweep_file: Path) -> None:
        super().__init__()
        self.sweep_file = sweep_file


class SeedsRequested(Message):
    """Train this preset (or every point of this sweep file) with ``seeds`` seeds
    (train.seed, train.seed + 1, ...) crossed with ``split_seeds`` split seeds, as one
    sweep: ``grok-tui --run FILE --seeds N --split-seeds M``."""

    def __init__(self, source: Preset | Path, seeds: int, split_seeds: int = 1) -> None:
        super().__init__()
        self.source = source
        self.seeds = seeds
        self.split_seeds = split_seeds


class RecordsExportRequested(Message):
    """Write the records of these runs (marked runs, a sweep's points) to one CSV file,
    with each run's id and the preset fields that differ between them."""

    def __init__(self, runs: list[RunDir], default_name: str, path: Path | None = None) -> None:
        super().__init__()
        self.runs = runs
        self.default_name = default_name
        self.path = path  # already chosen (History's export dialog): written without asking


class RunRequest(Message):
    """A request about one existing run; the subclass says which."""

    def __init__(self, run: RunDir) -> None:
        super().__init__()
        self.run = run


class RerunRequested(RunRequest):
    """Start a new run with this run's frozen preset."""


class ResumeRequested(RunRequest):
    """Continue this (stopped) run from its checkpoint."""


class StopRequested(RunRequest):
    """Stop this run: it checkpoints, then ends as stopped."""


class ExportRequested(RunRequest):
    """Write this run's records to a CSV file (the app asks where)."""


class EditRunPresetRequested(RunRequest):
    """Copy this run's preset into the Presets screen's editor."""


class RunForgotten(Message):
    """This run's directory is gone (deleted): stop following it."""

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id


# -- from the app to the active screen (it does not bubble back) ------------------------


class ViewOptionsChanged(Message, bubble=False):
    """The shared curve options (smoothing, x axis) changed: screens with curves redraw."""

    def __init__(self, options: AxisOptions) -> None:
        super().__init__()
        self.options = options
