"""The app's smoothing keys: m turns it on and off, < and > step its EMA weight.

One weight for every curve screen, kept by the app (``axis_options``) like the x axis;
the app lists SMOOTHING_BINDINGS in its BINDINGS and takes these actions from
SmoothingActions. m turns smoothing back on at the last weight chosen.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from textual.binding import Binding

from grok_tui.tui.views import smoothing

if TYPE_CHECKING:
    from grok_tui.tui.views.curves import AxisOptions

SMOOTHING_BINDINGS = [
    Binding(
        "m",
        "toggle_smoothing",
        "Smooth",
        id="app.smooth",
        tooltip="Toggle smoothing\nEMA over the curves; raw stays visible",
    ),
    Binding(
        "greater_than_sign",
        "smoothing(1)",
        "Smoother",
        show=False,
        id="app.smoother",
        tooltip="Smooth more\nThe next EMA weight: 0.6, 0.8, 0.9, 0.95, 0.99 (>)",
    ),
    Binding(
        "less_than_sign",
        "smoothing(-1)",
        "Smooth less",
        show=False,
        id="app.smooth_less",
        tooltip="Smooth less\nThe EMA weight before this one; below 0.6: off (<)",
    ),
]

SMOOTHING_ACTIONS = frozenset({"toggle_smoothing", "smoothing"})  # on curve screens only


class SmoothingActions:
    """The actions of SMOOTHING_BINDINGS, for the app (which keeps ``axis_options``)."""

    axis_options: AxisOptions
    _smooth_weight = smoothing.DEFAULT  # the weight m turns smoothing on with

    if TYPE_CHECKING:

        def _set_axis_options(self, options: AxisOptions) -> None: ...

        def notify(self, message: str, *, timeout: float | None = None) -> None: ...

    def action_toggle_smoothing(self) -> None:
        on = self.axis_options.smoothing <= 0
        self._smooth(self._smooth_weight if on else 0.0)

    def action_smoothing(self, delta: int) -> None:
        self._smooth(smoothing.stepped(self.axis_options.smoothing, delta))

    def _smooth(self, weight: float) -> None:
        if weight > 0:
            self._smooth_weight = weight
        self._set_axis_options(replace(self.axis_options, smoothing=weight))
        self.notify(smoothing.described(weight), timeout=2)
