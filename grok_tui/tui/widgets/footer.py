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

    def _rank(self, widget: Widget) -> tuple[int, int]:
        """Where a key stands whatever has focus: the focused widget's own keys, then the
        screen's and the app's in the order they declare them, the palette last.

        Textual lists the focused widget's keys first, and a screen key that the focused
        widget also binds (Ctrl+E in an Input) moved to the front with it."""
        if PALETTE in widget.classes:
            return (3, 0)
        action, key = getattr(widget, "action", None), getattr(widget, "key", None)
        for level, node in ((1, self.screen), (2, self.app)):
            for index, (bound, binding) in enumerate(node._bindings):
                if bound == key and binding.action == action:
                    return (level, index)
        return (0, 0)

    def compose(self) -> ComposeResult:
        widgets = [w for w in super().compose() if not self._here(w)]
        for widget in widgets:
            # Born compact: FooterKey's compact watcher then finds the class set, instead
            # of restyling every key once more as it mounts (a third of the first frame's
            # style work with the Presets screen's keys).
            if self.compact and isinstance(widget, FooterKey):
                widget.add_class("-compact", update=False)
        # Before its first layout the footer is as wide as the terminal (it docks at the
        # bottom of a screen): laid out for that now, not composed twice.
        width = self._laid_out_width = self.size.width or self.app.size.width
        if not width or any(key_width(w) is None for w in widgets):  # not laid out, or groups
            yield from widgets
            return
        widgets.sort(key=self._rank)
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
