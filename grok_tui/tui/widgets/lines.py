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
    wrapped height differs from the widget's height now.

    The height read now can be behind the one the widget is drawn at (seen once in the
    full suite under load: a one-row bar kept two rows), so a line shown without a relayout
    is measured again after the refresh and relayouted then if the two disagree."""
    if getattr(widget, "_line_shown", None) == content:
        return
    widget._line_shown = content  # type: ignore[attr-defined]
    layout = not _fits(widget, content)
    widget.update(content, layout=layout)
    if not layout:
        widget.call_after_refresh(_fit_height, widget)


def _fits(widget: Static, content: Text | str) -> bool:
    """Whether `content`, wrapped at the widget's width, has the widget's height."""
    width, height = widget.content_size.width, widget.content_size.height
    if not isinstance(content, Text) or width <= 0 or not widget.is_mounted:
        return False
    return (len(content.wrap(_MEASURE, width)) or 1) == height


def _fit_height(widget: Static) -> None:
    content = getattr(widget, "_line_shown", None)
    if content is not None and widget.is_mounted and not _fits(widget, content):
        widget.refresh(layout=True)
