"""CPU threads shared among the runs that train at once in one runs directory.

Two CPU runs that each use every core oversubscribe them, and OpenMP's spinning
barriers then make each several times slower than its fair share: measured on a 2-core
machine, the quickstart MLP at 2 threads fell from ~140 to 12-20 steps/s next to other
busy training processes, while at 1 thread it did 53. So a CPU run takes
``cores // live CPU runs`` threads, counting itself, and looks again every
`interval` seconds (at an evaluation): when a neighbour ends, it grows back.

An explicit ``OMP_NUM_THREADS`` is left alone: sweeps set one per point, and a user who
sets it has chosen. Thread counts do not change results on the CPUs tested here (1 and 2
threads give bit-identical quickstart metrics), but torch does not promise that for
every operation.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

from grok_tui import store

INTERVAL_S = 10.0
RECENT_S = 120.0  # a running run rewrites its summary at every evaluation


def live_cpu_runs(runs_dir: Path, *, recent_s: float = RECENT_S) -> int:
    """How many processes train runs of runs_dir (sweep points included) on this host's
    CPU now: a vectorised group's members share one process, so they count once.

    Only summaries written in the last `recent_s` seconds are read, so the scan stays a
    few stat() calls per run however long the history is.
    """
    now, host = time.time(), socket.gethostname()
    trainers: set[Any] = set()
    for run in store.iter_run_dirs(runs_dir):
        try:
            if now - run.summary_path.stat().st_mtime > recent_s:
                continue
        except OSError:
            continue
        summary = run.summary()
        if (
            summary.get("device") == "cpu"
            and summary.get("host") == host
            and store.effective_status(summary) == store.RUNNING
        ):
            group = summary.get("group")
            group_id = group.get("id") if isinstance(group, dict) else None
            trainers.add(("group", str(group_id)) if group_id else ("run", run.path))
    return len(trainers)


def share(cores: int, live: int) -> int:
    """Threads for one of `live` CPU runs (itself included) on `cores` cores."""
    return max(1, cores // max(1, live))


class ThreadShare:
    """A sink: sets torch's intra-op threads to this run's share of the cores."""

    def __init__(self, runs_dir: Path, *, cores: int | None = None, interval: float = INTERVAL_S):
        self.runs_dir = Path(runs_dir)
        self.cores = cores or os.cpu_count() or 1
        self.interval = interval
        self.active = False
        self.last = -float("inf")
        self.threads: int | None = None

    def on_start(self, info: dict[str, Any]) -> None:
        self.active = info.get("device") == "cpu" and "OMP_NUM_THREADS" not in os.environ
        self.last = -float("inf")

    def on_record(self, record: dict[str, Any], summary: dict[str, Any]) -> None:
        if not self.active or time.monotonic() - self.last < self.interval:
            return
        self.last = time.monotonic()
        threads = share(self.cores, live_cpu_runs(self.runs_dir))
        if threads != self.threads:
            import torch

            torch.set_num_threads(threads)
            self.threads = threads

    def on_checkpoint(self, state: dict[str, Any]) -> None:
        pass

    def on_end(self, summary: dict[str, Any]) -> None:
        pass
