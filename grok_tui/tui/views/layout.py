"""How the curve screens lay out their panes: side by side or stacked, small multiples in
a grid, and how many records a pane is given (pure: no Textual)."""

from __future__ import annotations

import math
from typing import Any

MAX_RECORDS_PLOTTED = 20_000  # before min/max downsampling: bounds the work per redraw
SMALL_PANE = (26, 7)  # the least width and height (cells) a small multiple is readable at


def thin(records: list[dict[str, Any]], limit: int = MAX_RECORDS_PLOTTED) -> list[dict[str, Any]]:
    """Every so many records, and the last: a pane never gets more than ``limit``."""
    if len(records) <= limit:
        return records
    stride = -(-len(records) // limit)
    return records[::stride] + ([records[-1]] if (len(records) - 1) % stride else [])


def stack_panes(width: int, height: int) -> bool:
    """Panes one above the other only on a tall, narrow terminal; side by side otherwise."""
    return width < 110 and height >= 32


def grid_shape(width: int, height: int, count: int) -> tuple[int, int]:
    """Columns and rows of small multiples for count runs in width x height cells.

    As many as fit at SMALL_PANE; of the shapes that hold them, the one that wastes the
    fewest cells and whose panes are closest to 3:1 (a curve reads best wide).
    """
    max_cols = max(1, width // SMALL_PANE[0])
    max_rows = max(1, height // SMALL_PANE[1])
    shown = max(1, min(count, max_cols * max_rows))
    best: tuple[float, int, int] | None = None
    for cols in range(1, max_cols + 1):
        rows = math.ceil(shown / cols)
        if rows > max_rows:
            continue
        shape = (width / cols) / max(1.0, height / rows)
        score = (cols * rows - shown) + abs(math.log(shape / 3))
        if best is None or score < best[0]:
            best = (score, cols, rows)
    assert best is not None  # cols = max_cols always fits: shown <= max_cols * max_rows
    return best[1], best[2]


def cut(text: str, size: int) -> str:
    """The text cut to ``size`` characters, an ellipsis saying so."""
    return text if len(text) <= size else text[: size - 1] + "…"
