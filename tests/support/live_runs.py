"""Runs that Live shows as running without a process: their summary names this very
test process as their trainer (host, pid and start time), so that the quick tier's TUI
tests see live runs and read real /proc figures, and nothing is ever signalled (the
test process holds no run's lock: launch.stop_run leaves it alone)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from grok_tui.rundirs import ownership, store
from tests.support.crafted import plant_run
from tests.support.fake_trainer import curve_record


def running_summary(name: str, steps: int = 1000, **extra: Any) -> dict[str, Any]:
    """A running run's summary, its owner this process (``host`` overrides the host)."""
    me = ownership.my_identity()
    host = extra.pop("host", me.host)
    owner = {**me.as_dict(), "host": host}
    return {
        "run_id": name,
        "name": name,
        "status": "running",
        "steps": steps,
        "step": steps // 2,
        "device": "cpu",
        "pid": me.pid,
        "host": host,
        "owner": owner,
        "steps_per_s": 10.0,
        "created_at": store.now_iso(),
        "started_at": store.now_iso(),
        **extra,
    }


def plant_live(runs: Path, name: str, steps: int = 1000, **extra: Any) -> store.RunDir:
    """A running run (this process its trainer) with records up to half its steps."""
    records = [curve_record(s, steps, s / 10) for s in range(10, steps // 2 + 1, 10)]
    return plant_run(runs, name, running_summary(name, steps, **extra), records)


def plant_ended(runs: Path, name: str, status: str = "completed", **extra: Any) -> store.RunDir:
    """An ended run (a finished sweep point)."""
    summary = {**running_summary(name, **extra), "status": status, "step": 1000}
    records = [curve_record(s, 1000, s / 10) for s in range(10, 1001, 10)]
    return plant_run(runs, name, summary, records)


def end(run: store.RunDir, status: str = "completed") -> None:
    """The run ends as its trainer would leave it."""
    store.update_summary(run.path, status=status, ended_at=store.now_iso())


def elsewhere() -> str:
    return socket.gethostname() + "-elsewhere"
