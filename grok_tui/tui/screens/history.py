"""The History screen: every run of the runs directory; sort, filter, mark, open, export.

Run ids, names, notes and error texts come from run directories, which may come from
someone else: they reach widgets as rich Text or through grok_tui.text (never as raw
markup), so a crafted name cannot restyle the table or make a dialog lie.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Input, Select, Static

from grok_tui.errors import UserError
from grok_tui.rundirs import store
from grok_tui.rundirs.watch import LIVE_STATUSES
from grok_tui.text import safe_markup, safe_text
from grok_tui.tui import prefetched, run_listing
from grok_tui.tui.messages import (
    RecordsExportRequested,
    RunForgotten,
)
from grok_tui.tui.runtable import (
    COLUMNS,
    STATUSES,
    RunRow,
    filter_hint,
    filter_rows,
    load_rows,
    rows_in_scope,
    run_row,
    sort_rows,
    write_table_csv,
)
from grok_tui.tui.screens.history_requests import RunRequests
from grok_tui.tui.screens.modals import ChoiceModal, ConfirmModal, ExportModal, TextModal
from grok_tui.tui.widgets.footer import KeysFooter
from grok_tui.tui.widgets.ordered_input import OrderedInput
from grok_tui.tui.widgets.run_note import RunNote
from grok_tui.tui.widgets.run_table import SWEEP_PREFIX, RunTable
from grok_tui.tui.widgets.steady_select import SteadySelect
from grok_tui.tui.workbench import WorkbenchScreen

ALL = "all"
PREFETCH_WAIT_S = 30.0  # the longest History waits for the prefetch's rows (then lists)
# With this many runs a filter is applied when its keys pause, not at every key.
FILTER_PAUSE_FROM = 1000
FILTER_PAUSE_S = 0.08


class RowsLoaded(Message):
    def __init__(self, rows: list[RunRow], infos: dict[str, store.RunInfo]) -> None:
        super().__init__()
        self.rows = rows
        self.infos = infos


# A column's first sort puts what one looks for first: the newest run, the best accuracy,
# the largest number; but the soonest fit or grok (fewest steps), and text from A to Z.
SOONEST_FIRST = frozenset({"fit_step", "grok_step"})


class HistoryScreen(RunRequests, WorkbenchScreen):
    """The run table with a filter line; actions apply to the run under the cursor."""

    # Focused as the screen is composed, so that its first frame draws the table focused
    # (focused later in on_mount, every cell was drawn twice: blurred, then focused).
    AUTO_FOCUS = "#history-table"

    # what to tell a user whose filter shows nothing or is partly not understood
    hint: str | None = None

    # The tooltips are the palette's commands: title, then what it does (see the app).
    BINDINGS = [
        Binding(
            "enter",
            "open",
            "Open",
            id="history.open",
            priority=False,
            tooltip="Open run\nCurves, resolved preset and log of the run under the cursor",
        ),
        Binding(
            "space",
            "mark",
            "Mark",
            id="history.mark",
            tooltip="Mark run\nMark or unmark the run (or the sweep) under the cursor",
        ),
        Binding(
            "c",
            "compare",
            "Compare",
            id="history.compare",
            tooltip="Compare marked runs\nOverlay the marked runs and diff their presets",
        ),
        Binding(
            "slash",
            "focus_filter",
            "Filter",
            id="history.filter",
            tooltip="Filter runs\nWords, or field=value such as op=add p=97",
        ),
        Binding("o", "sort", "Sort", id="history.sort", tooltip="Sort runs\nBy any column"),
        Binding(
            "x",
            "export",
            "Export CSV",
            id="history.export",
            tooltip="Export run table to CSV\nA row per run, or every record; all, filtered or "
            "marked runs",
        ),
        Binding(
            "n",
            "rerun",
            "Re-run",
            id="history.rerun",
            tooltip="Re-run\nA new run with the same preset",
        ),
        Binding(
            "Q",
            "queue_rerun",
            "Queue re-run",
            show=False,
            id="history.queue",
            tooltip="Queue a re-run\nA new run with the same preset, started when a slot is free",
        ),
        Binding(
            "e",
            "edit",
            "Edit copy",
            id="history.edit",
            tooltip="Copy preset into editor\nEdit the run's preset on the Presets screen",
        ),
        Binding("d", "delete", "Delete", id="history.delete", tooltip="Delete run\nAsks first"),
        Binding(
            "t",
            "note",
            "Note",
            id="history.note",
            tooltip="Note on run\nKept in note.txt, searched by the filter",
        ),
        Binding(
            "w",
            "write_records",
            "Records CSV",
            show=False,
            id="history.records",
            tooltip="Export run records to CSV\nEvery record of the marked runs (else of the run "
            "under the cursor) in one CSV, with run id and varying fields",
        ),
        Binding(
            "v",
            "sweep",
            "Sweep",
            show=False,
            id="history.sweep",
            tooltip="Open sweep\nTable and heatmap of the sweep under the cursor; Enter on its row too",
        ),
        Binding(
            "a",
            "analysis",
            "Analysis",
            show=False,
            id="history.analysis",
            tooltip="Analysis\nNorms, embeddings, Fourier spectrum, landscape of the run",
        ),
        Binding(
            "g",
            "group",
            "Group sweeps",
            show=False,
            id="history.group",
            tooltip="Group by sweep\nOn or off",
        ),
        Binding(
            "s",
            "stop",
            "Stop",
            show=False,
            id="history.stop",
            tooltip="Stop run\nThe run under the cursor",
        ),
        Binding(
            "r",
            "resume",
            "Resume",
            show=False,
            id="history.resume",
            tooltip="Resume run\nThe run under the cursor",
        ),
        Binding(
            "f5",
            "reload",
            "Reload",
            show=False,
            id="history.reload",
            tooltip="Reload history\nRead the runs directory again",
        ),
        Binding("escape", "focus_table", "Table", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.all_rows: list[RunRow] = []
        self.infos: dict[str, store.RunInfo] = {}
        self.shown: list[RunRow] = []
        self.marked: set[str] = set()
        self.sort_key = "started"
        self.sort_reverse = True
        self.grouped = True

    def compose(self) -> ComposeResult:
        with Horizontal(id="history-bar"):
            yield OrderedInput(
                placeholder="/ filter: words, or op=add p=97 …", id="history-filter", compact=True
            )
            yield SteadySelect(  # History is made early: the app may exit mid-mount
                [(s, s) for s in (ALL, *STATUSES)],
                value=ALL,
                allow_blank=False,
                compact=True,
                id="history-status",
            )
        yield RunTable(id="history-table")
        yield RunNote(id="history-note")  # the note of the run under the cursor
        yield Static("", id="history-info")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#history-table", RunTable).focus()
        # The runs as the app's prefetch listed them a moment ago, drawn in the first
        # frame (10,000 runs are listed again in a second or more), then listed again
        # behind them: what moved since is redrawn when that listing comes.
        kept = prefetched.take(self.workbench.runs_dir)
        if kept is not None:
            self.call_after_refresh(self._show_prefetched, RowsLoaded(*kept))
        else:
            self.reload(first=True)

    def _show_prefetched(self, rows: RowsLoaded) -> None:
        """After the first layout (the table's size known: a resize redraws every cell)."""
        self.on_rows_loaded(rows)
        if not self.is_current:  # made early (modes.make_early): draw its cells; F4
            self.call_after_refresh(self._draw_ahead)  # lists them again (on_screen_resume)
        else:
            prefetched.drawn()
            self.call_after_refresh(self.reload)

    def _draw_ahead(self) -> None:
        self.query_one("#history-table", RunTable).draw_ahead()
        prefetched.drawn()

    def on_screen_resume(self) -> None:
        if self.all_rows:  # listed again once the screen is drawn (the listing's thread
            self.call_after_refresh(self.reload)  # holds the GIL while it reads)

    # -- loading and showing --------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="history")
    def reload(self, first: bool = False) -> None:
        """List the runs again (a thread). ``first``: History opened while the app's
        prefetch was still making the rows: those are shown as soon as they are made,
        then listed again behind them, rather than a second listing of 10,000 runs
        beside the prefetch's (each slowed the other: History took 4-6 s after F4)."""
        runs_dir = self.workbench.runs_dir
        if first and (kept := prefetched.wait_take(runs_dir, PREFETCH_WAIT_S)) is not None:
            self.post_message(RowsLoaded(*kept))
        # store.list_runs, with the runs whose files did not change kept (run_listing.py)
        infos = run_listing.listing(runs_dir).list_runs()
        rows = load_rows(runs_dir, listing=lambda _: infos)
        self.post_message(RowsLoaded(rows, {i.run_id: i for i in infos}))

    def action_reload(self) -> None:
        self.reload()

    def on_rows_loaded(self, message: RowsLoaded) -> None:
        if self.all_rows and message.rows == self.all_rows:
            # listed again (History shown again) and no run moved: the table stays as
            # drawn, its rows the same objects as every list's (the ones exports write)
            self.infos = message.infos
            return
        self.all_rows, self.infos = message.rows, message.infos
        self.marked &= set(self.infos)
        self.apply()

    def apply(self) -> None:
        """Filter, sort and show the rows."""
        if self._filter_timer is not None:  # what it waited to apply is applied now
            self._filter_timer.stop()
            self._filter_timer = None
        text = self.query_one("#history-filter", Input).value
        status = self.query_one("#history-status", Select).value
        chosen = None if status in (ALL, Select.NULL) else str(status)
        rows = filter_rows(self.all_rows, text, chosen)
        self.hint = filter_hint(self.all_rows, text, chosen, matched=rows)
        ordered = list(reversed(rows)) if self.sort_reverse else rows  # newest first on ties
        self.shown = sort_rows(ordered, self.sort_key, reverse=self.sort_reverse)
        table = self.query_one("#history-table", RunTable)
        has_sweeps = any(r.sweep_id for r in self.shown)
        table.show_rows(self.shown, self.marked, grouped=self.grouped and has_sweeps)
        for column in COLUMNS:
            arrow = (" ▼" if self.sort_reverse else " ▲") if column.key == self.sort_key else ""
            table.set_title(column.key, column.title + arrow)
        self._update_info()

    def _update_info(self) -> None:
        self.query_one(RunNote).follow(self.query_one("#history-table", RunTable))
        sort_title = next(c.title for c in COLUMNS if c.key == self.sort_key)
        hint = self.hint
        if hint:  # nothing matches, or part of the filter was not understood
            self.query_one("#history-info", Static).update(f"[b]{safe_markup(hint)}[/b]")
            return
        self.query_one("#history-info", Static).update(
            f"{len(self.shown)} of {len(self.all_rows)} runs · {len(self.marked)} marked · "
            f"sorted by {sort_title} {'▼' if self.sort_reverse else '▲'} · "
            f"{safe_markup(self.workbench.runs_dir)}"
        )

    _filter_timer: Timer | None = None  # a filter change waiting for the keys after it

    @on(Input.Changed, "#history-filter")
    def _filter_changed(self) -> None:
        """Apply the filter; with many runs, once per burst of keys (a paste, typing ahead
        over SSH). The app lets a key through only when the one before it has settled
        (typeahead.py), and an apply rebuilds the table (a third of a second with 10,000
        runs), so each key of ``/bench-9999`` cost one: 12 s. The apply waits for a pause
        of FILTER_PAUSE_S between keys instead (a timer: the keys flow meanwhile)."""
        if len(self.all_rows) < FILTER_PAUSE_FROM:
            self.apply()
            return
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_PAUSE_S, self.apply, name="filter")

    @on(Input.Submitted, "#history-filter")
    def _filter_done(self) -> None:
        self.query_one("#history-table", RunTable).focus()

    @on(Select.Changed, "#history-status")
    def _status_changed(self) -> None:
        self.apply()

    def runs_changed(self, changed: list[str]) -> None:
        """Live runs moved: refresh their rows in place, reload if one is new."""
        if not self.all_rows:
            return
        if any(run_id not in self.infos for run_id in changed):
            self.reload()
            return
        table = self.query_one("#history-table", RunTable)
        for run_id in changed:
            follower = self.workbench.followers.get(run_id)
            info = self.infos.get(run_id)
            if follower is None or info is None or not follower.summary:
                continue
            info.summary = follower.summary
            row = run_row(info)
            # one row per run, the same in every list: an export writes its current values
            self.all_rows = [row if r.run_id == run_id else r for r in self.all_rows]
            self.shown = [row if r.run_id == run_id else r for r in self.shown]
            table.update_run(row)

    # -- the run under the cursor ---------------------------------------------------------

    def current_row(self) -> RunRow | None:
        row = self.query_one("#history-table", RunTable).current_run()
        if row is None:
            self.notify("No run under the cursor.", severity="warning")
        return row

    def on_data_table_row_highlighted(self) -> None:
        self.query_one(RunNote).follow(self.query_one("#history-table", RunTable))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = event.row_key.value or ""
        if key.startswith(SWEEP_PREFIX):
            self.action_sweep()
        else:
            self.action_open()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if key and key != "mark":
            self._sort_by(key)

    def action_open(self) -> None:
        from grok_tui.tui.screens.run import RunScreen

        row = self.current_row()
        if row is not None and row.run_id in self.infos:
            self.app.push_screen(RunScreen(self.infos[row.run_id]))

    def action_sweep(self) -> None:
        """Open the sweep of the header row (or of the run) under the cursor."""
        from grok_tui.tui.screens.sweep import SweepScreen, sweep_path_for

        table = self.query_one("#history-table", RunTable)
        key = table.current_key() or ""
        if key.startswith(SWEEP_PREFIX):
            sweep_id = key.removeprefix(SWEEP_PREFIX)
            path = sweep_path_for(self.workbench.runs_dir, sweep_id=sweep_id)
        else:
            row = table.current_run()
            path = sweep_path_for(self.workbench.runs_dir, run_path=row.path) if row else None
        if path is None:
            self.notify("Not part of a sweep.", severity="warning")
            return
        self.app.push_screen(SweepScreen(path))

    def action_analysis(self) -> None:
        from grok_tui.tui.screens.analysis import AnalysisScreen

        row = self.current_row()
        if row is not None:
            self.app.push_screen(AnalysisScreen(store.RunDir(row.path)))

    def action_mark(self) -> None:
        table = self.query_one("#history-table", RunTable)
        key = table.current_key()
        if key and key.startswith(SWEEP_PREFIX):
            self._mark_sweep(key.removeprefix(SWEEP_PREFIX))
            return
        row = self.current_row()
        if row is None:
            return
        if row.run_id in self.marked:
            self.marked.discard(row.run_id)
        else:
            self.marked.add(row.run_id)
        # The cursor stays (as the help says, and as Space in Live): ↓ moves on.
        table.set_mark(row.run_id, row.run_id in self.marked)
        self._update_info()

    def _mark_sweep(self, sweep_id: str) -> None:
        table = self.query_one("#history-table", RunTable)
        ids = [r.run_id for r in table.sweeps.get(sweep_id, [])]
        everything = all(i in self.marked for i in ids)
        for run_id in ids:
            if everything:
                self.marked.discard(run_id)
            else:
                self.marked.add(run_id)
            table.set_mark(run_id, run_id in self.marked)
        self._update_info()

    def action_compare(self) -> None:
        from grok_tui.tui.screens.compare import CompareScreen

        rows = [r for r in self.all_rows if r.run_id in self.marked]
        if len(rows) < 2:
            self.notify("Mark two runs or more with Space, then press c.", severity="warning")
            return
        self.app.push_screen(CompareScreen([self.infos[r.run_id] for r in rows]))

    def action_focus_filter(self) -> None:
        self.query_one("#history-filter", Input).focus()

    def action_focus_table(self) -> None:
        self.query_one("#history-table", RunTable).focus()

    def action_group(self) -> None:
        self.grouped = not self.grouped
        self.apply()

    def action_sort(self) -> None:
        choices = [
            (c.key, c.title + ("  (again: reverse)" if c.key == self.sort_key else ""))
            for c in COLUMNS
        ]

        def chosen(key: str | None) -> None:
            if key:
                self._sort_by(key)

        self.app.push_screen(ChoiceModal("Sort the runs by:", choices), chosen)

    def _sort_by(self, key: str) -> None:
        if key == self.sort_key:
            self.sort_reverse = not self.sort_reverse
        else:
            numeric = next(c.numeric for c in COLUMNS if c.key == key)
            first_down = key == "started" or (numeric and key not in SOONEST_FIRST)
            self.sort_key, self.sort_reverse = key, first_down
        self.apply()

    def action_export(self) -> None:
        counts = {
            "all": len(self.all_rows),
            "filtered": len(self.shown),
            "marked": len(self.marked),
        }
        scope = "marked" if self.marked else "filtered"
        default = Path.cwd() / f"runs-{datetime.now():%Y%m%d-%H%M%S}.csv"

        def chosen(result: tuple[str, Path, str] | None) -> None:
            if result is None:
                return
            scope, path, kind = result
            rows = rows_in_scope(self.all_rows, self.shown, self.marked, scope)
            if kind == "records":
                runs = [store.RunDir(r.path) for r in rows]
                self.post_message(RecordsExportRequested(runs, path.name, path=path))
            else:
                self.export_rows(rows, path)

        self.app.push_screen(ExportModal(counts, scope, default), chosen)

    @work(thread=True, exit_on_error=False, group="export")
    def export_rows(self, rows: list[RunRow], path: Path) -> None:
        try:
            count = write_table_csv(rows, path)
        except OSError as exc:
            self.app.call_from_thread(
                self.notify, safe_markup(f"Export failed: {exc}", multiline=True), severity="error"
            )
            return
        self.app.call_from_thread(self.notify, safe_markup(f"Wrote {count} runs to {path}"))

    def action_delete(self) -> None:
        row = self.current_row()
        if row is None:
            return
        if row.status in LIVE_STATUSES:
            self.notify("This run is live: stop it first (s).", severity="warning")
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.delete_run(row)

        self.app.push_screen(
            ConfirmModal(
                # One line each, newlines in them escaped too: the exact path that goes.
                f"Delete run {safe_text(row.run_id)}?\n{safe_text(row.path)}\n"
                "Its records and checkpoint are removed for good.",
                yes="Delete",
            ),
            confirmed,
        )

    def action_note(self) -> None:
        row = self.current_row()
        if row is None:
            return
        run = store.RunDir(row.path)

        def written(text: str | None) -> None:
            if text is None:
                return
            try:
                run.set_note(text)
            except OSError as exc:
                self.notify(
                    safe_markup(f"Could not write the note: {exc}", multiline=True),
                    severity="error",
                )
                return
            verb = "saved" if text.strip() else "cleared"
            self.notify(safe_markup(f"Note {verb} for {row.run_id}"))
            self.reload()

        self.app.push_screen(
            TextModal(
                f"Note on {safe_text(row.run_id)} (Enter saves; empty clears; Esc cancels)",
                run.note(),
            ),
            written,
        )

    @work(thread=True, exit_on_error=False, group="delete")
    def delete_run(self, row: RunRow) -> None:
        try:
            store.delete_run(store.RunDir(row.path))
        except (OSError, UserError) as exc:
            self.app.call_from_thread(
                self.notify,
                safe_markup(f"Could not delete: {exc}", multiline=True),
                severity="error",
            )
            return
        self.app.call_from_thread(self._deleted, row)

    def _deleted(self, row: RunRow) -> None:
        self.marked.discard(row.run_id)
        self.post_message(RunForgotten(row.run_id))
        self.notify(safe_markup(f"Deleted {row.run_id}"))
        self.reload()
