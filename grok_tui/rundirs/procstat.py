"""A run's system figures as the TUI shows them: its process's CPU and memory, its GPU's.

Read from outside the run, so that watching never slows it: ``/proc/PID/stat`` and
``/proc/PID/statm`` (two small reads, no psutil), and ``nvidia-smi`` for the device
(started by launch.query_gpu, at most every few seconds, off the UI thread). The
parsing is pure and takes the text, so that tests feed it crafted /proc and
nvidia-smi output. Torch-free; a run on another host has no figures here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grok_tui.rundirs import ownership, store

PROC = Path("/proc")
GPU_EVERY_S = 5.0  # nvidia-smi takes tens of ms and a CPU: no more often than this
MIB = 1024 * 1024


@dataclass(frozen=True)
class ProcSample:
    """One look at a process: its start (a reused pid is another process), CPU ticks and RSS."""

    started: int  # clock ticks since boot
    ticks: int  # user + system CPU time, in clock ticks
    rss_pages: int


@dataclass(frozen=True)
class ProcFigures:
    """What the status line shows of a process: CPU (None until two looks) and RSS."""

    cpu_percent: float | None
    rss_bytes: int


@dataclass(frozen=True)
class GpuFigures:
    """A device's utilisation (None where nvidia-smi says N/A) and memory, in MiB."""

    utilisation: float | None
    used_mib: float
    total_mib: float


def parse_stat(text: str) -> tuple[int, int] | None:
    """(start time, utime + stime) from /proc/PID/stat; None for a zombie or damaged text.

    The command name (field 2) is in parentheses and may itself hold spaces and ')':
    the fields are counted after the last ')'.
    """
    _, paren, rest = text.rpartition(")")
    fields = rest.split()
    if not paren or len(fields) < 20 or fields[0] == "Z":
        return None
    try:
        return int(fields[19]), int(fields[11]) + int(fields[12])
    except ValueError:
        return None


def parse_statm(text: str) -> int | None:
    """Resident pages from /proc/PID/statm (its second field)."""
    fields = text.split()
    try:
        return int(fields[1]) if len(fields) >= 2 else None
    except ValueError:
        return None


def cpu_percent(before: ProcSample, after: ProcSample, seconds: float, hz: int) -> float | None:
    """CPU use between two looks, as top counts it (200 is two cores busy); None when
    the two are not the same process or no time passed."""
    if before.started != after.started or seconds <= 0 or after.ticks < before.ticks:
        return None
    return 100.0 * (after.ticks - before.ticks) / hz / seconds


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None  # "[N/A]", "[Not Supported]"


def parse_gpu(text: str) -> GpuFigures | None:
    """The first line of ``nvidia-smi --query-gpu=utilization.gpu,memory.used,memory.total
    --format=csv,noheader,nounits``: "45, 2048, 81559"; None when it says no memory."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    parts = [p.strip() for p in line.split(",")]
    if len(parts) != 3:
        return None
    util, used, total = (_number(p) for p in parts)
    if used is None or total is None or total <= 0:
        return None
    return GpuFigures(util, used, total)


def gpu_id(device: Any, visible: str | None) -> str | None:
    """What ``nvidia-smi -i`` takes for a run's device ("cuda", "cuda:1"), None off CUDA.

    Inside the run, cuda:N is the N-th of its CUDA_VISIBLE_DEVICES (an index or a UUID,
    as nvidia-smi takes them) when that is set.
    """
    if not isinstance(device, str) or device.split(":")[0] != "cuda":
        return None
    _, _, number = device.partition(":")
    index = int(number) if number.isdigit() else 0
    if visible is None:
        return str(index)
    chosen = [v.strip() for v in visible.split(",") if v.strip()]
    return chosen[index] if index < len(chosen) else None


def visible_devices(environ: bytes) -> str | None:
    """CUDA_VISIBLE_DEVICES from /proc/PID/environ ("\\0"-separated), None when unset."""
    for entry in environ.split(b"\0"):
        name, eq, value = entry.partition(b"=")
        if eq and name == b"CUDA_VISIBLE_DEVICES":
            return value.decode(errors="replace")
    return None


def _size(nbytes: float) -> str:
    for unit, size in (("G", 1024**3), ("M", MIB)):
        if nbytes >= size:
            value = nbytes / size
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
    return f"{nbytes / 1024:.0f}K"


def figures_text(proc: ProcFigures | None, gpu: GpuFigures | None) -> str:
    """The line's figures, as ``CPU 98% RSS 312M · GPU 45% 2.0G/80G``: the parts known
    (capitals: the status line also names the device, "cpu" or "cuda")."""
    parts = []
    if proc is not None:
        cpu = "" if proc.cpu_percent is None else f"CPU {proc.cpu_percent:.0f}% "
        parts.append(f"{cpu}RSS {_size(proc.rss_bytes)}")
    if gpu is not None:
        util = "" if gpu.utilisation is None else f" {gpu.utilisation:.0f}%"
        parts.append(f"GPU{util} {_size(gpu.used_mib * MIB)}/{_size(gpu.total_mib * MIB)}")
    return " · ".join(parts)


def local_pid(summary: dict[str, Any]) -> int | None:
    """The pid of the process that trains a run, when it is on this host; else None."""
    owner = store.owner_of(summary)
    if owner is None or not ownership.is_local(owner) or owner.pid <= 0:
        return None
    return owner.pid


def _read(path: Path, limit: int = 4096) -> bytes | None:
    try:
        with path.open("rb") as f:
            return f.read(limit)
    except OSError:
        return None


class ProcSampler:
    """Looks at processes in /proc; CPU use is the tick delta since the last look."""

    def __init__(self, proc: Path = PROC, clock: Callable[[], float] = time.monotonic) -> None:
        self.proc = proc
        self.clock = clock
        self.hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        self._last: dict[int, tuple[ProcSample, float, float | None]] = {}

    def read(self, pid: int) -> ProcSample | None:
        stat, statm = _read(self.proc / str(pid) / "stat"), _read(self.proc / str(pid) / "statm")
        parsed = parse_stat(stat.decode(errors="replace")) if stat else None
        pages = parse_statm(statm.decode(errors="replace")) if statm else None
        if parsed is None or pages is None:
            return None
        return ProcSample(parsed[0], parsed[1], pages)

    def sample(self, pid: int) -> ProcFigures | None:
        """The process's figures now; None when it is gone. Looks closer together than
        half a second keep the last CPU figure (a tick is 10 ms: too coarse for less)."""
        now, sample = self.clock(), self.read(pid)
        if sample is None:
            self._last.pop(pid, None)
            return None
        cpu = None
        last = self._last.get(pid)
        if last is not None and last[0].started == sample.started and now - last[1] < 0.5:
            return ProcFigures(last[2], sample.rss_pages * self.page)
        if last is not None:
            cpu = cpu_percent(last[0], sample, now - last[1], self.hz)
        self._last[pid] = (sample, now, cpu)
        return ProcFigures(cpu, sample.rss_pages * self.page)

    def gpu_of(self, pid: int, device: Any) -> str | None:
        """The ``nvidia-smi -i`` id of the process's device, None when it is not on CUDA."""
        environ = _read(self.proc / str(pid) / "environ", 256 * 1024)
        return gpu_id(device, visible_devices(environ) if environ is not None else None)
