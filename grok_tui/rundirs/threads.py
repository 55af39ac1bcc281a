"""CPU threads for a training process: as many as the CPUs free for it now, no more.

On a shared machine other people's processes hold cores, and a run that takes a thread
for a core someone else is using makes OpenMP's spinning barriers wait on it: measured on
a 2-core machine at load 6-9, the quickstart did 2-6 steps/s with torch's default 2
threads against 31-40 with 1. So a CPU run (or a vectorised group's process) counts the
CPUs free for it and takes that many threads:

- the CPUs it may use: its affinity (``taskset``, a cpuset), and its cgroup's CPU quota
  (cgroup v2 ``cpu.max``, v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``, the smallest
  on the way from its cgroup to the root);
- less what other processes keep busy on them: busy time of those CPUs in ``/proc/stat``
  between two looks, minus this process's own CPU time and that of the other grok-tui CPU
  runs of its runs folder (the load average stands in where /proc/stat cannot be read);
- shared equally with those other runs, as before (``free / live runs``);
- no more than the model can use: about one thread per WORK_PER_THREAD parameter-rows
  a step (a tiny model gains nothing from a second thread).

A thread is taken when at least TAKE (0.8) of a CPU is free for it and kept while KEEP
(0.65) is: too many threads cost up to 20x, too few at most the missing threads' share,
and a run's own surplus threads take time from the others, who then look less busy than
they would be (one busy loop beside 2 threads on 2 CPUs gets ~0.67 of a CPU). The choice
is made before the first step (over a window of at least FIRST_LOOK_S, which
``look_ahead`` starts before torch's import, so that it is there already) and looked at
again at evaluations, every INTERVAL_S at most (a few reads of /proc: well under a
millisecond); the trainer's call (torch.set_num_threads) applies a change. The summary says it
(``threads: {"n": 1, "why": "2 CPUs, 1.9 busy with other processes"}``).

An explicit ``OMP_NUM_THREADS`` is left alone: sweeps set one per point, and a user who
sets it has chosen. Thread counts do not change results on the CPUs tested here (1 and 2
threads give bit-identical quickstart metrics), but torch does not promise that for
every operation.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grok_tui.rundirs import store

INTERVAL_S = 2.0  # the load is looked at (at an evaluation) at most this often
RUNS_EVERY_S = 10.0  # the runs folder is scanned for the other live runs at most this often
FIRST_LOOK_S = 0.25  # the shortest window for the choice made before the first step
RECENT_S = 120.0  # a running run rewrites its summary at every evaluation
AHEAD_S = 60.0  # a window look_ahead started longer ago is not this run's start
# Parameters x batch rows (about a sixth of the FLOPs of a training step) that make one
# more thread worth its fork-join cost: ~25 MFLOP, ~1 ms of one core. An estimate, not a
# measurement on a quiet many-core machine: the quickstart (80 M) gets any count the
# CPUs allow, a model of 6 k parameters at batch 64 (0.4 M) one thread.
WORK_PER_THREAD = 4_000_000
TAKE = 0.8  # a thread is taken when this much of a CPU is free for it
KEEP = 0.65  # and kept while this much is
MIN_TICKS = 10  # a window shorter than 0.1 s (in ticks of each CPU) tells nothing
_CLK_TCK = 100  # USER_HZ: /proc/stat and /proc/PID/stat count in 1/100 s on Linux
_CGROUP = Path("/sys/fs/cgroup")


def live_cpu_trainers(runs_dir: Path, *, recent_s: float = RECENT_S) -> dict[Any, int | None]:
    """The processes that train runs of runs_dir (sweep points included) on this host's
    CPU now, each with its pid: a vectorised group's members share one process, so they
    count once.

    Only summaries written in the last `recent_s` seconds are read, so the scan stays a
    few stat() calls per run however long the history is.
    """
    now, host = time.time(), socket.gethostname()
    trainers: dict[Any, int | None] = {}
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
            key = ("group", str(group_id)) if group_id else ("run", run.path)
            owner = store.owner_of(summary)
            trainers[key] = owner.pid if owner is not None else None
    return trainers


def live_cpu_runs(runs_dir: Path, *, recent_s: float = RECENT_S) -> int:
    """How many processes train runs of runs_dir on this host's CPU now."""
    return len(live_cpu_trainers(runs_dir, recent_s=recent_s))


def share(cores: int, live: int) -> int:
    """Threads for one of `live` CPU runs (itself included) on `cores` idle cores."""
    return max(1, cores // max(1, live))


def model_threads(param_count: Any, batch_size: Any, members: int = 1) -> int | None:
    """The most threads a step of this size keeps busy (None: size unknown)."""
    if not isinstance(param_count, int) or not isinstance(batch_size, int):
        return None
    return max(1, param_count * batch_size * max(1, members) // WORK_PER_THREAD)


# ------------------------------------------------------------------ the kernel's figures


def _read(path: str | Path, limit: int = 256 * 1024) -> str | None:
    """A small file of /proc or /sys as text, None when it cannot be read."""
    try:
        with open(path, "rb") as f:  # noqa: PTH123 - the kernel's CPU figures, not a run's file
            return f.read(limit).decode("ascii", errors="replace")
    except OSError:
        return None


def proc_stat() -> str | None:
    return _read("/proc/stat")


def proc_stat_cpus(text: str | None) -> dict[int, tuple[int, int]]:
    """``cpuN`` lines of /proc/stat: CPU -> (busy, total) clock ticks since boot.

    Busy is user, nice, system, irq, softirq and steal (time the hypervisor gave to
    another machine is not ours either); guest time is already inside user."""
    cpus: dict[int, tuple[int, int]] = {}
    for line in (text or "").splitlines():
        if not line.startswith("cpu") or line.startswith("cpu "):
            continue
        name, *values = line.split()
        try:
            cpu = int(name[3:])
            ticks = [int(v) for v in values[:8]] + [0] * (8 - len(values[:8]))
        except ValueError:
            continue
        user, nice, system, idle, iowait, irq, softirq, steal = ticks
        busy = user + nice + system + irq + softirq + steal
        cpus[cpu] = (busy, busy + idle + iowait)
    return cpus


def process_cpu_s(pid: int) -> float | None:
    """CPU seconds process `pid` has used (all its threads), from /proc/PID/stat."""
    text = _read(f"/proc/{pid}/stat", 4096)
    if not text:
        return None
    try:
        fields = text.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime, stime
    except (IndexError, ValueError):
        return None


def allowed_cpus() -> set[int]:
    """The CPUs this process may run on."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS, Windows
        return set(range(os.cpu_count() or 1))


def _cgroup_dirs(controller: str, mount: Path, membership: str) -> list[Path]:
    """This process's cgroup folder for `controller` and its parents up to the mount
    (v1 when `controller` names a v1 hierarchy, else v2), those that exist.
    `membership`: /proc/self/cgroup."""
    path, root = None, mount
    for line in membership.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if controller and controller in parts[1].split(","):
            path, root = parts[2], mount / controller
            break
        if not controller and parts[0] == "0" and parts[1] == "":
            path = parts[2]
    if path is None:
        return []
    # inside a container the path may be the host's, above the mount: only its root exists
    found, here = [], root / path.strip("/")
    while True:
        if here.is_dir():
            found.append(here)
        if here in (root, here.parent):
            return found
        here = here.parent


def cgroup_cpus(
    mount: Path = _CGROUP, membership: str | None = None
) -> tuple[float | None, float | None]:
    """(the CPU quota in CPUs, the CPU seconds used under it) of this process's cgroup:
    the smallest quota between its cgroup and the root; (None, None) without one.
    `mount` and `membership` (/proc/self/cgroup's text) are for tests."""
    if membership is None:
        membership = _read("/proc/self/cgroup", 64 * 1024) or ""
    best: tuple[float, Path, str] | None = None
    for folder in _cgroup_dirs("", mount, membership):  # v2: "max 100000" or "150000 100000"
        fields = (_read(folder / "cpu.max", 256) or "").split()
        if len(fields) == 2 and fields[0] != "max":
            try:
                cpus = int(fields[0]) / int(fields[1])
            except (ValueError, ZeroDivisionError):
                continue
            if best is None or cpus < best[0]:
                best = (cpus, folder, "v2")
    for folder in _cgroup_dirs("cpu", mount, membership):  # v1: quota -1 means none
        try:
            quota = int((_read(folder / "cpu.cfs_quota_us", 64) or "x").strip())
            period = int((_read(folder / "cpu.cfs_period_us", 64) or "x").strip())
        except ValueError:
            continue
        if quota > 0 and period > 0 and (best is None or quota / period < best[0]):
            best = (quota / period, folder, "v1")
    if best is None:
        return None, None
    cpus, folder, version = best
    used = None
    if version == "v2":
        for line in (_read(folder / "cpu.stat", 4096) or "").splitlines():
            if line.startswith("usage_usec ") and line.split()[1].isdigit():
                used = int(line.split()[1]) / 1e6
    else:
        relative = folder.relative_to(mount / "cpu")
        for base in (mount / "cpuacct", mount / "cpu"):
            text = _read(base / relative / "cpuacct.usage", 64)
            if text and text.strip().isdigit():
                used = int(text) / 1e9
                break
    return cpus, used


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


@dataclass
class Machine:
    """Where the figures come from; tests pass fakes."""

    proc_stat: Callable[[], str | None] = proc_stat
    affinity: Callable[[], set[int]] = allowed_cpus
    cgroup: Callable[[], tuple[float | None, float | None]] = cgroup_cpus
    own_cpu_s: Callable[[], float] = time.process_time
    process_cpu_s: Callable[[int], float | None] = process_cpu_s
    load_average: Callable[[], float | None] = load_average
    clock: Callable[[], float] = time.monotonic


@dataclass
class Look:
    """One reading of the figures; two of them give a window's busy CPUs."""

    at: float
    cpus: dict[int, tuple[int, int]]
    own_s: float
    others_s: dict[int, float]  # the other grok-tui trainers' CPU seconds, by pid
    quota: float | None  # the cgroup's CPU quota, in CPUs
    cgroup_used_s: float | None  # CPU seconds its processes have used


@dataclass
class Free:
    """What a window says: the CPUs this process may use and how busy others keep them."""

    cpus: int
    quota: float | None
    busy: float  # CPUs kept busy by processes that are not grok-tui runs of this folder
    runs: int  # grok-tui CPU trainers of this folder, this one included
    cgroup_busy: float = 0.0  # of the quota, what other processes of the cgroup spend
    source: str = "stat"  # or "load average"
    free: float = field(init=False)  # CPUs free for this run

    def __post_init__(self) -> None:
        free = self.cpus - self.busy
        if self.quota is not None:
            free = min(free, self.quota - self.cgroup_busy)
        self.free = max(0.0, free) / max(1, self.runs)

    @property
    def usable(self) -> float:
        return float(self.cpus) if self.quota is None else min(float(self.cpus), self.quota)


def choose(free: Free, cap: int | None = None, current: int | None = None) -> dict[str, Any]:
    """Threads for one run: ``{"n": threads, "why": one line}``.

    A thread needs TAKE of a CPU free for it, one already running keeps its place while
    KEEP is; never more than the model keeps busy (`cap`), never fewer than one."""
    n = math.floor(free.free + 1 - TAKE + 1e-9)
    if current is not None and n < current and free.free >= current - (1 - KEEP) - 1e-9:
        n = current
    n = max(1, min(n, math.floor(free.usable + 1 - TAKE + 1e-9)))
    capped = cap is not None and n > cap
    if capped:
        n = max(1, cap or 1)
    why = f"{free.cpus} CPU{'s' if free.cpus != 1 else ''}"
    why += f", {free.busy:.1f} busy with other processes"
    if free.source != "stat":
        why += f" ({free.source})"
    if free.quota is not None and free.quota < free.cpus:
        why += f", cgroup quota {free.quota:g} CPUs"
        if free.cgroup_busy >= 0.05:
            why += f" ({free.cgroup_busy:.1f} used by its other processes)"
    if free.runs > 1:
        why += f", shared by {free.runs} grok-tui runs"
    if capped:
        why += f"; the model keeps {cap} busy"
    return {"n": n, "why": why}


class LoadMeter:
    """Busy CPUs between two looks, less this process and the other grok-tui runs."""

    def __init__(self, machine: Machine, pids: Any = ()) -> None:
        self.machine = machine
        self.last = self.look(pids)

    def look(self, pids: Any) -> Look:
        m = self.machine
        others = {pid: s for pid in pids if (s := m.process_cpu_s(pid)) is not None}
        quota, used = m.cgroup()
        return Look(m.clock(), proc_stat_cpus(m.proc_stat()), m.own_cpu_s(), others, quota, used)

    def window_s(self) -> float:
        return self.machine.clock() - self.last.at

    def measure(self, pids: Any, runs: int, current: int | None) -> Free | None:
        """Free CPUs since the last look, and the next window starts now; None (and the
        window goes on) when it is too short to tell."""
        m, before = self.machine, self.last
        now = self.look(pids)
        allowed = m.affinity() or {0}
        own = max(0.0, now.own_s - before.own_s)
        siblings = sum(
            max(0.0, s - before.others_s[pid])
            for pid, s in now.others_s.items()
            if pid in before.others_s  # a run first seen now counts as busy for one window
        )
        seen = [c for c in allowed if c in now.cpus and c in before.cpus]
        busy_ticks = sum(now.cpus[c][0] - before.cpus[c][0] for c in seen)
        total_ticks = sum(now.cpus[c][1] - before.cpus[c][1] for c in seen)
        if seen and total_ticks < MIN_TICKS * len(seen):
            return None
        self.last = now
        if total_ticks > 0:
            wall = total_ticks / _CLK_TCK / len(seen)  # seconds, by the kernel's clock
            busy = (busy_ticks / _CLK_TCK - own - siblings) / wall
            in_cgroup = 0.0
            if now.cgroup_used_s is not None and before.cgroup_used_s is not None:
                in_cgroup = (now.cgroup_used_s - before.cgroup_used_s - own - siblings) / wall
            return Free(
                len(allowed),
                now.quota,
                round(min(max(busy, 0.0), float(len(allowed))), 2),
                runs,
                cgroup_busy=round(max(in_cgroup, 0.0), 2),
            )
        # no /proc/stat (macOS): the load average counts runnable threads, ours too
        load = m.load_average()
        busy = 0.0 if load is None else max(0.0, load - (current or 1) - (runs - 1))
        busy = min(busy, float(len(allowed)))
        return Free(len(allowed), now.quota, round(busy, 2), runs, source="load average")


class ThreadShare:
    """A sink: sets torch's intra-op threads to the CPUs free for this process.

    Put it before the sinks that write or show the summary: it writes its choice into
    the summary they get (``threads``). ``members``: a vectorised group's size (its
    step does that many models' work). ``apply`` sets the threads and ``current`` reads
    them: torch's, handed in by the trainer (training/torch_threads.py), so that this
    module never imports torch."""

    def __init__(
        self,
        runs_dir: Path,
        *,
        members: int = 1,
        machine: Machine | None = None,
        interval: float = INTERVAL_S,
        apply: Callable[[int], None],
        current: Callable[[], int],
    ) -> None:
        self.runs_dir = Path(runs_dir)
        self.members = members
        self.machine = machine or Machine()
        self.interval = interval
        self._apply = apply
        self._current = current
        self.active = False
        self.cap: int | None = None
        self.last = -math.inf
        self.runs_at = -math.inf
        self.siblings: set[int] = set()
        self.runs = 1
        ahead = _AHEAD.pop(_ahead_key(self.runs_dir), None) if machine is None else None
        if ahead is not None and self.machine.clock() - ahead[0] < AHEAD_S:
            self.runs_at, self.runs, self.siblings, self.meter = ahead
        else:
            self.scan()
            self.meter = LoadMeter(self.machine, self.siblings)  # the first window starts now
        self.threads: int | None = None
        self.choice: dict[str, Any] | None = None

    def on_start(self, info: dict[str, Any]) -> None:
        self.active = info.get("device") == "cpu"
        if not self.active:
            return
        env = os.environ.get("OMP_NUM_THREADS")
        if env is not None:
            self.active = False
            self.choice = {"n": self._current(), "why": f"OMP_NUM_THREADS={env[:20]}: kept"}
            return
        self.cap = model_threads(info.get("param_count"), info.get("batch_size"), self.members)
        wait = FIRST_LOOK_S - self.meter.window_s()
        if wait > 0:  # a window long enough for /proc/stat's 10 ms ticks
            time.sleep(wait)
        self.decide(force=True)

    def on_record(self, record: dict[str, Any], summary: dict[str, Any]) -> None:
        if self.active and self.machine.clock() - self.last >= self.interval:
            self.decide()
        if self.choice is not None:
            summary["threads"] = dict(self.choice)

    def decide(self, *, force: bool = False) -> None:
        """Look at the load and set the threads it leaves room for."""
        now = self.machine.clock()
        self.last = now
        if force or now - self.runs_at >= RUNS_EVERY_S:
            self.scan()
        free = self.meter.measure(self.siblings, self.runs, self.threads)
        if free is None:
            return
        self.choice = choose(free, self.cap, self.threads)
        if self.choice["n"] != self.threads:
            self._apply(self.choice["n"])
            self.threads = self.choice["n"]

    def scan(self) -> None:
        """The other grok-tui CPU runs of the runs folder: how many, and their pids."""
        self.runs_at = self.machine.clock()
        self.runs, self.siblings = _siblings(self.runs_dir)

    def echo(self) -> ThreadNote:
        """A sink for another member of this group: the choice in its summary too."""
        return ThreadNote(self)

    def on_checkpoint(self, state: dict[str, Any]) -> None:
        pass

    def on_end(self, summary: dict[str, Any]) -> None:
        pass


def _siblings(runs_dir: Path) -> tuple[int, set[int]]:
    """The grok-tui CPU trainers of the runs folder, this process included, and the
    others' pids."""
    me = os.getpid()
    others = [pid for pid in live_cpu_trainers(runs_dir).values() if pid != me]
    return 1 + len(others), {p for p in others if p is not None}


# look_ahead's first window, by (process, runs folder): (when, runs, siblings, meter).
_AHEAD: dict[tuple[int, str], tuple[float, int, set[int], LoadMeter]] = {}


def _ahead_key(runs_dir: Path) -> tuple[int, str]:
    return os.getpid(), os.path.abspath(runs_dir)


def look_ahead(runs_dir: Path) -> None:
    """Start the first load window of this process's next ThreadShare of ``runs_dir``
    now, before torch's import (seconds), so that the choice before the first step has
    its window already instead of waiting FIRST_LOOK_S for one (the process's own CPU
    time is not counted as busy, so the import is not either)."""
    machine = Machine()
    runs, siblings = _siblings(runs_dir)
    _AHEAD[_ahead_key(runs_dir)] = (machine.clock(), runs, siblings, LoadMeter(machine, siblings))


class ThreadNote:
    """Writes a ThreadShare's choice into one more summary (a group's other members)."""

    def __init__(self, share: ThreadShare) -> None:
        self.share = share

    def on_start(self, info: dict[str, Any]) -> None:
        pass

    def on_record(self, record: dict[str, Any], summary: dict[str, Any]) -> None:
        if self.share.choice is not None:
            summary["threads"] = dict(self.share.choice)

    def on_checkpoint(self, state: dict[str, Any]) -> None:
        pass

    def on_end(self, summary: dict[str, Any]) -> None:
        pass
