"""The Queue screen (F6): runs that wait for a free slot on their device, in order.

The queue is RUNS/queue.json, read and edited through grok_tui.rundirs.runqueue (torch-free);
the detached queue runner starts its entries, so this screen only shows the queue moving
(it looks every second) and edits it: order, removal, slots per device. Run ids come
from disk: shown as Text made with grok_tui.text, never read as markup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.widgets.data_table import RowDoesNotExist

from grok_tui.errors import UserError
from grok_tui.rundirs import runqueue, store, watch
from grok_tui.text import safe_markup, safe_text
from grok_tui.tui.messages import ResumeRequested
from grok_tui.tui.screens.modals import ConfirmModal
from grok_tui.tui.widgets.footer import KeysFooter
from grok_tui.tui.workbench import WorkbenchScreen

LOOK_EVERY_S = 1.0
NAME_WIDTH = 12  # columns of a run's name: at 80 columns the whole row fits, scrollbar too
HINT = (
    "K/J or Shift+↑/↓ move · d remove (asks) · r run now · +/- slots of its device (0 pauses) · "
    "Ctrl+T on Presets queues a preset, Q in History a re-run"
)


@dataclass(frozen=True)
class QueueRow:
    """One entry as the table shows it."""

    run_id: str
    device: str
    steps: str
    state: str
    name: str = ""  # the preset's name (the id's tail is cut to a slug)


def short_id(run_id: str, name: str) -> str:
    """The run id without the name it ends with (beside it in the name column): its
    time, to the millisecond, tells runs of one preset apart."""
    stamp, dash, tail = run_id.partition(f"-{store.slug(name)}") if name else (run_id, "", "")
    return stamp + (f"…{tail}" if tail else "") if dash and stamp else run_id


class QueueLoaded(Message):
    """A look at the queue: its rows, the line above them, or why it cannot be read."""

    def __init__(self, rows: list[QueueRow], head: str, error: str | None) -> None:
        super().__init__()
        self.rows, self.head, self.error = rows, head, error


def read_rows(
    runs_dir: Path, scanner: watch.LiveRunScanner
) -> tuple[list[QueueRow], str, str | None]:
    """(rows, head line, error): what the screen shows, read in a worker thread."""
    pid = runqueue.runner_pid(runs_dir)
    runner = f"runner pid {pid}" if pid else "no runner"
    try:
        state = runqueue.read_queue(runs_dir)
    except UserError as exc:
        return [], f"Queue · {runner}", str(exc)
    live = runqueue.live_devices(runs_dir, scanner)
    rows = []
    for entry, why in zip(state.entries, runqueue.waits(state, live), strict=True):
        summary = store.read_summary(runs_dir / entry.run)
        steps = summary.get("steps")
        name = str(summary.get("name") or "")
        rows.append(
            QueueRow(entry.run, entry.device, "" if steps is None else str(steps), why, name)
        )
    waiting = f"{len(rows)} waiting" if rows else "empty"
    head = f"Queue · {waiting} · {runner} · slots: {runqueue.slots_line(state, live)}"
    return rows, head, None


class QueueScreen(WorkbenchScreen):
    """The queue in order; the keys act on the entry under the cursor."""

    DEFAULT_CSS = """
    QueueScreen #queue-head { height: auto; padding: 0 1; background: $boost; }
    QueueScreen #queue-table { height: 1fr; }
    QueueScreen #queue-error { height: auto; padding: 0 1; color: $text-error; }
    QueueScreen #queue-hint { height: auto; padding: 0 1; color: $text-muted; }
    """

    # Printable keys, never priority: the palette's text field takes them first.
    BINDINGS = [
        Binding(
            "K,shift+up",
            "move(-1)",
            "Up",
            id="queue.up",
            tooltip="Move up in the queue\nThe entry under the cursor starts sooner",
        ),
        Binding(
            "J,shift+down",
            "move(1)",
            "Down",
            id="queue.down",
            tooltip="Move down in the queue\nThe entry under the cursor starts later",
        ),
        Binding(
            "d,delete",
            "remove",
            "Remove",
            id="queue.remove",
            tooltip="Remove from the queue\nAsks first: its run directory, never trained, is deleted",
        ),
        Binding(
            "r",
            "start_now",
            "Run now",
            id="queue.now",
            tooltip="Run now\nStart the entry under the cursor at once, whatever the slots",
        ),
        Binding(
            "plus,equals_sign",
            "slots(1)",
            "Slots +",
            id="queue.more",
            tooltip="One more slot\nOne more run at once on the device of the entry under the cursor",
        ),
        Binding(
            "minus",
            "slots(-1)",
            "Slots -",
            id="queue.fewer",
            tooltip="One slot fewer\nOne run fewer at once on that device (0 pauses it)",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[QueueRow] = []
        self.slots: dict[str, int] = {}
        self._scanner: watch.LiveRunScanner | None = None
        self._follow: str | None = None  # the run the cursor goes to once the table shows it

    def compose(self) -> ComposeResult:
        yield Static("Queue", id="queue-head")
        yield Static("", id="queue-error")
        yield DataTable(id="queue-table", cursor_type="row", zebra_stripes=True)
        yield Static(HINT, id="queue-hint")
        yield KeysFooter()

    def on_mount(self) -> None:
        table = self.query_one("#queue-table", DataTable)
        table.add_column("#", key="position", width=3)
        table.add_column("name", key="name", width=NAME_WIDTH)
        table.add_column("queued", key="run")
        table.add_column("device", key="device")
        table.add_column("steps", key="steps")
        table.add_column("state", key="state")
        self.query_one("#queue-error", Static).display = False
        self.set_interval(LOOK_EVERY_S, self._look)
        self.look()
        table.focus()

    def on_screen_resume(self) -> None:
        self.look()

    def _look(self) -> None:
        if self.is_current:  # in the background, another mode's screen is shown
            self.look()

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-look")
    def look(self) -> None:
        runs_dir = self.workbench.runs_dir
        if self._scanner is None:
            self._scanner = watch.LiveRunScanner(runs_dir)
        self.post_message(QueueLoaded(*read_rows(runs_dir, self._scanner)))

    def on_queue_loaded(self, message: QueueLoaded) -> None:
        self.query_one("#queue-head", Static).update(Text(safe_text(message.head)))
        error = self.query_one("#queue-error", Static)
        error.display = message.error is not None
        if message.error is not None:
            error.update(Text(safe_text(message.error, multiline=True)))
        if message.rows != self.rows or self._follow is not None:
            self._fill(message.rows)

    def _fill(self, rows: list[QueueRow]) -> None:
        table = self.query_one("#queue-table", DataTable)
        current = self._follow or self.current_run()
        self.rows = rows
        table.clear()
        for position, row in enumerate(rows, 1):
            style = "green" if row.state == "next" else "dim" if "paused" in row.state else ""
            table.add_row(
                Text(str(position)),
                Text(safe_text(row.name), no_wrap=True, overflow="ellipsis"),
                Text(safe_text(short_id(row.run_id, row.name))),
                Text(safe_text(row.device)),
                Text(row.steps, justify="right"),
                Text(safe_text(row.state), style=style),
                key=row.run_id,
            )
        if current is not None:
            try:
                table.move_cursor(row=table.get_row_index(current))
                self._follow = None
            except RowDoesNotExist:
                pass

    def current_run(self) -> str | None:
        """The run id under the cursor (None: the queue is empty)."""
        table = self.query_one("#queue-table", DataTable)
        if not self.rows or not 0 <= table.cursor_row < len(self.rows):
            return None
        return self.rows[table.cursor_row].run_id

    # -- edits (in a thread: the queue's lock may be held a moment by the runner) --------

    def action_move(self, delta: int) -> None:
        run_id = self.current_run()
        if run_id is not None:
            self._follow = run_id

            def move(runs_dir: Path) -> None:
                runqueue.move(runs_dir, run_id, delta)  # the cursor follows it: nothing to say

            self._edit(move)

    def action_remove(self) -> None:
        """Asks first: removing a queued run deletes its run directory."""
        run_id = self.current_run()
        if run_id is None:
            return
        row = next((r for r in self.rows if r.run_id == run_id), None)
        name = f"{row.name} " if row is not None and row.name else ""

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._remove(run_id)

        self.app.push_screen(
            ConfirmModal(
                f"Remove {name}({run_id}) from the queue?\n"
                "Its run directory, never trained, is deleted.",
                yes="Remove",
            ),
            confirmed,
        )

    def _remove(self, run_id: str) -> None:
        def remove(runs_dir: Path) -> str:
            deleted = runqueue.remove(runs_dir, run_id)
            return f"Removed {run_id} from the queue" + (
                " (its run directory is deleted)" if deleted else ""
            )

        self._edit(remove)

    def action_start_now(self) -> None:
        run_id = self.current_run()
        if run_id is None:
            return

        def start(runs_dir: Path) -> None:
            run = runqueue.take(runs_dir, run_id)
            self.post_message(ResumeRequested(run))

        self._edit(start)

    def action_slots(self, delta: int) -> None:
        run_id = self.current_run()
        row = next((r for r in self.rows if r.run_id == run_id), None)
        device = row.device if row is not None else runqueue.device_key("auto")

        def change(runs_dir: Path) -> str:
            count = max(0, runqueue.read_queue(runs_dir).slots_for(device) + delta)
            runqueue.set_slots(runs_dir, device, count)
            what = "paused" if count == 0 else f"{count} run(s) at once"
            return f"{device}: {what}"

        self._edit(change)

    @work(thread=True, exit_on_error=False, group="queue-edit")
    def _edit(self, edit: Callable[[Path], str | None]) -> None:
        """Make one edit of the queue; what it says (or its error) as a notification."""
        try:
            said = edit(self.workbench.runs_dir)
        except (UserError, OSError) as exc:
            self._follow = None
            said, severity = str(exc), "error"
        else:
            severity = "information"
        if said:
            self.app.call_from_thread(
                self.notify, safe_markup(said, multiline=True), severity=severity, timeout=5
            )
        self.app.call_from_thread(self.look)
