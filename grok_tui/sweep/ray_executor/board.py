"""The sweep's board: one Ray actor that the driver and every point's task share.

It hands out attempt numbers, holds the stop (once it stops, no point begins), and,
without a shared filesystem, carries the workers' messages and each point's latest
checkpoint and summary to the driver (mirror.py).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import ray


@ray.remote(num_cpus=0)
class SweepBoard:
    """The sweep's state shared by the driver and the tasks (one actor per sweep).

    Its methods run one at a time, so ``begin`` and ``stop`` are atomic: once the sweep
    stops, no point begins, and the driver knows exactly which began.
    """

    def __init__(self) -> None:
        self.stopping = False
        self.attempts: dict[int, int] = {}
        self.checkpoints: dict[int, bytes | None] = {}
        self.summaries: dict[int, dict[str, Any]] = {}
        self.messages: list[tuple[int, int, str, dict[str, Any]]] = []

    def begin(self, index: int) -> tuple[int, bytes | None, dict[str, Any] | None]:
        """An attempt number (0: the sweep stops, do not train), the latest checkpoint and
        summary of the point (kept here only without a shared filesystem)."""
        if self.stopping:
            return 0, None, None
        attempt = self.attempts.get(index, 0) + 1
        self.attempts[index] = attempt
        return attempt, self.checkpoints.get(index), self.summaries.get(index)

    def is_stopping(self) -> bool:
        return self.stopping

    def stop(self) -> list[int]:
        """Stop the sweep; the points that began."""
        self.stopping = True
        return sorted(self.attempts)

    def seed(self, index: int, checkpoint: bytes | None, summary: dict[str, Any]) -> None:
        """The driver's copy of a point's state, where its first attempt starts from."""
        self.checkpoints[index] = checkpoint
        self.summaries[index] = summary

    def put(self, index: int, attempt: int, kind: str, payload: dict[str, Any]) -> bool:
        """A message of a point's attempt for the driver; a superseded attempt's is dropped."""
        if self.attempts.get(index) != attempt:
            return False
        if kind == "checkpoint":
            self.checkpoints[index] = payload["data"]
        if "summary" in payload:
            self.summaries[index] = payload["summary"]
        self.messages.append((index, attempt, kind, payload))
        return True

    def take(self) -> list[tuple[int, int, str, dict[str, Any]]]:
        messages, self.messages = self.messages, []
        return messages


_task_getter: ThreadPoolExecutor | None = None


def get_in_task(ref: Any) -> Any:
    """ray.get from a task without giving up its CPUs.

    Ray lends a task's resources to others while its main thread blocks in ray.get (so
    that nested tasks cannot deadlock); a point waiting a moment on the board would let
    Ray start one point too many on its CPUs. From another thread, it keeps them.
    """
    global _task_getter
    if _task_getter is None:
        _task_getter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grok-tui-get")
    return _task_getter.submit(ray.get, ref).result()
