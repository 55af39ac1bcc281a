"""How steady test accuracy stays once a run has grokked: the report's "small primes are
less stable" as two figures fixed before the runs that test it (docs/plans/).

A wider spread of grok_step is not instability; what the claim describes is accuracy that
falls back after it was reached. Both figures look at the same window, the evaluations in
(grok_step, grok_step + window], and exist only for a run that grokked and whose records
reach the window's end (a run stopped earlier would look steadier than it is).
Pure functions of metrics.jsonl records (no torch).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

WINDOW = 1000  # steps after grok_step
THRESHOLD = 0.99  # grok_threshold's default: a dip is a fall below it


def _window(
    records: Sequence[dict[str, Any]], grok_step: int | None, window: int
) -> list[float] | None:
    if not isinstance(grok_step, int) or isinstance(grok_step, bool):
        return None
    series = [
        (r["step"], float(r["test_acc"]))
        for r in records
        if isinstance(r.get("step"), int) and isinstance(r.get("test_acc"), int | float)
    ]
    if not series or series[-1][0] < grok_step + window:
        return None
    return [acc for step, acc in series if grok_step < step <= grok_step + window]


def post_grok_min_test_acc(
    records: Sequence[dict[str, Any]], grok_step: int | None, window: int = WINDOW
) -> float | None:
    """The lowest test accuracy over the evaluations of the window after grok_step."""
    accs = _window(records, grok_step, window)
    return min(accs) if accs else None


def post_grok_dips(
    records: Sequence[dict[str, Any]],
    grok_step: int | None,
    window: int = WINDOW,
    threshold: float = THRESHOLD,
) -> int | None:
    """How many times test accuracy falls from >= threshold to < threshold in the window
    (at grok_step itself it is >= threshold, so a first evaluation below counts)."""
    accs = _window(records, grok_step, window)
    if accs is None:
        return None
    dips, above = 0, True
    for acc in accs:
        if above and acc < threshold:
            dips += 1
        above = acc >= threshold
    return dips
