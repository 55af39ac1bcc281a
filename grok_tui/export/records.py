"""A run's records as an export reads them, and a warning for what it could not read.

metrics.jsonl is read up to files.MAX_METRICS_BYTES (a crafted or runaway file must not
exhaust memory); an export that stops there says so, naming the run and what was left.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from typing import Any

from grok_tui import files
from grok_tui.rundirs import store

Warn = Callable[[str], None]  # one line, without the "warning: " prefix


def read_run_records(run: store.RunDir, warn: Warn | None = None) -> list[dict[str, Any]]:
    """Every record of ``run`` (metrics.jsonl up to the size cap); ``warn`` hears, in one
    line, when the file holds more than the cap and the records past it are not exported."""
    records, consumed = store.read_records_from(run.metrics_path, 0)
    if warn is not None:
        unread = unread_bytes(run, consumed)
        if unread:
            last = f" (the last one read: step {records[-1]['step']})" if records else ""
            warn(
                f"run {run.run_id}: {store.METRICS_FILE} is larger than the "
                f"{files.MAX_METRICS_BYTES:,}-byte limit: {unread:,} bytes of records past "
                f"the first {len(records):,}{last} were not read"
            )
    return records


def unread_bytes(run: store.RunDir, consumed: int) -> int:
    """How many bytes of metrics.jsonl lie past the size cap, unread (0 when none do)."""
    try:
        info = os.lstat(run.metrics_path)
    except OSError:
        return 0
    if not stat.S_ISREG(info.st_mode) or info.st_size <= files.MAX_METRICS_BYTES:
        return 0
    return info.st_size - consumed
