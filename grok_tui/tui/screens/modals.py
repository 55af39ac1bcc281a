"""Small dialogs: confirm, choose one of a few, ask for a path or a number of seeds, export.

Their messages name runs and paths read from disk (run ids, notes), which may come from
someone else: every message, choice and proposed value is shown as plain text, made
terminal-safe (grok_tui.text), never read as markup. A dialog must show exactly what it
acts on.
"""

from __future__ import annotations

from pathlib import Path

from textual import events
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
    """Pick one of a few labelled choices; the cursor starts on ``default`` (the choice in
    force, such as the metric a pane shows), else on the first."""

    def __init__(
        self, message: str, choices: list[tuple[str, str]], default: str | None = None
    ) -> None:
        super().__init__()
        self.message, self.choices, self.default = message, choices, default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(plain(self.message), classes="dialog-text")
            yield OptionList(
                *(Option(plain(label), id=key) for key, label in self.choices), id="choices"
            )

    def on_mount(self) -> None:
        options = self.query_one("#choices", OptionList)
        keys = [key for key, _ in self.choices]
        options.highlighted = keys.index(self.default) if self.default in keys else 0
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


class FieldInput(OrderedInput):
    """An Input of a dialog with several fields: Tab moves on in the order of the keys.

    Tab is a binding of the screen, run after the keys already queued for this field: in a
    burst ("3 Tab 2 Enter", tmux send-keys, a paste) the 2 went into this field. Here Tab
    moves the focus at once, and a key that reaches this field after the focus left it is
    handed on to the field that has the focus.
    """

    async def _on_key(self, event: events.Key) -> None:
        focused = self.screen.focused
        if event.key in ("tab", "shift+tab"):
            event.stop()
            event.prevent_default()
            if event.key == "tab":
                self.screen.focus_next()
            else:
                self.screen.focus_previous()
            return
        if focused is not self and isinstance(focused, Input):  # has_focus lags behind
            event.stop()
            event.prevent_default()
            focused.post_message(events.Key(event.key, event.character))
            return
        await super()._on_key(event)


# More seeds than this in one launch is a typo (a sweep of 5000 processes), not a plan.
MAX_SEEDS = 1000


class SeedsModal(Dialog):
    """How many seeds (and split seeds) to train a preset with; Enter accepts.

    Dismisses with (seeds, split_seeds), both at least 1; 1 and 1 is a single run.
    """

    def __init__(
        self, name: str, first_seed: int | None, seeds: int = 1, split_seeds: int = 1
    ) -> None:
        super().__init__()
        self.preset_name, self.first_seed = name, first_seed
        self.seeds, self.split_seeds = seeds, split_seeds

    def compose(self) -> ComposeResult:
        first = self.first_seed
        seeds = "its own seed, + 1, ..." if first is None else f"{first}, {first + 1}, ..."
        with Vertical(classes="dialog"):
            yield Static(
                plain(
                    f"Train {self.preset_name} with N seeds (train.seed = {seeds}), each "
                    "crossed with M split seeds, as one sweep. 1 and 1: a single run."
                ),
                classes="dialog-text",
            )
            with Horizontal(classes="dialog-row"):
                yield Label("seeds N", classes="dialog-label")
                yield FieldInput(str(self.seeds), id="seeds", compact=True)
            with Horizontal(classes="dialog-row"):
                yield Label("split seeds M", classes="dialog-label")
                yield FieldInput(str(self.split_seeds), id="split-seeds", compact=True)
            yield Static(
                "Enter: train · Tab: next field · Esc: cancel",
                id="seeds-note",
                classes="dialog-note",
            )

    def on_mount(self) -> None:
        seeds = self.query_one("#seeds", Input)
        seeds.focus()
        seeds.select_all()

    def counts(self) -> tuple[int, int] | str:
        """(seeds, split seeds), or what is wrong with them."""
        numbers = []
        for widget_id, name in (("seeds", "seeds"), ("split-seeds", "split seeds")):
            text = self.query_one(f"#{widget_id}", Input).value.strip()
            if not text.isdigit() or not 1 <= int(text) <= MAX_SEEDS:
                return f"{name}: a whole number from 1 to {MAX_SEEDS}, got {text!r}"
            numbers.append(int(text))
        return numbers[0], numbers[1]

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        counts = self.counts()
        if isinstance(counts, str):
            self.query_one("#seeds-note", Static).update(plain(counts))
            return
        self.dismiss(counts)


class MarkedRadio(RadioButton):
    """A radio button whose choice shows as a glyph: Textual draws the same ● in the chosen
    and the other buttons, told apart by colour alone, which NO_COLOR takes away."""

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "●" if self.value else " "
        return super()._button


class ExportModal(Dialog):
    """Export runs: which runs, as the table (a row per run) or every record, and where;
    one Enter does it. Dismisses with (scope, path, kind)."""

    def __init__(self, counts: dict[str, int], default_scope: str, default_path: Path) -> None:
        super().__init__()
        self.counts, self.default_scope, self.default_path = counts, default_scope, default_path

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Export runs to CSV")
            with Horizontal(classes="dialog-choices"):
                with RadioSet(id="scope"):
                    for scope in ("filtered", "all", "marked"):
                        yield MarkedRadio(
                            f"{scope} ({self.counts.get(scope, 0)} runs)",
                            value=scope == self.default_scope,
                            id=f"scope-{scope}",
                        )
                with RadioSet(id="kind"):
                    yield MarkedRadio("table: a row per run", value=True, id="kind-table")
                    yield MarkedRadio("records: every record", id="kind-records")
            yield OrderedInput(str(self.default_path), id="path")
            yield Static("Enter: export · Esc: cancel", classes="dialog-note")

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()

    def scope(self) -> str:
        pressed = self.query_one("#scope", RadioSet).pressed_button
        return (pressed.id or "scope-filtered").removeprefix("scope-") if pressed else "filtered"

    def kind(self) -> str:
        """ "table" (a row per run) or "records" (every record, run id and varying fields first)."""
        pressed = self.query_one("#kind", RadioSet).pressed_button
        return (pressed.id or "kind-table").removeprefix("kind-") if pressed else "table"

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text:
            self.dismiss((self.scope(), Path(text).expanduser(), self.kind()))
