"""Small dialogs: confirm, choose one of a few, ask for a path, export the history.

Their messages name runs and paths read from disk (run ids, notes), which may come from
someone else: every message, choice and proposed value is shown as plain text, made
terminal-safe (grok_tui.text), never read as markup. A dialog must show exactly what it
acts on.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

from grok_tui.text import safe_text
from grok_tui.tui.widgets.ordered_input import OrderedInput


def plain(message: str) -> Content:
    """A dialog's message as literal text: no markup, no control characters."""
    return Content(safe_text(message, multiline=True))


class Dialog(ModalScreen):
    """Common frame: centred box, Escape cancels (dismiss None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmModal(Dialog):
    """Yes / No; No has the focus, so Enter alone never destroys anything."""

    def __init__(self, message: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.message, self.yes, self.no = message, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(plain(self.message), classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button(plain(self.no), id="no", variant="primary")
                yield Button(plain(self.yes), id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_cancel(self) -> None:
        self.dismiss(False)


class ChoiceModal(Dialog):
    """Pick one of a few labelled choices; the first one is the default."""

    def __init__(self, message: str, choices: list[tuple[str, str]]) -> None:
        super().__init__()
        self.message, self.choices = message, choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(plain(self.message), classes="dialog-text")
            yield OptionList(
                *(Option(plain(label), id=key) for key, label in self.choices), id="choices"
            )

    def on_mount(self) -> None:
        options = self.query_one("#choices", OptionList)
        options.highlighted = 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class PathModal(Dialog):
    """Ask for a file path, with a proposal; Enter accepts."""

    def __init__(self, message: str, default: Path) -> None:
        super().__init__()
        self.message, self.default = message, default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(plain(self.message), classes="dialog-text")
            yield OrderedInput(safe_text(self.default), id="path")
            yield Static("", id="path-note", classes="dialog-note")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self.query_one("#path-note", Static).update("a path is needed")
            return
        self.dismiss(Path(text).expanduser())


class TextModal(Dialog):
    """Ask for one line of text, with the current value; Enter accepts (empty is allowed).

    The current value (a run's note) is shown terminal-safe: a control character in it
    becomes its visible escape, and stays so if the value is saved again.
    """

    def __init__(self, message: str, value: str = "") -> None:
        super().__init__()
        self.message, self.value = message, value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(plain(self.message), classes="dialog-text")
            yield OrderedInput(safe_text(self.value), id="text")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)


class ExportModal(Dialog):
    """Export the history table: which runs, and where; one Enter does it."""

    def __init__(self, counts: dict[str, int], default_scope: str, default_path: Path) -> None:
        super().__init__()
        self.counts, self.default_scope, self.default_path = counts, default_scope, default_path

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Export the run table to CSV")
            with RadioSet(id="scope"):
                for scope in ("filtered", "all", "marked"):
                    yield RadioButton(
                        f"{scope} ({self.counts.get(scope, 0)} runs)",
                        value=scope == self.default_scope,
                        id=f"scope-{scope}",
                    )
            yield OrderedInput(str(self.default_path), id="path")
            yield Static("Enter: export · Esc: cancel", classes="dialog-note")

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()

    def scope(self) -> str:
        pressed = self.query_one("#scope", RadioSet).pressed_button
        return (pressed.id or "scope-filtered").removeprefix("scope-") if pressed else "filtered"

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text:
            self.dismiss((self.scope(), Path(text).expanduser()))
