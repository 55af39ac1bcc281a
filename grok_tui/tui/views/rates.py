"""A run's speed now and the time it has left, from its latest records.

A run's speed changes while it trains: when other runs end it gets more threads (or a
GPU to itself) and goes twice as fast. The summary's steps_per_s is smoothed over the
evaluations (a weight of 0.3 each) and lags such a change by several of them; the
rate over the last few records follows it as soon as those records are at the new
speed, and one slow interval (a checkpoint) moves it by its share only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grok_tui.tui.views.curves import finite

RECENT = 4  # record intervals the recent rate is measured over


def recent_rate(records: Sequence[dict[str, Any]], intervals: int = RECENT) -> float | None:
    """Steps per second over the last ``intervals`` record intervals (step and elapsed_s
    of the records); None when fewer than two records tell it."""
    timed = [
        (r["step"], r["elapsed_s"])
        for r in records[-(intervals + 1) * 2 :]
        if finite(r.get("step")) and finite(r.get("elapsed_s"))
    ][-(intervals + 1) :]
    if len(timed) < 2:
        return None
    (step0, time0), (step1, time1) = timed[0], timed[-1]
    if step1 <= step0 or time1 <= time0:
        return None
    return (step1 - step0) / (time1 - time0)


def run_rate(summary: dict[str, Any], records: Sequence[dict[str, Any]]) -> float | None:
    """The speed to show and to count the ETA with: the recent rate of the records, else
    the summary's (a run with one record yet, or records without a clock)."""
    rate = recent_rate(records)
    if rate is not None:
        return rate
    speed = summary.get("steps_per_s")
    return float(speed) if finite(speed) and speed > 0 else None


def eta_seconds(summary: dict[str, Any], records: Sequence[dict[str, Any]]) -> float | None:
    """Seconds left at the run's recent speed, or None when it cannot be told."""
    steps, step, rate = summary.get("steps"), summary.get("step"), run_rate(summary, records)
    if not (finite(steps) and finite(step)) or rate is None:
        return None
    return max(0.0, (steps - step) / rate)
