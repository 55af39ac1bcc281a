"""grok-tui: a terminal workbench for grokking research."""

__version__ = "0.1.0"
