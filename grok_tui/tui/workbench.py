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
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

from textual.binding import Binding
from textual.screen import Screen

from grok_tui.tui.messages import ViewOptionsChanged
from grok_tui.tui.views import smoothing
from grok_tui.tui.views.cursor import (
    MAX_ZOOM,
    View,
    cursor_line,
    cursor_xs,
    move_cursor,
    pane_windows,
    view_window,
)
from grok_tui.tui.views.pacing import Pacing
from grok_tui.tui.views.panels import DEFAULT_METRICS, WEIGHT_NORM, Panel, metric_keys

if TYPE_CHECKING:
    from grok_tui.rundirs.watch import RunFollower
    from grok_tui.tui.views.curves import AxisOptions


class Workbench(Protocol):
    """The app's state that screens share (GrokApp satisfies it)."""

    runs_dir: Path
    """Where runs are created and listed."""
    preset_dirs: list[Path]
    """The preset folders; Save as adds the folder it saved into."""
    current_run_id: str | None
    """The run Live shows; Live's [ and ] change it."""
    pacing: Pacing
    """How often runs are read and curves redrawn (tests pass their own)."""

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


# The keys of every curve screen (each lists them in its BINDINGS: the palette is built
# from a screen's own list). Printable keys, never priority: a text field takes them first.
CURVE_BINDINGS = [
    Binding(
        "1",
        "choose_metric(0)",
        "Plot 1",
        show=False,
        id="curves.metric1",
        tooltip="Metric of the first pane\nAccuracy, loss, weight norm or any field of the records",
    ),
    Binding(
        "2",
        "choose_metric(1)",
        "Plot 2",
        show=False,
        id="curves.metric2",
        tooltip="Metric of the second pane\nAccuracy, loss, weight norm or any field of the records",
    ),
    Binding(
        "o",
        "weight_norm",
        "Norm",
        id="curves.norm",
        tooltip="Weight norm\nparam_norm in the second pane (small multiples: in each); again: back",
    ),
    Binding(
        "plus,equals_sign",
        "zoom(1)",
        "Zoom in",
        show=False,
        id="curves.zoom_in",
        tooltip="Zoom in\nHalf the x range, around the cursor or the latest steps",
    ),
    Binding(
        "minus",
        "zoom(-1)",
        "Zoom out",
        show=False,
        id="curves.zoom_out",
        tooltip="Zoom out\nTwice the x range",
    ),
    Binding(
        "0",
        "reset_view",
        "Reset view",
        show=False,
        id="curves.reset",
        tooltip="Reset zoom and cursor\nThe whole run, values of the latest records",
    ),
    Binding("left", "cursor(-1)", "Cursor", show=False),
    Binding("right", "cursor(1)", "Cursor", show=False),
    Binding("shift+left", "cursor(-10)", "Cursor", show=False),
    Binding("shift+right", "cursor(10)", "Cursor", show=False),
    Binding(
        "x",
        "export_plot",
        "Export plot",
        id="curves.export",
        tooltip="Export the plot\nPNG and SVG of these panes under the runs directory (matplotlib)",
    ),
]


class CurvesScreen(WorkbenchScreen):
    """A screen that draws curves: the app's smoothing (m), x-axis (t) and log-x (l) keys
    apply to it, and its own CURVE_BINDINGS: each pane's metric, zoom, cursor, export.

    A subclass says what it shows (panels, metric_records, export_name) and redraws in
    redraw_curves, reading ``metrics``, ``view`` and ``window()``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.metrics: list[str] = list(DEFAULT_METRICS)  # what each pane plots
        self.view = View()
        self._before_norm = DEFAULT_METRICS[1]

    def on_view_options_changed(self, message: ViewOptionsChanged) -> None:
        self.redraw_curves()

    def redraw_curves(self) -> None:
        """Draw the curves again with the workbench's current axis options."""
        raise NotImplementedError

    def panels(self) -> list[Panel]:
        """The panels drawn now, in data units: the cursor walks them, export draws them."""
        return []

    def metric_records(self) -> list[dict]:
        """Records whose fields the metric chooser offers (the shown run's, by default none)."""
        return []

    def export_name(self) -> str:
        """A short name for exported files: what the plot shows."""
        return "plot"

    # -- what the panes read ---------------------------------------------------------

    def window(self, panels: list[Panel] | None = None) -> tuple[float, float] | None:
        """The x window (plot units) of this screen's zoom and cursor."""
        log_x = self.workbench.axis_options.log_x
        return view_window(self.panels() if panels is None else panels, log_x, self.view)

    def own_ranges(self) -> bool:
        """Whether each pane spans its own x range (small multiples), not one they share."""
        return False

    def pane_windows(self, panels: list[Panel]) -> list[tuple[float, float] | None]:
        """The x window of each panel: their own (own_ranges) or the screen's one."""
        if self.own_ranges():
            return pane_windows(panels, self.workbench.axis_options.log_x, self.view)
        return [self.window(panels)] * len(panels)

    def cursor_text(self, panels: list[Panel] | None = None) -> str:
        """The values under the cursor (or the latest ones), with the keys that move it."""
        line = cursor_line(self.panels() if panels is None else panels, self.view.cursor)
        zoom = f" │ zoom ×{2**self.view.zoom}" if self.view.zoom else ""
        ema = smoothing.label(self.workbench.axis_options.smoothing)  # m, < and > change it
        return line + zoom + (f" │ {ema}" if ema else "") if line else ""

    # -- actions ------------------------------------------------------------------

    def action_zoom(self, delta: int) -> None:
        zoom = max(0, min(MAX_ZOOM, self.view.zoom + delta))
        self.view = replace(self.view, zoom=zoom)
        self.redraw_curves()

    def action_reset_view(self) -> None:
        self.view = View()
        self.redraw_curves()

    def action_cursor(self, delta: int) -> None:
        panels = self.panels()
        log_x = self.workbench.axis_options.log_x
        windows = zip(panels, self.pane_windows(panels), strict=True)
        xs = sorted({x for panel, window in windows for x in cursor_xs([panel], log_x, window)})
        self.view = replace(self.view, cursor=move_cursor(xs, self.view.cursor, delta))
        self.redraw_curves()

    def action_choose_metric(self, pane: int) -> None:
        from grok_tui.tui.screens.modals import ChoiceModal

        keys = metric_keys(self.metric_records())
        current = self.metrics[pane]
        if current not in keys:
            keys.append(current)

        def chosen(key: str | None) -> None:
            if key:
                self.set_metric(pane, key)

        choices = [(k, ("● " if k == current else "  ") + k) for k in keys]
        self.app.push_screen(
            ChoiceModal(f"Plot in pane {pane + 1}:", choices, default=current), chosen
        )

    def norm_pane(self) -> int:
        """The pane o puts the weight norm in: the second, where there is one."""
        return 1

    def action_weight_norm(self) -> None:
        """The weight norm in a pane (norm_pane), one key away; pressed again, back."""
        pane = self.norm_pane()
        if self.metrics[pane] == WEIGHT_NORM:
            self.set_metric(pane, self._before_norm)
        else:
            self._before_norm = self.metrics[pane]
            self.set_metric(pane, WEIGHT_NORM)

    def set_metric(self, pane: int, key: str) -> None:
        self.metrics[pane] = key
        self.redraw_curves()

    def action_export_plot(self) -> None:
        panels = self.panels()
        if not any(s.points for p in panels for s in p.series):
            self.notify("Nothing to export: no curve is drawn yet.", severity="warning")
            return
        log_x, window = self.workbench.axis_options.log_x, self.window(panels)
        # matplotlib takes seconds to load and draw: say at once that the key was taken
        self.notify("Exporting the plot (PNG and SVG)…", timeout=3)
        self.run_worker(
            lambda: self._export(panels, log_x, window),
            thread=True,
            exit_on_error=False,
            group="plot-export",
        )

    def _export(self, panels: list[Panel], log_x: bool, window: tuple[float, float] | None) -> None:
        """In a thread: matplotlib takes a second to import and draw."""
        from grok_tui.errors import UserError
        from grok_tui.text import safe_markup
        from grok_tui.tui import plot_export

        try:
            paths = plot_export.export_plot(
                panels, self.workbench.runs_dir, self.export_name(), log_x=log_x, window=window
            )
        except (UserError, OSError) as exc:
            message, severity = f"Plot not exported: {exc}", "error"
        except Exception as exc:  # noqa: BLE001 - matplotlib's own failures: say why, not nothing
            message, severity = f"Plot not exported: {type(exc).__name__}: {exc}", "error"
        else:
            message, severity = "Plot written: " + ", ".join(str(p) for p in paths), "information"
        self.app.call_from_thread(
            self.notify, safe_markup(message, multiline=True), severity=severity, timeout=10
        )
