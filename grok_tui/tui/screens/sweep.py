"""One sweep: its table (a row per point) and the heatmap of a chosen metric.

Everything shown comes from grok_tui.sweep.report (and its metrics and heatmap), the
functions behind ``grok-tui sweep-report``: the screen and the command show the same numbers.
Opened from History on a sweep's header row or on one of its runs (see
:func:`sweep_path_for`); no torch is imported (DESIGN.md rule 3). A sweep directory
may come from someone else: its id, field names, values and statuses are shown as
terminal-safe rich Text (grok_tui.text), never as markup.
"""

from __future__ import annotations

import re
import statistics
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from grok_tui.config import read_toml
from grok_tui.errors import UserError
from grok_tui.rundirs import store
from grok_tui.sweep import SweepDir, find_sweep, format_value, read_sweep_dir, sweep_of_run
from grok_tui.sweep.heatmap import heatmap_grid, render_heatmap
from grok_tui.sweep.metrics import ReportRow, format_metric, report_rows
from grok_tui.sweep.report import (
    TABLE_TITLES,
    ci_table,
    default_over,
    describe_sweep,
    spread_table,
    table_columns,
    write_csv,
)
from grok_tui.text import safe_markup, safe_text
from grok_tui.tui.messages import RecordsExportRequested
from grok_tui.tui.seed_bands import SEED_BANDS_BINDING, SeedBands
from grok_tui.tui.views.bands import FINISHED, Setting, grokked_text, group_settings
from grok_tui.tui.views.layout import thin
from grok_tui.tui.widgets.curve_pane import CurvePane
from grok_tui.tui.widgets.footer import KeysFooter
from grok_tui.tui.workbench import WorkbenchScreen

# The figures the heatmap cycles through with "m".
HEATMAP_METRICS = (
    "final_test_acc",
    "grok_step",
    "fit_step",
    "grok_gap",
    "best_test_acc",
    "final_train_acc",
    "final_test_loss",
    "test_acc_drop",
)
LIVE = (store.RUNNING, "starting")
SGR = re.compile(r"(\x1b\[[0-9;]*m)")  # colour sequences: what plotext's heatmap is made of


def safe_ansi(text: str) -> str:
    """ANSI text with its colours kept and anything else made safe.

    The heatmap's labels are the sweep's field names and values, read from disk: an
    escape sequence in one (a link, a title, a clear) must not reach Text.from_ansi or
    the terminal, so only colour sequences survive; other control characters are escaped.
    """
    return "".join(
        part if SGR.fullmatch(part) else safe_text(part, multiline=True) for part in SGR.split(text)
    )


def cell(text: object) -> Text:
    """A table cell: DataTable reads a str cell as Rich markup, a Text as it is."""
    return Text(safe_text(text))


def sweep_path_for(
    runs_dir: Path, *, sweep_id: str | None = None, run_path: Path | None = None
) -> Path | None:
    """The sweep directory of a sweep id (History's header row) or of one of its runs."""
    if run_path is not None:
        found = sweep_of_run(run_path)
        if found is not None:
            return found.path
    if sweep_id:
        try:
            return find_sweep(sweep_id, runs_dir).path
        except UserError:
            return None
    return None


class SweepLoaded(Message):
    def __init__(self, sweep_dir: SweepDir | None, rows: list[ReportRow], error: str) -> None:
        super().__init__()
        self.sweep_dir, self.rows, self.error = sweep_dir, rows, error


class SweepScreen(SeedBands, WorkbenchScreen):
    """A sweep's table and heatmap; Enter opens a point's run."""

    DEFAULT_CSS = """
    SweepScreen #sweep-head { height: auto; padding: 0 1; }
    SweepScreen #sweep-table { height: 1fr; min-height: 4; }
    SweepScreen #sweep-spread-box { height: auto; max-height: 12; }
    SweepScreen #sweep-spread { height: auto; padding: 0 1; }
    SweepScreen #sweep-heatmap {
        height: 2fr;
        min-height: 10;
        padding: 0 1;
        border-top: solid $panel-lighten-2;
    }
    SweepScreen #sweep-bands { height: 2fr; min-height: 10; display: none; }
    """

    # The tooltips are the palette's commands: title, then what it does (see the app).
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="sweep.back", tooltip="Back\nTo History"),
        Binding(
            "m",
            "metric",
            "Metric",
            id="sweep.metric",
            tooltip="Heatmap metric\nShow the next metric in the heatmap and the table",
        ),
        Binding(
            "a",
            "swap_axes",
            "Swap axes",
            id="sweep.axes",
            tooltip="Swap heatmap axes\nThe two varying fields trade places",
        ),
        Binding(
            "x",
            "export",
            "Export CSV",
            id="sweep.export",
            tooltip="Export sweep to CSV\nA row per point, into the current directory",
        ),
        Binding(
            "w",
            "write_records",
            "Records CSV",
            show=False,
            id="sweep.records",
            tooltip="Export sweep records to CSV\nEvery record of every point in one CSV, with "
            "run id and the fields that vary",
        ),
        Binding(
            "f5",
            "reload",
            "Reload",
            show=False,
            id="sweep.reload",
            tooltip="Reload sweep\nRead the sweep directory again",
        ),
        SEED_BANDS_BINDING,
    ]

    def __init__(self, sweep_path: Path, *, metric: str = "final_test_acc") -> None:
        super().__init__()
        self.sweep_path = Path(sweep_path)
        self.metric = metric
        self.axes: tuple[str | None, str | None] = (None, None)
        self.sweep_dir: SweepDir | None = None
        self.rows: list[ReportRow] = []
        self._loading = False

    def compose(self) -> ComposeResult:
        yield Static(f"sweep {safe_markup(self.sweep_path.name)} · loading", id="sweep-head")
        yield DataTable(id="sweep-table", cursor_type="row", zebra_stripes=True)
        # The spread over seeds (when a seed field varies) and its intervals: taller than
        # its share of the screen in a sweep of many settings, so it scrolls.
        with VerticalScroll(id="sweep-spread-box"):
            yield Static("", id="sweep-spread")
        yield Static("", id="sweep-heatmap")
        yield CurvePane("accuracy", id="sweep-bands")  # b: each setting's mean and band
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#sweep-table", DataTable).focus()
        self.reload()
        self.set_interval(2.0, self._refresh_while_live, name="sweep-refresh")

    # -- loading ----------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="sweep")
    def reload(self) -> None:
        try:
            sweep_dir = read_sweep_dir(self.sweep_path)
            rows = report_rows(sweep_dir)
            for row in rows if self.seed_bands else ():
                row.records()  # the bands' curves: read here, off the UI thread
        except UserError as exc:
            self.post_message(SweepLoaded(None, [], str(exc)))
            return
        self.post_message(SweepLoaded(sweep_dir, rows, ""))

    def action_reload(self) -> None:
        self.reload()

    def _refresh_while_live(self) -> None:
        if any(row.status in LIVE for row in self.rows):
            self.reload()

    def runs_changed(self, changed: list[str]) -> None:
        """The app's poller saw runs move: reload when one of them is a point of this sweep."""
        if any(row.run_id in changed for row in self.rows):
            self.reload()

    def on_sweep_loaded(self, message: SweepLoaded) -> None:
        head = self.query_one("#sweep-head", Static)
        if message.sweep_dir is None:
            head.update(Text(safe_text(message.error, multiline=True), style="bold red"))
            return
        self.sweep_dir, self.rows = message.sweep_dir, message.rows
        head.update(Text(safe_text(describe_sweep(self.sweep_dir, self.rows), multiline=True)))
        self._fill_table()
        self._fill_spread()
        self.draw_heatmap()
        self.draw_bands()

    def _fill_spread(self) -> None:
        assert self.sweep_dir is not None
        spread = self.query_one("#sweep-spread", Static)
        over = default_over(self.sweep_dir)
        spread.display = self.query_one("#sweep-spread-box").display = bool(over)
        if over:
            text = spread_table(self.sweep_dir, self.rows, over)
            # as sweep-report --ci --metric M: the chosen metric gets its interval too
            text += "\n\n" + ci_table(self.sweep_dir, self.rows, over, self.metric)
            spread.update(Text(safe_text(text, multiline=True)))

    def _fill_table(self) -> None:
        assert self.sweep_dir is not None
        table = self.query_one("#sweep-table", DataTable)
        if self.seed_bands:
            self._fill_settings(table)
            return
        names = self.sweep_dir.labels()
        metrics = table_columns(self.metric)
        cursor = table.cursor_row
        table.clear(columns=True)
        table.add_column("#", key="index")
        for field, name in names.items():
            table.add_column(cell(name), key=f"axis:{field}")
        table.add_column("status", key="status")
        table.add_column("step", key="step")
        for metric in metrics:
            table.add_column(TABLE_TITLES.get(metric, metric), key=metric)
        for row in self.rows:
            step, steps = row.summary.get("step"), row.summary.get("steps")
            table.add_row(
                cell(row.index),
                *(cell(format_value(row.coords[f]) if f in row.coords else "-") for f in names),
                cell(row.status),
                cell("-" if step is None else f"{step}/{steps}"),
                *(cell(format_metric(m, row.value(m))) for m in metrics),
                key=row.run_id or f"point:{row.index}",
            )
        if self.rows:
            table.move_cursor(row=min(cursor, len(self.rows) - 1))

    # -- seeds grouped (b) ---------------------------------------------------------

    @staticmethod
    def _point_key(row: ReportRow) -> str:
        return row.run_id or f"point:{row.index}"

    def _settings(self) -> list[Setting]:
        """The points as settings: those that differ only in their seed fields are one."""
        return group_settings({self._point_key(row): row.coords for row in self.rows})

    def _fill_settings(self, table: DataTable) -> None:
        """A row per setting: its points, how many of the finished ones grokked with the
        Wilson 95% interval ("4/5 0.80 [0.38, 0.96]"), and the mean of the metric."""
        rows = {self._point_key(row): row for row in self.rows}
        table.clear(columns=True)
        title = f"mean {TABLE_TITLES.get(self.metric, self.metric)}"
        for key, name in (("setting", "setting"), ("n", "n"), ("grokked", "grokked (95%)")):
            table.add_column(name, key=key)
        table.add_column(title, key=self.metric)
        for setting in self._settings():
            members = [rows[key] for key in setting.run_ids]
            finished = [r for r in members if r.status in FINISHED]
            values = [v for r in finished if isinstance(v := r.value(self.metric), int | float)]
            table.add_row(
                cell(f"{setting.tag} {setting.label}"),
                cell(len(members)),
                cell(grokked_text([(r.status, r.value("grok_step")) for r in members])),
                cell(format_metric(self.metric, statistics.fmean(values) if values else None)),
                key=f"setting:{setting.key}",
            )

    def draw_bands(self) -> None:
        """Each setting's mean test accuracy and its band, in place of the heatmap."""
        pane = self.query_one("#sweep-bands", CurvePane)
        self.query_one("#sweep-heatmap", Static).display = not self.seed_bands
        pane.display = self.seed_bands
        if not self.seed_bands:
            return
        runs = [(self._point_key(r), r.label, thin(r.records())) for r in self.rows]
        presets = {self._point_key(row): row.coords for row in self.rows}
        options = self.workbench.axis_options
        panels, _ = self.band_panels(runs, presets, ("test_acc",), options)
        pane.show_panel(panels[0], log_x=options.log_x)

    def seed_bands_changed(self) -> None:
        if self.sweep_dir is not None:
            self._fill_table()
        self.query_one("#sweep-heatmap", Static).display = not self.seed_bands
        self.query_one("#sweep-bands", CurvePane).display = self.seed_bands
        self.reload()  # the points' records are read there, and the bands drawn on arrival

    def on_resize(self) -> None:
        self.draw_heatmap()

    def draw_heatmap(self) -> None:
        pane = self.query_one("#sweep-heatmap", Static)
        if self.sweep_dir is None:
            return
        try:
            grid = heatmap_grid(self.sweep_dir, self.rows, self.metric, *self.axes)
        except UserError as exc:
            pane.update(Text(safe_text(exc, multiline=True), style="red"))
            return
        if grid is None:
            pane.update(
                Text(
                    f"a heatmap needs two fields that vary; this sweep varies "
                    f"{safe_text(', '.join(self.sweep_dir.varying()) or 'none')}",
                    style="dim",
                )
            )
            return
        self.axes = (grid.x_field, grid.y_field)
        size = pane.content_size
        width = size.width if size.width >= 30 else 80
        height = size.height if size.height >= 8 else 20
        heatmap = render_heatmap(grid, width=width, height=height, color=True)
        pane.update(Text.from_ansi(safe_ansi(heatmap)))

    # -- actions ----------------------------------------------------------------------

    def action_metric(self) -> None:
        metrics = list(HEATMAP_METRICS)
        at = metrics.index(self.metric) if self.metric in metrics else -1
        self.metric = metrics[(at + 1) % len(metrics)]
        if self.sweep_dir is not None:
            self._fill_table()
            self._fill_spread()
        self.draw_heatmap()
        self.notify(f"heatmap: {self.metric}", timeout=2)

    def action_swap_axes(self) -> None:
        x, y = self.axes
        if x and y:
            self.axes = (y, x)
            self.draw_heatmap()

    def action_export(self) -> None:
        if self.sweep_dir is None:
            return
        path = Path.cwd() / f"{self.sweep_dir.sweep_id}-{datetime.now():%H%M%S}.csv"
        self.export(self.sweep_dir, list(self.rows), path)

    def action_write_records(self) -> None:
        runs = [store.RunDir(row.path) for row in self.rows if row.path is not None]
        if self.sweep_dir is None or not runs:
            self.notify("No point of this sweep has a run directory yet.", severity="warning")
            return
        name = f"{self.sweep_dir.sweep_id}-records-{datetime.now():%H%M%S}.csv"
        self.post_message(RecordsExportRequested(runs, name))

    @work(thread=True, exit_on_error=False, group="sweep-export")
    def export(self, sweep_dir: SweepDir, rows: list[ReportRow], path: Path) -> None:
        try:
            count = write_csv(sweep_dir, rows, path)
        except OSError as exc:
            self.app.call_from_thread(
                self.notify, safe_markup(f"Export failed: {exc}", multiline=True), severity="error"
            )
            return
        self.app.call_from_thread(self.notify, safe_markup(f"Wrote {count} points to {path}"))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if str(event.row_key.value).startswith("setting:"):  # a setting is several points
            return
        row = next((r for r in self.rows if r.run_id == event.row_key.value), None)
        if row is None or row.path is None:
            self.notify("This point has no run directory.", severity="warning")
            return
        self.open_run(row)

    def open_run(self, row: ReportRow) -> None:
        from grok_tui.tui.screens.run import RunScreen

        assert row.path is not None
        run = store.RunDir(row.path)
        preset: dict[str, Any]
        try:
            preset, error = read_toml(run.preset_path), None
        except UserError as exc:
            preset, error = {}, str(exc)
        self.app.push_screen(RunScreen(store.RunInfo(run, row.summary, preset, error)))
