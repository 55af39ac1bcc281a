"""The one stop flag: SIGINT/SIGTERM ask a process to stop cleanly, and the exit codes.

Every process grok-tui runs (a trainer, a group, a sweep driver, the queue runner, a
Ray worker) stops the same way: the first signal sets the flag that its loop polls
between steps, a second Ctrl-C gives up on the clean stop, and the exit code says which
signal stopped it (128 + its number, as a shell does). Torch-free, so the sweep driver
and the queue runner use it without paying torch's import.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from typing import Any

# The exit codes of every grok-tui command: 0 done, 1 failed or diverged, 2 bad input,
# 130 stopped by Ctrl-C (SIGINT) or a stop that no signal asked for, 143 by SIGTERM.
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_STOPPED = 0, 1, 2, 130
EXIT_TERMINATED = 128 + signal.SIGTERM
STOPPED_CODES = (EXIT_STOPPED, EXIT_TERMINATED)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopFlag:
    """Set by SIGINT/SIGTERM; a loop polls it between steps (a plain bool: no sync).

    ``on_stop`` runs once, in the handler, when the first signal arrives (a sweep driver
    passes its executor's stop)."""

    def __init__(self, on_stop: Callable[[], None] | None = None) -> None:
        self.requested = False
        self.signal_name = ""
        self._on_stop = on_stop

    def __call__(self) -> bool:
        return self.requested

    def request(self, why: str) -> None:
        """A stop that no signal asked for (a sweep's board, a lost driver)."""
        self.signal_name = self.signal_name or why
        self.requested = True

    def install(self) -> None:
        """For the life of the process: a trainer's or the queue runner's main."""
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._handle)
        if hasattr(signal, "SIGXFSZ"):  # `ulimit -f`: a failed write (EFBIG), not a kill
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopFlag]:
        """For a while, then the handlers before come back (a Ray worker, a sweep in a
        process that goes on). Outside the main thread nothing is installed."""
        saved: dict[int, Any] = {}
        try:
            for sig in STOP_SIGNALS:
                saved[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread: the handlers before stay
            pass
        try:
            yield self
        finally:
            for sig, old in saved.items():
                signal.signal(sig, old)

    def exit_code(self, code: int) -> int:
        """A stopped run's code names the signal that stopped it; other codes pass."""
        return stop_exit_code(self.signal_name) if code in STOPPED_CODES else code

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested and self.signal_name in _SIGNAL_NAMES:  # a second Ctrl-C
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        first = not self.requested
        self.requested = True
        self.signal_name = signal.Signals(signum).name
        if first and self._on_stop is not None:
            self._on_stop()


_SIGNAL_NAMES = {s.name for s in STOP_SIGNALS}


def stop_exit_code(signal_name: str | None) -> int:
    """The exit code of a process stopped by this signal (StopFlag.signal_name): 143 for
    SIGTERM, 130 for SIGINT and for a stop that no signal asked for."""
    return EXIT_TERMINATED if signal_name == signal.SIGTERM.name else EXIT_STOPPED
