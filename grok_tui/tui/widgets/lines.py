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


# When a shown line is measured again: after the next refresh, then twice more on timers,
# so that a relayout still on its way under load is seen through (seconds after the change)
RECHECK_S = (0.25, 1.0)


def update_line(widget: Static, content: Text | str) -> None:
    """Show `content` in `widget`: nothing if it is shown already, a relayout only if its
    wrapped height differs from the widget's height now.

    The height read now can be behind the one the widget is drawn at (seen once in the
    full suite under load: a one-row bar kept two rows), and a relayout asked for can be
    drawn at the height of the line before (Live's status line, the first line two rows
    before the panes knew their width, the next one: in CI, one Live snapshot in ten kept
    a blank second row). So every line shown is measured again once drawn, and relayouted
    then if its drawn height and its wrapped height disagree."""
    if getattr(widget, "_line_shown", None) == content:
        return
    widget._line_shown = content  # type: ignore[attr-defined]
    layout = not _fits(widget, content)
    widget.update(content, layout=layout)
    widget.call_after_refresh(_fit_height, widget, content, 0)


def _fits(widget: Static, content: Text | str) -> bool:
    """Whether `content`, wrapped at the widget's width, has the widget's height."""
    width, height = widget.content_size.width, widget.content_size.height
    if not isinstance(content, Text) or width <= 0 or not widget.is_mounted:
        return False
    return (len(content.wrap(_MEASURE, width)) or 1) == height


def _fit_height(widget: Static, content: Text | str, checked: int) -> None:
    """Relayout a line drawn at another height than its own; measured again later, while
    it is still the line shown (a newer line has its own checks)."""
    if getattr(widget, "_line_shown", None) is not content or not widget.is_mounted:
        return
    if isinstance(content, Text) and widget.content_size.width > 0 and not _fits(widget, content):
        widget.refresh(layout=True)
    if checked < len(RECHECK_S):
        widget.set_timer(RECHECK_S[checked], lambda: _fit_height(widget, content, checked + 1))
