"""A sweep's progress line: how far it is, between the lines of the points that end.

A sweep of long points printed nothing until its first point ended (minutes). The
executor calls :meth:`SweepProgress.on_poll` once per poll of its loop; at most every
``interval`` seconds that reads the running points' summaries (a stat each, a read only
when the file changed) and says: points done / running / queued (and failed), the least
advanced running point, and an ETA for the whole sweep. Queued points' summaries are read
once each, for their steps. On a terminal the line is redrawn in place (``\\r\\x1b[2K``,
as grok_tui/training/progress.py); every other line written through the object clears it first
and redraws it after, so no line is garbled. In a log it is a plain line, at most every
``log_interval`` seconds, so that the log stays readable.
"""

from __future__ import annotations

import heapq
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from grok_tui.rundirs import store
from grok_tui.sweep.jobs import PointJob, PointResult
from grok_tui.text import format_duration, safe_text

DEFAULT_INTERVAL_S = 5.0
LOG_INTERVAL_S = 30.0
CLEAR = "\r\x1b[2K"
# A result that is not a failure: a result (completed, diverged) or a clean stop.
NOT_FAILED = (store.COMPLETED, store.DIVERGED, store.STOPPED)

# (point index, its summary) per member; a unit is one process: a point or a vectorised group.
Member = tuple[int, dict[str, Any]]
Unit = Sequence[Member]


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


def _left(summary: dict[str, Any]) -> int | None:
    """Steps still to train; None when the summary does not say."""
    step, steps = _int(summary.get("step")) or 0, _int(summary.get("steps"))
    return None if steps is None else max(0, steps - step)


def _rate(summary: dict[str, Any]) -> float | None:
    rate = summary.get("steps_per_s")
    return float(rate) if isinstance(rate, (int, float)) and rate > 0 else None


def sweep_eta(running: Sequence[Unit], queued: Sequence[Unit]) -> float | None:
    """Seconds until the last point ends; None when unknown (no rate yet, or steps unknown).

    Each running unit holds its slot until its slowest member ends (its own rate, or the
    mean rate while it has none); queued units take the first slot that frees, in order,
    at the running points' mean rate. A vectorised group is one unit: its members share
    the group's rate.
    """
    if not running and not queued:
        return 0.0
    rates = [r for unit in running for _, s in unit if (r := _rate(s)) is not None]
    if not rates:
        return None
    mean = sum(rates) / len(rates)

    def duration(unit: Unit, own: bool) -> float | None:
        longest = 0.0
        for _, summary in unit:
            left = _left(summary)
            if left is None:
                return None
            rate = (_rate(summary) if own else None) or mean
            longest = max(longest, left / rate)
        return longest

    slots: list[float] = []
    for unit in running:
        ends = duration(unit, own=True)
        if ends is None:
            return None
        slots.append(ends)
    slots = slots or [0.0]
    heapq.heapify(slots)
    for unit in queued:
        takes = duration(unit, own=False)
        if takes is None:
            return None
        heapq.heappush(slots, heapq.heappop(slots) + takes)
    return max(slots)


def slowest(running: Sequence[Unit]) -> str:
    """'#3 120/300': the running point least far along (step/steps), or '--'."""
    known = [
        (step / steps, index, step, steps)
        for unit in running
        for index, s in unit
        if (step := _int(s.get("step"))) is not None and (steps := _int(s.get("steps")))
    ]
    if not known:
        return "--"
    _, index, step, steps = min(known)
    return f"#{index} {step}/{steps}"


def progress_text(done: int, failed: int, running: Sequence[Unit], queued: Sequence[Unit]) -> str:
    """'progress: 2/8 done (1 failed) · 2 running · 4 queued · slowest #3 120/300 · ETA 4m10s'."""
    n_running = sum(len(unit) for unit in running)
    n_queued = sum(len(unit) for unit in queued)
    total = done + n_running + n_queued
    eta = format_duration(sweep_eta(running, queued)) or "--"
    return (
        f"progress: {done}/{total} done"
        + (f" ({failed} failed)" if failed else "")
        + f" · {n_running} running · {n_queued} queued · slowest {slowest(running)} · ETA {eta}"
    )


def _units(items: Iterable[PointJob | Sequence[PointJob]]) -> list[list[PointJob]]:
    return [[item] if isinstance(item, PointJob) else list(item) for item in items]


class SweepProgress:
    """The progress line of a sweep, and the stream every other sweep line goes through.

    ``out`` receives the lines (a SafeStream: text from disk is escaped there); the
    line's own escapes go to the stream under it. ``clock`` and ``read`` are injectable
    for tests. Never raises into the executor's loop: a failure turns the line off.
    """

    def __init__(
        self,
        out: TextIO,
        *,
        interval: float = DEFAULT_INTERVAL_S,
        log_interval: float = LOG_INTERVAL_S,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        read: Callable[[Path], dict[str, Any]] = store.read_summary,
        width: Callable[[], int] | None = None,
    ) -> None:
        self.out = out
        self.raw: TextIO = getattr(out, "stream", out)  # under a SafeStream: escapes pass
        self.tty = _isatty(out) if tty is None else tty
        self.interval = interval
        self.log_interval = max(interval, log_interval)
        self.clock = clock
        self.read = read
        self.width = width or self._columns
        self.enabled = interval > 0
        self._due = clock() + interval
        self._shown = ""  # the line on the terminal now ('' when none)
        self._seen: dict[Path, tuple[tuple[int, int, int] | None, dict[str, Any]]] = {}
        self._queued: dict[Path, dict[str, Any]] = {}

    # the stream side: every sweep line clears the progress line first, then redraws it
    def write(self, text: str) -> int:
        shown = self._shown
        if shown:
            self._raw(CLEAR)
            self._shown = ""
        written = self.out.write(text)
        if shown and text.endswith("\n"):
            self._draw(shown)
            self._due = self.clock()  # the next poll brings it up to date
        return written

    def flush(self) -> None:
        self.out.flush()

    def isatty(self) -> bool:
        return self.tty

    def close(self) -> None:
        """The sweep's loop ended: clear the line, draw no more."""
        self.enabled = False
        if self._shown:
            self._raw(CLEAR)
            self._shown = ""
            self.raw.flush()

    # the executor side
    def on_poll(
        self,
        running: Sequence[Sequence[PointJob]],
        pending: Iterable[PointJob | Sequence[PointJob]],
        results: Sequence[PointResult],
    ) -> None:
        """Called by the executor once per poll: a clock read, and every ``interval``
        the running points' summaries."""
        if not self.enabled:
            return
        now = self.clock()
        if now < self._due:
            return
        try:
            text = self.text(running, pending, results)
            if self.tty:
                self._draw(text)
                self._due = now + self.interval
            else:
                self.out.write(text + "\n")
                self.out.flush()
                self._due = now + self.log_interval
        except Exception as exc:  # a progress line never stops a sweep
            self.close()
            self.write(f"progress line off: {exc}\n")

    def text(
        self,
        running: Sequence[Sequence[PointJob]],
        pending: Iterable[PointJob | Sequence[PointJob]],
        results: Sequence[PointResult],
    ) -> str:
        failed = sum(r.status not in NOT_FAILED for r in results)
        live = [[(j.index, self._summary(j.run.path)) for j in unit] for unit in running]
        queued = [
            [(j.index, self._queued_summary(j.run.path)) for j in unit] for unit in _units(pending)
        ]
        return progress_text(len(results), failed, live, queued)

    def _summary(self, path: Path) -> dict[str, Any]:
        """A running point's summary, read again only when its file changed (a stat)."""
        try:
            st = os.lstat(path / store.SUMMARY_FILE)
            key: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            key = None
        seen = self._seen.get(path)
        if key is not None and seen is not None and seen[0] == key:
            return seen[1]
        summary = self.read(path)
        self._seen[path] = (key, summary)
        return summary

    def _queued_summary(self, path: Path) -> dict[str, Any]:
        """A queued point's summary (its steps), read once."""
        if path not in self._queued:
            self._queued[path] = self.read(path)
        return self._queued[path]

    def _draw(self, text: str) -> None:
        text = safe_text(text)[: max(20, self.width() - 1)]  # one row: \r redraws it
        self._raw(CLEAR + text)
        self.raw.flush()
        self._shown = text

    def _columns(self) -> int:
        """The terminal's width ($COLUMNS first, as shutil's), 80 when it cannot be had."""
        try:
            return (
                int(os.environ.get("COLUMNS") or 0)
                or os.get_terminal_size(self.raw.fileno()).columns
            )
        except (AttributeError, OSError, ValueError):
            return 80

    def _raw(self, text: str) -> None:
        self.raw.write(text)


def _isatty(out: TextIO) -> bool:
    try:
        return bool(out.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
