"""How often the app reads the runs it follows and Live redraws their curves.

One value handed to the app (``GrokApp(pacing=...)``) rather than module constants, so
that a test paces its app explicitly and production keeps these defaults.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Pacing:
    """The app's clocks, in seconds.

    Polls are every ``poll_s`` while a live run has no record yet (its first record is
    shown at once) and every ``settled_poll_s`` otherwise: reading 4 busy runs twice a
    second was about half of the TUI's CPU while following them.

    Busy runs bring new records at every poll; redrawing the plotext panes for each is
    most of the TUI's CPU time (about 20% of a core following 4 runs that evaluate twice a
    second), so new data is drawn at most every ``data_redraw_s``, and less often (up to
    ``max_redraw_s``) while the process would otherwise use more than ``cpu_budget`` of
    one core. Keys, resizes and status changes redraw at once.
    """

    poll_s: float = 0.25
    settled_poll_s: float = 1.0
    data_redraw_s: float = 2.0
    max_redraw_s: float = 10.0
    cpu_budget: float = 0.025


class RedrawPace:
    """How long new records wait before their curves are drawn: data_redraw_s, or longer
    (up to max_redraw_s) in proportion to the process's CPU share between two draws over
    cpu_budget (drawing is most of it, so the share falls in proportion)."""

    def __init__(
        self,
        pacing: Pacing | None = None,
        clock: Callable[[], float] = time.monotonic,
        cpu_clock: Callable[[], float] = time.process_time,
    ) -> None:
        self.pacing = pacing or Pacing()
        self.clock, self.cpu_clock = clock, cpu_clock
        self.interval = self.pacing.data_redraw_s
        self._last: tuple[float, float] | None = None

    def drawing(self) -> None:
        """A data redraw starts: the share since the last one sets the next interval."""
        pacing = self.pacing
        now, cpu = self.clock(), self.cpu_clock()
        if self._last is not None and now > self._last[0]:
            share = (cpu - self._last[1]) / (now - self._last[0])
            wanted = self.interval * share / pacing.cpu_budget
            self.interval = min(pacing.max_redraw_s, max(pacing.data_redraw_s, wanted))
        self._last = (now, cpu)
