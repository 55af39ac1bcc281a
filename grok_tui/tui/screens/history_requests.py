"""History's requests about the run under the cursor (or the marked runs): re-run, queue,
edit a copy of its preset, stop, resume, records CSV. Each one posts a message that the
app carries out (tui/messages.py); the screen only says which runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from textual.message import Message

from grok_tui.rundirs import store
from grok_tui.tui.messages import (
    EditRunPresetRequested,
    ExportRequested,
    QueueRequested,
    RecordsExportRequested,
    RerunRequested,
    ResumeRequested,
    StopRequested,
)
from grok_tui.tui.runtable import RunRow, rows_in_scope


class RunRequests:
    """Mixin for HistoryScreen (its rows, marks and cursor)."""

    all_rows: list[RunRow]
    shown: list[RunRow]
    marked: set[str]

    if TYPE_CHECKING:  # HistoryScreen's own (never defined here: the MRO would find these)

        def current_row(self) -> RunRow | None: ...

        def post_message(self, message: Message) -> bool: ...

    def action_write_records(self) -> None:
        """The records of the marked runs in one CSV (a marked sweep: all its points); with
        none marked, those of the run under the cursor."""
        marked = rows_in_scope(self.all_rows, self.shown, self.marked, "marked")
        if marked:
            name = f"records-{len(marked)}-runs-{datetime.now():%Y%m%d-%H%M%S}.csv"
            self.post_message(RecordsExportRequested([store.RunDir(r.path) for r in marked], name))
            return
        row = self.current_row()
        if row is not None:
            self.post_message(ExportRequested(store.RunDir(row.path)))

    def _ask(self, request: Callable[[store.RunDir], Message]) -> None:
        """Post ``request`` for the run under the cursor, if there is one."""
        row = self.current_row()
        if row is not None:
            self.post_message(request(store.RunDir(row.path)))

    def action_rerun(self) -> None:
        self._ask(RerunRequested)

    def action_queue_rerun(self) -> None:
        self._ask(QueueRequested)

    def action_edit(self) -> None:
        self._ask(EditRunPresetRequested)

    def action_stop(self) -> None:
        self._ask(StopRequested)

    def action_resume(self) -> None:
        self._ask(ResumeRequested)
