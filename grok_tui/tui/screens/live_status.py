"""Live's two top lines: the runs bar, and the system figures of its status line.

The bar lists the live runs and the one shown; the ended ones fold into "+N ended"
(views/runs_bar.py). The status line ends with the shown run's CPU and memory, read
from /proc at the app's poll, and on a GPU its device's use and memory, read with
nvidia-smi in a thread every GPU_EVERY_S at most (grok_tui/rundirs/procstat.py): the
TUI reads them, the run does nothing for them. A run on another host has none.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from rich.text import Text

from grok_tui.rundirs import launch, procstat
from grok_tui.rundirs.watch import LIVE_STATUSES, RunFollower
from grok_tui.text import safe_text
from grok_tui.tui.views import runs_bar
from grok_tui.tui.widgets.run_table import STATUS_STYLES

if TYPE_CHECKING:
    from textual.timer import Timer

    from grok_tui.tui.workbench import Workbench


class LiveLike(Protocol):
    """What SystemFigures needs of the Live screen."""

    @property
    def workbench(self) -> Workbench: ...

    @property
    def app(self) -> Any: ...

    def target(self) -> RunFollower | None: ...

    def show_status(self, follower: RunFollower) -> None: ...

    def set_interval(self, interval: float, callback: Callable[[], Any]) -> Timer: ...

    def run_worker(self, work: Callable[[], Any], **kwargs: Any) -> Any: ...


def bar_line(
    followers: list[RunFollower], current: RunFollower | None, name: Callable[[RunFollower], str]
) -> Text:
    """The runs bar: each live run (and the shown one) by its number, then "+N ended"."""
    if not followers:
        return Text("Live runs: none", style="dim")
    runs = [(f.run_id, f.status) for f in followers]
    shown = runs_bar.bar_runs(runs, current.run_id if current else None, LIVE_STATUSES)
    parts: list[Any] = [("runs ", "dim")]
    for index in shown:
        follower = followers[index]
        style = STATUS_STYLES.get(follower.status, "")
        label = f" {index + 1}:{name(follower)} {safe_text(follower.status)} "
        is_current = current is not None and follower.run_id == current.run_id
        parts.append((label, f"reverse {style}".strip() if is_current else style))
    if len(followers) > len(shown):
        parts.append((f" +{len(followers) - len(shown)} ended", "dim"))
    parts.append(("  [ ] switch · v overview", "dim"))
    return Text.assemble(*parts)


class SystemFigures:
    """The shown run's system figures, kept up to date while Live shows it."""

    def __init__(self, screen: LiveLike) -> None:
        self.screen = screen
        self.sampler = procstat.ProcSampler()
        self._timer: Timer | None = None
        self._proc: dict[int, procstat.ProcFigures | None] = {}
        self._gpu_ids: dict[int, str | None] = {}
        self._gpu: dict[str, procstat.GpuFigures | None] = {}
        self._gpu_asked: dict[str, float] = {}

    def text(self, follower: RunFollower) -> Text:
        """What the status line ends with: " · cpu 98% mem 312M · gpu 45% 2.0G/80G"."""
        if self._timer is None:
            pacing = self.screen.workbench.pacing
            self._timer = self.screen.set_interval(
                max(pacing.poll_s, pacing.settled_poll_s), self.tick
            )
        pid = self._pid(follower)
        if pid is None:
            return Text("")
        gpu_id = self._gpu_ids.get(pid)
        figures = procstat.figures_text(self._proc.get(pid), self._gpu.get(gpu_id or ""))
        return Text(f" · {figures}") if figures else Text("")

    @staticmethod
    def _pid(follower: RunFollower) -> int | None:
        if follower.status not in LIVE_STATUSES:
            return None
        return procstat.local_pid(follower.summary)

    def tick(self) -> None:
        """At the app's poll: look at the shown run's process, ask for its GPU's figures."""
        follower = self.screen.target()
        if follower is None:
            return
        pid = self._pid(follower)
        if pid is None:
            return
        before = self.text(follower)
        self._proc[pid] = self.sampler.sample(pid)
        if pid not in self._gpu_ids:
            self._gpu_ids[pid] = self.sampler.gpu_of(pid, follower.summary.get("device"))
        gpu_id = self._gpu_ids[pid]
        now = time.monotonic()
        if gpu_id is not None and now - self._gpu_asked.get(gpu_id, -1e9) >= procstat.GPU_EVERY_S:
            self._gpu_asked[gpu_id] = now
            self.screen.run_worker(
                lambda: self._ask_gpu(gpu_id),
                thread=True,
                exit_on_error=False,
                group="gpu-figures",
            )
        if self.text(follower) != before:
            self.screen.show_status(follower)

    def _ask_gpu(self, gpu_id: str) -> None:
        """In a thread: nvidia-smi takes tens of milliseconds."""
        out = launch.query_gpu(gpu_id)
        figures = procstat.parse_gpu(out) if out else None
        with contextlib.suppress(RuntimeError):  # the app closed meanwhile
            self.screen.app.call_from_thread(self._got_gpu, gpu_id, figures)

    def _got_gpu(self, gpu_id: str, figures: procstat.GpuFigures | None) -> None:
        self._gpu[gpu_id] = figures
        follower = self.screen.target()
        if follower is not None:
            self.screen.show_status(follower)
