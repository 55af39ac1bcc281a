"""The TOML tab's editor: a TextArea that edits as typed, however fast the keys come.

Like OrderedInput (see there): Textual's TextArea inserts a printable key in its own key
handler but runs an editing key (Backspace, Ctrl+U, arrows...) as a binding after the key
went up to the app, so in a burst (a paste, ``tmux send-keys``) later characters landed
before the edit. Here every editing key runs in the key handler, in order. Printable keys
never reach the app or the screen (``q``, ``?``, digits are text here); F6 stays the
app's Queue key instead of TextArea's "select line".

TOML highlighting needs Textual's tree-sitter extras; without them the text is plain.
"""

from __future__ import annotations

from functools import cache

from textual.widgets import TextArea
from textual.widgets.text_area import LanguageDoesNotExist

from grok_tui.tui.widgets.ordered_input import OrderedKeys, editing_keys


@cache
def toml_language() -> str | None:
    """ "toml" when this Textual can highlight it, else None (plain text, no error)."""
    try:
        TextArea("", language="toml")
    except LanguageDoesNotExist:  # tree-sitter is there, its TOML grammar is not
        return None
    return "toml"


class TomlEditor(OrderedKeys, TextArea):
    """A preset's TOML, edited freely: line numbers for the ``file:line`` of its errors."""

    # F6 is left to the app (the Queue), so select_line is off (check_action)
    EDITING_KEYS = editing_keys(TextArea, leave=frozenset({"f6"}))

    DEFAULT_CSS = """
    TomlEditor { height: 1fr; border: none; padding: 0; }
    TomlEditor:focus { border: none; }
    """

    def __init__(self, text: str = "", *, id: str | None = None) -> None:
        super().__init__(
            text,
            language=toml_language(),
            soft_wrap=False,
            show_line_numbers=True,
            tab_behavior="focus",  # Tab moves on, as everywhere in the app
            id=id,
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "select_line":  # F6: the app's Queue
            return False
        return super().check_action(action, parameters)
