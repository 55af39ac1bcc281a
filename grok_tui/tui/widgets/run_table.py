"""The history table: one row per run, a mark column, sweeps as header rows.

Every cell is a rich Text made with grok_tui.text.safe_text: DataTable reads a str cell
as Rich markup, and a run's name, note or status comes from its directory, which may
come from someone else ("[red]x[/red]" shows as typed, an ESC as ``\x1b``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from grok_tui.text import safe_text
from grok_tui.tui.runtable import COLUMNS, RunRow, group_by_sweep

STATUS_STYLES = {
    "running": "bold green",
    "starting": "green",
    "created": "dim",
    "queued": "magenta",
    "completed": "cyan",
    "stopped": "yellow",
    "failed": "bold red",
    "diverged": "red",
    "crashed": "bold red",
}
SWEEP_PREFIX = "sweep:"


class RunTable(DataTable):
    """Rows keyed by run id; a sweep's header row is keyed ``sweep:<id>``."""

    DEFAULT_CSS = """
    RunTable { height: 1fr; }
    """

    # A list of runs: Home and End go to the first and last run (DataTable's scroll sideways).
    BINDINGS = [
        Binding("home", "scroll_top", "First run", show=False),
        Binding("end", "scroll_bottom", "Last run", show=False),
    ]
    # Widest a name or a note is drawn (cut with an ellipsis): the other columns stay on screen.
    MAX_WIDTH = {"name": 30, "note": 40}

    def __init__(self, *, id: str | None = None) -> None:
        # the mark and the name stay in view when the table scrolls right
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, fixed_columns=2)
        self.rows_by_key: dict[str, RunRow] = {}
        self.sweeps: dict[str, list[RunRow]] = {}

    def on_mount(self) -> None:
        self.add_column(" ", key="mark", width=1)
        for column in COLUMNS:
            self.add_column(column.title, key=column.key)

    def set_title(self, key: str, title: str) -> None:
        """Retitle a column (the sort arrow)."""
        for column_key, column in self.columns.items():
            if column_key.value == key:
                column.label = Text(title)
        self.refresh()

    def show_rows(self, rows: Sequence[RunRow], marked: set[str], *, grouped: bool) -> None:
        """Replace the rows, keeping the cursor on the same run when it is still shown."""
        current = self.current_key()
        self.clear()
        self.rows_by_key = {}
        self.sweeps = {}
        groups = group_by_sweep(rows) if grouped else None
        if groups is None:
            for row in rows:
                self._add(row, marked)
        else:
            for group in groups:
                if group.sweep_id is not None:
                    self.sweeps[group.sweep_id] = group.rows
                    short = group.sweep_id.split("-sweep-", 1)[-1]  # ids are <stamp>-sweep-<name>
                    label = Text(f"▸ sweep {safe_text(short)} ({len(group.rows)})", style="bold")
                    cells = [Text(""), label] + [Text("")] * (len(COLUMNS) - 1)
                    self.add_row(*cells, key=SWEEP_PREFIX + group.sweep_id)
                for row in group.rows:
                    self._add(row, marked, indent=group.sweep_id is not None)
        self._fit_columns()
        if current is not None and (
            current in self.rows_by_key or current.startswith(SWEEP_PREFIX)
        ):
            with contextlib.suppress(RowDoesNotExist):  # gone: the cursor stays where it is
                self.move_cursor(row=self.get_row_index(current))

    def _fit_columns(self) -> None:
        """Widen the columns to their new cells now, not at DataTable's next idle pass.

        DataTable measures new rows when idle, but a frame rendered before that is cached
        without the width in its key, so a column that grew (a note just written) could
        stay cut until the next reload.
        """
        for key, column in self.columns.items():
            width = max((self.get_cell(row, key).cell_len for row in self.rows), default=0)
            limit = self.MAX_WIDTH.get(str(key.value))
            if limit is not None:
                column.auto_width = False
                column.width = min(max(width, len(str(column.label))), limit)
            else:
                column.content_width = max(column.content_width, width)
        self.refresh(layout=True)

    def _add(self, row: RunRow, marked: set[str], indent: bool = False) -> None:
        cells: list[Text] = [Text("●" if row.run_id in marked else " ", style="bold magenta")]
        cells += [self._cell(row, column.key, indent) for column in COLUMNS]
        self.rows_by_key[row.run_id] = row
        self.add_row(*cells, key=row.run_id)

    @staticmethod
    def _cell(row: RunRow, key: str, indent: bool = False) -> Text:
        """A cell as plain, terminal-safe text (never markup), styled by its column."""
        text = safe_text(row.cell(key))
        if key == "name" and indent:
            text = "  " + text
        style = STATUS_STYLES.get(text.split(" ")[0], "") if key == "status" else ""
        numeric = next(c.numeric for c in COLUMNS if c.key == key)
        return Text(text, style=style, justify="right" if numeric else "left")

    def update_run(self, row: RunRow) -> None:
        """Show a run's new values in place (a live run moved), when its row is shown."""
        if row.run_id not in self.rows_by_key:
            return
        self.rows_by_key[row.run_id] = row
        indent = any(r.run_id == row.run_id for rows in self.sweeps.values() for r in rows)
        for column in COLUMNS:
            self.update_cell(row.run_id, column.key, self._cell(row, column.key, indent))

    def set_mark(self, run_id: str, marked: bool) -> None:
        if run_id in self.rows_by_key:
            self.update_cell(run_id, "mark", Text("●" if marked else " ", style="bold magenta"))

    def current_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return key.value

    def current_run(self) -> RunRow | None:
        key = self.current_key()
        return self.rows_by_key.get(key) if key else None
