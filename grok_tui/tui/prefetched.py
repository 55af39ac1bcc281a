"""History's rows as the app's prefetch made them, until the first History takes them.

The prefetch (prefetch.py, in a thread after the first screen is whole) lists the runs
and makes their rows; History's first frame draws those at once and lists the runs again
behind them (10,000 runs take a second or more to list), redrawing what moved.
"""

from __future__ import annotations

import threading
from pathlib import Path

from grok_tui.rundirs import store
from grok_tui.tui.runtable import RunRow

_KEPT: dict[Path, tuple[list[RunRow], dict[str, store.RunInfo]]] = {}
_LOCK = threading.Lock()
_DRAWN = threading.Event()  # History drew the kept rows (its cells in view)
_COMING: dict[Path, threading.Event] = {}  # set once the prefetch kept (or gave up on) rows


def begin(runs_dir: Path) -> None:
    """The prefetch starts listing ``runs_dir`` (its thread): a History opened meanwhile
    waits for these rows (wait_take) rather than listing 10,000 runs beside it."""
    with _LOCK:
        _COMING[Path(runs_dir)] = threading.Event()


def keep(runs_dir: Path, rows: list[RunRow], infos: dict[str, store.RunInfo]) -> None:
    """The rows and runs of ``runs_dir`` as just listed (the prefetch's thread)."""
    with _LOCK:
        _DRAWN.clear()
        _KEPT[Path(runs_dir)] = (rows, infos)


def end(runs_dir: Path) -> None:
    """The prefetch of ``runs_dir`` is over, rows kept or not."""
    with _LOCK:
        coming = _COMING.pop(Path(runs_dir), None)
    if coming is not None:
        coming.set()


def wait_take(
    runs_dir: Path, timeout: float
) -> tuple[list[RunRow], dict[str, store.RunInfo]] | None:
    """In a worker's thread: the rows the prefetch is making now, once kept (at most
    ``timeout`` seconds), or those kept already; None when there are none."""
    with _LOCK:
        coming = _COMING.get(Path(runs_dir))
    if coming is not None:
        coming.wait(timeout)
    return take(runs_dir)


def take(runs_dir: Path) -> tuple[list[RunRow], dict[str, store.RunInfo]] | None:
    """The kept rows and runs of ``runs_dir``, once (None: none kept)."""
    with _LOCK:
        return _KEPT.pop(Path(runs_dir), None)


def drawn() -> None:
    """History drew the kept rows: the prefetch may go on (History's own thread)."""
    _DRAWN.set()


def wait_drawn(timeout: float) -> None:
    """In the prefetch's thread: let History draw the kept rows before the next import
    (Live's module, plotext) takes the GIL from it; at most ``timeout`` seconds."""
    _DRAWN.wait(timeout)
