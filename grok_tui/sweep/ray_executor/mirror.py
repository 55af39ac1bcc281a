"""A point trained without a shared filesystem: the worker forwards, the driver mirrors.

The worker trains into a scratch copy of the run directory, and :class:`ForwardSink`
sends its records as they come, and its checkpoint, kept weights and summary, to the
board; the driver drains the board and writes the run directory on its own disk
(:class:`MirrorRun`), holding the run's lock, so the TUI on the driver's machine follows
the run live. Each message carries its attempt: the board drops those of a superseded
attempt, and an attempt's ``start`` makes the driver drop the records past its
checkpoint, so no record is lost or repeated.
"""

from __future__ import annotations

import os
from typing import Any

from grok_tui import files
from grok_tui.rundirs import ownership, store
from grok_tui.sweep.ray_executor.board import get_in_task


class ForwardSink:
    """Sends what the scratch run directory receives to the driver, through the board.

    Last among the sinks: the scratch RunDirSink has written each file before it is sent.
    """

    def __init__(self, board: Any, index: int, attempt: int, run: store.RunDir) -> None:
        self.board, self.index, self.attempt, self.run = board, index, attempt, run
        self.last: Any = None

    def put(self, kind: str, payload: dict[str, Any]) -> None:
        self.last = self.board.put.remote(self.index, self.attempt, kind, payload)

    def flush(self) -> None:
        """Wait until the board holds every message sent (actor calls arrive in order)."""
        if self.last is not None:
            get_in_task(self.last)

    def on_start(self, info: dict[str, Any]) -> None:
        self.put("start", {"resumed_from": info.get("resumed_from"), "summary": self.run.summary()})

    def on_record(self, record: dict[str, Any], summary: dict[str, Any]) -> None:
        self.put("record", {"record": record, "summary": self.run.summary()})

    def on_checkpoint(self, state: dict[str, Any]) -> None:
        data = files.read_bytes(self.run.checkpoint_path, files.MAX_CHECKPOINT_BYTES)
        self.put("checkpoint", {"step": state["step"], "data": data})
        self.flush()  # a retry must find this checkpoint on the board

    def on_snapshot(self, step: int, weights: dict[str, Any]) -> None:
        path = store.snapshot_path(self.run.path, step)
        self.put(
            "snapshot", {"step": step, "data": files.read_bytes(path, files.MAX_CHECKPOINT_BYTES)}
        )

    def on_end(self, summary: dict[str, Any]) -> None:
        """The final summary is sent by the task once runner.execute has written it."""


class MirrorRun:
    """The driver's run directory of a point trained without a shared filesystem.

    Written only here, from the board's messages, while the driver holds the run's lock:
    records appended as they come, checkpoint and kept weights written atomically, the
    summary naming the driver as its owner (the process a TUI may stop, and whose death
    makes the run ``crashed``) and the worker that trains it.
    """

    def __init__(self, run: store.RunDir) -> None:
        self.run = run
        self.attempt = 0
        self.writer: store.MetricsWriter | None = None
        self.lock = run.lock.acquire()  # ownership.LockedError: someone trains it here

    def apply(self, attempt: int, kind: str, payload: dict[str, Any]) -> None:
        if attempt < self.attempt:
            return
        if kind == "start":
            self.attempt = attempt
            self._close()
            resumed = payload.get("resumed_from")
            self.writer = store.MetricsWriter(
                self.run.path, keep_through_step=-1 if resumed is None else resumed
            )
        elif kind == "record" and self.writer is not None:
            self.writer.append(payload["record"])
        elif kind == "checkpoint":
            files.write_atomic(self.run.checkpoint_path, payload["data"])
        elif kind == "snapshot":
            path = store.snapshot_path(self.run.path, payload["step"])
            files.mkdir(path.parent)  # through the locked run directory; a link is refused
            files.write_atomic(path, payload["data"])
        elif kind == "end":
            self._close()
            if payload.get("log"):
                with os.fdopen(files.open_append(self.run.log_path), "a", encoding="utf-8") as log:
                    log.write(payload["log"])
        if "summary" in payload:
            self._write_summary(payload["summary"])

    def _write_summary(self, summary: dict[str, Any]) -> None:
        me = ownership.my_identity()
        worker = {"host": summary.get("host"), "pid": summary.get("pid")}
        store.write_summary(
            self.run.path,
            {**summary, "pid": me.pid, "host": me.host, "owner": me.as_dict(), "worker": worker},
        )

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def close(self) -> None:
        self._close()
        self.lock.release()
