"""The ``grok-tui`` command: one argparse parser with a sub-parser per command, and dispatch.

``grok-tui COMMAND ...`` (parser.COMMANDS; bare ``grok-tui`` opens the TUI). ``--runs-dir``
and ``--device`` come from a shared parent parser and go before or after the command.
``--run PRESET`` and ``--resume RUN...`` are the older spellings of ``run`` and ``resume``,
kept as aliases: rundirs/launch.py, the sweep executor and the queue start runs with them.
A preset argument is a file or the name of a shipped preset (``quickstart``,
``classic/nanda-p113``: ``grok-tui presets`` lists them).

Exit codes: 0 done, 1 failed or diverged, 2 bad input, 130 stopped by Ctrl-C (SIGINT),
143 stopped by SIGTERM (128 + the signal's number, as shells count them).

The top layer: it parses, then hands over to training, sweep, analysis, bench, export
or the TUI; nothing below imports it. parser.py holds the one parser and the dispatch,
each command family its own module (train.py: run, resume, tui; runs.py: runs, note;
presets.py, export.py, sweep.py, analyze.py, queue.py, bench.py), table.py the one table
printer of every listing.

Light to import: a command's module is imported when that command runs (parser.py), and
this package's names from presets.py and runs.py when first asked for (PEP 562), so
that ``grok-tui runs`` or ``--help`` never loads pydantic, the sweep side or torch.
"""

from __future__ import annotations

from typing import Any

from grok_tui.cli.parser import (
    COMMANDS,
    SUBCOMMANDS,
    build_parser,
    cmd_analyze,
    cmd_bench,
    cmd_export,
    cmd_gpu_check,
    cmd_note,
    cmd_queue,
    cmd_runs,
    cmd_sweep_report,
    cmd_validate,
    main,
)


# presets.py's and runs.py's names, imported on first use
def __getattr__(name: str) -> Any:
    if name in ("find_shipped", "resolve_preset", "shipped_presets"):
        from grok_tui.cli import presets

        return getattr(presets, name)
    if name in ("RUN_FIELDS", "device_label", "run_record"):
        from grok_tui.cli import runs

        return getattr(runs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "COMMANDS",
    "RUN_FIELDS",
    "SUBCOMMANDS",
    "build_parser",
    "cmd_analyze",
    "cmd_bench",
    "cmd_export",
    "cmd_gpu_check",
    "cmd_note",
    "cmd_queue",
    "cmd_runs",
    "cmd_sweep_report",
    "cmd_validate",
    "device_label",
    "find_shipped",
    "main",
    "resolve_preset",
    "run_record",
    "shipped_presets",
]
