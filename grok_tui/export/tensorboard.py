"""``grok-tui export RUN... --tensorboard DIR``: a run's records as a TensorBoard event
file, one sub-directory per run, encoded by formats/tfevents.py (no TensorFlow needed).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from grok_tui import files
from grok_tui.export.records import Warn, read_run_records
from grok_tui.formats.tfevents import FLOAT32_MAX, event_file_bytes
from grok_tui.rundirs import store


def write_tensorboard(run: store.RunDir, log_dir: str | Path, *, warn: Warn | None = None) -> Path:
    """Write ``run``'s records as ``LOG_DIR/RUN_ID/events.out.tfevents...``; the file.

    A run's sub-directory is replaced on each export (one file, never a stale second one).
    ``warn`` hears, one line each, of values written as +-FLOAT32_MAX and of records not
    read (past the size cap of metrics.jsonl).
    """
    started = _started(run.summary())
    name = f"events.out.tfevents.{int(started)}.{socket.gethostname()}.grok-tui"
    clamped: list[tuple[int, str, float | int]] = []
    data = event_file_bytes(read_run_records(run, warn), started, clamped=clamped)
    if clamped and warn is not None:
        step, tag, value = clamped[0]
        warn(
            f"run {run.run_id}: {len(clamped)} value(s) beyond float32's range, which "
            f"TensorBoard stores, written as +-{FLOAT32_MAX:.4g} (the first: {tag} = "
            f"{_short(value)} at step {step})"
        )
    # LOG_DIR is the user's; RUN_ID below it is ours: a link planted there is refused
    with files.Folder.root(log_dir, create=True) as root, root.sub(run.run_id, create=True) as out:
        for old in out.names():
            if old.startswith("events.out.tfevents."):
                out.unlink(old)
        out.write_atomic(name, data)
    return Path(log_dir) / run.run_id / name


def _short(value: float | int) -> str:
    """A number for a message, however large (an int beyond a float: its digits' count)."""
    try:
        return f"{float(value):g}"
    except OverflowError:
        return f"an integer of about {int(int(value).bit_length() * 0.30103)} digits"


def _started(summary: Mapping[str, Any]) -> float:
    text = summary.get("started_at") or summary.get("created_at")
    try:
        return datetime.fromisoformat(str(text)).timestamp()
    except ValueError:
        return time.time()
