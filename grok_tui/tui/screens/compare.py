"""The Compare screen: marked runs overlaid, one stable colour each, and their config diff.

Run names and preset values come from run directories, which may come from someone
else: labels are terminal-safe and every diff cell is rich Text, never markup.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.message import Message
from textual.widgets import DataTable, Footer, Static

from grok_tui import store
from grok_tui.text import safe_text
from grok_tui.tui.runtable import config_diff
from grok_tui.tui.screens.live import stack_panes, thin
from grok_tui.tui.series import compare_curves, run_colours
from grok_tui.tui.widgets.curve_pane import CurvePane
from grok_tui.tui.workbench import CurvesScreen


class CompareLoaded(Message):
    def __init__(self, records: dict[str, list[dict[str, Any]]]) -> None:
        super().__init__()
        self.records = records


def run_label(index: int, info: store.RunInfo) -> str:
    """'1:alpha': plain, terminal-safe text (used in Text, markup goes through escaping)."""
    name = info.summary.get("name") or info.preset.get("name") or info.run_id
    return f"{index}:{safe_text(name)}"


class CompareScreen(CurvesScreen):
    """Marked runs overlaid; m and t (the app's) change every screen's curves."""

    BINDINGS = [
        # q quits only where no text field could be meant to take it (Ctrl+Q everywhere)
        Binding("q", "app.quit", "Quit", show=False),
        Binding("escape", "app.pop_screen", "Back", id="compare.back", tooltip="Back\nTo History"),
        Binding("f", "focus_diff", "Diff table", show=False),
    ]

    def __init__(self, infos: list[store.RunInfo]) -> None:
        super().__init__()
        self.infos = infos
        self.colours = run_colours([i.run_id for i in infos])
        self.labels = {i.run_id: run_label(n, i) for n, i in enumerate(infos, start=1)}
        self.records: dict[str, list[dict[str, Any]]] = {}

    def compose(self) -> ComposeResult:
        yield Static(self._legend(), id="compare-legend")
        with Container(id="compare-plots", classes="plots"):
            yield CurvePane("accuracy", id="compare-acc")
            yield CurvePane("loss", id="compare-loss")
        yield DataTable(id="compare-diff", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def _legend(self) -> Text:
        parts: list[Any] = [("test accuracy and loss of ", "dim")]
        for info in self.infos:
            r, g, b = self.colours[info.run_id]
            parts += [
                ("■ ", f"rgb({r},{g},{b})"),
                (self.labels[info.run_id], f"bold rgb({r},{g},{b})"),
                "  ",
            ]
        return Text.assemble(*parts)

    def on_mount(self) -> None:
        for pane in self.query(CurvePane):
            pane.empty_text = "loading records"
        self._fill_diff()
        self.load()

    def on_resize(self) -> None:
        self.set_class(stack_panes(self.size.width, self.size.height), "narrow")

    def _fill_diff(self) -> None:
        table = self.query_one("#compare-diff", DataTable)
        table.add_column("field", key="field")
        for info in self.infos:
            r, g, b = self.colours[info.run_id]
            table.add_column(
                Text(self.labels[info.run_id], style=f"bold rgb({r},{g},{b})"), key=info.run_id
            )
        rows = config_diff({i.run_id: i.preset for i in self.infos})
        if not rows:
            table.add_row("(same preset)", *["" for _ in self.infos])
        for key, values in rows:  # str cells would be read as Rich markup
            table.add_row(Text(safe_text(key)), *(Text(safe_text(v)) for v in values))
        table.border_title = f"preset fields that differ ({len(rows)})"

    @work(thread=True, exclusive=True, exit_on_error=False, group="compare")
    def load(self) -> None:
        self.post_message(CompareLoaded({i.run_id: i.run.records() for i in self.infos}))

    def on_compare_loaded(self, message: CompareLoaded) -> None:
        self.records = message.records
        self.draw()

    def draw(self) -> None:
        runs = [(i.run_id, thin(self.records.get(i.run_id, []))) for i in self.infos]
        curves = compare_curves(runs, self.colours, self.workbench.axis_options)
        for series_list in (curves.acc, curves.loss):
            for n, series in enumerate(series_list):
                label = self.labels.get(series.name.removesuffix(" (raw)"), series.name)
                series_list[n] = type(series)(label, series.points, series.colour, series.faint)
        self.query_one("#compare-acc", CurvePane).show(
            curves.acc, x_label=curves.x_label, legend=False
        )
        self.query_one("#compare-loss", CurvePane).show(
            curves.loss, x_label=curves.x_label, legend=False
        )

    def runs_changed(self, changed: list[str]) -> None:
        moved = False
        for run_id in changed:
            follower = self.workbench.followers.get(run_id)
            if run_id in self.labels and follower is not None:
                self.records[run_id] = list(follower.records)
                moved = True
        if moved:
            self.draw()

    def redraw_curves(self) -> None:
        self.draw()

    def action_focus_diff(self) -> None:
        self.query_one("#compare-diff", DataTable).focus()
