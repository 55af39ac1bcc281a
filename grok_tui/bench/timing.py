"""Timing a loop fairly: device-synchronised rounds, steps/s, and the machine's other load.

A figure is the median of a loop's timed rounds; each round also records how busy
other processes kept the machine's CPUs (Linux), so that a contended figure shows as such.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from dataclasses import dataclass, field

import torch

from grok_tui.bench.loops import BaselineLoop, EngineLoop
from grok_tui.training.models import count_parameters


def cpu_busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (Linux), else None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


def synchronize(device: torch.device) -> None:
    """Wait for queued device work, so that a host timer reads the real time."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@dataclass
class Timed:
    name: str
    model: str  # "transformer" or "mlp"
    kind: str  # "engine", "baseline", "engine+graphs" or "engine+compile"
    loop: EngineLoop | BaselineLoop
    steps_per_round: int
    rates: list[float] = field(default_factory=list)
    # share of the machine's CPUs that other processes kept busy during each round
    others_load: list[float] = field(default_factory=list)

    @property
    def param_count(self) -> int:
        return count_parameters(self.loop.model)

    @property
    def median(self) -> float:
        return statistics.median(self.rates) if self.rates else math.nan

    def round(self, timed: bool) -> None:
        device = self.loop.device
        synchronize(device)
        busy, own = cpu_busy_seconds(), time.process_time()
        start = time.perf_counter()
        self.loop.run(self.steps_per_round)
        synchronize(device)
        elapsed = time.perf_counter() - start
        if timed:
            self.rates.append(self.steps_per_round / elapsed)
            busy_after = cpu_busy_seconds()
            if busy is not None and busy_after is not None:
                others = (busy_after - busy) - (time.process_time() - own)
                cpus = os.cpu_count() or 1
                self.others_load.append(min(1.0, max(0.0, others / (cpus * elapsed))))
