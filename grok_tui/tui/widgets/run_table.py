"""The history table: one row per run, a mark column, sweeps as header rows.

Every cell is a rich Text made with grok_tui.text.safe_text: DataTable reads a str cell
as Rich markup, and a run's name, note or status comes from its directory, which may
come from someone else ("[red]x[/red]" shows as typed, an ESC as ``\x1b``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from functools import partial
from typing import Any

from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.binding import Binding
from textual.cache import LRUCache
from textual.widget import Widget
from textual.widgets import DataTable
from textual.widgets.data_table import (
    CellDoesNotExist,
    ColumnKey,
    DuplicateKey,
    Row,
    RowDoesNotExist,
    RowKey,
)

from grok_tui.text import safe_text
from grok_tui.tui.runtable import COLUMNS, Group, RunRow, group_by_sweep
from grok_tui.tui.views.bands import sweep_grokked

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
COLUMN_INDEX = {column.key: index for index, column in enumerate(COLUMNS)}
INDENT = 2  # a sweep's runs are indented under its header row


def _indented(widths: Sequence[int], indent: bool) -> Sequence[int]:
    return (widths[0] + INDENT, *widths[1:]) if indent else widths


class LazyCells(MutableMapping[ColumnKey, Any]):
    """A row's cells for DataTable's ``_data``, made the first time the table reads one.

    DataTable reads the cells of the rows it draws (and of a row a test or an action
    asks for), so with 10,000 runs only a screenful is made. ``made``: a list that each
    row appends its key to when its cells are made (a test counts them).
    """

    __slots__ = ("_cells", "_columns", "_made", "_make")

    def __init__(
        self, columns: Sequence[ColumnKey], make: Callable[[], list[Any]], made: list[int]
    ) -> None:
        self._columns = columns
        self._make: Callable[[], list[Any]] | None = make
        self._cells: dict[ColumnKey, Any] | None = None
        self._made = made

    def _built(self) -> dict[ColumnKey, Any]:
        if self._cells is None:
            assert self._make is not None
            self._cells = dict(zip(self._columns, self._make(), strict=True))
            self._make = None
            self._made.append(1)
        return self._cells

    def __getitem__(self, key: ColumnKey) -> Any:
        return self._built()[key]

    def __setitem__(self, key: ColumnKey, value: Any) -> None:
        self._built()[key] = value

    def __delitem__(self, key: ColumnKey) -> None:
        del self._built()[key]

    def __iter__(self) -> Iterator[ColumnKey]:
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._columns) if self._cells is None else len(self._cells)


def sweep_cell(rows: Sequence[RunRow], key: str) -> Text:
    """A sweep header's cell: in the grok column, the grokked fraction of a sweep of seeds
    with its interval ("4/5 0.80 [0.38, 0.96]", views/bands.py); the others empty."""
    if key != "grok_step":
        return Text("")
    points = {r.run_id: (r.sweep_coords, r.status, r.values.get("grok_step")) for r in rows}
    return Text(sweep_grokked(points), justify="right")


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
        self.made: list[int] = []  # one item per row whose cells were made (LazyCells)

    # The styles the drawn cells are cached for, and the caches of the styles before (a
    # table loses focus and gets it back: two styles, each with its drawn cells).
    _drawn_with: tuple[Any, ...] | None = None
    _caches_by_style: dict[tuple[Any, ...], tuple[Any, ...]] | None = None
    _CACHES = ("_row_render_cache", "_cell_render_cache", "_row_renderable_cache", "_line_cache")

    def notify_style_update(self) -> None:
        """DataTable drops every drawn cell at each style pass, and a screen shown again
        restyles all its nodes (blurred, then focused): History's 700 cells at 120x40
        were drawn anew at each F4, a third of the switch. Here the drawn cells are kept
        by the styles they were drawn with (the table's and its components': colours,
        cursor), and taken back when those styles come back. Every cache key holds the
        rows' update count, so kept cells are never of older rows."""
        Widget.notify_style_update(self)  # this widget's own style caches
        try:
            drawn_with: tuple[Any, ...] | None = (
                self.rich_style,
                tuple(self.get_component_rich_style(c) for c in sorted(self.COMPONENT_CLASSES)),
                repr(self.styles.base.get_rules()),
            )
        except KeyError:  # the component styles are not made yet (the first pass)
            drawn_with = None
        if drawn_with is not None and drawn_with == self._drawn_with:
            self.refresh()
            return
        kept = self._caches_by_style = self._caches_by_style or {}
        if self._drawn_with is not None:  # set aside what was drawn with the old styles
            kept[self._drawn_with] = tuple(getattr(self, name) for name in self._CACHES)
            for name in self._CACHES:
                setattr(self, name, LRUCache(getattr(self, name).maxsize))
            while len(kept) > 2:
                del kept[next(iter(kept))]
        self._drawn_with = drawn_with
        super().notify_style_update()  # clears the (fresh) caches, redraws
        restored = kept.pop(drawn_with, None) if drawn_with is not None else None
        if restored is not None:
            for name, cache in zip(self._CACHES, restored, strict=True):
                setattr(self, name, cache)

    def draw_ahead(self) -> None:
        """Draw the rows in view into the table's caches while its screen is not shown
        (700 cells at 120x40, about 0.1 s): the screen's first frame takes them from there."""
        if self.size.area:
            self.render_lines(self.size.region)

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
        """Replace the rows, keeping the cursor on the same run when it is still shown.

        Each row's cells are made when the table first draws it (LazyCells): with 10,000
        runs only a screenful is made, and the widths come from the rows' plain text.
        """
        current = self.current_key()
        self.clear()
        self.rows_by_key = {}
        self.sweeps = {}
        entries: list[tuple[str, Callable[[], list[Text]]]] = []
        widths: list[Sequence[int]] = []
        groups = group_by_sweep(rows) if grouped else [Group(None, list(rows))]
        for group in groups:
            indent = group.sweep_id is not None
            if group.sweep_id is not None:
                self.sweeps[group.sweep_id] = group.rows
                short = group.sweep_id.split("-sweep-", 1)[-1]  # ids are <stamp>-sweep-<name>
                label = Text(f"▸ sweep {safe_text(short)} ({len(group.rows)})", style="bold")
                cells = [Text(""), label] + [sweep_cell(group.rows, c.key) for c in COLUMNS[1:]]
                entries.append((SWEEP_PREFIX + group.sweep_id, partial(list, cells)))
                widths.append([c.cell_len for c in cells[1:]])
            for row in group.rows:
                self.rows_by_key[row.run_id] = row
                entries.append((row.run_id, partial(self._row_cells, row, marked, indent)))
                widths.append(_indented(row.widths(), indent))
        self._fill(entries)
        self._fit_columns(widths)
        if current is not None and (
            current in self.rows_by_key or current.startswith(SWEEP_PREFIX)
        ):
            with contextlib.suppress(RowDoesNotExist):  # gone: the cursor stays where it is
                self.move_cursor(row=self.get_row_index(current))

    def _fill(self, entries: Sequence[tuple[str, Callable[[], list[Text]]]]) -> None:
        """DataTable.add_row for every entry at once, each row's cells left to be made.

        add_row sets the cursor, bumps the caches and queues the row to be measured, each
        time: with 10,000 runs that was seconds. The table's own structures are filled as
        add_row fills them; the rows are not measured (show_rows gives the widths).
        """
        keys = [RowKey(key) for key, _ in entries]
        if len(set(keys)) != len(keys):
            raise DuplicateKey("a run is listed twice")
        column_keys = [column.key for column in self.ordered_columns]
        self._row_locations = TwoWayDict({key: index for index, key in enumerate(keys)})
        for key, (_, make) in zip(keys, entries, strict=True):
            self._data[key] = LazyCells(column_keys, make, self.made)
            self.rows[key] = Row(key, 1)
        self._update_count += 1
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        if keys and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()  # as add_row does for a table's first row
        self.check_idle()

    def _fit_columns(self, widths: Sequence[Sequence[int]]) -> None:
        """Widen the columns to their new cells now, not at DataTable's next idle pass.

        DataTable measures new rows when idle, but a frame rendered before that is cached
        without the width in its key, so a column that grew (a note just written) could
        stay cut until the next reload. ``widths``: each row's cell widths, COLUMNS order.
        """
        widest = [max(column, default=0) for column in zip(*widths, strict=True)] or [0] * len(
            COLUMNS
        )
        for column_def, width in zip(COLUMNS, widest, strict=True):
            column = self.columns[ColumnKey(column_def.key)]
            limit = self.MAX_WIDTH.get(column_def.key)
            if limit is not None:
                column.auto_width = False
                column.width = min(max(width, len(str(column.label))), limit)
            else:
                column.content_width = max(column.content_width, width)
        self.refresh(layout=True)

    def _row_cells(self, row: RunRow, marked: set[str], indent: bool) -> list[Text]:
        """A run's cells (the mark first), made when the table first reads the row."""
        cells: list[Text] = [Text("●" if row.run_id in marked else " ", style="bold magenta")]
        cells += [self._cell(row, column.key, indent) for column in COLUMNS]
        return cells

    @staticmethod
    def _cell(row: RunRow, key: str, indent: bool = False) -> Text:
        """A cell as plain, terminal-safe text (never markup), styled by its column."""
        text = row.cells()[COLUMN_INDEX[key]]
        if key == "name" and indent:
            text = "  " + text
        style = STATUS_STYLES.get(text.split(" ")[0], "") if key == "status" else ""
        numeric = COLUMNS[COLUMN_INDEX[key]].numeric
        return Text(text, style=style, justify="right" if numeric else "left")

    def update_run(self, row: RunRow) -> None:
        """Show a run's new values in place (a live run moved), when its row is shown."""
        if row.run_id not in self.rows_by_key:
            return
        self.rows_by_key[row.run_id] = row
        indent = any(r.run_id == row.run_id for rows in self.sweeps.values() for r in rows)
        for column in COLUMNS:
            self.update_cell(row.run_id, column.key, self._cell(row, column.key, indent))
        for sweep_id, rows in self.sweeps.items():  # its sweep's grokked fraction moves too
            if any(r.run_id == row.run_id for r in rows):
                rows[:] = [row if r.run_id == row.run_id else r for r in rows]
                header = SWEEP_PREFIX + sweep_id
                self.update_cell(header, "grok_step", sweep_cell(rows, "grok_step"))

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
