"""Colour scales shared by the sweep report's heatmap and the TUI's analysis views.

One module, so that a low value looks the same in ``grok-tui sweep-report`` and in the
TUI. It imports neither torch nor Textual: both the training side's reports and the TUI
(DESIGN.md rules 3 and 4) may use it.
"""

from __future__ import annotations

import math

RGB = tuple[int, int, int]

# matplotlib's viridis at five stops: dark purple (low) to yellow (high)
VIRIDIS: tuple[RGB, ...] = (
    (68, 1, 84),
    (59, 82, 139),
    (33, 145, 140),
    (94, 201, 98),
    (253, 231, 37),
)
NO_VALUE: RGB = (0, 0, 0)


def viridis(t: float) -> RGB:
    """The colour at ``t`` in [0, 1] (clamped), interpolated between the five stops.

    nan is NO_VALUE (black): a missing value must not pass for the low end.
    """
    if math.isnan(t):
        return NO_VALUE
    position = min(max(t, 0.0), 1.0) * (len(VIRIDIS) - 1)
    i = min(int(position), len(VIRIDIS) - 2)
    f = position - i
    a, b = VIRIDIS[i], VIRIDIS[i + 1]
    return (
        round(a[0] + (b[0] - a[0]) * f),
        round(a[1] + (b[1] - a[1]) * f),
        round(a[2] + (b[2] - a[2]) * f),
    )
