"""Which runs Live's runs bar lists, and which run Live follows when the shown one ends.

A sweep of 64 points leaves 60 ended runs among the followed ones: the bar lists the
live runs (and the one shown), and the ended ones fold into one "+60 ended" entry. When
the shown run ends, Live moves on to the next live run, unless it crashed or failed:
then it stays, its error and log on screen. Runs are (run id, status) pairs, in the
order the app follows them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

Run = tuple[str, str]  # (run id, status)

STAY_ON = frozenset({"crashed", "failed"})  # an ending to read: Live does not move on


def bar_runs(runs: Sequence[Run], current: str | None, live: Collection[str]) -> list[int]:
    """Positions (in ``runs``) of the runs the bar lists: the live ones and the current one."""
    return [i for i, (run_id, status) in enumerate(runs) if status in live or run_id == current]


def cycled(
    runs: Sequence[Run], current: str | None, delta: int, live: Collection[str]
) -> str | None:
    """The run [ or ] shows: the next one of the bar's, or of all runs when none is live."""
    listed = [runs[i][0] for i in bar_runs(runs, current, live)]
    if not any(status in live for _, status in runs):
        listed = [run_id for run_id, _ in runs]
    if not listed:
        return None
    index = listed.index(current) if current in listed else (-1 if delta > 0 else 0)
    return listed[(index + delta) % len(listed)]


def next_live(runs: Sequence[Run], after: str, live: Collection[str]) -> str | None:
    """The first live run after ``after`` in the followed order (wrapping), None if none."""
    ids = [run_id for run_id, _ in runs]
    start = ids.index(after) + 1 if after in ids else 0
    for run_id, status in (*runs[start:], *runs[:start]):
        if status in live and run_id != after:
            return run_id
    return None


@dataclass
class Following:
    """The run Live showed at its last look, and whether it was live then."""

    run_id: str | None = None
    live: bool = False

    def look(self, runs: Sequence[Run], current: str | None, live: Collection[str]) -> str | None:
        """The run to show now: the current one, or the next live run where the current
        one was live at the last look and has ended since (not crashed or failed)."""
        status = dict(runs).get(current or "")
        shown = current
        if (
            status is not None
            and current == self.run_id
            and self.live
            and status not in live
            and status not in STAY_ON
            and status != "unknown"
        ):
            shown = next_live(runs, current, live) or current
        self.run_id = shown
        self.live = dict(runs).get(shown or "") in live
        return shown
