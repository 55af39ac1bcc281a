"""A status line made to fit one row: its parts of least use are left out first.

Live's status line ran to two rows at 80 columns (step, speed, ETA, device, threads,
accuracies, events, the process's figures), and jumped between one and two as the
numbers changed. Each part has a rank: 0 is always kept; the highest rank goes first
(the later part first among equals), and what still does not fit is cut with "…".
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

KEEP = 0  # the rank of a part that is never left out


def fit_parts(parts: Sequence[tuple[Text, int]], width: int) -> Text:
    """The parts joined, without those of highest rank while the line is wider than
    ``width`` (0: no limit), cut with an ellipsis at the end if it still is."""
    kept = list(range(len(parts)))

    def joined() -> Text:
        return Text("").join(parts[i][0] for i in kept)

    line = joined()
    if width <= 0:
        return line
    droppable = sorted(
        (i for i, (_, rank) in enumerate(parts) if rank > KEEP),
        key=lambda i: (parts[i][1], i),
        reverse=True,
    )
    for index in droppable:
        if line.cell_len <= width:
            break
        kept.remove(index)
        line = joined()
    if line.cell_len > width:
        line.truncate(width, overflow="ellipsis")
    return line
