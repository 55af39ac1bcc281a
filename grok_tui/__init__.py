"""grok-tui: a terminal workbench for grokking research."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# grok_tui.runs("runs") and grok_tui.records(...) (notebook.py): loaded on first use, so
# that importing grok_tui loads no pandas (and no torch).
_LAZY = ("runs", "records")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from grok_tui import notebook

        return getattr(notebook, name)
    raise AttributeError(f"module 'grok_tui' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
