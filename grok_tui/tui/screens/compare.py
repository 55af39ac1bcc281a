"""The Compare screen: marked runs overlaid, one stable colour each, and their config diff.

Each pane plots a metric the user chooses (1, 2; o for the weight norm): of a train/test
pair, test solid and train dimmer (dashed in an export). The legend gives each run's fit
and grok steps.

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
from textual.widgets import DataTable, Static

from grok_tui.rundirs import store
from grok_tui.text import safe_text
from grok_tui.tui.runtable import config_diff
from grok_tui.tui.seed_bands import SEED_BANDS_BINDING, SeedBands
from grok_tui.tui.views.curves import run_colours
from grok_tui.tui.views.layout import stack_panes, thin
from grok_tui.tui.views.panels import Panel, runs_panel
from grok_tui.tui.widgets.curve_pane import CurvePane
from grok_tui.tui.widgets.footer import KeysFooter
from grok_tui.tui.workbench import CURVE_BINDINGS, CurvesScreen


class CompareLoaded(Message):
    def __init__(self, records: dict[str, list[dict[str, Any]]]) -> None:
        super().__init__()
        self.records = records


def run_label(index: int, info: store.RunInfo) -> str:
    """'1:alpha': plain, terminal-safe text (used in Text, markup goes through escaping)."""
    name = info.summary.get("name") or info.preset.get("name") or info.run_id
    return f"{index}:{safe_text(name)}"


class CompareScreen(SeedBands, CurvesScreen):
    """Marked runs overlaid; m and t (the app's) change every screen's curves."""

    DEFAULT_CSS = """
    CompareScreen #compare-cursor {
        height: 1; padding: 0 1; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis;
    }
    """
    # The diff table would take the cursor keys (left and right move the plots' cursor);
    # f focuses it.
    AUTO_FOCUS = None
    BINDINGS = [
        # q quits only where no text field could be meant to take it (Ctrl+Q everywhere)
        Binding("q", "app.quit", "Quit", show=False),
        Binding("escape", "app.pop_screen", "Back", id="compare.back", tooltip="Back\nTo History"),
        Binding("f", "focus_diff", "Diff table", show=False),
        *CURVE_BINDINGS,
        SEED_BANDS_BINDING,
    ]

    def __init__(self, infos: list[store.RunInfo]) -> None:
        super().__init__()
        self.infos = infos
        self.colours = run_colours([i.run_id for i in infos])
        self.labels = {i.run_id: run_label(n, i) for n, i in enumerate(infos, start=1)}
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.summaries: dict[str, dict[str, Any]] = {i.run_id: dict(i.summary) for i in infos}
        self._panels: list[Panel] = []

    def compose(self) -> ComposeResult:
        yield Static(self._legend(), id="compare-legend")
        with Container(id="compare-plots", classes="plots"):
            yield CurvePane("accuracy", id="compare-acc")
            yield CurvePane("loss", id="compare-loss")
        yield Static("", id="compare-cursor", markup=False)
        yield DataTable(id="compare-diff", cursor_type="row", zebra_stripes=True)
        yield KeysFooter()

    def _legend(self) -> Text:
        """Each run's colour, label, fit and grok steps; how train and test are drawn."""
        parts: list[Any] = []
        for info in self.infos:
            r, g, b = self.colours[info.run_id]
            summary = self.summaries.get(info.run_id, info.summary)
            events = [
                f"{name} {summary[key]}"
                for key, name in (("fit_step", "fit"), ("grok_step", "grok"))
                if isinstance(summary.get(key), int)
            ]
            parts += [
                ("■ ", f"rgb({r},{g},{b})"),
                (self.labels[info.run_id], f"bold rgb({r},{g},{b})"),
                (" " + (" ".join(events) or "no grok"), "" if events else "dim"),
                "  ",
            ]
        parts.append(("(test solid, train dim)", "dim"))
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
        options = self.workbench.axis_options
        runs = [
            (i.run_id, self.labels[i.run_id], thin(self.records.get(i.run_id, [])))
            for i in self.infos
        ]
        self._panels = [runs_panel(runs, self.colours, m, options) for m in self.metrics]
        legend = self._legend()
        if self.seed_bands:  # b: each setting's mean and band, its seeds grouped
            presets = {i.run_id: i.preset for i in self.infos}
            self._panels, settings = self.band_panels(runs, presets, self.metrics, options)
            outcomes = {
                r: (s.get("status", ""), s.get("grok_step")) for r, s in self.summaries.items()
            }
            legend = self.bands_legend(settings, outcomes)  # with each one's grokked fraction
        window = self.window(self._panels)
        panes = (
            self.query_one("#compare-acc", CurvePane),
            self.query_one("#compare-loss", CurvePane),
        )
        for pane, panel in zip(panes, self._panels, strict=True):
            pane.show_panel(
                panel, log_x=options.log_x, window=window, cursor=self.view.cursor, legend=False
            )
        self.query_one("#compare-cursor", Static).update(self.cursor_text(self._panels))
        self.query_one("#compare-legend", Static).update(legend)

    def runs_changed(self, changed: list[str]) -> None:
        moved = False
        for run_id in changed:
            follower = self.workbench.followers.get(run_id)
            if run_id in self.labels and follower is not None:
                self.records[run_id] = list(follower.records)
                self.summaries[run_id] = dict(follower.summary)
                moved = True
        if moved:
            self.draw()

    def panels(self) -> list[Panel]:
        return self._panels

    def metric_records(self) -> list[dict[str, Any]]:
        return [r for records in self.records.values() for r in (*records[:20], *records[-50:])]

    def export_name(self) -> str:
        return f"compare-{len(self.infos)}-runs-{self.metrics[0]}"

    def redraw_curves(self) -> None:
        self.draw()

    def action_focus_diff(self) -> None:
        self.query_one("#compare-diff", DataTable).focus()
