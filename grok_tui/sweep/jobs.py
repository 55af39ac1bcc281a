"""What a sweep's executors share: a point to train, how it ended, the executor protocol.

Apart from executor.py so that groups.py (which plans vectorised groups of jobs),
progress.py (which reads the jobs an executor runs) and the Ray executor depend on the
job types without depending on the process executor, nor it on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from grok_tui.rundirs import store

# Results: a resumed sweep never trains these again.
DONE_STATUSES = (store.COMPLETED, store.DIVERGED)
NOT_STARTED = "not started"


@dataclass(frozen=True)
class PointJob:
    """One point to train: its number in the sweep, its label and its run directory."""

    index: int
    label: str
    run: store.RunDir


@dataclass
class PointResult:
    """How a point ended. ``exit_code`` is None for a point that was never started."""

    job: PointJob
    status: str
    exit_code: int | None
    summary: dict[str, Any] = field(default_factory=dict)
    device: str | None = None
    wall_s: float = 0.0

    @property
    def started(self) -> bool:
        return self.exit_code is not None


# on_poll(running units, queued units or points, results so far): an executor's loop
# calls it once per poll; it must not block (sweep/progress.py reads a few summaries).
PollHook = Callable[[Sequence[Sequence[PointJob]], Iterable[Any], Sequence[PointResult]], None]


class Executor(Protocol):
    """Trains the run directories of sweep points."""

    def run(
        self, jobs: Sequence[PointJob], on_done: Callable[[PointResult], None]
    ) -> list[PointResult]:
        """Train every job (or until stop()); one result per job, started or not."""
        ...

    def stop(self) -> None:
        """Ask for a clean stop: running points checkpoint as stopped, no new one starts.

        Called from a signal handler: it must only set state. A second call may be harsher.
        """
        ...
