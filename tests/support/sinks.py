"""An engine sink that keeps what it is told, for tests that read records directly."""

from __future__ import annotations

from typing import Any


class Collect:
    """Keeps the start info, every record (a copy), every checkpoint and the end summary."""

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}
        self.records: list[dict[str, Any]] = []
        self.checkpoints: list[dict[str, Any]] = []
        self.snapshots: list[int] = []
        self.end: dict[str, Any] | None = None

    def on_start(self, info: dict[str, Any]) -> None:
        self.info = dict(info)

    def on_record(self, record: dict[str, Any], summary: dict[str, Any]) -> None:
        self.records.append(dict(record))

    def on_checkpoint(self, state: dict[str, Any]) -> None:
        self.checkpoints.append(state)

    def on_snapshot(self, step: int, weights: dict[str, Any]) -> None:
        self.snapshots.append(step)

    def on_end(self, summary: dict[str, Any]) -> None:
        self.end = dict(summary)
