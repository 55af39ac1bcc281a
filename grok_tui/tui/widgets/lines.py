"""Status lines that change with every record, updated without relayouting the screen.

``Static.update`` relayouts the whole screen by default, which re-renders more than the
line; Live's status line changes at every redraw. A relayout is only needed when the
line's height changes, and an unchanged line needs nothing at all.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.text import Text
from textual.widgets import Static

# Text.wrap asks a console for tab size and overflow defaults only: one that prints nowhere
_MEASURE = Console(file=io.StringIO(), width=1000)


def update_line(widget: Static, content: Text | str) -> None:
    """Show `content` in `widget`: nothing if it is shown already, a relayout only if its
    wrapped height differs from the widget's height now."""
    if getattr(widget, "_line_shown", None) == content:
        return
    widget._line_shown = content  # type: ignore[attr-defined]
    layout = True
    width, height = widget.content_size.width, widget.content_size.height
    if isinstance(content, Text) and width > 0 and widget.is_mounted:
        rows = len(content.wrap(_MEASURE, width)) or 1
        layout = rows != height
    widget.update(content, layout=layout)
