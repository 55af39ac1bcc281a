"""The note of the run under History's cursor, under the table: read without scrolling.

The note column is cut at 40 characters and sits at the far right of the table (off
screen at 80 columns), so the note of the run under the cursor is shown here, its first
lines whole. A note comes from note.txt, which may come from someone else: each line
goes through grok_tui.text.safe_text and is shown as plain Text, never as markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from grok_tui.text import safe_text
from grok_tui.tui.runtable import RunRow
from grok_tui.tui.widgets.run_table import RunTable

# Lines of a note shown; the rest are counted (t opens the whole note).
SHOWN_LINES = 3


def note_lines(row: RunRow | None, shown: int = SHOWN_LINES) -> list[str]:
    """The lines to show for ``row``'s note (none when it has no note), each one line of
    terminal-safe text."""
    note = str((row.values.get("note") if row is not None else None) or "").strip()
    if not note:
        return []
    lines = [safe_text(line.rstrip()) for line in note.splitlines()]
    if len(lines) > shown:
        lines = lines[: shown - 1] + [f"… {len(lines) - shown + 1} more lines (t: the whole note)"]
    return lines


class RunNote(Static):
    """Hidden while the run under the cursor has no note."""

    DEFAULT_CSS = """
    RunNote { height: auto; max-height: 3; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.display = False

    def follow(self, table: RunTable) -> None:
        """Show the note of the run under ``table``'s cursor (the cursor moved, or the
        rows were shown again)."""
        lines = note_lines(table.current_run())
        if lines:
            text = Text("note: ", style="bold")
            text.append("\n      ".join(lines))
            self.update(text)
        if self.display != bool(lines):
            self.display = bool(lines)
            # the table grew or shrank: its cursor row stays in view
            table.call_after_refresh(lambda: table.move_cursor(row=table.cursor_row))
