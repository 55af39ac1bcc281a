"""Stand-ins for CUDA's graph capture that run on the CPU (grok_tui/training/graphs.py's Capture)."""

from __future__ import annotations

from collections.abc import Callable

import torch


class EagerCapture:
    """A "graph" that is the step itself, run eagerly on the CPU: replays agree with eager."""

    device_types = frozenset({"cpu"})

    def __init__(self) -> None:
        self.captures = 0

    def warm(self, body: Callable[[], None]) -> None:
        body()

    def capture(self, body: Callable[[], None]) -> Callable[[], None]:
        self.captures += 1
        return body


class DriftingCapture(EagerCapture):
    """A "graph" whose replay moves the first weights a little further than the eager step."""

    def capture(self, body: Callable[[], None]) -> Callable[[], None]:
        weights = body.__self__.state()[0]  # type: ignore[attr-defined]  # a static step's body

        def replay() -> None:
            body()
            with torch.no_grad():
                weights.add_(1e-3)

        return replay


class FailingCapture(EagerCapture):
    def capture(self, body: Callable[[], None]) -> Callable[[], None]:
        raise RuntimeError("operation not permitted when stream is capturing")


class FailingWarmUp(EagerCapture):
    """The static step raises on its first run (as an unsupported kernel option would)."""

    def warm(self, body: Callable[[], None]) -> None:
        body()  # the step's device work happens (weights, optimizer state), then it fails
        raise RuntimeError("fused adamw: lr tensor must be float64")
