"""A compact footer that shows only the keys that fit whole, and always the palette key.

Textual's Footer lays every key out in a row that scrolls under the palette key on the
right: at 80 columns the last visible key was cut mid-word ("f2 P"). This one keeps the
keys in their order while they fit, and leaves the rest out; every key stays in the
command palette (Ctrl+P) and in the help (F1).
"""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

PALETTE = "-command-palette"


def key_width(widget: Widget) -> int | None:
    """Columns a compact FooterKey takes with its right margin; None for anything else."""
    if not isinstance(widget, FooterKey):
        return None
    text = widget.key_display + (f" {widget.description}" if widget.description else "")
    return cell_len(text) + 1


class KeysFooter(Footer):
    """Footer(compact=True) that drops the keys past the width instead of clipping them.

    The keys of ``always`` (actions; by default F1's help, which lists every key) are
    kept whatever the width, like the palette key; the key of the mode shown (F2 on the
    Presets screen) is left out, as it would do nothing here.
    """

    def __init__(self, *, always: tuple[str, ...] = ("help",), id: str | None = None) -> None:
        super().__init__(compact=True, id=id)
        self.always = always
        self._laid_out_width = 0

    def _kept(self, widget: Widget) -> bool:
        return PALETTE in widget.classes or getattr(widget, "action", None) in self.always

    def _here(self, widget: Widget) -> bool:
        mode = getattr(self.app, "current_mode", None)
        return getattr(widget, "action", None) == f"switch_mode('{mode}')"

    def compose(self) -> ComposeResult:
        widgets = [w for w in super().compose() if not self._here(w)]
        width = self._laid_out_width = self.size.width
        if not width or any(key_width(w) is None for w in widgets):  # not laid out, or groups
            yield from widgets
            return
        room = width - sum((key_width(w) or 0) for w in widgets if self._kept(w))
        full = False
        for widget in widgets:
            if self._kept(widget):
                yield widget
                continue
            need = key_width(widget) or 0
            full = full or need > room
            if not full:
                room -= need
                yield widget

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._laid_out_width:
            self.call_after_refresh(self.recompose)
