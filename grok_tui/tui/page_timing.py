"""How long a run's page takes to draw, in process: ``grok-tui bench --scale`` times the
long run's page with it (issue 34: a 200,000-record run's page in well under a second).

The app is the real one (GrokApp, its poll and all), driven headless by Textual's
Pilot; the clock starts when the run's page is pushed and stops at the first frame whose
panes hold curves (``first_s``: a long run's sample), then when every record is drawn
(``complete_s``). The process's CPU seconds and resident memory go with them.
"""

from __future__ import annotations

import asyncio
import os
import resource
import time
from pathlib import Path
from typing import Any

from grok_tui.rundirs import store
from grok_tui.rundirs.procstat import ProcSampler


def _rss_mb() -> float:
    """The process's resident memory now (MB), from /proc; its peak where /proc is missing."""
    sample = ProcSampler().read(os.getpid())
    if sample is not None:
        return sample.rss_pages * resource.getpagesize() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_run_page(
    run_path: str | Path, size: tuple[int, int] = (120, 40), timeout: float = 60.0
) -> dict[str, Any]:
    """Open the run at ``run_path`` on its page and time it: {"records", "first_s",
    "complete_s", "cpu_s", "rss_mb" (with the page open), "rss_before_mb"}."""
    from grok_tui.tui.app import GrokApp
    from grok_tui.tui.screens.run import RunScreen
    from grok_tui.tui.widgets.curve_pane import CurvePane

    run = store.RunDir(Path(run_path))
    info = store.run_info(run)
    app = GrokApp(run.path.parent, [], start_queue=lambda _runs_dir: None)
    result: dict[str, Any] = {}

    def drawn(screen: RunScreen) -> bool:
        return any(s.points for pane in screen.query(CurvePane) for s in pane.series)

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            result["rss_before_mb"] = _rss_mb()
            screen = RunScreen(info)
            wall, cpu = time.perf_counter(), time.process_time()
            await app.push_screen(screen)
            deadline = wall + timeout
            while not drawn(screen) and time.perf_counter() < deadline:
                await pilot.pause(0.005)
            result["first_s"] = time.perf_counter() - wall
            while not (screen.complete and drawn(screen)) and time.perf_counter() < deadline:
                await pilot.pause(0.005)
            await pilot.pause()
            result["complete_s"] = time.perf_counter() - wall
            result["cpu_s"] = time.process_time() - cpu
            result["records"] = len(screen.columns)
            result["rss_mb"] = _rss_mb()

    asyncio.run(main())
    return result
